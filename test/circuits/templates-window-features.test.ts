/**
 * circuits/lib/window-features.circom: WindowFeatures() against the integer engine
 * (features/window-features.ts `windowFeatures`) on real windows of models/data/btcusdt-2h.csv built by
 * candles' buildWindow (random ones, ones with missing bars, every window around a real gap), on windows of the
 * other seven markets' files (random ones and each market's extremes), and on
 * crafted windows for each coverage rule (both sides of each threshold), a flat price, zero volume, and
 * features at their bounds. Where the engine refuses a window, the circuit must have no witness, and
 * the refusal must come from the check that stands for the engine's reason.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bigRandom, loadCircuit, witnessFailure, type TestCircuit } from "../helpers/circuits";
import {
  buildWindow,
  integerCandlesOf,
  marketIdOf,
  WINDOW_RANGE_BARS,
  type Window,
  type WindowBar,
} from "../../candles";
import {
  FEATURE_RANGE_BARS,
  WINDOW_FEATURES,
  windowFeatures,
  windowSums,
} from "../../features/window-features";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { BoundsError, InsufficientDataError } from "../../core/errors";

const ROOT = join(__dirname, "../..");
const SOURCE_FILE = join(ROOT, "circuits/lib/window-features.circom");
const SERIES = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const INTEGERS = integerCandlesOf(SERIES);
const MARKET = 0x4254432d55534454n; // "BTC-USDT"
const N = WINDOW_BARS;
/** The window's range part starts here (bar 61: the window signs the highs and lows of its last 24 bars). */
const RANGE_START = N - WINDOW_RANGE_BARS;
/** range_1d reads the highs and lows from here (bar 73: the last FEATURE_RANGE_BARS = 12), the template's input. */
const FEATURE_START = N - FEATURE_RANGE_BARS;
const F = 1n << 32n;

const windowAt = (index: number): Window => buildWindow(SERIES, MARKET, index, N, INTEGERS);

/**
 * The circuit's input for a window: closes and volumes of the 85 bars, highs and lows of the last 12 (of the 24
 * the window signs; the signed circuits wire the same, signed-circuit-parts.ts `emitFeatureInputs`).
 */
function inputOf(w: Window): Record<string, bigint[]> {
  return {
    close: w.bars.map((b) => b.close),
    volume: w.bars.map((b) => b.volume),
    high: w.bars.slice(FEATURE_START).map((b) => b.high),
    low: w.bars.slice(FEATURE_START).map((b) => b.low),
  };
}

/** The engine's features, or the error it refuses the window with. */
function engine(w: Window): bigint[] | Error {
  try {
    return windowFeatures(w);
  } catch (e) {
    if (e instanceof InsufficientDataError || e instanceof BoundsError || e instanceof RangeError) return e;
    throw e;
  }
}

/**
 * The WindowFeatures statement a refusal comes from: the witness generator's error names the templates
 * on its stack with lines, and WindowFeatures' line is the statement that feeds the failing component
 * (e.g. `coverDay.in <== n1 - MIN_DAY;` gives "coverDay"). BarReturns' NonZero is "bars".
 */
const SOURCE_LINES = readFileSync(SOURCE_FILE, "utf8").split("\n");
function refusedBy(message: string): string {
  const frame = /Error in template WindowFeatures_\d+ line: (\d+)/.exec(message);
  if (!frame) throw new Error(`no WindowFeatures frame in ${message}`);
  const statement = SOURCE_LINES[Number(frame[1]) - 1].trim();
  const component = /^([A-Za-z0-9_]+)(\[[^\]]*\])?\./.exec(statement);
  if (!component) throw new Error(`line ${frame[1]} is not a component input: ${statement}`);
  return component[1];
}

/** A copy of `w` with the bars at `indexes` missing (every field 0). */
function withMissing(w: Window, indexes: readonly number[]): Window {
  const bars = w.bars.map((b, i): WindowBar =>
    indexes.includes(i) ? { ...b, missing: true, close: 0n, volume: 0n, high: 0n, low: 0n } : b,
  );
  return { ...w, bars };
}

