import { describe, expect, it } from "vitest";
import {
  acceptancePattern,
  adaptiveStep,
  adaptiveUpdate,
  annealingStage,
  balancedUpNum,
  initialState,
  integerBreach,
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
import { adverseMoveTargets, TARGET_HORIZON_BARS } from "../../models/target";
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

  it("runs as on chain: outcome of bar t-12 processed at t only if both were accepted; margins stay in force", () => {
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
    // Outcomes: t from 12 to 39 where t and t-12 are accepted: minus t = 20, 32 (20 - 12 = 8 fine; 32 - 12 = 20
    // missed) and t = 17 (5 missed): 28 - 3 = 25.
    expect(run.outcomes).toBe(25);
    // Breached outcomes: bars s = 2..13 see the 5 % low at bar 14 (s + 1 <= 14 <= s + 12); s = 5 was missed.
    // Bar 14's own close is 100 so later bars are covered. First processed at t = 14 (s = 2): a breach.
    // t = 12, 13: s = 0, 1 covered: 16777216 - 16384 = 16760832, then - floor(16760832 / 1024) = 16744464.
    // One stage: the outcome counter is capped at 0 (nothing left to anneal).
    expect(run.state[12]).toEqual(at(16760832n, 0));
    expect(run.state[13]).toEqual(at(16744464n, 0));
    expect(run.state[14]!.num > run.state[13]!.num).toBe(true);
    // A missed bar keeps the previous margin in force and leaves no state.
    expect(run.state[5]).toBeNull();
    expect(run.maintenanceMarginBps[5]).toBe(run.maintenanceMarginBps[4]);
    // Replaying the rule by hand gives the same final state.
    let st = initialState(65536);
    for (let t = 12; t < n; t++) {
      if (missed.has(t) || missed.has(t - 12)) continue;
      st = adaptiveStep(st, t - 12 >= 2 && t - 12 <= 13, RULE);
    }
    expect(run.state[n - 1]).toEqual(st);
    // The annealing rule on the same bars: the replay with ANNEAL gives its final state and margins.
    const annealed = runAdaptive(series, outputs, (t) => !missed.has(t), model.policy, 65536, ANNEAL);
    let sa = initialState(65536);
    for (let t = 12; t < n; t++) {
      if (missed.has(t) || missed.has(t - 12)) continue;
      sa = adaptiveStep(sa, t - 12 >= 2 && t - 12 <= 13, ANNEAL);
    }
    expect(annealed.state[n - 1]).toEqual(sa);
    expect(annealed.state[n - 1]).not.toEqual(st);
  });

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
    // The rule checks margins against the 12-bar move: a model of another horizon is refused, naming both.
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
    ).toThrow(/the next 12 bars; this model's margins are for 24 bars/);
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

    // The oracle's view: the accepted MM per bar (0 = none), the state, and the signed window of each update.
    const ints = integerCandlesOf(series);
    const mmAt = new Map<number, bigint>();
    let state = initialState(num);
    let processed = 0;
    let breaches = 0;
    let noOutcome = 0;
    for (let t = 0; t < candles.length; t++) {
      const y = outputs[t];
      if (y === null || !accepted(t)) continue;
      const window = buildWindow(series, 1n, t, WINDOW_BARS, ints);
      const mmS = mmAt.get(candles[t].time - TARGET_HORIZON_BARS * series.intervalMs) ?? 0n;
      const outcome = windowOutcome(window.bars, mmS);
      state = adaptiveUpdate(state, outcome, rule);
      if (outcome === null) noOutcome++;
      else {
        processed++;
        if (outcome) breaches++;
      }
      const p = integerPolicy({ ...quantized.policy, calibrationNum: Number(stateToNum(state.num)) }, y);
      mmAt.set(candles[t].time, p.maintenanceMarginBps);
      expect(state, `bar ${t}`).toEqual(run.state[t]);
      expect(Number(p.maintenanceMarginBps)).toBe(run.maintenanceMarginBps[t]);
    }
    expect(processed).toBe(run.outcomes);
    expect(breaches).toBeGreaterThan(0);
    expect(noOutcome).toBeGreaterThan(100);
  }, 120_000);
});
