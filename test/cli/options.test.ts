/**
 * The option parsers the commands share (cli/options.ts): a number option is a plain decimal number, as an
 * integer option is a plain decimal integer; what Number() would also take (hex, binary, octal, Infinity, blank)
 * is a UsageError naming the option and the value.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import { parseFloatOption, parseIntOption, table } from "../../cli/options";
import { zkrisk } from "../helpers/zkrisk-cli";

describe("parseFloatOption", () => {
  it.each([
    ["0", 0],
    ["0.5", 0.5],
    [".5", 0.5],
    ["1.", 1],
    ["-0.25", -0.25],
    ["+0.25", 0.25],
    ["3e-4", 3e-4],
    ["1E-2", 0.01],
    [" 0.1 ", 0.1],
  ])("takes the decimal number %j", (value, n) => {
    expect(parseFloatOption("--x", value, -1, 1)).toBe(n);
  });

  it.each([
    "0x0",
    "0x10",
    "0b1",
    "0o7",
    "Infinity",
    "-Infinity",
    "NaN",
    "",
    " ",
    "1e",
    "e3",
    ".",
    "1..2",
    "1,5",
    "½",
  ])("refuses %j, naming the option and the value", (value) => {
    expect(() => parseFloatOption("--miss-rate", value, 0, 100)).toThrow(UsageError);
    expect(() => parseFloatOption("--miss-rate", value, 0, 100)).toThrow(
      `--miss-rate: '${value}' is not a number in [0, 100]`,
    );
  });

  it("refuses a number outside [min, max]", () => {
    expect(() => parseFloatOption("--learning-rate", "2", 1e-6, 1)).toThrow(
      "--learning-rate: '2' is not a number in [0.000001, 1]",
    );
  });
});

describe("parseIntOption (the rule parseFloatOption follows)", () => {
  it("refuses hex", () => {
    expect(() => parseIntOption("--bars", "0x10", 1, 100)).toThrow(
      "--bars: '0x10' is not an integer in [1, 100]",
    );
  });
});

describe("number options on the command line", () => {
  it("zkrisk backtest --miss-rate 0x0 and zkrisk train --learning-rate 0b1 exit 2 naming the option", () => {
    const backtest = zkrisk("backtest", "--adaptive", "--miss-rate", "0x0");
    expect(backtest.code, backtest.stderr).toBe(2);
    expect(backtest.stderr).toBe("zkrisk: --miss-rate: '0x0' is not a number in [0, 0.99]\n");
    const train = zkrisk("train", "--learning-rate", "0b1", "--out", "never-written.json");
    expect(train.code, train.stderr).toBe(2);
    expect(train.stderr).toBe("zkrisk: --learning-rate: '0b1' is not a number in [0.000001, 1]\n");
  }, 120_000);

  it("zkrisk backtest --market takes a market label as every command does (exit 2 naming it)", () => {
    for (const [label, problem] of [
      ["é", "'é' must be a number or printable ASCII of at most 31 bytes"],
      [" BTC-USDT", "' BTC-USDT' has spaces around it, which would make it another market's id"],
      ["", "'' is empty: name the market, e.g. BTC-USDT"],
    ]) {
      const r = zkrisk("backtest", "--market", label);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`zkrisk: --market: ${problem}\n`);
    }
  }, 120_000);
});

describe("table", () => {
  it("pads each column to its widest cell and trims each line's end", () => {
    expect(
      table([
        ["a", "bb", "c"],
        ["ccc", "d", ""],
      ]),
    ).toBe("a    bb  c\nccc  d");
  });

  it("prints 200,000 rows (an audit of years of eight markets) without overflowing the stack", () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [String(i), "OK"]);
    const text = table(rows);
    expect(text.split("\n")).toHaveLength(200_000);
    expect(text.split("\n").at(-1)).toBe("199999  OK");
  });
});
