/**
 * Auditing an adaptive market's updates (issue 12, part 3): replaying the oracle's state from the accepted
 * updates (`AdaptiveParametersUpdated`, each a packed update, `unpackAdaptiveUpdate`) and re-checking each state
 * transition and its margins from the signed window it names.
 *
 * The replay starts from the initial num governance registered (`AdaptiveCalibrationSet`; it must be the registered
 * model file's calibrationNum * 2^8, which the caller checks against the model commitment), holds the accepted
 * margins whose outcomes are still pending as the oracle's ring does (`PendingOutcomes`, models/adaptive.ts), and
 * for each update, in order:
 *  1. its prior (num, outcomes, and the outcome it processes: MM_s of bar s = t - 12 - lag, the oldest pending bar
 *     in t - 23 .. t - 12, and lag; MM_s 0 and lag 0 for none) must be the replayed one: the oracle built it from
 *     its storage, so a difference means the events and the oracle disagree;
 *  2. with the signed window of (market, data timestamp), whose digest's low 87 bits must be the update's (for
 *     a market of an adaptive batch, the bits are the batch digest's: the batch checks found the window in the
 *     signed batch with those bits, at the market's index): the
 *     outcome of bar s in the window (`windowOutcome` at the proven lag) and one step of the rule
 *     (`adaptiveUpdate`) give the proven new state, and the model with the new state's calibrationNum gives the
 *     proven MM and IM.
 * The signatures and the publisher set of the window are the signed-update audit's checks (audit-signed.ts), not
 * repeated here. An update without its window is unverifiable; the replay goes on from the state the oracle
 * stored, so one missing window does not hide the checks of the next updates.
 */
import { windowDigest } from "../candles/digest";
import { inRangePart, type Window } from "../candles/window";
import { adaptiveDigestSignal, unpackAdaptiveUpdate } from "../circuits/statement";
import { windowFeatures } from "../features/window-features";
import {
  adaptiveWindowUpdate,
  integerBreach,
  PendingOutcomes,
  windowOutcome,
  type AdaptiveRule,
} from "../models/adaptive";
import { inferInteger } from "../models/integer-engine";
import type { QuantizedModel } from "../models/quantized-model";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../models/target";
import { ZkriskError } from "../core/errors";

/** Length of a bar of the signed-update circuit (s): adaptive updates are keyed by bar. */
const BAR_SECONDS = 7200n;

/** One accepted adaptive update as the chain recorded it, and the signed window it names (if found). */
export interface AdaptiveUpdateRecord {
  /** The packed update of its `AdaptiveParametersUpdated` event. */
  update: bigint;
  /** The signed window of (market, data timestamp) from the publishers' archives; undefined when not found. */
  window?: Window;
  /**
   * The window's digest as reading its signed file recomputed it from the bars (audit-signed.ts); when absent, the
   * replay computes it.
   */
  windowDigest?: bigint;
  /** The model in force at this update, to replay its window with (instead of the one `auditAdaptiveUpdates` is given). */
  model?: QuantizedModel;
  /**
   * Its event is an adaptive batch's (`AdaptiveBatchParametersUpdated`): the update's digest bits are the batch
   * digest's, which the batch checks matched, so the window's own digest is not compared with them.
   */
  inBatch?: boolean;
}

/** The verdict on one adaptive update. */
export interface AdaptiveUpdateAudit {
  /** Open time of the window's last bar (s). */
  dataTimestamp: bigint;
  status: "ok" | "flagged" | "unverifiable";
  /** Why it is flagged or unverifiable (empty when ok). */
  reasons: string[];
  /** The outcome of bar s = t - 12 - lag the window gives (null: no outcome), when the window was found. */
  outcome?: boolean | null;
}

/**
 * One step of the rule and the margins from a signed window and the update's prior, or why the window gives none
 * (too few bars for the features or the outcome, a last bar missing, features outside the model's bounds): a
 * window the checks found may still be one no honest circuit could prove from, and that is a finding, not a crash.
 */
function replayStep(
  model: QuantizedModel,
  rule: AdaptiveRule,
  w: Window,
  u: ReturnType<typeof unpackAdaptiveUpdate>,
): ReturnType<typeof adaptiveWindowUpdate> | string {
  try {
    const y = inferInteger(model, windowFeatures(w)).output;
    return adaptiveWindowUpdate(
      model.policy,
      y,
      w.bars,
      {
        state: { num: u.before.num, outcomes: Number(u.before.outcomes) },
        marginS: u.marginS,
        lag: Number(u.lag),
      },
      rule,
    );
  } catch (err) {
    if (!(err instanceof ZkriskError || err instanceof RangeError)) throw err;
    return err.message;
  }
}

