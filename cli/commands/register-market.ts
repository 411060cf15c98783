/**
 * `zkrisk register-market`: register a market on the oracle (governance) with its publisher set, the verifier of the
 * signed-update circuit, the model commitment it accepts, its guards and its guardian; with `--adaptive`, then made
 * adaptive (`setAdaptiveCalibration`) from the model file's calibration.
 */
import { UsageError } from "../../core/errors";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../candles/market-id";
import {
  checkLimits,
  registerMarket,
  setAdaptiveCalibration,
  verifierIsAdaptive,
  type LimitNames,
  type MarketLimits,
} from "../../onchain/oracle";
import type { ContractRunner } from "ethers";
import { initialState } from "../../models/adaptive";
import { publisherSetCommitment, readPublisherSet } from "../../publisher";
import { output, parseIntOption } from "../options";
import { addressOption, contractOption, oracleOption, withChain } from "../chain-options";

/** The guard options of `zkrisk register-market` (bps and seconds, as given). */
export interface LimitFlags {
  minMm: string;
  maxMm: string;
  minIm: string;
  maxIm: string;
  maxIncrease: string;
  maxDecrease: string;
  minInterval: string;
  maxAge: string;
}

/** The options of `zkrisk register-market`, as commander gives them (cli/register/chain.ts). */
export interface RegisterMarketFlags extends LimitFlags {
  oracle: string;
  market: string;
  verifier: string;
  model?: string;
  commitment?: string;
  guardian?: string;
  /** Publisher set file of the market (`zkrisk publisher set`). */
  publishers: string;
  /** Make the market adaptive with the initial num of `--model` (its calibrationNum * 2^8). */
  adaptive?: boolean;
  rpc: string;
  key: string;
  json?: boolean;
}

/** The market registered, as the oracle recorded it. */
export interface RegisterMarketResult {
  /** `--market` as given (label or number). */
  market: string;
  /** `--oracle` as given. */
  oracle: string;
  /** Market id, decimal. */
  marketId: string;
  /** Model commitment the market accepts, decimal. */
  modelCommitment: string;
  /** Commitment of the publisher set, decimal. */
  publisherSet: string;
  /** Signatures an update needs. */
  quorum: number;
  /** Statement key of the market's signed updates, decimal. */
  statementKey: string;
  limits: MarketLimits;
  txHash: string;
  /** With `--adaptive`: the initial num set (decimal) and its transaction. */
  adaptive?: { num: string; txHash: string };
}

/** The option that sets each guard, for the messages of {@link checkLimits}. */
const LIMIT_OPTIONS: LimitNames = {
  minMaintenanceMarginBps: "--min-mm",
  maxMaintenanceMarginBps: "--max-mm",
  minInitialMarginBps: "--min-im",
  maxInitialMarginBps: "--max-im",
  maxIncreaseBps: "--max-increase",
  maxDecreaseBps: "--max-decrease",
  minUpdateInterval: "--min-interval",
  maxDataAge: "--max-age",
};

/**
 * The guards from their options, each in its range, and together as the oracle checks them (bounds some margin
 * pair with IM >= MM can meet): refused naming the options, before anything is sent.
 */
function limitsOf(f: LimitFlags): MarketLimits {
  const limits = {
    minMaintenanceMarginBps: parseIntOption("--min-mm", f.minMm, 0, 10000),
    maxMaintenanceMarginBps: parseIntOption("--max-mm", f.maxMm, 0, 10000),
    minInitialMarginBps: parseIntOption("--min-im", f.minIm, 0, 10000),
    maxInitialMarginBps: parseIntOption("--max-im", f.maxIm, 0, 10000),
    maxIncreaseBps: parseIntOption("--max-increase", f.maxIncrease, 0, 10000),
    maxDecreaseBps: parseIntOption("--max-decrease", f.maxDecrease, 0, 10000),
    minUpdateInterval: parseIntOption("--min-interval", f.minInterval, 0, 2 ** 32 - 1),
    maxDataAge: parseIntOption("--max-age", f.maxAge, 1, 2 ** 32 - 1),
  };
  checkLimits(limits, LIMIT_OPTIONS);
  return limits;
}

/**
 * Register the market. The options and the publisher set file are checked before anything is sent; the guardian
 * defaults to the sender.
 */
