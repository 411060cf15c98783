/**
 * Auditing an adaptive market's updates (issue 12, part 3): replaying the oracle's state from the accepted
 * updates (`AdaptiveParametersUpdated`, each a packed update, `unpackAdaptiveUpdate`) and re-checking each state
 * transition and its margins from the signed window it names.
 *
 * The replay starts from the initial num governance registered (`AdaptiveCalibrationSet`; it must be the registered
 * model file's calibrationNum * 2^8, which the caller checks against the model commitment), holds the accepted MM
 * per bar as the oracle's ring does, and for each update, in order:
 *  1. its prior (num, outcomes, bar s = t - 12's MM, 0 for none) must be the replayed one: the oracle built it from
 *     its storage, so a difference means the events and the oracle disagree;
 *  2. with the signed window of (market, data timestamp), whose digest's low 91 bits must be the update's (for
 *     a market of an adaptive batch, the bits are the batch digest's: the batch checks found the window in the
 *     signed batch with those bits, at the market's index): the
 *     outcome of bar s in the window (`windowOutcome`) and one step of the rule (`adaptiveUpdate`) give the proven
 *     new state, and the model with the new state's calibrationNum gives the proven MM and IM.
 * The signatures and the publisher set of the window are the signed-update audit's checks (audit-signed.ts), not
 * repeated here. An update without its window is unverifiable; the replay goes on from the state the oracle
 * stored, so one missing window does not hide the checks of the next updates.
 */
import { windowDigest } from "../candles/digest";
import type { Window } from "../candles/window";
import { adaptiveDigestSignal, unpackAdaptiveUpdate } from "../circuits/statement";
import { windowFeatures } from "../features/window-features";
import { adaptiveWindowUpdate, type AdaptiveRule } from "../models/adaptive";
import { inferInteger } from "../models/integer-engine";
import type { QuantizedModel } from "../models/quantized-model";
import { TARGET_HORIZON_BARS } from "../models/target";
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
  /** The outcome of bar s the window gives (null: no outcome), when the window was found. */
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
      { state: { num: u.before.num, outcomes: Number(u.before.outcomes) }, marginS: u.marginS },
      rule,
    );
  } catch (err) {
    if (!(err instanceof ZkriskError || err instanceof RangeError)) throw err;
    return err.message;
  }
}

/**
 * Replay an adaptive market's accepted updates (in the order the oracle accepted them) from its initial num and
 * re-check each one (see the module's header).
 */
export async function auditAdaptiveUpdates(
  model: QuantizedModel,
  rule: AdaptiveRule,
  initialNum: bigint,
  records: readonly AdaptiveUpdateRecord[],
): Promise<AdaptiveUpdateAudit[]> {
  let state = { num: initialNum, outcomes: 0n };
  const accepted = new Map<bigint, bigint>();
  const out: AdaptiveUpdateAudit[] = [];
  for (const r of records) {
    const u = unpackAdaptiveUpdate(r.update);
    const bar = u.dataTimestamp / BAR_SECONDS;
    const marginS = accepted.get(bar - BigInt(TARGET_HORIZON_BARS)) ?? 0n;
    const reasons: string[] = [];
    if (u.before.num !== state.num || u.before.outcomes !== state.outcomes || u.marginS !== marginS) {
      reasons.push(
        `prior (num ${u.before.num}, outcomes ${u.before.outcomes}, MM_s ${u.marginS}) is not the replayed oracle ` +
          `state (num ${state.num}, outcomes ${state.outcomes}, MM_s ${marginS})`,
      );
    }
    let outcome: boolean | null | undefined;
    if (r.window === undefined) {
      out.push(
        reasons.length === 0
          ? { dataTimestamp: u.dataTimestamp, status: "unverifiable", reasons: ["no signed window found"] }
          : { dataTimestamp: u.dataTimestamp, status: "flagged", reasons },
      );
    } else {
      const w = r.window;
      if (BigInt(w.endTime / 1000) !== u.dataTimestamp) {
        reasons.push(
          `the window ends at ${w.endTime / 1000}, the update's data timestamp is ${u.dataTimestamp}`,
        );
      }
      if (!r.inBatch && adaptiveDigestSignal(await windowDigest(w)) !== u.digest) {
        reasons.push("the window's digest is not the one the update carries");
      }
      const step = replayStep(model, rule, w, u);
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
      out.push({
        dataTimestamp: u.dataTimestamp,
        status: reasons.length === 0 ? "ok" : "flagged",
        reasons,
        outcome,
      });
    }
    // the oracle stored the proven state and this bar's MM, whatever the verdict
    state = u.after;
    accepted.set(bar, u.mm);
  }
  return out;
}