/**
 * The replay of one adaptive market's accepted updates (in the order the oracle accepted them) from its initial num,
 * one update at a time (see the module's header): it holds the replayed state and the pending margins, never the
 * windows, so an audit of any length replays as it reads.
 */
export class AdaptiveReplay {
  private state: { num: bigint; outcomes: bigint };
  private readonly pending = new PendingOutcomes();

  constructor(
    private readonly model: QuantizedModel | undefined,
    private readonly rule: AdaptiveRule,
    initialNum: bigint,
  ) {
    this.state = { num: initialNum, outcomes: 0n };
  }

  /** Re-check the next accepted update and step the replayed oracle state past it, whatever the verdict. */
  async step(r: AdaptiveUpdateRecord): Promise<AdaptiveUpdateAudit> {
    const { model, rule, pending } = this;
    const state = this.state;
    let verdict: AdaptiveUpdateAudit;
    const u = unpackAdaptiveUpdate(r.update);
    const bar = Number(u.dataTimestamp / BAR_SECONDS);
    const replayed = pending.prior(bar);
    const reasons: string[] = [];
    if (
      u.before.num !== state.num ||
      u.before.outcomes !== state.outcomes ||
      u.marginS !== replayed.marginS ||
      u.lag !== BigInt(replayed.lag)
    ) {
      reasons.push(
        `prior (num ${u.before.num}, outcomes ${u.before.outcomes}, MM_s ${u.marginS}, lag ${u.lag}) is not the ` +
          `replayed oracle state (num ${state.num}, outcomes ${state.outcomes}, MM_s ${replayed.marginS}, lag ` +
          `${replayed.lag})`,
      );
    }
    let outcome: boolean | null | undefined;
    const inForce = r.model ?? model;
    if (r.window === undefined || inForce === undefined) {
      const gap = r.window === undefined ? "no signed window found" : "the model in force was not given";
      verdict =
        reasons.length === 0
          ? { dataTimestamp: u.dataTimestamp, status: "unverifiable", reasons: [gap] }
          : { dataTimestamp: u.dataTimestamp, status: "flagged", reasons };
    } else {
      const w = r.window;
      if (BigInt(w.endTime / 1000) !== u.dataTimestamp) {
        reasons.push(
          `the window ends at ${w.endTime / 1000}, the update's data timestamp is ${u.dataTimestamp}`,
        );
      }
      if (!r.inBatch && adaptiveDigestSignal(r.windowDigest ?? (await windowDigest(w))) !== u.digest) {
        reasons.push("the window's digest is not the one the update carries");
      }
      const step = replayStep(inForce, rule, w, u);
      if (typeof step === "string") {
        reasons.push(`the signed window gives no step: ${step}`);
      } else {
        outcome = step.outcome;
        const { after, margins: p } = step;
        if (after.num !== u.after.num || BigInt(after.outcomes) !== u.after.outcomes) {
          reasons.push(
            `the proven state (num ${u.after.num}, outcomes ${u.after.outcomes}) is not the rule's step from the prior ` +
              `(num ${after.num}, outcomes ${after.outcomes}; outcome ${outcome === null ? "none" : outcome ? "breach" : "covered"})`,
          );
        }
        if (p.maintenanceMarginBps !== u.mm || p.initialMarginBps !== u.im) {
          reasons.push(
            `margins MM ${u.mm} IM ${u.im} are not the engine's MM ${p.maintenanceMarginBps} IM ${p.initialMarginBps} ` +
              `at calibrationNum ${step.calibrationNum}`,
          );
        }
      }
      verdict = {
        dataTimestamp: u.dataTimestamp,
        status: reasons.length === 0 ? "ok" : "flagged",
        reasons,
        outcome,
      };
    }
    // the oracle stored the proven state and this bar's MM (and no longer holds bar s pending), whatever the verdict
    this.state = u.after;
    pending.accept(bar, u.mm);
    return verdict;
  }
}

/**
 * Replay an adaptive market's accepted updates (in the order the oracle accepted them) from its initial num and
 * re-check each one (see the module's header).
 */
export async function auditAdaptiveUpdates(
  model: QuantizedModel | undefined,
  rule: AdaptiveRule,
  initialNum: bigint,
  records: readonly AdaptiveUpdateRecord[],
): Promise<AdaptiveUpdateAudit[]> {
  const replay = new AdaptiveReplay(model, rule, initialNum);
  const out: AdaptiveUpdateAudit[] = [];
  for (const r of records) out.push(await replay.step(r));
  return out;
}

