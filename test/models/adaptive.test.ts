import { describe, expect, it } from "vitest";
import {
  acceptancePattern,
  adaptiveStep,
  balancedUpNum,
  integerBreach,
  runAdaptive,
  stateToNum,
  type AdaptiveRule,
} from "../../models/adaptive";
import { loadQuantizedModel } from "../../models/quantized-model";
import type { Candle, CandleSeries } from "../../models/types";
import { join } from "node:path";

const RULE: AdaptiveRule = { downShift: 10, upNum: 6688, upShift: 16, minNum: 16384, maxNum: 262144 };
const H2 = 2 * 3600 * 1000;

describe("adaptive calibration (integer rule)", () => {
  it("steps: down by floor(num / 2^downShift), up by floor(num * upNum / 2^upShift), clamped", () => {
    // States carry 8 extra bits: 65536 * 256 = 16777216.
    // 16777216 - 16384 = 16760832; 16777216 + floor(16777216 * 6688 / 65536) = 16777216 + 1712128.
    expect(adaptiveStep(16777216n, false, RULE)).toBe(16760832n);
    expect(adaptiveStep(16777216n, true, RULE)).toBe(18489344n);
    expect(adaptiveStep(16384n * 256n, false, RULE)).toBe(16384n * 256n);
    expect(adaptiveStep(260000n * 256n, true, RULE)).toBe(262144n * 256n);
    // The margin's calibrationNum is the state rounded up.
    expect(stateToNum(16760832n)).toBe(65472n);
    expect(stateToNum(16760833n)).toBe(65473n);
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
    expect(run.state[12]).toBe(16760832n);
    expect(run.state[13]).toBe(16744464n);
    expect(run.state[14]! > run.state[13]!).toBe(true);
    // A missed bar keeps the previous margin in force and leaves no state.
    expect(run.state[5]).toBeNull();
    expect(run.maintenanceMarginBps[5]).toBe(run.maintenanceMarginBps[4]);
    // Replaying the rule by hand gives the same final state.
    let num = 65536n * 256n;
    for (let t = 12; t < n; t++) {
      if (missed.has(t) || missed.has(t - 12)) continue;
      num = adaptiveStep(num, t - 12 >= 2 && t - 12 <= 13, RULE);
    }
    expect(run.state[n - 1]).toBe(num);
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
