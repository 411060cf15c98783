/**
 * audit/audit-adaptive.ts: replaying an adaptive market's accepted updates from its initial num over real
 * BTC windows (with missed bars, so outcomes processed late, breaches at scale 0.25): the honest run is ok; a
 * proven state off the rule's step, margins off the engine's, a prior the oracle would not have built (its margin
 * or its lag), and another window are flagged at the update concerned; a missing window is unverifiable and the
 * replay goes on. Lost outcomes: none for skipped bars (processed late), the ones a day of silence drops, and the
 * ones processed with a bar missing from the signed window.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf, type Window } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { windowDigest } from "../../candles/digest";
import {
  ADAPTIVE_UPDATE_PACKING,
  adaptiveDigestSignal,
  packAdaptiveUpdate,
  unpackAdaptiveUpdate,
} from "../../circuits/statement";
import { InsufficientDataError } from "../../core/errors";
import { SUSPICIOUS_LOST_BREACHES_P } from "../../audit/audit";
import { windowFeatures } from "../../features/window-features";
import { WINDOW_BARS } from "../../candles/window";
import {
  adaptiveUpdate,
  PendingOutcomes,
  stateToNum,
  windowOutcome,
  type AdaptiveState,
} from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { inferInteger, integerPolicy } from "../../models/integer-engine";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../candles/types";
import type { IntegerCandle } from "../../candles/integer-candle";
import {
  auditAdaptiveUpdates,
  lostBreachesP,
  lostOutcomes,
  type AdaptiveUpdateRecord,
} from "../../audit/audit-adaptive";

const ROOT = join(__dirname, "../..");
const model = loadQuantizedModel(join(ROOT, "models/btc-usdt-2h.quantized.json"));
const RULE = loadCalibrations(join(ROOT, "models/calibrations.json")).adaptive;
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const ints = integerCandlesOf(series);
const INITIAL = BigInt(RULE.minNum) << 8n;
const H = 12;

/**
 * The honest packed updates of the bars first..last of `s` that `leave` does not leave out, as the oracle would
 * have accepted them (its pending outcomes replayed with `PendingOutcomes`). `leave` sees the MM accepted at each
 * earlier bar (by index), so a submitter can choose which bars to submit.
 */
async function honestRun(
  first: number,
  last: number,
  leave: (t: number, mmAt: ReadonlyMap<number, bigint>) => boolean = () => false,
  s: { series: CandleSeries; ints: IntegerCandle[] } = { series, ints },
): Promise<AdaptiveUpdateRecord[]> {
  let state: AdaptiveState = { num: INITIAL, outcomes: 0 };
  const pending = new PendingOutcomes();
  const mmAt = new Map<number, bigint>();
  const out: AdaptiveUpdateRecord[] = [];
  for (let t = first; t <= last; t++) {
    if (leave(t, mmAt)) continue;
    const window = buildWindow(s.series, marketIdOf("BTC-USDT"), t, WINDOW_BARS, s.ints);
    let y: bigint;
    try {
      y = inferInteger(model, windowFeatures(window)).output;
    } catch (err) {
      // no features (a bar before the last missing): no update for this bar, as the prover service skips it
      if (err instanceof InsufficientDataError) continue;
      throw err;
    }
    const bar = window.endTime / s.series.intervalMs;
    const { marginS, lag } = pending.prior(bar);
    const outcome = windowOutcome(window.bars, marginS, lag);
    const after = adaptiveUpdate(state, outcome, RULE);
    const p = integerPolicy({ ...model.policy, calibrationNum: Number(stateToNum(after.num)) }, y);
    const update = packAdaptiveUpdate({
      mm: p.maintenanceMarginBps,
      im: p.initialMarginBps,
      dataTimestamp: BigInt(window.endTime / 1000),
      before: { num: state.num, outcomes: BigInt(state.outcomes) },
      marginS,
      lag: BigInt(lag),
      after: { num: after.num, outcomes: BigInt(after.outcomes) },
      digest: adaptiveDigestSignal(await windowDigest(window)),
    });
    out.push({ update, window });
    pending.accept(bar, p.maintenanceMarginBps);
    mmAt.set(t, p.maintenanceMarginBps);
    state = after;
  }
  return out;
}