/**
 * An accepted bar s whose outcome the rule never counted. Each accepted update processes the oldest pending outcome
 * (`PendingOutcomes`), so a bar left out, by accident or on purpose, only delays an outcome (it is processed later,
 * with lag > 0). An outcome is lost when
 *  - it is `dropped`: still pending when an update for a bar t > s + 23 is accepted (fewer accepted updates than
 *    pending outcomes over a day: no update for at least 12 bars in a row after bar s + 11, or as many missed);
 *  - or a `missing bar`: the update that processed it (`next`, at `lag`) has a bar of s..s+12 missing from its
 *    signed window, so it counted no outcome.
 * A submitter alone on a market can still drop a breach so, by not submitting for a day after it (docs/model-results.md,
 * "Skipped bars are caught up"); an honest one loses an outcome only to a day without accepted updates, or to a
 * bar the publishers lack, and only about 1 % of those outcomes are breaches.
 */
export interface LostOutcome {
  /** Open time (s) of bar s. */
  dataTimestamp: bigint;
  /** Bar s's accepted maintenance margin (bps). */
  marginS: bigint;
  /** Data timestamp (s) of the accepted update that lost it: the one that dropped it, or that processed it. */
  next: bigint;
  /** How it was lost (see `LostOutcome`). */
  cause: "dropped" | "missing bar";
  /** The lag at which `next` processed it (`missing bar`); null for a dropped outcome. */
  lag: number | null;
  /** Open time (s) of the first bar of s..s+12 missing from `next`'s signed window (`missing bar`), else null. */
  missingBar: bigint | null;
  /**
   * Bar s's outcome: by the independent candles where they hold bars s..s+12 (breach or covered); else by an
   * accepted signed window (the one of `next` first) that holds bars s..s+12 with the highs and lows of s+1..s+12
   * in its range part (its last 24 bars: the window of bar s + 24, the first update after a day's silence, does);
   * else a breach where the signed closes of an accepted window alone move beyond MM_s (the highs and lows can
   * only widen the move); else unknown.
   */
  outcome: "breach" | "covered" | "unknown";
  /** What told the outcome. */
  by: "candles" | "signed window" | "signed closes" | null;
}

/** What a lost outcome needs of a bar: as integer candles give it. */
type OutcomeBar = { close: bigint; high: bigint; low: bigint; missing: boolean };

/**
 * The outcomes an adaptive market's accepted updates lose (`LostOutcome`), one update at a time, in the order the
 * oracle accepted them (one epoch: the updates since governance last set the market's num, which cleared every
 * pending outcome), as the oracle's ring of pending outcomes gives them (`PendingOutcomes`). It holds the dozen
 * latest windows at most, whatever the length of the history.
 */
export class LostOutcomeTracker {
  private readonly pending = new PendingOutcomes();
  /**
   * The signed windows that may still tell an outcome (where the signed closes of a lost outcome are looked up),
   * latest first.
   */
  private readonly windows: Window[] = [];

  /** @param candleAt the independent candle of the market opening at a time (ms), if the caller has one. */
  constructor(private readonly candleAt: (timeMs: number) => OutcomeBar | undefined = () => undefined) {}

  /** The outcomes the next accepted update loses (none, mostly). */
  step(r: AdaptiveUpdateRecord): LostOutcome[] {
    const { pending, windows, candleAt } = this;
    const h = TARGET_HORIZON_BARS;
    const out: LostOutcome[] = [];
    const u = unpackAdaptiveUpdate(r.update);
    const bar = Number(u.dataTimestamp / BAR_SECONDS);
    if (r.window !== undefined) windows.unshift(r.window);
    const lost = (
      s: number,
      marginS: bigint,
      cause: LostOutcome["cause"],
      lag: number | null,
      missing: number | null,
    ) =>
      out.push({
        dataTimestamp: BigInt(s) * BAR_SECONDS,
        marginS,
        next: u.dataTimestamp,
        cause,
        lag,
        missingBar: missing === null ? null : BigInt(missing) * BAR_SECONDS,
        ...lostOutcome(s, marginS, windows, candleAt),
      });
    // the outcome this update processes, lost when its window lacks a bar of s..s+12
    const { marginS, lag } = pending.prior(bar);
    if (marginS !== 0n && r.window !== undefined) {
      const s = bar - h - lag;
      const missing = missingBarOf(r.window, s);
      if (missing !== null) lost(s, marginS, "missing bar", lag, missing);
    }
    for (const dropped of pending.accept(bar, u.mm))
      lost(dropped.bar, dropped.marginS, "dropped", null, null);
    // Every outcome still pending is of bar s >= bar - 23 (`accept` dropped the older ones), and a window that holds
    // its 24 h (bars s..s+12) ends at bar s + 12 or later: older windows can tell no outcome to come. Letting them go
    // keeps the search of each lost outcome to the last dozen windows, whatever the length of the history.
    const oldestEnd = (bar - MAX_OUTCOME_LAG) * Number(BAR_SECONDS) * 1000;
    for (let i = windows.length - 1; i >= 0; i--) if (windows[i].endTime < oldestEnd) windows.splice(i, 1);
    return out;
  }
}

