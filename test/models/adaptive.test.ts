import { describe, expect, it } from "vitest";
import {
  acceptancePattern,
  adaptiveStep,
  adaptiveUpdate,
  annealingStage,
  balancedUpNum,
  initialState,
  integerBreach,
  PendingOutcomes,
  runAdaptive,
  stateToNum,
  windowOutcome,
  type AdaptiveRule,
  type AdaptiveState,
} from "../../models/adaptive";
import { buildWindow, integerCandlesOf } from "../../candles";
import { WINDOW_BARS } from "../../candles/window";
import { integerPolicy } from "../../models/integer-engine";
import { evaluateBacktest } from "../../models/backtest";
import { integerOutputs, loadCalibrations } from "../../models/market-calibrations";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { runBacktest } from "../../models/run-backtest";
import { adverseMoveTargets, MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../../models/target";
import type { Candle, CandleSeries } from "../../candles/types";
import { join } from "node:path";

/** A rule without annealing (one stage): down 2^-10, up 6688 / 2^16. */
const RULE: AdaptiveRule = {
  downShiftStart: 10,
  downShift: 10,
  outcomesPerShift: 1,
  upNums: [6688],
  upShift: 16,
  minNum: 16384,
  maxNum: 262144,
};
/** A rule annealing 2^-10 -> 2^-12 over stages of 2 outcomes, with the balanced up steps. */
const ANNEAL: AdaptiveRule = {
  downShiftStart: 10,
  downShift: 12,
  outcomesPerShift: 2,
  upNums: [6656, 3247, 1604],
  upShift: 16,
  minNum: 16384,
  maxNum: 262144,
};
const at = (num: bigint, outcomes = 0): AdaptiveState => ({ num, outcomes });
const H2 = 2 * 3600 * 1000;
/** The integers a..b. */
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("adaptive calibration (integer rule)", () => {
  it("steps: down by floor(num / 2^downShift), up by floor(num * upNum / 2^upShift), clamped", () => {
    // States carry 8 extra bits: 65536 * 256 = 16777216.
    // 16777216 - 16384 = 16760832; 16777216 + floor(16777216 * 6688 / 65536) = 16777216 + 1712128.
    expect(adaptiveStep(at(16777216n), false, RULE).num).toBe(16760832n);
    expect(adaptiveStep(at(16777216n), true, RULE).num).toBe(18489344n);
    expect(adaptiveStep(at(16384n * 256n), false, RULE).num).toBe(16384n * 256n);
    expect(adaptiveStep(at(260000n * 256n), true, RULE).num).toBe(262144n * 256n);
    expect(initialState(65536)).toEqual(at(16777216n));
    // The margin's calibrationNum is the state rounded up.
    expect(stateToNum(16760832n)).toBe(65472n);
    expect(stateToNum(16760833n)).toBe(65473n);
  });

  it("anneals: the down shift grows by one every outcomesPerShift outcomes, with that stage's up step", () => {
    // Hand-computed from 2^24 (scale 1), outcomes covered, covered, breached, covered x 3, breached:
    //  k=0: 16777216 - (16777216 >> 10 = 16384) = 16760832; 16760832 - 16368 = 16744464
    //  k=1 (outcomes 2): breach 16744464 + floor(16744464 * 3247 / 2^16) = 16744464 + 829609 = 17574073
    //  k=1 (outcomes 3): 17574073 - (17574073 >> 11 = 8581) = 17565492
    //  k=2 from outcomes 4 on (cap 4): 17565492 - 4288 = 17561204; - 4287 = 17556917;
    //  breach 17556917 + floor(17556917 * 1604 / 2^16) = 17556917 + 429707 = 17986624
    const seq = [false, false, true, false, false, false, true];
    const want = [16760832n, 16744464n, 17574073n, 17565492n, 17561204n, 17556917n, 17986624n];
    const outcomes = [1, 2, 3, 4, 4, 4, 4];
    let st = initialState(65536);
    seq.forEach((b, i) => {
      st = adaptiveStep(st, b, ANNEAL);
      expect(st).toEqual({ num: want[i], outcomes: outcomes[i] });
    });
    expect([0, 1, 2, 3, 4, 99].map((o) => annealingStage(o, ANNEAL))).toEqual([0, 0, 1, 1, 2, 2]);
    // Each stage's up step is the balanced one for its down shift.
    expect(ANNEAL.upNums).toEqual([10, 11, 12].map((d) => balancedUpNum(d, 16)));
  });

  it("upNum balances 99 covered steps against one breach in log terms (rounded up)", () => {
    // (1 - 2^-10)^-99 - 1 = 0.10155...; * 2^16 = 6655.6 -> 6656.
    const u = balancedUpNum(10, 16);
    expect(u).toBe(Math.ceil((Math.pow(1 - 2 ** -10, -99) - 1) * 65536));
    expect(99 * Math.log(1 - 2 ** -10) + Math.log(1 + u / 65536)).toBeGreaterThanOrEqual(0);
  });

  it("breach in integers: 10000 * max(c - low, high - c) > MM * c, equality covered", () => {
    // close 100, low 99 -> move 1 % = 100 bps: MM 100 covers, MM 99 is breached.
    expect(integerBreach(100n, [99n, 100n], [100n, 100n], 100n)).toBe(false);
    expect(integerBreach(100n, [99n, 100n], [100n, 100n], 99n)).toBe(true);
    expect(integerBreach(100n, [100n], [102n], 199n)).toBe(true);
  });

  it("runs as on chain: each accepted update processes the oldest pending outcome; margins stay in force", () => {
    const model = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
    const n = 40;
    // Flat at 100 except a 5 % drop at bar 14 (inside the 24 h of bars 2..13).
    const candles: Candle[] = Array.from({ length: n }, (_, i) => {
      const low = i === 14 ? 95 : 100;
      return { time: i * H2, open: 100, high: 100, low, close: 100, volume: 1 };
    });
    const series: CandleSeries = { source: "hand-made", candles, intervalMs: H2, gaps: [] };
    // Network output fixed so MM = 100 bps at num 65536: y * num * 10000 / 2^mmShift = 100.
    const y = (100n << BigInt(model.policy.mmShift)) / (65536n * 10000n);
    const outputs = candles.map(() => y as bigint | null);
    const missed = new Set([5, 20]);
    const run = runAdaptive(series, outputs, (t) => !missed.has(t), model.policy, 65536, RULE);
    // Updates at every bar but 5 and 20.
    expect(run.updates).toBe(n - 2);
    // The outcomes each update processes (bar s, or none), by hand: t = 12..16 process s = 0..4 (lag 0); at
    // t = 17 nothing is pending in 0..5 (bar 5 was missed); t = 18, 19 process 6, 7; t = 20 is missed, so bar 8
    // is processed at t = 21 with lag 1, and the lag stays 1 up to t = 32 (s = 19); at t = 33 bar 20 (missed) is
    // not pending, so s = 21 with lag 0, up to t = 39 (s = 27). Under the rule before, bar 8's outcome was lost.
    const processed: [number, number][] = [];
    for (let t = 12; t < n; t++) {
      if (t === 17 || missed.has(t)) continue;
      processed.push([t, t <= 16 || (t >= 18 && t <= 19) || t >= 33 ? t - 12 : t - 13]);
    }
    expect(processed.map(([, s]) => s)).toEqual([0, 1, 2, 3, 4, 6, 7, ...range(8, 19), ...range(21, 27)]);
    expect(run.outcomes).toBe(26);
    // Breached outcomes: bars s = 2..13 see the 5 % low at bar 14 (s + 1 <= 14 <= s + 12). First processed at
    // t = 14 (s = 2): a breach. t = 12, 13: s = 0, 1 covered: 16777216 - 16384 = 16760832, then
    // - floor(16760832 / 1024) = 16744464. One stage: the outcome counter is capped at 0 (nothing left to anneal).
    expect(run.state[12]).toEqual(at(16760832n, 0));
    expect(run.state[13]).toEqual(at(16744464n, 0));
    expect(run.state[14]!.num > run.state[13]!.num).toBe(true);
    // Bar 8's breach, processed late (t = 21, lag 1), moves the scale up; t = 17 processes nothing.
    expect(run.state[21]!.num > run.state[19]!.num).toBe(true);
    expect(run.state[17]).toEqual(run.state[16]);
    // A missed bar keeps the previous margin in force and leaves no state.
    expect(run.state[5]).toBeNull();
    expect(run.maintenanceMarginBps[5]).toBe(run.maintenanceMarginBps[4]);
    // Replaying the rule by hand gives every state.
    const replay = (rule: AdaptiveRule) => {
      let st = initialState(65536);
      const states = new Map<number, AdaptiveState>();
      for (const [t, s] of processed) {
        st = adaptiveStep(st, s >= 2 && s <= 13, rule);
        states.set(t, st);
      }
      return states;
    };
    for (const [t, st] of replay(RULE)) expect(run.state[t], `bar ${t}`).toEqual(st);
    // The annealing rule on the same bars: the replay with ANNEAL gives its final state.
    const annealed = runAdaptive(series, outputs, (t) => !missed.has(t), model.policy, 65536, ANNEAL);
    expect(annealed.state[n - 1]).toEqual(replay(ANNEAL).get(n - 1));
    expect(annealed.state[n - 1]).not.toEqual(run.state[n - 1]);
  });

  it("a gap in the candles: outcomes whose 24 h hold a missing bar are consumed, not processed", () => {
    const model = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
    // Bars 0..39 but bar 20 (no candle, so no update either); flat, so every processed outcome is covered.
    const candles: Candle[] = Array.from({ length: 40 }, (_, i) => i)
      .filter((i) => i !== 20)
      .map((i) => ({ time: i * H2, open: 100, high: 100, low: 100, close: 100, volume: 1 }));
    const series: CandleSeries = { source: "hand-made", candles, intervalMs: H2, gaps: [] };
    const y = (100n << BigInt(model.policy.mmShift)) / (65536n * 10000n);
    const run = runAdaptive(
      series,
      candles.map(() => y),
      () => true,
      model.policy,
      65536,
      RULE,
    );
    // Bars 0..7 by bars 12..19 (lag 0); from bar 21, bars 8..19 (lag 1: bar 20 had no update) hold bar 20 in
    // their 24 h: consumed without an outcome, as the chain's window (bar 20 missing) gives none; then bars 21..27
    // by bars 33..39 (lag 0).
    expect(run.updates).toBe(39);
    expect(run.outcomes).toBe(8 + 7);
  });

  it("with every bar accepted, the rule is the one before (bar t processes bar t - 12 exactly)", () => {
    const quantized = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
    // ETH 2023 H2 with a gap of 5 bars in November: the catch-up rule differs only when an update is missing
    const full = loadCandles(join(__dirname, "../../models/data/ethusdt-2h.csv"));
    const gap = [Date.UTC(2023, 10, 10, 0), Date.UTC(2023, 10, 10, 10)];
    const candles = full.candles.filter(
      (c) =>
        c.time >= Date.UTC(2023, 6, 1) &&
        c.time < Date.UTC(2024, 0, 1) &&
        !(c.time >= gap[0] && c.time <= gap[1]),
    );
    const series: CandleSeries = { ...full, candles, gaps: [] };
    const rule = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;
    const outputs = integerOutputs(quantized, series);
    const run = runAdaptive(series, outputs, () => true, quantized.policy, 59567, rule);
    // The rule before, written out: bar t processes bar t - 12 when both have an update and bars s..t are all
    // in the series (exactly 12 bars back).
    const ints = integerCandlesOf(series);
    const mmAt: (bigint | null)[] = candles.map(() => null);
    let state = initialState(59567);
    let outcomes = 0;
    for (let t = 0; t < candles.length; t++) {
      const yt = outputs[t];
      if (yt === null) continue;
      const s = t - TARGET_HORIZON_BARS;
      if (s >= 0 && mmAt[s] !== null && candles[t].time - candles[s].time === TARGET_HORIZON_BARS * H2) {
        const later = ints.slice(s + 1, t + 1);
        state = adaptiveStep(
          state,
          integerBreach(
            ints[s].close,
            later.map((c) => c.low),
            later.map((c) => c.high),
            mmAt[s]!,
          ),
          rule,
        );
        outcomes++;
      }
      const p = integerPolicy({ ...quantized.policy, calibrationNum: Number(stateToNum(state.num)) }, yt);
      mmAt[t] = p.maintenanceMarginBps;
      expect(run.state[t], `bar ${t}`).toEqual(state);
      expect(run.maintenanceMarginBps[t]).toBe(Number(p.maintenanceMarginBps));
    }
    expect(run.outcomes).toBe(outcomes);
  }, 120_000);

  it("the missed-update pattern is deterministic and has about the asked rate", () => {
    const a = acceptancePattern(0.1);
    const missed = Array.from({ length: 20000 }, (_, t) => !a(t)).filter(Boolean).length;
    expect(missed / 20000).toBeGreaterThan(0.09);
    expect(missed / 20000).toBeLessThan(0.11);
    expect(Array.from({ length: 100 }, (_, t) => acceptancePattern(0.1)(t))).toEqual(
      Array.from({ length: 100 }, (_, t) => a(t)),
    );
    expect(acceptancePattern(0)(7)).toBe(true);
  });
});

describe("the backtest's adaptive figures", () => {
  it("are the rule's own: runBacktest reports what runAdaptive's margins give, and another rule changes them", () => {
    const quantized = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
    const full = loadCandles(join(__dirname, "../../models/data/ethusdt-2h.csv"));
    const from = Date.UTC(2023, 9, 1);
    const candles = full.candles.filter((c) => c.time >= from);
    const series: CandleSeries = { ...full, candles, gaps: [] };
    const fromMs = Date.UTC(2024, 0, 1);
    const shipped = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;
    const m = { kind: "quantized" as const, model: quantized };
    const num = 59567;
    const report = (rule: AdaptiveRule) =>
      runBacktest(m, series, { fromMs }, "q", {
        calibration: { num, source: "fitted" },
        adaptive: { rule, missRate: 0.1 },
      }).models.find((x) => x.name === "q-adaptive")!;
    const got = report(shipped);
    // The same run, by hand: the rule's margins evaluated alone.
    const run = runAdaptive(
      series,
      integerOutputs(quantized, series),
      acceptancePattern(0.1),
      quantized.policy,
      num,
      shipped,
      fromMs,
    );
    const mine = evaluateBacktest(
      series,
      adverseMoveTargets(series),
      [{ name: "x", maintenanceMarginBps: run.maintenanceMarginBps, initialMarginBps: run.initialMarginBps }],
      { fromMs },
    ).models[0];
    expect(got.breaches).toBe(mine.breaches);
    expect(got.avgMaintenanceMarginBps).toBe(mine.avgMaintenanceMarginBps);
    expect(got.daily).toEqual(mine.daily);
    expect(report(RULE).avgMaintenanceMarginBps).not.toBe(got.avgMaintenanceMarginBps);
    // The backtest (and the rule) judge margins against the 12-bar move: a model of another horizon is refused,
    // naming both, with or without the rule.
    expect(() =>
      runBacktest(
        { kind: "quantized", model: { ...quantized, targetHorizonBars: 24 } },
        series,
        { fromMs },
        "q",
        {
          adaptive: { rule: shipped, missRate: 0 },
        },
      ),
    ).toThrow(/the next 12 bars \(non-overlapping daily samples.*\); this model's margins are for 24 bars/);
    expect(() =>
      runBacktest({ kind: "quantized", model: { ...quantized, targetHorizonBars: 24 } }, series, { fromMs }),
    ).toThrow(/this model's margins are for 24 bars \(targetHorizonBars\)/);
  }, 120_000);
});

describe("the rule as the chain runs it (windowOutcome, adaptiveUpdate)", () => {
  it("reproduces runAdaptive on ETH with 10 % missed updates and a gap: the window holds all the rule reads", () => {
    const quantized = loadQuantizedModel(join(__dirname, "../../models/btc-usdt-2h.quantized.json"));
    const full = loadCandles(join(__dirname, "../../models/data/ethusdt-2h.csv"));
    const from = Date.UTC(2023, 6, 1);
    const to = Date.UTC(2024, 0, 1);
    // a gap of 5 bars in November: outcomes across it are lost in both views
    const gap = [Date.UTC(2023, 10, 10, 0), Date.UTC(2023, 10, 10, 10)];
    const candles = full.candles.filter(
      (c) => c.time >= from && c.time < to && !(c.time >= gap[0] && c.time <= gap[1]),
    );
    const series: CandleSeries = { ...full, candles, gaps: [] };
    const rule = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;
    const outputs = integerOutputs(quantized, series);
    const accepted = acceptancePattern(0.1);
    const num = 59567;
    const run = runAdaptive(series, outputs, accepted, quantized.policy, num, rule);

    // The oracle's view: the pending outcomes (its ring), the state, and the signed window of each update.
    const ints = integerCandlesOf(series);
    const pending = new PendingOutcomes();
    let state = initialState(num);
    let processed = 0;
    let breaches = 0;
    let late = 0;
    let noOutcome = 0;
    for (let t = 0; t < candles.length; t++) {
      const y = outputs[t];
      if (y === null || !accepted(t)) continue;
      const window = buildWindow(series, 1n, t, WINDOW_BARS, ints);
      const bar = candles[t].time / series.intervalMs;
      const { marginS, lag } = pending.prior(bar);
      const outcome = windowOutcome(window.bars, marginS, lag);
      state = adaptiveUpdate(state, outcome, rule);
      if (outcome === null) noOutcome++;
      else {
        processed++;
        if (outcome) breaches++;
        if (lag > 0) late++;
      }
      const p = integerPolicy({ ...quantized.policy, calibrationNum: Number(stateToNum(state.num)) }, y);
      pending.accept(bar, p.maintenanceMarginBps);
      expect(state, `bar ${t} (${new Date(candles[t].time).toISOString()}, lag ${lag})`).toEqual(
        run.state[t],
      );
      expect(Number(p.maintenanceMarginBps)).toBe(run.maintenanceMarginBps[t]);
    }
    expect(processed).toBe(run.outcomes);
    expect(breaches).toBeGreaterThan(0);
    // missed updates delay outcomes rather than lose them: most outcomes are processed, many of them late
    expect(late).toBeGreaterThan(100);
    expect(noOutcome).toBeLessThan(100);
  }, 120_000);
});

describe("catch-up: pending outcomes (PendingOutcomes) and late outcomes (windowOutcome's lag)", () => {
  it("processes the oldest pending bar in t - 23 .. t - 12, with lag t - 12 - s", () => {
    const p = new PendingOutcomes();
    for (const b of [100, 101, 102]) expect(p.accept(b, BigInt(b))).toEqual([]);
    expect(p.prior(111)).toEqual({ marginS: 0n, lag: 0 }); // bar 100 is not 12 bars back yet
    expect(p.prior(112)).toEqual({ marginS: 100n, lag: 0 });
    expect(p.prior(114)).toEqual({ marginS: 100n, lag: 2 }); // bars 112, 113 got no update: still bar 100 first
    expect(p.prior(123)).toEqual({ marginS: 100n, lag: 11 });
    expect(p.prior(124)).toEqual({ marginS: 101n, lag: 11 }); // bar 100 is out of reach of bar 124's window
    // the update for bar 114 processes bar 100 (lag 2); the next ones bars 101 and 102, the lag staying 2
    expect(p.accept(114, 50n)).toEqual([]);
    expect(p.prior(115)).toEqual({ marginS: 101n, lag: 2 });
    p.accept(115, 51n);
    p.accept(116, 52n);
    // nothing pending in 105..116 but bar 114, 115, 116 (too recent for bar 117): no outcome
    expect(p.prior(117)).toEqual({ marginS: 0n, lag: 0 });
    expect(p.prior(126)).toEqual({ marginS: 50n, lag: 0 });
  });

  it("a bar skipped after a breach only delays its outcome: the next update processes it with lag 1", () => {
    const p = new PendingOutcomes();
    for (let b = 0; b < 12; b++) p.accept(b, 1000n + BigInt(b));
    // bar 12 (which would process bar 0) is skipped; bar 13 processes bar 0, and every later one stays a bar late
    expect(p.prior(13)).toEqual({ marginS: 1000n, lag: 1 });
    for (let t = 13; t <= 24; t++) {
      expect(p.prior(t), `bar ${t}`).toEqual({ marginS: 1000n + BigInt(t - 13), lag: 1 });
      expect(p.accept(t, 2000n + BigInt(t))).toEqual([]);
    }
    // bar 12 itself had no update, so nothing is pending there: bar 25 processes bar 13 on time again
    expect(p.prior(25)).toEqual({ marginS: 2013n, lag: 0 });
  });

  it("drops a bar still pending when an update for a bar more than 23 later is accepted (a lost outcome)", () => {
    const p = new PendingOutcomes();
    for (const b of [0, 1, 2, 3]) p.accept(b, 10n + BigInt(b));
    // silent until bar 23: bar 0 is still in reach (lag 11), the others wait
    expect(p.prior(23)).toEqual({ marginS: 10n, lag: 11 });
    // silent until bar 25 instead: bars 0 and 1 are beyond reach and dropped; bar 2 is processed (lag 11)
    expect(p.prior(25)).toEqual({ marginS: 12n, lag: 11 });
    expect(p.accept(25, 99n)).toEqual([
      { bar: 0, marginS: 10n },
      { bar: 1, marginS: 11n },
    ]);
    expect(p.prior(26)).toEqual({ marginS: 13n, lag: 11 });
    // a day and more without updates drops them all (oldest first), and nothing is processed
    const q = new PendingOutcomes();
    for (const b of [0, 1, 2, 3]) q.accept(b, 10n + BigInt(b));
    expect(q.prior(40)).toEqual({ marginS: 0n, lag: 0 });
    expect(q.accept(40, 1n).map((l) => l.bar)).toEqual([0, 1, 2, 3]);
    expect(q.prior(52)).toEqual({ marginS: 1n, lag: 0 });
  });

  it("an update with MM 0 leaves nothing pending, and a processed bar is not processed twice", () => {
    const p = new PendingOutcomes();
    p.accept(0, 0n);
    p.accept(1, 7n);
    expect(p.prior(12)).toEqual({ marginS: 0n, lag: 0 }); // bar 0 had MM 0: no outcome pending in ..0
    expect(p.prior(13)).toEqual({ marginS: 7n, lag: 0 });
    p.accept(13, 8n);
    expect(p.prior(14)).toEqual({ marginS: 0n, lag: 0 });
  });

  /** 40 flat bars at 100, with `edit` applied at positions from the end (1 = the last bar, bar t). */
  const bars = (
    edit: Record<number, Partial<{ close: bigint; high: bigint; low: bigint; missing: boolean }>>,
  ) => {
    const out = Array.from({ length: 40 }, () => ({ close: 100n, high: 100n, low: 100n, missing: false }));
    for (const [back, e] of Object.entries(edit)) Object.assign(out[out.length - Number(back)], e);
    return out;
  };

  it("windowOutcome at lag L reads bars s..s+12 at positions len-13-L .. len-1-L", () => {
    // MM 100 bps: a low of 98 after bar s is a breach, before bar s or after bar s + 12 it is not read
    for (let lag = 0; lag <= MAX_OUTCOME_LAG; lag++) {
      const s = 13 + lag; // bar s, counted from the end
      expect(windowOutcome(bars({}), 100n, lag), `lag ${lag}`).toBe(false);
      expect(windowOutcome(bars({ [s - 1]: { low: 98n } }), 100n, lag), `s+1, lag ${lag}`).toBe(true);
      expect(windowOutcome(bars({ [s - 12]: { high: 102n } }), 100n, lag), `s+12, lag ${lag}`).toBe(true);
      // bar s's own range and the bars around s..s+12 are not part of its move
      expect(windowOutcome(bars({ [s]: { low: 50n } }), 100n, lag)).toBe(false);
      expect(windowOutcome(bars({ [s + 1]: { low: 50n } }), 100n, lag)).toBe(false);
      if (lag > 0) expect(windowOutcome(bars({ [s - 13]: { low: 50n } }), 100n, lag)).toBe(false);
    }
  });

  it("windowOutcome: a missing bar among the 13 selected gives no outcome, one outside them does not matter", () => {
    const lag = 3;
    const s = 13 + lag;
    const missing = { missing: true, close: 0n, high: 0n, low: 0n };
    // inside: bar s, s + 6, s + 12; a close of 0 is a missing bar too
    expect(windowOutcome(bars({ [s]: missing }), 100n, lag)).toBeNull();
    expect(windowOutcome(bars({ [s - 6]: missing }), 100n, lag)).toBeNull();
    expect(windowOutcome(bars({ [s - 12]: missing }), 100n, lag)).toBeNull();
    expect(windowOutcome(bars({ [s - 12]: { close: 0n } }), 100n, lag)).toBeNull();
    // outside: before bar s, and the `lag` bars after s + 12 (the move of bar s ended before them)
    expect(windowOutcome(bars({ [s + 1]: missing }), 100n, lag)).toBe(false);
    for (let back = 1; back <= lag; back++) {
      expect(windowOutcome(bars({ [back]: missing, [s - 1]: { low: 98n } }), 100n, lag)).toBe(true);
    }
    // no pending outcome: none, whatever the bars
    expect(windowOutcome(bars({ [s - 1]: { low: 1n } }), 0n, lag)).toBeNull();
  });

  it("windowOutcome refuses a lag outside 0..11 and a window too short for it", () => {
    for (const lag of [-1, 12, 1.5]) expect(() => windowOutcome(bars({}), 100n, lag)).toThrow(/lag/);
    const short = bars({}).slice(-(13 + 4));
    expect(windowOutcome(short, 100n, 4)).toBe(false);
    expect(() => windowOutcome(short, 100n, 5)).toThrow(/17 bars, need 18/);
  });

  it("a late outcome on a real signed window is the candles' outcome (the window signs what the move needs)", () => {
    // ETH's last bar; MM 3000 bps: no 24 h move of 2024-06 comes near 30 %, so every outcome is covered.
    const series = loadCandles(join(__dirname, "../../models/data/ethusdt-2h.csv"));
    const t = series.candles.length - 1;
    const w = buildWindow(series, 1n, t, WINDOW_BARS);
    const ints = integerCandlesOf(series);
    for (let lag = 0; lag <= MAX_OUTCOME_LAG; lag++) {
      const s = t - TARGET_HORIZON_BARS - lag;
      const later = ints.slice(s + 1, s + TARGET_HORIZON_BARS + 1);
      const byCandles = integerBreach(
        ints[s].close,
        later.map((c) => c.low),
        later.map((c) => c.high),
        3000n,
      );
      expect(byCandles).toBe(false);
      expect(windowOutcome(w.bars, 3000n, lag), `lag ${lag}`).toBe(byCandles);
    }
  });
});