/** Whether bar `s` (an index of the series) breached `mm` over its 24 h, by the candles. */
const breachedByCandles = (s: number, mm: bigint) => windowOutcome(ints.slice(s, s + H + 1), mm) === true;

/** The record with its update's fields patched (the rest repacked as they were). */
function patched(r: AdaptiveUpdateRecord, patch: (u: ReturnType<typeof unpackAdaptiveUpdate>) => void) {
  const u = unpackAdaptiveUpdate(r.update);
  patch(u);
  return { ...r, update: packAdaptiveUpdate(u) };
}

describe("auditAdaptiveUpdates", () => {
  const last = series.candles.length - 1;
  const first = last - 35;
  // bar first + 5 missed (bar first + 17 then has no outcome pending), and bar first + 20 (bars first + 8 ..
  // first + 19 are then processed a bar late, by the updates of first + 21 .. first + 32)
  const missed = new Set([first + 5, first + 20]);
  const leaveMissed = (t: number) => missed.has(t);

  it("passes the honest run: every prior, state step and margin, with breaches, late outcomes and 'no outcome' bars", async () => {
    const records = await honestRun(first, last, leaveMissed);
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, records);
    expect(audit.map((a) => a.reasons)).toEqual(records.map(() => []));
    expect(audit.every((a) => a.status === "ok")).toBe(true);
    expect(audit.filter((a) => a.outcome === true).length).toBeGreaterThan(0);
    // the first 12 bars (one missed) have nothing pending, and neither has bar first + 17
    expect(audit.filter((a) => a.outcome === null).length).toBe(12 - 1 + 1);
    const lags = records.map((r) => Number(unpackAdaptiveUpdate(r.update).lag));
    expect(lags.filter((l) => l === 1).length).toBe(12);
    expect(lags.every((l) => l <= 1)).toBe(true);
    // The same with each window's digest given (as the audit gives it, from reading the signed file): the same
    // verdicts, without computing the digests again.
    const withDigests = await Promise.all(
      records.map(async (r) => ({ ...r, windowDigest: await windowDigest(r.window!) })),
    );
    expect(await auditAdaptiveUpdates(model, RULE, INITIAL, withDigests)).toEqual(audit);
  }, 120_000);

  it("flags a state off the rule's step, margins off the engine's, a forged prior and another window, each alone", async () => {
    const records = await honestRun(first, last, leaveMissed);
    // bar first + 19's update, which processes bar first + 7's outcome on time (lag 0)
    const k = records.findIndex((r) => r.window!.endTime === series.candles[first + 19].time);
    expect(unpackAdaptiveUpdate(records[k].update).lag).toBe(0n);
    expect(unpackAdaptiveUpdate(records[k].update).marginS).not.toBe(0n);
    const late = records.findIndex((r) => unpackAdaptiveUpdate(r.update).lag === 1n); // one processed a bar late
    // the update that processes bar first + 19's outcome (a bar late: bar first + 32's)
    const processing = records.findIndex((r) => r.window!.endTime === series.candles[first + 32].time);
    // a state off the step is also the next update's prior: the oracle stored it, the next event says otherwise;
    // so is an MM off the engine's, at the update that processes its bar's outcome
    const cases: [string, AdaptiveUpdateRecord, RegExp, number[]][] = [
      ["new num + 1", patched(records[k], (u) => (u.after.num += 1n)), /not the rule's step/, [k, k + 1]],
      ["MM + 1", patched(records[k], (u) => (u.mm += 1n)), /not the engine's/, [k, processing]],
      [
        "'no outcome' claimed",
        patched(records[k], (u) => (u.marginS = 0n)),
        /not the replayed oracle state/,
        [k],
      ],
      [
        "another bar's window",
        { ...records[k], window: records[k - 1].window as Window },
        /window ends at/,
        [k],
      ],
      // the digest given with the window is the one compared (the audit gives the one its signed file checked with)
      [
        "another window's digest given",
        { ...records[k], windowDigest: await windowDigest(records[k - 1].window!) },
        /the window's digest is not the one the update carries/,
        [k],
      ],
      // the outcome of another bar than the oldest pending one: a lag the oracle would not have built
      ["lag + 1", patched(records[k], (u) => (u.lag += 1n)), /MM_s \d+, lag 1\) is not the replayed/, [k]],
      ["late outcome claimed on time", patched(records[late], (u) => (u.lag = 0n)), /lag 0\) is not/, [late]],
      // a lag the circuit's 4 bits hold but the rule does not (at most 11): no step either
      [
        "lag 15",
        // (packAdaptiveUpdate refuses it: set the 4 bits by hand)
        { ...records[k], update: records[k].update | (15n << BigInt(ADAPTIVE_UPDATE_PACKING.lagShift)) },
        /not the replayed oracle state.*gives no step: windowOutcome: lag 15 is not in \[0, 11\]/,
        [k],
      ],
    ];
    for (const [name, record, reason, flagged] of cases) {
      const at = flagged[0];
      const run = records.map((r, i) => (i === at ? record : r));
      const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, run);
      expect(
        audit.map((a) => a.status),
        name,
      ).toEqual(run.map((_, i) => (flagged.includes(i) ? "flagged" : "ok")));
      expect(audit[at].reasons.join("; "), name).toMatch(reason);
    }
  }, 120_000);

  it("a missing window is unverifiable, and the replay goes on from the stored state", async () => {
    const records = await honestRun(first, last, leaveMissed);
    const run = records.map((r, i) => (i === 20 ? { update: r.update } : r));
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, run);
    expect(audit.map((a) => a.status)).toEqual(run.map((_, i) => (i === 20 ? "unverifiable" : "ok")));
  }, 120_000);

  it("a window that gives no features or no outcome (too few bars): flagged at that update, and the replay goes on", async () => {
    const records = await honestRun(first, last, leaveMissed);
    const k = records.length - 3;
    const w = records[k].window as Window;
    for (const bars of [WINDOW_BARS - 1, 5]) {
      // its digest is not the update's either (flagged too): the point is a finding, not a crash
      const short: Window = { ...w, bars: w.bars.slice(-bars) };
      const run = records.map((r, i) => (i === k ? { ...r, window: short } : r));
      const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, run);
      expect(audit.map((a) => a.status)).toEqual(run.map((_, i) => (i === k ? "flagged" : "ok")));
      expect(audit[k].reasons.join("; ")).toMatch(
        new RegExp(
          `the signed window gives no step: (window features: ${bars} bars|windowOutcome: ${bars} bars)`,
        ),
      );
    }
  }, 120_000);
});