/**
 * The outcomes lost among an adaptive market's accepted updates (`LostOutcome`), in the order of `records`
 * (one epoch; `LostOutcomeTracker`).
 * @param candleAt the independent candle of the market opening at a time (ms), if the caller has one.
 */
export function lostOutcomes(
  records: readonly AdaptiveUpdateRecord[],
  candleAt?: (timeMs: number) => OutcomeBar | undefined,
): LostOutcome[] {
  const tracker = new LostOutcomeTracker(candleAt);
  return records.flatMap((r) => tracker.step(r));
}

/** The window's bar at an open time (ms), undefined outside it. */
function barAt(w: Window, timeMs: number): Window["bars"][number] | undefined {
  const i = w.bars.length - 1 - (w.endTime - timeMs) / w.intervalMs;
  return Number.isInteger(i) && i >= 0 ? w.bars[i] : undefined;
}

/** The first bar (bar number) of s..s+12 missing from a window (missing, or outside it), null when none is. */
function missingBarOf(w: Window, s: number): number | null {
  for (let b = s; b <= s + TARGET_HORIZON_BARS; b++) {
    const bar = barAt(w, b * Number(BAR_SECONDS) * 1000);
    if (bar === undefined || bar.missing || bar.close === 0n) return b;
  }
  return null;
}

/** The outcome of bar `s` (a bar number; see `LostOutcome.outcome`), from the candles, else the signed windows. */
function lostOutcome(
  s: number,
  marginS: bigint,
  windows: readonly Window[],
  candleAt: (timeMs: number) => OutcomeBar | undefined,
): Pick<LostOutcome, "outcome" | "by"> {
  const h = TARGET_HORIZON_BARS;
  const times = Array.from({ length: h + 1 }, (_, i) => (s + i) * Number(BAR_SECONDS) * 1000);
  const candles = times.map(candleAt);
  if (candles.every((c): c is OutcomeBar => c !== undefined)) {
    const outcome = windowOutcome(candles, marginS);
    if (outcome !== null) return { outcome: outcome ? "breach" : "covered", by: "candles" };
  }
  // the signed windows holding bars s..s+12: one whose range part holds the highs and lows of s+1..s+12 tells
  // the outcome, else the closes tell a breach they show alone
  const holding = windows.flatMap((w) => {
    const bars = times.map((time) => barAt(w, time));
    return bars.every((b) => b !== undefined && !b.missing && b.close !== 0n)
      ? [{ w, bars: bars as Window["bars"] }]
      : [];
  });
  const ranged = holding.find(({ w }) =>
    inRangePart(w.bars.length, w.bars.length - 1 - (w.endTime - times[1]) / w.intervalMs),
  );
  if (ranged !== undefined) {
    return { outcome: windowOutcome(ranged.bars, marginS) ? "breach" : "covered", by: "signed window" };
  }
  if (holding.length > 0) {
    const closes = holding[0].bars.map((b) => b.close);
    if (integerBreach(closes[0], closes.slice(1), closes.slice(1), marginS)) {
      return { outcome: "breach", by: "signed closes" };
    }
  }
  return { outcome: "unknown", by: null };
}

/**
 * The chance that honest gaps lose at least `breaches` breaches among `lost` outcomes, each a breach with
 * the rule's target probability of 1 %: P(X >= breaches), X ~ Binomial(lost, 0.01). A small value says the lost
 * outcomes are breaches far more often than chance (the submitter held its updates back after breaches).
 */
export function lostBreachesP(lost: number, breaches: number): number {
  const q = 0.01;
  let term = Math.pow(1 - q, lost); // P(X = 0)
  let tail = 0;
  for (let k = 0; k <= lost; k++) {
    if (k >= breaches) tail += term;
    term *= ((lost - k) / (k + 1)) * (q / (1 - q));
  }
  return Math.min(1, tail);
}