export async function runRegisterMarket(f: RegisterMarketFlags): Promise<RegisterMarketResult> {
  if ((f.model === undefined) === (f.commitment === undefined)) {
    throw new UsageError("give exactly one of --model or --commitment");
  }
  if (f.commitment !== undefined && !/^\d+$/.test(f.commitment)) {
    throw new UsageError(`--commitment: '${f.commitment}' is not a decimal integer`);
  }
  if (f.adaptive && f.model === undefined) {
    throw new UsageError(
      "--adaptive needs --model: the initial num is the model file's calibrationNum * 2^8",
    );
  }
  const model = f.model === undefined ? undefined : loadQuantizedModel(f.model);
  // Another market's model file would register that market's calibration (e.g. BTC's scale) for this one.
  if (model !== undefined && marketIdOf(model.market) !== marketIdOf(f.market)) {
    throw new UsageError(
      `--model: ${f.model} is the model file of ${model.market}, not of ${f.market}: write ${f.market}'s own ` +
        `with \`zkrisk market-model --market ${f.market}\` (its fitted calibration, or the new-market rule's)`,
    );
  }
  const commitment = model ? await modelCommitment(model) : BigInt(f.commitment!);
  const initialNum = f.adaptive && model ? initialState(model.policy.calibrationNum).num : undefined;
  const limits = limitsOf(f);
  const marketId = marketIdOf(f.market);
  const set = await readPublisherSet(f.publishers);
  const publisherSet = await publisherSetCommitment(set);
  addressOption("--oracle", f.oracle);
  addressOption("--verifier", f.verifier);
  if (f.guardian) addressOption("--guardian", f.guardian);
  const { receipt, publishers, adaptive } = await withChain(f.rpc, f.key, async (chain) => {
    const oracle = await oracleOption(chain, f.oracle);
    const verifier = await contractOption(chain, "--verifier", f.verifier);
    await checkVerifierLayout(chain.signer, verifier, f.adaptive === true);
    const registered = await registerMarket(oracle, marketId, {
      publishers: {
        verifier,
        modelCommitment: commitment,
        publisherSet,
        quorum: set.quorum,
      },
      guardian: f.guardian ? addressOption("--guardian", f.guardian) : await chain.signer.getAddress(),
      limits,
    });
    if (initialNum === undefined) return { ...registered, adaptive: undefined };
    const made = await setAdaptiveCalibration(oracle, marketId, initialNum);
    return { ...registered, adaptive: { num: initialNum.toString(), txHash: made.hash } };
  });
  return {
    market: f.market,
    oracle: f.oracle,
    marketId: marketId.toString(),
    modelCommitment: commitment.toString(),
    publisherSet: publishers.publisherSet.toString(),
    quorum: publishers.quorum,
    statementKey: publishers.statementKey.toString(),
    limits,
    txHash: receipt.hash,
    ...(adaptive && { adaptive }),
  };
}

/**
 * Refuse a verifier whose layout is not the market's mode: the oracle would register it, and then take no update
 * of the market (`OracleAdaptiveLayoutMismatch` at every submission).
 */
async function checkVerifierLayout(
  runner: ContractRunner,
  verifier: string,
  adaptive: boolean,
): Promise<void> {
  const proves = await verifierIsAdaptive(runner, verifier).catch(() => undefined);
  if (proves === undefined || proves === adaptive) return;
  throw new UsageError(
    adaptive
      ? `--adaptive: the verifier ${verifier} proves plain updates (its adaptiveLayout() is false), so the market ` +
          "would take no update: give the verifier of a `zkrisk compile --adaptive` directory, or leave out --adaptive"
      : `--verifier: ${verifier} proves adaptive updates (its adaptiveLayout() is true), so a plain market would ` +
          "take no update: add --adaptive (with --model), or give the verifier of a directory compiled without --adaptive",
  );
}

/** The `--json` document of `zkrisk register-market`: what the oracle recorded (not the options as given). */
export function registerMarketJson(r: RegisterMarketResult): unknown {
  return {
    marketId: r.marketId,
    modelCommitment: r.modelCommitment,
    publisherSet: r.publisherSet,
    quorum: r.quorum,
    statementKey: r.statementKey,
    limits: r.limits,
    txHash: r.txHash,
    ...(r.adaptive && { adaptive: r.adaptive }),
  };
}

/** The text output of `zkrisk register-market`. */
export function formatRegisterMarket(r: RegisterMarketResult): string {
  return (
    `registered ${r.market} (id ${r.marketId}) on ${r.oracle}: publisher set ${r.publisherSet} (quorum ` +
    `${r.quorum}), statement key ${r.statementKey}; tx ${r.txHash}\n` +
    (r.adaptive === undefined
      ? ""
      : `made adaptive from num ${r.adaptive.num} (the model's calibration); tx ${r.adaptive.txHash}\n`)
  );
}

/** `zkrisk register-market`: register, then print what the oracle recorded. */
export async function registerMarketAction(f: RegisterMarketFlags): Promise<void> {
  output(await runRegisterMarket(f), f.json, formatRegisterMarket, registerMarketJson);
}
