/** Whether a bar may be proved: gaps, history and the model's bar interval, named with the source. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCandlesCsv } from "../../models/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { barProblem } from "../../prover/service/candles";

const DATA = join(__dirname, "../../models/data/btcusdt-2h.csv");
const MODEL = join(__dirname, "../../models/btc-usdt-2h.quantized.json");

/** Header and bar lines of the real Binance file (each line without its newline). */
const [HEADER, ...BARS] = readFileSync(DATA, "utf8").trimEnd().split("\n");

/** Lines `from` (inclusive) to `to` (exclusive) of the real file's bars, as CSV text with the header. */
function slice(from: number, to: number): string {
  return [HEADER, ...BARS.slice(from, to)].join("\n") + "\n";
}

describe("barProblem", () => {
  const series = parseCandlesCsv(slice(0, 400), "btc.csv");
  const barIntervalMs = loadQuantizedModel(MODEL).barIntervalMs;

  it("accepts a bar with full history at the model's interval", () => {
    expect(barProblem(series, 200, barIntervalMs)).toBeUndefined();
    expect(barProblem(series, 399)).toBeUndefined();
  });

  it("names the gap a bar directly follows", () => {
    // The real file lacks two bars before 2017-09-06 22:00 and one before 2018-10-19 08:00.
    expect(series.gaps[0]).toMatchObject({ afterIndex: 246, missingBars: 2 });
    expect(barProblem(series, 247, barIntervalMs)).toBe(
      "btc.csv: 2 bars missing before 2017-09-06T22:00:00.000Z",
    );
    const later = parseCandlesCsv(slice(5000, 5200), "btc.csv");
    expect(later.gaps[0]).toMatchObject({ afterIndex: 110, missingBars: 1 });
    expect(barProblem(later, 111)).toBe("btc.csv: 1 bar missing before 2018-10-19T08:00:00.000Z");
  });

  it("says which window lacks history", () => {
    expect(barProblem(series, 84, barIntervalMs)).toBeUndefined();
    expect(barProblem(series, 83, barIntervalMs)).toBe(
      "btc.csv: a window of 85 bars ending at 2017-08-24T02:00:00.000Z starts at 2017-08-17T02:00:00.000Z, " +
        "before the first bar 2017-08-17T04:00:00.000Z",
    );
    // 16 bars are missing before 2018-02-09 10:00 (file index 2097): two bars later the day has 1 return.
    const gap = parseCandlesCsv(slice(2000, 2200), "btc.csv");
    expect(gap.gaps[0]).toMatchObject({ afterIndex: 96, missingBars: 16 });
    expect(barProblem(gap, 98, barIntervalMs)).toBe(
      "btc.csv: no features for the window ending at 2018-02-09T12:00:00.000Z: 1d window has 1 returns, needs 9",
    );
    expect(barProblem(gap, 106, barIntervalMs)).toBe(
      "btc.csv: no features for the window ending at 2018-02-10T04:00:00.000Z: 3.5d window has 25 returns, needs 32",
    );
  });

  it("refuses bars of another interval than the model's", () => {
    expect(barProblem(series, 200, 3_600_000)).toBe(
      "btc.csv: bar interval is 120 min but the model needs 60 min bars",
    );
  });
});
