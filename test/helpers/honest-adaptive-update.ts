/**
 * The packed signal an honest adaptive update carries (circuits/statement.ts `packAdaptiveUpdate`): the model's
 * step from the prior the oracle reports for the window's bar (its state and the oldest pending outcome, bar s's
 * margin and lag), computed by the engine as the real circuit would, for tests that submit it through a stand-in
 * verifier.
 */
import type { Contract } from "ethers";
import type { Window } from "../../candles";
import { windowDigest } from "../../candles/digest";
import { adaptiveDigestSignal, packAdaptiveUpdate } from "../../circuits/statement";
import { windowFeatures } from "../../features/window-features";
import { adaptiveWindowUpdate, type AdaptiveRule } from "../../models/adaptive";
import { inferInteger } from "../../models/integer-engine";
import type { QuantizedModel } from "../../models/quantized-model";
import { readAdaptivePrior } from "../../onchain/oracle";

/** The honest adaptive update of market `marketId` (model `m`, `rule`) on window `w`, from the oracle's prior. */
export async function honestAdaptiveUpdate(
  oracle: Contract,
  marketId: bigint,
  m: QuantizedModel,
  w: Window,
  rule: AdaptiveRule,
): Promise<bigint> {
  const bar = BigInt(w.endTime / 1000);
  const prior = await readAdaptivePrior(oracle, marketId, bar);
  const y = inferInteger(m, windowFeatures(w)).output;
  const step = adaptiveWindowUpdate(
    m.policy,
    y,
    w.bars,
    { state: { num: prior.num, outcomes: prior.outcomes }, marginS: prior.marginS, lag: prior.lag },
    rule,
  );
  return packAdaptiveUpdate({
    mm: step.margins.maintenanceMarginBps,
    im: step.margins.initialMarginBps,
    dataTimestamp: bar,
    before: { num: prior.num, outcomes: BigInt(prior.outcomes) },
    marginS: prior.marginS,
    lag: BigInt(prior.lag),
    after: { num: step.after.num, outcomes: BigInt(step.after.outcomes) },
    digest: adaptiveDigestSignal(await windowDigest(w)),
  });
}