/** A copy of `w` with each bar changed by `f` (index, bar) -> the fields to set. */
function mapBars(w: Window, f: (i: number, b: WindowBar) => Partial<WindowBar>): Window {
  return { ...w, bars: w.bars.map((b, i) => ({ ...b, ...f(i, b) })) };
}

/** A present window of constant close `c` (high = low = c in the range part), volumes `v(i)`. */
function flatWindow(c: bigint, v: (i: number) => bigint): Window {
  return mapBars(BASE, (i) => ({
    close: c,
    volume: v(i),
    high: i >= RANGE_START ? c : 0n,
    low: i >= RANGE_START ? c : 0n,
  }));
}

// A fully present week (the last bar of the file; no gap since 2021) that the crafted windows start from.
const BASE = windowAt(SERIES.candles.length - 1);

describe("WindowFeatures()", () => {
  let c: TestCircuit;

  beforeAll(async () => {
    c = await loadCircuit(
      'pragma circom 2.1.0;\ninclude "window-features.circom";\ncomponent main = WindowFeatures();\n',
      "WindowFeatures",
    );
  });

  /** The circuit's features, or the component that refused the window (no witness). */
  async function circuit(w: Window): Promise<bigint[] | { refusedBy: string }> {
    const input = inputOf(w);
    const failure = await witnessFailure(c, input);
    if (failure !== undefined) {
      expect(failure).toMatch(/Assert Failed/);
      return { refusedBy: refusedBy(failure) };
    }
    const witness = await c.witness(input);
    return WINDOW_FEATURES.map((_, i) => c.read(witness, `main.features[${i}]`));
  }

  /** Engine and circuit agree on `w`: the same features, or both refuse. Returns the engine's result. */
  async function expectAgree(w: Window, label: string): Promise<bigint[] | Error> {
    const want = engine(w);
    const got = await circuit(w);
    if (want instanceof Error) {
      expect(got, `${label}: the engine refuses (${want.message}), the circuit must too`).toHaveProperty(
        "refusedBy",
      );
    } else {
      expect(got, label).toEqual(want);
    }
    return want;
  }

  it("pins the --O2 cost at 6818 (derivation in the template header)", () => {
    const parts = {
      barReturns: 2 * 83 + 2 + 82 + 83 + 84, // Presence of bars 0..82, NonZero of 83, 84, ok, g, e
      coverage: 2 + 4 + 5, // RangeCheck of n(W1) - 9, n(W35) - 32, n(W7) - 63
      sums: 1 + 12, // D = C^2, (h - l)^2 of the range part
      rv1d: 1 + 33 + 2 * (33 + 1 + 132) + 2, // n D, SqrtOfRatio(33, 132)
      rv3d5: 1 + 33 + 2 * (33 + 1 + 134) + 2,
      rv7d: 1 + 33 + 2 * (33 + 1 + 135) + 2,
      range1d: 1 + 33 + 2 * (33 + 1 + 132) + 2,
      absReturn: 33 + 2 * (33 + 1 + 128) + 2, // count 1: no n D product
      volumeRatio: 1 + (39 + 2 * 87 + 1) + 3, // v_84 m7, FloorDivOrZero(39, 87)
      maximum: 21 * 64 + 20, // Maximum(21, 64)
      drawdown: 32 + 2 * 64 + 1, // FloorDiv(32, 64)
      dailyVariances: 7 * (1 + 73 + 2 * 132 + 1), // n_j D, FloorDiv(73, 132)
      volvol: 7 + 1 + 2 + (34 + 2 * (34 + 1 + 152) + 2), // u_j^2, U1^2, IsZero(U1), SqrtOfRatio(34, 152)
    };
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    expect(total).toBe(6818);
    expect(c.constraints).toBe(total);
  });

  it("pins the parts that are templates of their own: BarReturns 417 + 6, RelativeRms(12, 33) 368", async () => {
    const [bars, rms] = await Promise.all([
      loadCircuit(
        'pragma circom 2.1.0;\ninclude "window-features.circom";\ncomponent main = BarReturns();\n',
        "BarReturns",
      ),
      loadCircuit(
        'pragma circom 2.1.0;\ninclude "window-features.circom";\ncomponent main = RelativeRms(12, 33);\n',
        "RelativeRms12",
      ),
    ]);
    // as a main, BarReturns' constant or copied outputs (present[83], present[84], ok[0], ok[83], ok[84],
    // sq[0]) are public signals that --O2 cannot substitute away: 6 linear constraints that fold inside
    // WindowFeatures
    expect(bars.constraints).toBe(417 + 6);
    expect(rms.constraints).toBe(368);
  });

  it("equals the engine on 40 seeded random windows of the BTC-USDT file, and satisfies the r1cs", async () => {
    const rnd = bigRandom(85);
    let accepted = 0;
    for (let k = 0; k < 40; k++) {
      const index = Number(rnd.between(BigInt(N), BigInt(SERIES.candles.length - 1)));
      const want = await expectAgree(windowAt(index), `window ending at bar ${index}`);
      if (!(want instanceof Error)) accepted++;
      if (k < 3) expect(c.violated(await c.witness(inputOf(windowAt(index))))).toEqual([]);
    }
    expect(accepted).toBeGreaterThanOrEqual(38);
  });

  it("equals the engine on the other seven markets' files: seeded windows and each market's extremes", async () => {
    // Other price scales (ADA's closes near 2^21 units, BTC's near 2^43) and volumes (XRP's bars near 2^58): the
    // windows ending at each market's smallest close, largest volume and largest bar return, and 4 random ones.
    const rnd = bigRandom(7);
    let accepted = 0;
    for (const label of ["ETH", "SOL", "XRP", "BNB", "ADA", "LINK", "LTC"]) {
      const series = loadCandles(join(ROOT, `models/data/${label.toLowerCase()}usdt-2h.csv`));
      const integers = integerCandlesOf(series);
      const last = series.candles.length - 1;
      const extreme = (score: (i: number) => number): number => {
        let best = N;
        for (let i = N; i <= last; i++) if (score(i) > score(best)) best = i;
        return best;
      };
      const ends = [
        extreme((i) => -series.candles[i].close),
        extreme((i) => series.candles[i].volume),
        extreme((i) => Math.abs(Math.log(series.candles[i].close / series.candles[i - 1].close))),
        ...[0, 1, 2, 3].map(() => Number(rnd.between(BigInt(N), BigInt(last)))),
      ];
      const market = marketIdOf(`${label}-USDT`);
      for (const end of ends) {
        // The window ending at the extreme bar, and the one 6 bars later (the bar inside the last day).
        for (const at of [end, Math.min(end + 6, last)]) {
          const w = buildWindow(series, market, at, N, integers);
          const want = await expectAgree(w, `${label}-USDT, the window ending at bar ${at}`);
          if (!(want instanceof Error)) accepted++;
        }
      }
    }
    expect(accepted).toBeGreaterThanOrEqual(90);
  });

  it("equals the engine on real windows with missing bars inside (every gap of 1 to 5 bars)", async () => {
    let withGap = 0;
    for (const gap of SERIES.gaps.filter((g) => g.missingBars <= 5 && g.afterIndex >= N)) {
      // the gap at bar 82 (return 83 lost, 84 kept), bar ~80, in the middle and near the start
      for (const back of [2, 4, 40, 80]) {
        const w = windowAt(gap.afterIndex + back);
        const want = await expectAgree(w, `window ${back} bars after the gap at bar ${gap.afterIndex}`);
        if (!(want instanceof Error) && w.bars.some((b) => b.missing)) withGap++;
      }
    }
    expect(withGap).toBeGreaterThanOrEqual(40);
  });

  it("equals the engine on every window around the 16-bar gap of 2018-02-08 (refused and accepted)", async () => {
    const gap = SERIES.gaps.find((g) => g.missingBars === 16);
    if (!gap) throw new Error("the file's 16-bar gap of 2018-02-08 is gone");
    const reasons = new Map<string, number>();
    let accepted = 0;
    for (let index = gap.afterIndex - 2; index <= gap.afterIndex + N + 2; index++) {
      const want = await expectAgree(windowAt(index), `window ending at bar ${index}`);
      if (want instanceof Error) {
        const reason = want.message.replace(/^.*: /, "").replace(/\d+/g, "#");
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      } else {
        accepted++;
      }
    }
    // the gap walks through the 1-day, 3.5-day and 7-day windows: each rule refuses some windows
    expect([...reasons.keys()].sort()).toEqual([
      "#.#d window has # returns, needs #",
      "#d window has # returns, needs #",
      "day # of the #d window has no return",
      "the bar before the last is missing (no last return)",
    ]);
    expect(accepted).toBeGreaterThan(10);
  });

  describe("coverage rules, both sides of each threshold (crafted from the last week of the file)", () => {
    const cases: {
      name: string;
      missing: number[];
      counts?: Partial<Record<string, number>>;
      by?: string;
    }[] = [
      { name: "bar 83 missing: no last return", missing: [83], by: "bars" },
      { name: "bar 0 missing: only return 1 lost", missing: [0], counts: { week: 83 } },
      { name: "bar 82 missing: returns 82 and 83 lost", missing: [82], counts: { day: 10 } },
      { name: "n(W1) = 8", missing: [74, 78], counts: { day: 8 }, by: "coverDay" },
      { name: "n(W1) = 9", missing: [72, 74], counts: { day: 9 } },
      {
        name: "n(W35) = 31",
        missing: [42, 44, 47, 50, 53, 56],
        counts: { halfWeek: 31 },
        by: "coverHalfWeek",
      },
      { name: "n(W35) = 32", missing: [44, 47, 50, 53, 56], counts: { halfWeek: 32 } },
      {
        name: "n(W7) = 62",
        missing: [2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32],
        counts: { week: 62 },
        by: "coverWeek",
      },
      { name: "n(W7) = 63", missing: [0, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29], counts: { week: 63 } },
    ];
    for (const day of [0, 1, 2, 3]) {
      // every other bar of day j missing: each of its 12 returns touches one
      cases.push({
        name: `day ${day} without a return`,
        missing: [1, 3, 5, 7, 9, 11].map((k) => 12 * day + k),
        by: "daily",
      });
    }

    for (const k of cases) {
      it(`${k.name}: ${k.by ? `refused by both (${k.by})` : "the same features"}`, async () => {
        const w = withMissing(BASE, k.missing);
        const sums = windowSums(w);
        for (const [field, count] of Object.entries(k.counts ?? {})) {
          expect(sums[field as "day" | "halfWeek" | "week"].count, `${field} count`).toBe(count);
        }
        const want = engine(w);
        const got = await circuit(w);
        if (k.by) {
          expect(want).toBeInstanceOf(InsufficientDataError);
          expect(got).toEqual({ refusedBy: k.by });
        } else {
          expect(want).not.toBeInstanceOf(Error);
          expect(got).toEqual(want);
        }
      });
    }

    it("the last bar missing (a malformed window for the engine): no witness", async () => {
      const w = withMissing(BASE, [N - 1]);
      expect(engine(w)).toBeInstanceOf(RangeError);
      expect(await circuit(w)).toEqual({ refusedBy: "bars" });
    });
  });

  describe("degenerate windows", () => {
    it("a flat price (U1 = 0): every price feature and volvol_7d are 0, volume_ratio_7d is not", async () => {
      const w = flatWindow(6_000_000_000_000n, (i) => BigInt(i + 1) * 1_000_000n);
      const want = await expectAgree(w, "flat price");
      // V = sum of v_i over bars 1 .. 84 = (2 + ... + 85) 10^6; v_84 = 85 10^6; m7 = 84
      const volumeSum = BigInt(Array.from({ length: 84 }, (_, i) => i + 2).reduce((a, b) => a + b, 0));
      expect(want).toEqual([0n, 0n, 0n, 0n, 0n, (85n * 84n * F) / volumeSum, 0n, 0n]);
    });

    it("zero volume (V = 0): volume_ratio_7d is 0", async () => {
      const w = mapBars(BASE, () => ({ volume: 0n }));
      const want = await expectAgree(w, "zero volume");
      if (want instanceof Error) throw want;
      expect(want[5]).toBe(0n);
      expect(want[0]).toBeGreaterThan(0n);
    });

    it("a flat price with zero volume: all eight features are 0", async () => {
      expect(
        await expectAgree(
          flatWindow(1n, () => 0n),
          "flat, no volume",
        ),
      ).toEqual(Array(8).fill(0n));
    });

    it("the highs and lows of bars 61 .. 72 are signed but read by no feature (range_1d reads 73 .. 84)", async () => {
      expect([RANGE_START, FEATURE_START]).toEqual([61, 73]);
      const wide = (from: number, to: number) =>
        mapBars(BASE, (i, b) => (i >= from && i <= to ? { high: b.high * 2n, low: 1n } : {}));
      expect(await expectAgree(wide(RANGE_START, FEATURE_START - 1), "bars 61 .. 72 widened")).toEqual(
        engine(BASE),
      );
      // bar 73 widened: range_1d moves, in both
      const moved = await expectAgree(wide(FEATURE_START, FEATURE_START), "bar 73 widened");
      if (moved instanceof Error) throw moved;
      expect(moved[3]).toBeGreaterThan((engine(BASE) as bigint[])[3]);
    });

    it("volume[0] is signed but read by no feature (V sums bars 1 .. 84)", async () => {
      const w = mapBars(BASE, (i, b) => (i === 0 ? { volume: b.volume * 1000n + 1n } : {}));
      expect(await expectAgree(w, "volume[0] changed")).toEqual(engine(BASE));
    });

    it("drawdown_7d ignores the closes between the 8-hourly samples and bar 0 (the highest here)", async () => {
      const top = 2n * BASE.bars.reduce((m, b) => (b.close > m ? b.close : m), 0n);
      const w = mapBars(BASE, (i) => (i === 0 || i === 83 || i === 81 ? { close: top } : {}));
      const fixed = mapBars(w, (i, b) =>
        i >= RANGE_START ? { high: b.close > b.high ? b.close : b.high } : {},
      );
      const want = await expectAgree(fixed, "off-sample highs");
      if (want instanceof Error) throw want;
      expect(want[6]).toBe((engine(BASE) as bigint[])[6]);
    });

    it("the highest close at the oldest sample (bar 4) sets M", async () => {
      const w = mapBars(BASE, (i, b) => (i === 4 ? { close: b.close * 3n } : {}));
      const want = await expectAgree(w, "high at bar 4");
      if (want instanceof Error) throw want;
      expect(want[6]).toBeGreaterThan((F * 6n) / 10n);
    });
  });

  describe("features at their declared bounds", () => {
    // C = 2^40 so that (2C - 1) / C * 2^32 = 2^33 - 2^-8: the root floors to 2^33 - 1, the largest value
    const C = 1n << 40n;
    const flat = flatWindow(C, () => 1_000_000n);

    it("abs_return = 2^33 - 1 (just below 2) is accepted; 2^33 is refused by both", async () => {
      const at = (c83: bigint) =>
        mapBars(flat, (i) => (i === 83 ? { close: c83, high: c83 > C ? c83 : C, low: C } : {}));
      const below = await expectAgree(at(3n * C - 1n), "abs_return just below 2");
      if (below instanceof Error) throw below;
      expect(below[4]).toBe(2n * F - 1n);
      const over = at(3n * C);
      expect(engine(over)).toBeInstanceOf(BoundsError);
      expect(await circuit(over)).toEqual({ refusedBy: "absReturn" });
    });

    it("range_1d = 2^33 - 1 is accepted; 2^33 is refused by both", async () => {
      const at = (high: bigint) => mapBars(flat, (i) => (i >= RANGE_START ? { high } : {}));
      const below = await expectAgree(at(3n * C - 1n), "range_1d just below 2");
      if (below instanceof Error) throw below;
      expect(below[3]).toBe(2n * F - 1n);
      const over = at(3n * C);
      expect(engine(over)).toBeInstanceOf(BoundsError);
      expect(await circuit(over)).toEqual({ refusedBy: "rangeRms" });
    });

    it("rv_1d over 2 (closes of 4C at bars 73, 75, ..., 81, else C) is refused by rv1", async () => {
      // 10 changes of 3C in 12 returns: rv_1d = sqrt(90 / 12) = 2.7; rv_3d5 = 1.5, range_1d = 1.9
      const w = mapBars(flat, (i) =>
        i >= FEATURE_START && i <= 81 && i % 2 === 1 ? { close: 4n * C, high: 4n * C } : {},
      );
      expect(engine(w)).toBeInstanceOf(BoundsError);
      expect(await circuit(w)).toEqual({ refusedBy: "rv1" });
    });
  });
});
