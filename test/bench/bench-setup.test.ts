/** `zkrisk bench-setup`: the report's shape and its table, on sizes small enough for a test. */
import { describe, expect, it } from "vitest";
import { formatSetupBench, runBenchSetup } from "../../cli/commands/bench-setup";
import { join } from "node:path";
import { UsageError } from "../../core/errors";

const MODEL = join(__dirname, "../..", "models/btc-usdt-2h.quantized.json");

describe("bench-setup", () => {
  it("times a development ptau per power and reports its size", async () => {
    const report = await runBenchSetup({ powers: "3,4", modes: "", model: MODEL, json: true });
    expect(report.ptau.map((p) => p.power)).toEqual([3, 4]);
    // n = 2^power: 12n - 4 G1 points of 64 bytes (2n - 1 + n + n powers, 4n - 1 + 2n - 1 + 2n - 1 Lagrange values)
    // and 3n G2 points of 128 bytes (n powers, beta, 2n - 1 Lagrange values); file and section headers (12 + 11 * 12),
    // the header section (44) and an empty contribution list (4).
    for (const p of report.ptau) {
      const n = 2 ** p.power;
      expect(p.bytes).toBe((12 * n - 4) * 64 + 3 * n * 128 + 12 + 11 * 12 + 44 + 4);
    }
    expect(report.circuits).toEqual([]);
    expect(report.method).toMatch(/wall clock/);
    const text = formatSetupBench(report);
    expect(text).toMatch(/\| ptau power \| time/);
    expect(text.split("\n").filter((l) => /^\| [34] /.test(l))).toHaveLength(2);
  });

  it("refuses an unknown circuit mode", () => {
    expect(() => runBenchSetup({ powers: "", modes: "constant,fancy", model: "m" })).toThrow(UsageError);
  });
});
