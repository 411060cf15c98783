/**
 * `zkrisk set-adaptive`: governance's `setAdaptiveCalibration` for a registered market. `--model FILE` makes it
 * adaptive (or resets its state) from the model file's calibration, num = calibrationNum * 2^8, the initial state
 * the model commitment binds; `--off` makes it plain again (num 0). The model file must be the one whose
 * commitment the market accepts, so that an auditor finds the registered initial num to be the committed one.
 */
import type { Contract } from "ethers";
import { UsageError } from "../../core/errors";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../candles/market-id";
import { initialState } from "../../models/adaptive";
import { readAdaptiveState, setAdaptiveCalibration, verifierIsAdaptive } from "../../onchain/oracle";
import { output } from "../options";
import { addressOption, oracleOption, registeredMarketOption, withChain } from "../chain-options";

/** The options of `zkrisk set-adaptive`, as commander gives them (cli/register/chain.ts). */
export interface SetAdaptiveFlags {
  oracle: string;
  market: string;
  /** The market's model file: its calibrationNum * 2^8 is the initial num. */
  model?: string;
  /** Make the market plain again (num 0). */
  off?: boolean;
  rpc: string;
  key: string;
  json?: boolean;
}

/** An adaptive state as the oracle holds it (decimal num). */
export interface AdaptiveStateView {
  /** The state's num, calibrationNum * 2^8, decimal; "0" for a plain market. */
  num: string;
  /** Outcomes processed since the state was last set. */
  outcomes: number;
}

/** What `zkrisk set-adaptive` did. */
export interface SetAdaptiveResult {
  /** `--market` as given (label or number). */
  market: string;
  /** `--oracle` as given. */
  oracle: string;
  /** Market id, decimal. */
  marketId: string;
  /** Adaptive after the call (num > 0), plain with `--off`. */
  adaptive: boolean;
  /** The num set (decimal): the model's calibrationNum * 2^8, or "0". */
  num: string;
  /** With `--model`: the model file, its calibrationNum and its commitment (the market's registered one). */
  model?: { file: string; calibrationNum: number; commitment: string };
  /** The market's state before the call. */
  before: AdaptiveStateView;
  /** The state the oracle reports after the call. */
  after: AdaptiveStateView;
  txHash: string;
  /**
   * When the market's mode now disagrees with its verifier's layout (`adaptiveLayout()`): the oracle takes no update
   * of the market until governance gives it a verifier of the other kind.
   */
  warning?: string;
}

/** The market's adaptive state as the oracle reports it, num in decimal. */
async function stateOf(oracle: Contract, marketId: bigint): Promise<AdaptiveStateView> {
  const { num, outcomes } = await readAdaptiveState(oracle, marketId);
  return { num: num.toString(), outcomes };
}

/**
 * Set the market's adaptive calibration. The options and the model file are checked before anything is sent; with
 * `--model`, the file's commitment must be the one the market accepts (read from the oracle first).
 * @throws UsageError for bad or conflicting options and a model the market does not accept; OracleError when the
 *   oracle refuses (an unknown market, a sender without the governor role); both exit with code 2 in zkrisk
 */
export async function runSetAdaptive(f: SetAdaptiveFlags): Promise<SetAdaptiveResult> {
  if ((f.model === undefined) === !f.off) {
    throw new UsageError(
      "give exactly one of --model (make the market adaptive from the model's calibration) or --off (plain)",
    );
  }
  addressOption("--oracle", f.oracle);
  const marketId = marketIdOf(f.market);
  const model = f.model === undefined ? undefined : loadQuantizedModel(f.model);
  const commitment = model === undefined ? undefined : await modelCommitment(model);
  const num = model === undefined ? 0n : initialState(model.policy.calibrationNum).num;
  return withChain(f.rpc, f.key, async (chain) => {
    const oracle = await oracleOption(chain, f.oracle);
    const registeredSet = await registeredMarketOption(oracle, f.market, marketId);
    const verifierAdaptive = await verifierIsAdaptive(chain.signer, registeredSet.verifier).catch(
      () => undefined,
    );
    if (commitment !== undefined) {
      const registered = registeredSet.modelCommitment;
      if (registered !== commitment) {
        throw new UsageError(
          `--model: ${f.model} commits to ${commitment}, but market ${f.market} accepts model commitment ` +
            `${registered}: its calibration is not the market's committed initial state`,
        );
      }
    }
    const before = await stateOf(oracle, marketId);
    const receipt = await setAdaptiveCalibration(oracle, marketId, num);
    return {
      market: f.market,
      oracle: f.oracle,
      marketId: marketId.toString(),
      adaptive: num !== 0n,
      num: num.toString(),
      ...(model &&
        commitment !== undefined && {
          model: {
            file: f.model!,
            calibrationNum: model.policy.calibrationNum,
            commitment: commitment.toString(),
          },
        }),
      before,
      after: await stateOf(oracle, marketId),
      txHash: receipt.hash,
      ...(verifierAdaptive !== undefined &&
        verifierAdaptive !== (num !== 0n) && {
          warning:
            `the market's verifier ${registeredSet.verifier} proves ${verifierAdaptive ? "adaptive" : "plain"} ` +
            `updates, so the ${num !== 0n ? "adaptive" : "plain"} market takes no update until its verifier is ` +
            `one of a directory compiled ${num !== 0n ? "with" : "without"} --adaptive (setPublisherSet)`,
        }),
    };
  });
}

/** The text output of `zkrisk set-adaptive`. */
export function formatSetAdaptive(r: SetAdaptiveResult): string {
  const was =
    r.before.num === "0" ? "was plain" : `was adaptive at num ${r.before.num}, ${r.before.outcomes} outcomes`;
  const now = r.adaptive
    ? `made adaptive from num ${r.num} (calibrationNum ${r.model?.calibrationNum} of ${r.model?.file}), ` +
      "outcomes reset to 0"
    : "made plain (num 0)";
  return (
    `${r.market} (id ${r.marketId}) on ${r.oracle}: ${now}; ${was}; tx ${r.txHash}\n` +
    (r.warning === undefined ? "" : `WARNING: ${r.warning}\n`)
  );
}

/** `zkrisk set-adaptive`: set the calibration, then print what the oracle reports. */
export async function setAdaptiveAction(f: SetAdaptiveFlags): Promise<void> {
  output(await runSetAdaptive(f), f.json, formatSetAdaptive);
}
