/**
 * The window features as the model stage uses them (features/window-features.ts): per bar of a candle
 * series, with no look-ahead, gaps handled by the window's missing bars, one bar at a time equal to the whole
 * series at once, and the float twins the float model trains on equal to the integers over 2^32.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  barWindowFeatures,
  featureFloats,
  seriesWindowFeatures,
  WINDOW_FEATURES,
  type WindowFeatureMatrix,
} from "../../features/window-features";
import { WINDOW_BARS } from "../../candles/window";
import { buildDataset, DEFAULT_SPLIT_DATES, splitDataset } from "../../models/dataset";
import { DataError, InsufficientDataError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";
import { seededRandom } from "../../models/stats";
import { adverseMoveTargets, targetObservedAt } from "../../models/target";
import { DEFAULT_TRAIN_OPTIONS, trainModel } from "../../models/train";
import type { Candle, CandleSeries, Gap } from "../../candles/types";

const ROOT = path.join(__dirname, "../..");
const CANDLE_FILE = path.join(ROOT, "models/data/btcusdt-2h.csv");

const BAR = 2 * 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

/** A series over `candles` with its gaps listed by a plain scan (independent of the loader). */
function seriesOf(candles: Candle[], intervalMs = BAR, source = "test"): CandleSeries {
  const gaps: Gap[] = [];
  for (let i = 1; i < candles.length; i++) {
    const spacing = candles[i].time - candles[i - 1].time;
    if (spacing > intervalMs) {
      gaps.push({
        afterIndex: i - 1,
        from: candles[i - 1].time,
        to: candles[i].time,
        missingBars: spacing / intervalMs - 1,
      });
    }
  }
  return { source, candles, intervalMs, gaps };
}

/** `x` rounded to `d` decimals: a value the integer candles hold exactly (8 decimals at most). */
const round = (x: number, d: number) => Number(x.toFixed(d));

/** A copy of `c` with its prices and volume scaled by random factors, still a valid candle of 2-decimal prices. */
function perturbCandle(c: Candle, rnd: () => number): Candle {
  const f = () => 0.8 + 0.4 * rnd();
  const open = round(c.open * f(), 2);
  const close = round(c.close * f(), 2);
  return {
    time: c.time,
    open,
    close,
    high: Math.max(round(c.high * f(), 2), open, close),
    low: Math.min(round(c.low * f(), 2), open, close),
    volume: round(c.volume * f(), 4),
  };
}

/** Row and reason of bar t, for whole-row comparisons. */
function at(m: WindowFeatureMatrix, t: number): { row: bigint[] | null; reason: string | null } {
  return { row: m.rows[t], reason: m.reasons[t] };
}

