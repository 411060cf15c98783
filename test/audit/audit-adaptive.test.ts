/**
 * audit/audit-adaptive.ts: replaying an adaptive market's accepted updates from its initial num over real
 * BTC windows (with a missed bar, breaches at scale 0.25): the honest run is ok; a proven state off the rule's step,
 * margins off the engine's, a prior the oracle would not have built, and another window are flagged at the update
 * concerned; a missing window is unverifiable and the replay goes on.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf, type Window } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { windowDigest } from "../../candles/digest";
import { adaptiveDigestSignal, packAdaptiveUpdate, unpackAdaptiveUpdate } from "../../circuits/statement";
import { windowFeatures } from "../../features/window-features";
import { WINDOW_BARS } from "../../candles/window";
import { adaptiveUpdate, stateToNum, windowOutcome, type AdaptiveState } from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { inferInteger, integerPolicy } from "../../models/integer-engine";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
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

/**
 * The honest packed updates of bars first..last (one missed), as the oracle would have accepted them; `drop` leaves
 * out more bars, given the outcome each would count (a submitter choosing which bars to submit).
 */
async function honestRun(
  first: number,
  last: number,
  missed: number,
  drop: (outcome: boolean | null) => boolean = () => false,
): Promise<AdaptiveUpdateRecord[]> {
  let state: AdaptiveState = { num: INITIAL, outcomes: 0 };
  const mmAt = new Map<number, bigint>();
  const out: AdaptiveUpdateRecord[] = [];
  for (let t = first; t <= last; t++) {
    if (t === missed) continue;
    const window = buildWindow(series, marketIdOf("BTC-USDT"), t, WINDOW_BARS, ints);
    const marginS = mmAt.get(t - 12) ?? 0n;
    const outcome = windowOutcome(window.bars, marginS);
    if (drop(outcome)) continue;
    const after = adaptiveUpdate(state, outcome, RULE);
    const y = inferInteger(model, windowFeatures(window)).output;
    const p = integerPolicy({ ...model.policy, calibrationNum: Number(stateToNum(after.num)) }, y);
    const update = packAdaptiveUpdate({
      mm: p.maintenanceMarginBps,
      im: p.initialMarginBps,
      dataTimestamp: BigInt(window.endTime / 1000),
      before: { num: state.num, outcomes: BigInt(state.outcomes) },
      marginS,
      after: { num: after.num, outcomes: BigInt(after.outcomes) },
      digest: adaptiveDigestSignal(await windowDigest(window)),
    });
    out.push({ update, window });
    mmAt.set(t, p.maintenanceMarginBps);
    state = after;
  }
  return out;
}

/** The record with its update's fields patched (the rest repacked as they were). */
function patched(r: AdaptiveUpdateRecord, patch: (u: ReturnType<typeof unpackAdaptiveUpdate>) => void) {
  const u = unpackAdaptiveUpdate(r.update);
  patch(u);
  return { ...r, update: packAdaptiveUpdate(u) };
}