describe("lostOutcomes", () => {
  const last = series.candles.length - 1;
  const first = last - 59;
  const timeOf = (t: number) => BigInt(series.candles[t].time / 1000);
  const candleAt = (timeMs: number) => ints.find((c) => c.time === timeMs);
  const updateAt = (records: AdaptiveUpdateRecord[], t: number) =>
    unpackAdaptiveUpdate(
      records.find((r) => unpackAdaptiveUpdate(r.update).dataTimestamp === timeOf(t))!.update,
    );

  it("none where no bar was missed, and none for a missed bar: its outcome is processed a bar late", async () => {
    expect(lostOutcomes(await honestRun(first, last), candleAt)).toEqual([]);
    // Bar first + 30 missed: bar first + 18's outcome is processed by the update of first + 31, lag 1.
    const missed = first + 30;
    const records = await honestRun(first, last, (t) => t === missed);
    expect(lostOutcomes(records, candleAt)).toEqual([]);
    const late = updateAt(records, missed + 1);
    expect(late.lag).toBe(1n);
    expect(late.marginS).toBe(updateAt(records, missed - 12).mm);
  }, 120_000);

  it("names the outcomes a day of silence drops, by the candles", async () => {
    // Bars a .. a + 12 left out (13 bars): the update of a + 13 drops bars a - 12 and a - 11 (older than
    // a + 13 - 23), which no update had processed.
    const a = first + 30;
    const records = await honestRun(first, last, (t) => t >= a && t <= a + 12);
    const expected = [a - 12, a - 11].map((s) => {
      const marginS = updateAt(records, s).mm;
      return {
        dataTimestamp: timeOf(s),
        marginS,
        next: timeOf(a + 13),
        cause: "dropped",
        lag: null,
        missingBar: null,
        outcome: breachedByCandles(s, marginS) ? "breach" : "covered",
        by: "candles",
      };
    });
    expect(lostOutcomes(records, candleAt)).toEqual(expected);
    // 11 bars of silence: none lost (the next update processes bar a - 12, lag 11)
    const eleven = await honestRun(first, last, (t) => t >= a && t <= a + 10);
    expect(lostOutcomes(eleven)).toEqual([]);
    expect(updateAt(eleven, a + 11)).toMatchObject({ lag: 11n, marginS: updateAt(eleven, a - 12).mm });
    // Without candles: bar a - 11's move lies in the range part of bar a + 13's window (bars a - 10 .. a + 13),
    // which tells its outcome; bar a - 12's does not (bar a - 11 is before it): a breach only where the signed
    // closes show it, else unknown.
    const [early, late] = lostOutcomes(records);
    expect(late).toEqual({ ...expected[1], by: "signed window" });
    expect(early.by === "signed closes" ? early.outcome : "unknown").toBe(early.outcome);
    expect(early.outcome).not.toBe("covered");
    // after exactly a day of silence, the window of the update that drops the outcome tells it
    expect(lostOutcomes(await honestRun(first, last, (t) => t >= a && t <= a + 11))).toEqual([
      { ...expected[0], next: timeOf(a + 12), by: "signed window" },
    ]);
  }, 120_000);

  it("tells a dropped outcome by an earlier update's window when the dropping update's window cannot", async () => {
    // Bar c left out: the outcomes are processed at lag 1 for a while, so after the update of p = c + 5 bar p - 12
    // is still pending. Then 12 bars of silence: the update of p + 13 drops bars p - 12 and p - 11. Its window's
    // range part starts at p - 10, which holds the 24 h of p - 11 but not of p - 12; the window of p does.
    const c = first + 20;
    const p = c + 5;
    const records = await honestRun(first, last, (t) => t === c || (t > p && t <= p + 12));
    const lost = lostOutcomes(records);
    expect(lost.map((l) => [l.dataTimestamp, l.next, l.cause, l.by])).toEqual([
      [timeOf(p - 12), timeOf(p + 13), "dropped", "signed window"],
      [timeOf(p - 11), timeOf(p + 13), "dropped", "signed window"],
    ]);
    const byCandles = lostOutcomes(records, candleAt);
    expect(byCandles.map((l) => l.by)).toEqual(["candles", "candles"]);
    expect(lost.map((l) => l.outcome)).toEqual(byCandles.map((l) => l.outcome));
  }, 120_000);

  it("names the outcomes processed with a bar missing from the signed window (a gap in the publishers' candles)", async () => {
    // The publishers lack bar g: no update there, nor at g + 1 (its window lacks the bar before the last: no
    // features), and the 12 outcomes whose 24 h hold bar g (bars g - 12 .. g - 1, processed two bars late by the
    // updates of g + 2 .. g + 13) give none. The independent candles hold bar g.
    const g = first + 30;
    const gapped: CandleSeries = { ...series, candles: series.candles.filter((_, i) => i !== g), gaps: [] };
    const gappedInts = ints.filter((_, i) => i !== g);
    const records = await honestRun(first, last - 1, () => false, { series: gapped, ints: gappedInts });
    const lost = lostOutcomes(records, candleAt);
    expect(lost.map((l) => l.dataTimestamp)).toEqual(
      Array.from({ length: 12 }, (_, k) => timeOf(g - 12 + k)),
    );
    expect(lost.map((l) => l.next)).toEqual(Array.from({ length: 12 }, (_, k) => timeOf(g + 2 + k)));
    for (const l of lost) {
      const s = series.candles.findIndex((c) => BigInt(c.time / 1000) === l.dataTimestamp);
      expect(l).toMatchObject({ cause: "missing bar", lag: 2, missingBar: timeOf(g), by: "candles" });
      expect(l.outcome).toBe(breachedByCandles(s, l.marginS) ? "breach" : "covered");
    }
    // the audit agrees: those updates counted no outcome, and every one is a valid step
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, records);
    expect(audit.every((a) => a.status === "ok")).toBe(true);
    expect(
      audit.filter((a, i) => a.outcome === null && unpackAdaptiveUpdate(records[i].update).marginS !== 0n),
    ).toHaveLength(12);
  }, 120_000);

  /** Bar t's update would count bar t - 12's outcome, a breach by the candles (a submitter who watches them). */
  const breachDue = (t: number, mmAt: ReadonlyMap<number, bigint>) =>
    mmAt.has(t - H) && breachedByCandles(t - H, mmAt.get(t - H)!);

  it("a submitter that skips the bar counting each breach loses nothing: each is processed a bar late", async () => {
    // 20 days from the scale's floor (0.25): breaches enough to skip.
    const skipped: number[] = [];
    const records = await honestRun(last - 239, last, (t, mmAt) => {
      const skip = breachDue(t, mmAt);
      if (skip) skipped.push(t);
      return skip;
    });
    expect(skipped.length).toBeGreaterThan(3);
    expect((await auditAdaptiveUpdates(model, RULE, INITIAL, records)).every((a) => a.status === "ok")).toBe(
      true,
    );
    expect(lostOutcomes(records, candleAt)).toEqual([]);
    // every skipped bar's breach is counted by a later update, with lag > 0
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, records);
    for (const t of skipped) {
      const i = records.findIndex((r) => {
        const u = unpackAdaptiveUpdate(r.update);
        return u.dataTimestamp - (BigInt(H) + u.lag) * 7200n === timeOf(t - H) && u.marginS !== 0n;
      });
      expect(i, `bar ${t - H}`).toBeGreaterThanOrEqual(0);
      expect(unpackAdaptiveUpdate(records[i].update).lag).toBeGreaterThan(0n);
      expect(audit[i].outcome, `bar ${t - H}`).toBe(true);
    }
  }, 120_000);

  it("shows a submitter silent for a day after each breach: every lost outcome a breach, far beyond chance", async () => {
    // From the floor: at each bar whose update would count a breach, the submitter stops for 12 bars (24 h), so
    // the update after the silence drops the breached bar; once the outcomes pending over the silence are
    // processed (12 bars after it), it watches again.
    let quietUntil = -Infinity;
    const dropping = await honestRun(last - 239, last, (t, mmAt) => {
      if (t <= quietUntil) return true;
      if (t <= quietUntil + H || !breachDue(t, mmAt)) return false;
      quietUntil = t + H - 1;
      return true;
    });
    // Its replay passes: every update is a valid step from the state the oracle held.
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, dropping);
    expect(audit.every((a) => a.status === "ok")).toBe(true);
    const lost = lostOutcomes(dropping, candleAt);
    expect(lost.length).toBeGreaterThanOrEqual(2);
    expect(lost.every((l) => l.cause === "dropped" && l.outcome === "breach" && l.by === "candles")).toBe(
      true,
    );
    expect(lostBreachesP(lost.length, lost.length)).toBeLessThan(SUSPICIOUS_LOST_BREACHES_P);
    // Without candles, the window of the update after each silence (bar s + 24: its range part holds bars
    // s + 1 .. s + 24) tells each breach.
    expect(lostOutcomes(dropping)).toEqual(lost.map((l) => ({ ...l, by: "signed window" })));
  }, 120_000);

  it("lostBreachesP is the binomial tail at 1 %", () => {
    expect(lostBreachesP(10, 0)).toBe(1);
    expect(lostBreachesP(10, 1)).toBeCloseTo(1 - 0.99 ** 10, 12);
    expect(lostBreachesP(100, 5)).toBeCloseTo(0.0034323, 6);
    expect(lostBreachesP(3, 4)).toBe(0);
  });
});