/** The error `run` throws (fails the test if it returns). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

const realSeries = loadCandles(CANDLE_FILE);

describe("window features over a series: no look-ahead", () => {
  // 2,600 bars of the real file that contain four gaps (after file indices 3736, 3827, 5110, 5419).
  const FROM = 3000;
  const slice = seriesOf(realSeries.candles.slice(FROM, FROM + 2600), realSeries.intervalMs, "slice");
  const base = seriesWindowFeatures(slice);

  const rnd = seededRandom(20240601);
  const picked = new Set<number>();
  while (picked.size < 30) picked.add(700 + Math.floor(rnd() * 1890));
  // Bars just after each gap: the gap bar itself (no features) and the first bars that may have them.
  for (const g of slice.gaps) for (const d of [1, 2, 3, 12]) picked.add(g.afterIndex + d);
  const indices = [...picked].sort((a, b) => a - b);

  it("the slice holds the gaps the test relies on", () => {
    expect(slice.gaps.map((g) => g.afterIndex + FROM)).toEqual([3736, 3827, 5110, 5419]);
    expect(indices.length).toBeGreaterThanOrEqual(40);
    expect(indices.every((t) => t < slice.candles.length - 1)).toBe(true);
  });

  /** Bar t's features of a series, or the reason it has none (the same as the series' row and reason). */
  const featuresOf = (s: CandleSeries, t: number) => {
    try {
      return { row: barWindowFeatures(s, t), reason: null };
    } catch (e) {
      if (!(e instanceof InsufficientDataError)) throw e;
      return { row: null, reason: e.message.slice("slice: ".length) };
    }
  };

  it("features at t are unchanged when every later candle is perturbed or removed", () => {
    let compared = 0;
    for (const t of indices) {
      const r = seededRandom(t);
      const perturbed = seriesOf(
        slice.candles.map((c, k) => (k > t ? perturbCandle(c, r) : c)),
        slice.intervalMs,
        "slice",
      );
      const truncated = seriesOf(slice.candles.slice(0, t + 1), slice.intervalMs, "slice");
      expect(featuresOf(perturbed, t), `bar ${t}, later candles perturbed`).toEqual(at(base, t));
      expect(featuresOf(truncated, t), `bar ${t}, series truncated after it`).toEqual(at(base, t));
      // The perturbation really reached the later bars: the next bar's features (when defined) moved.
      if (base.rows[t + 1] !== null) expect(featuresOf(perturbed, t + 1).row).not.toEqual(base.rows[t + 1]);
      if (base.rows[t] !== null) compared++;
    }
    // Most picked bars have a vector, so the equalities above compare integers, not just nulls.
    expect(compared).toBeGreaterThanOrEqual(30);
  });

  it("features at t read only the window: candles before it may change freely", () => {
    for (const t of indices) {
      const r = seededRandom(t + 1);
      const first = t - WINDOW_BARS + 1;
      // Perturbed bars keep their times, so the window of bar t is the same set of bars.
      const perturbed = slice.candles.map((c, k) => (k < first ? perturbCandle(c, r) : c));
      expect(featuresOf(seriesOf(perturbed, slice.intervalMs, "slice"), t), `bar ${t}`).toEqual(at(base, t));
    }
  });

  it("perturbing bar t itself changes the features at t", () => {
    for (const t of indices) {
      if (base.rows[t] === null) continue;
      const c = slice.candles[t];
      const close = round(c.close * 1.01, 2);
      const moved: Candle = { ...c, close, high: Math.max(c.high, close), volume: round(c.volume * 1.5, 4) };
      const candles = slice.candles.map((x, k) => (k === t ? moved : x));
      const row = featuresOf(seriesOf(candles, slice.intervalMs, "slice"), t).row;
      expect(row, `bar ${t}`).not.toBeNull();
      expect(row, `bar ${t}`).not.toEqual(base.rows[t]);
    }
  });

  it("a bar right after a gap has no features: its last return is missing", () => {
    for (const g of slice.gaps) {
      const t = g.afterIndex + 1;
      expect(base.rows[t]).toBeNull();
      expect(base.reasons[t]).toMatch(/the bar before the last is missing \(no last return\)$/);
    }
  });

  it("one bar at a time (barWindowFeatures) equals the whole series at once", () => {
    for (const t of indices) {
      if (base.rows[t] === null) {
        const error = thrown(() => barWindowFeatures(slice, t));
        expect(error).toBeInstanceOf(InsufficientDataError);
        expect((error as Error).message).toBe(`slice: ${base.reasons[t]}`);
      } else {
        expect(barWindowFeatures(slice, t), `bar ${t}`).toEqual(base.rows[t]);
      }
    }
  });
});