describe("auditAdaptiveUpdates", () => {
  const last = series.candles.length - 1;
  const first = last - 29;
  const missed = first + 5;

  it("passes the honest run: every prior, state step and margin, with breaches and 'no outcome' bars", async () => {
    const records = await honestRun(first, last, missed);
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, records);
    expect(audit.map((a) => a.reasons)).toEqual(records.map(() => []));
    expect(audit.every((a) => a.status === "ok")).toBe(true);
    expect(audit.filter((a) => a.outcome === true).length).toBeGreaterThan(0);
    expect(audit.filter((a) => a.outcome === null).length).toBe(12 - 1 + 1);
  }, 120_000);

  it("flags a state off the rule's step, margins off the engine's, a forged prior and another window, each alone", async () => {
    const records = await honestRun(first, last, missed);
    const k = records.length - 3; // an update with a processed outcome
    // a state off the step is also the next update's prior: the oracle stored it, the next event says otherwise
    const cases: [string, AdaptiveUpdateRecord, RegExp, number[]][] = [
      ["new num + 1", patched(records[k], (u) => (u.after.num += 1n)), /not the rule's step/, [k, k + 1]],
      ["MM + 1", patched(records[k], (u) => (u.mm += 1n)), /not the engine's/, [k]],
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
    ];
    for (const [name, record, reason, flagged] of cases) {
      const run = records.map((r, i) => (i === k ? record : r));
      const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, run);
      expect(
        audit.map((a) => a.status),
        name,
      ).toEqual(run.map((_, i) => (flagged.includes(i) ? "flagged" : "ok")));
      expect(audit[k].reasons.join("; "), name).toMatch(reason);
    }
  }, 120_000);

  it("a missing window is unverifiable, and the replay goes on from the stored state", async () => {
    const records = await honestRun(first, last, missed);
    const run = records.map((r, i) => (i === 20 ? { update: r.update } : r));
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, run);
    expect(audit.map((a) => a.status)).toEqual(run.map((_, i) => (i === 20 ? "unverifiable" : "ok")));
  }, 120_000);

  it("a window that gives no features or no outcome (too few bars): flagged at that update, and the replay goes on", async () => {
    const records = await honestRun(first, last, missed);
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

  it("names the outcome a missed bar lost, by the candles, and none where no bar was missed", async () => {
    expect(lostOutcomes(await honestRun(first, last, -1))).toEqual([]);
    // Bar first + 30 missed: bar first + 18's outcome is never counted.
    const missed = first + 30;
    const records = await honestRun(first, last, missed);
    const s = unpackAdaptiveUpdate(
      records.find((r) => unpackAdaptiveUpdate(r.update).dataTimestamp === timeOf(missed - 12))!.update,
    );
    const expected = windowOutcome(
      buildWindow(series, marketIdOf("BTC-USDT"), missed, WINDOW_BARS, ints).bars,
      s.mm,
    );
    expect(lostOutcomes(records, candleAt)).toEqual([
      {
        dataTimestamp: timeOf(missed - 12),
        marginS: s.mm,
        next: timeOf(missed + 1),
        outcome: expected ? "breach" : "covered",
        by: "candles",
      },
    ]);
    // Without candles: a breach only where the signed closes show it, else unknown.
    const [byCloses] = lostOutcomes(records);
    expect(byCloses.by === "signed closes" ? byCloses.outcome : "unknown").toBe(byCloses.outcome);
    if (!expected) expect(byCloses).toMatchObject({ outcome: "unknown", by: null });
  }, 120_000);

  it("shows a submitter that leaves out the bars counting breaches: every lost outcome a breach, far beyond chance", async () => {
    // 20 days from the scale's floor (0.25): breaches enough to drop.
    const dropping = await honestRun(last - 239, last, -1, (outcome) => outcome === true);
    // Its replay passes: every update is a valid step from the state the oracle held.
    const audit = await auditAdaptiveUpdates(model, RULE, INITIAL, dropping);
    expect(audit.every((a) => a.status === "ok")).toBe(true);
    expect(audit.some((a) => a.outcome === true)).toBe(false);
    const lost = lostOutcomes(dropping, candleAt);
    expect(lost.length).toBeGreaterThan(3);
    expect(lost.every((l) => l.outcome === "breach" && l.by === "candles")).toBe(true);
    expect(lostBreachesP(lost.length, lost.length)).toBeLessThan(1e-6);
    // The signed closes of the next accepted windows alone show some of them.
    expect(lostOutcomes(dropping).filter((l) => l.outcome === "breach").length).toBeGreaterThan(0);
  }, 120_000);

  it("lostBreachesP is the binomial tail at 1 %", () => {
    expect(lostBreachesP(10, 0)).toBe(1);
    expect(lostBreachesP(10, 1)).toBeCloseTo(1 - 0.99 ** 10, 12);
    expect(lostBreachesP(100, 5)).toBeCloseTo(0.0034323, 6);
    expect(lostBreachesP(3, 4)).toBe(0);
  });
});
