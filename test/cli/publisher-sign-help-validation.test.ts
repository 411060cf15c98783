/**
 * `zkrisk publisher sign --help` says which options are required (commander's help text does not mark a
 * requiredOption as such): --key, --at and --out. Leaving one out is still commander's error, exit code 2.
 */
import { describe, expect, it } from "vitest";
import { zkrisk } from "../helpers/zkrisk-cli";

describe("zkrisk publisher sign --help", () => {
  it("marks --key, --at and --out as required", () => {
    const r = zkrisk("publisher", "sign", "--help");
    expect(r.code, r.stderr).toBe(0);
    // an option's description may wrap: join the lines of each entry
    const help = r.stdout.replace(/\n\s{10,}/g, " ");
    for (const option of ["--key <file>", "--at <timestamp>", "--out <file>"]) {
      const line = help.split("\n").find((l) => l.trimStart().startsWith(option));
      expect(line, option).toMatch(/\(required\)$/);
    }
    const bars = help.split("\n").find((l) => l.trimStart().startsWith("--bars"));
    expect(bars).not.toContain("(required)");
  }, 120_000);

  it("still refuses a missing --at (behaviour unchanged)", () => {
    const r = zkrisk(
      "publisher",
      "sign",
      "--key",
      "k.json",
      "--market",
      "BTC-USDT",
      "--data",
      "c.csv",
      "--out",
      "o.json",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: required option '--at <timestamp>' not specified");
  }, 120_000);
});
