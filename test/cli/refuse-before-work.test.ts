/**
 * Flags that would be ignored or fail late are refused before any work (compile, ptau timing): exit 2 and a
 * message naming the flag and the value.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { zkrisk } from "../helpers/zkrisk-cli";

const MISSING = join(tmpdir(), "zkrisk-no-such-file.json");

describe("refused before any work", () => {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-refuse-before-work-"));

  it("compile --calibrations without --adaptive (nothing compiled)", () => {
    const out = join(dir, "compiled");
    const r = zkrisk("compile", "--out", out, "--calibrations", MISSING);
    expect(r.stderr).toMatch(/--calibrations: '.*zkrisk-no-such-file\.json'.*--adaptive/);
    expect(r.code).toBe(2);
    expect(existsSync(join(out, "circuit.json"))).toBe(false);
  });

  it("bench --calibrations: a missing file, or with no adaptive circuit to read it", () => {
    const missing = zkrisk("bench", "--signed-circuits", "k1-adaptive", "--calibrations", MISSING);
    expect(missing.stderr).toMatch(/--calibrations: .*zkrisk-no-such-file\.json: file not found/);
    expect(missing.code).toBe(2);
    const unused = zkrisk("bench", "--calibrations", MISSING);
    expect(unused.stderr).toMatch(
      /--calibrations: '.*zkrisk-no-such-file\.json' is read only by k<K>-adaptive/,
    );
    expect(unused.code).toBe(2);
  });

  it("bench-setup --model that is missing, not JSON or has an unknown key; and nothing to measure", () => {
    const notJson = join(dir, "not-json.json");
    writeFileSync(notJson, "{");
    const unknownKey = join(dir, "unknown-key.json");
    writeFileSync(unknownKey, JSON.stringify({ format: "zkrisk-quantized/1", extra: 1 }));
    for (const [model, message] of [
      [MISSING, /--model: .*zkrisk-no-such-file\.json: file not found/],
      [notJson, /not-json\.json: not valid JSON/],
      [unknownKey, /unknown-key\.json: /],
    ] as const) {
      const r = zkrisk("bench-setup", "--model", model);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/ptau|\n\s+at /);
      expect(r.code).toBe(2);
    }
    const nothing = zkrisk("bench-setup", "--powers", "", "--modes", "");
    expect(nothing.stderr).toMatch(/nothing to measure/);
    expect(nothing.code).toBe(2);
  });
});