describe("window features over a series: edges", () => {
  /** `n` gapless 2 h bars of drifting 2-decimal closes, bars after `after` shifted by `missing` bars. */
  function gapSeries(n: number, after: number, missing: number): CandleSeries {
    const candles: Candle[] = [];
    for (let t = 0; t < n; t++) {
      const close = round(100 * Math.exp(0.002 * (t % 50) + 0.003 * ((t * 7) % 5)), 2);
      const open = t === 0 ? close : candles[t - 1].close;
      const time = T0 + (t + (t > after ? missing : 0)) * BAR;
      candles.push({
        time,
        open,
        close,
        high: round(Math.max(open, close) * 1.001, 2),
        low: round(Math.min(open, close) * 0.999, 2),
        volume: 10 + (t % 3),
      });
    }
    return seriesOf(candles);
  }

  it("the first WINDOW_BARS - 1 bars have no features: their window starts before the series", () => {
    const m = seriesWindowFeatures(gapSeries(200, 1000, 0));
    for (let t = 0; t < WINDOW_BARS - 1; t++) {
      expect(m.rows[t]).toBeNull();
      expect(m.reasons[t]).toBe(`the window of ${WINDOW_BARS} bars starts before the series`);
    }
    expect(m.rows[WINDOW_BARS - 1]).not.toBeNull();
    expect(m.names).toEqual(WINDOW_FEATURES.map((f) => f.name));
    const s = gapSeries(200, 1000, 0);
    const error = thrown(() => barWindowFeatures(s, WINDOW_BARS - 2));
    expect(error).toBeInstanceOf(InsufficientDataError);
    expect((error as Error).message).toMatch(
      /^test: a window of 85 bars ending at .* starts at .*, before the first bar/,
    );
  });

  it("after a 2-bar gap the next bar but one has 9 returns in its day; after a 3-bar gap 8, under the 9 it needs", () => {
    const G = 150; // first bar after the gap
    const two = seriesWindowFeatures(gapSeries(200, G - 1, 2));
    expect(two.rows[G]).toBeNull();
    expect(two.rows[G + 1]).not.toBeNull();
    const three = seriesWindowFeatures(gapSeries(200, G - 1, 3));
    expect(three.rows[G + 1]).toBeNull();
    expect(three.reasons[G + 1]).toMatch(/: 1d window has 8 returns, needs 9$/);
    // The day window refills once the first missing bar leaves it: bar G + 9's 12 returns lose only 3.
    expect(three.reasons[G + 8]).toMatch(/: 1d window has 8 returns, needs 9$/);
    expect(three.rows[G + 9]).not.toBeNull();
  });

  it("barWindowFeatures refuses an index that is not a bar of the series", () => {
    expect(() => barWindowFeatures(realSeries, realSeries.candles.length)).toThrow(RangeError);
    expect(() => barWindowFeatures(realSeries, -1)).toThrow(RangeError);
    expect(() => barWindowFeatures(realSeries, 500.5)).toThrow(RangeError);
  });
});

describe("the training rows", () => {
  const features = seriesWindowFeatures(realSeries);
  const targets = adverseMoveTargets(realSeries);
  const all = buildDataset(features, targets, realSeries);

  it("hold every bar with both window features and a target, with the float twins of the integers", () => {
    const expected = features.rows.filter((r, t) => r !== null && targets[t] !== null).length;
    expect(all.y.length).toBe(expected);
    expect(all.xInt.length).toBe(expected);
    for (let i = 0; i < all.y.length; i += 97) {
      const t = all.index[i];
      expect(all.xInt[i]).toEqual(features.rows[t]);
      expect(all.x[i]).toEqual(featureFloats(all.xInt[i]));
      // The twin is exact: x * 2^32 gives the integer back.
      all.x[i].forEach((v, k) => expect(BigInt(v * 2 ** 32)).toBe(all.xInt[i][k]));
      expect(all.y[i]).toBe(targets[t]);
      expect(all.time[i]).toBe(realSeries.candles[t].time);
    }
  });

  it("split by time with purged boundaries: no train or validation target is observed after its split ends", () => {
    const { train, validation, test } = splitDataset(all, DEFAULT_SPLIT_DATES, realSeries.intervalMs);
    const { validationFrom, testFrom } = DEFAULT_SPLIT_DATES;
    expect(train.time.every((t) => targetObservedAt(t, BAR) <= validationFrom)).toBe(true);
    expect(validation.time.every((t) => t >= validationFrom && targetObservedAt(t, BAR) <= testFrom)).toBe(
      true,
    );
    expect(test.time.every((t) => t >= testFrom)).toBe(true);
    expect(train.xInt.length).toBe(train.y.length);
    expect(validation.x.length).toBe(validation.y.length);
  });

  it("training refuses candles whose bars are not the 2 h the window features are defined on", async () => {
    const hourly = seriesOf(
      realSeries.candles.slice(0, 400).map((c, t) => ({ ...c, time: T0 + t * 3_600_000 })),
      3_600_000,
      "hourly.csv",
    );
    const error = await trainModel(hourly, {
      ...DEFAULT_TRAIN_OPTIONS,
      dataFile: { file: "x", sha256: "y" },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toBe(
      "hourly.csv: bar interval is 60 min but the window features are defined on 120 min bars",
    );
  });
});
