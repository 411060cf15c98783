/**
 * `zkrisk set-publisher-set`: governance's `setPublisherSet` for a registered market, the one way to rotate its
 * publisher set (a new key, a revoked key, another quorum), its model or its signed-update verifier. What is not
 * given stays as registered (read from the oracle first). From the call on, proofs for the previous statement key
 * are refused. Given the registered parts again after a chain split, it registers their key for this chain's
 * domain (the statement key hashes the chain id), which the fork's oracle needs before it takes an update.
 *
 * Checked before anything is sent, since the oracle would take each of these and then refuse every update of
 * the market (or accept margins of another market's calibration): a model file of another market, a verifier whose
 * layout (`adaptiveLayout()`) is not the market's mode where the registered one's is, and a call that changes
 * nothing. The oracle refuses another model for an adaptive market (`OracleAdaptiveModelChange`: its state was
 * earned under the registered model); the refusal names the way: `zkrisk set-adaptive --off`, this rotation, then
 * `zkrisk set-adaptive --model` with the new model file.
 */
import type { ContractRunner } from "ethers";
import { UsageError } from "../../core/errors";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../candles/market-id";
import {
  OracleError,
  oracleStatementKey,
  readAdaptiveState,
  readRegisteredPublisherSet,
  setPublisherSet,
  verifierIsAdaptive,
  type PublisherSetConfig,
} from "../../onchain/oracle";
import { publisherSetCommitment, readPublisherSet } from "../../publisher";
import { output } from "../options";
import {
  addressOption,
  contractOption,
  oracleOption,
  registeredMarketOption,
  withChain,
} from "../chain-options";

/** The options of `zkrisk set-publisher-set`, as commander gives them (cli/register/chain.ts). */
export interface SetPublisherSetFlags {
  oracle: string;
  market: string;
  /** The new publisher set file (`zkrisk publisher set`). */
  publishers?: string;
  /** The new model file (its commitment is registered). */
  model?: string;
  /** The new model commitment, instead of a file. */
  commitment?: string;
  /** The new signed-update verifier (deployed). */
  verifier?: string;
  rpc: string;
  key: string;
  json?: boolean;
}

/** A market's publisher set configuration, decimal. */
export interface PublisherSetView {
  verifier: string;
  modelCommitment: string;
  publisherSet: string;
  quorum: number;
  statementKey: string;
}

/** What `zkrisk set-publisher-set` did. */
export interface SetPublisherSetResult {
  /** `--market` as given (label or number). */
  market: string;
  /** `--oracle` as given. */
  oracle: string;
  /** Market id, decimal. */
  marketId: string;
  /** The configuration before the call, and the one the oracle reports after it. */
  before: PublisherSetView;
  after: PublisherSetView;
  /**
   * What changed: "verifier", "model", "publishers" (the set or its quorum), "statement key" (the registered one
   * was not this chain's key of the registered parts: after a chain split), in that order.
   */
  changed: string[];
  txHash: string;
  /**
   * When the market's mode and its new verifier's layout disagree (a plain market, between `zkrisk set-adaptive
   * --off` and `--model` of a model change, given an adaptive verifier): the oracle takes no update of the market
   * until they agree, and this says how.
   */
  warning?: string;
}

const view = (c: PublisherSetConfig): PublisherSetView => ({
  verifier: c.verifier,
  modelCommitment: c.modelCommitment.toString(),
  publisherSet: c.publisherSet.toString(),
  quorum: c.quorum,
  statementKey: c.statementKey.toString(),
});

/**
 * Rotate the market's publisher set, model or verifier. The options and files are checked before the chain is
 * read, and the new configuration against the market's mode before anything is sent.
 * @throws UsageError for bad or missing options, a model file of another market, a verifier of the other layout
 *   and a call that changes nothing; OracleError when the oracle refuses (an unknown market, a sender without the
 *   governor role, an adaptive num outside the new verifier's clamp, another model for an adaptive market, with the
 *   steps that change it); all exit with code 2 in zkrisk
 */
export async function runSetPublisherSet(f: SetPublisherSetFlags): Promise<SetPublisherSetResult> {
  if (f.model !== undefined && f.commitment !== undefined) {
    throw new UsageError("give at most one of --model or --commitment");
  }
  if ([f.publishers, f.model, f.commitment, f.verifier].every((v) => v === undefined)) {
    throw new UsageError(
      "give what to rotate: --publishers SET.json, --model FILE (or --commitment N), --verifier ADDR, or several",
    );
  }
  if (f.commitment !== undefined && !/^[1-9]\d*$/.test(f.commitment)) {
    throw new UsageError(`--commitment: '${f.commitment}' is not a positive decimal integer`);
  }
  addressOption("--oracle", f.oracle);
  if (f.verifier !== undefined) addressOption("--verifier", f.verifier);
  const marketId = marketIdOf(f.market);
  const model = f.model === undefined ? undefined : loadQuantizedModel(f.model);
  // Another market's model file would register that market's calibration (e.g. BTC's scale) for this one.
  if (model !== undefined && marketIdOf(model.market) !== marketId) {
    throw new UsageError(
      `--model: ${f.model} is the model file of ${model.market}, not of ${f.market}: write ${f.market}'s own ` +
        `with \`zkrisk market-model --market ${f.market}\` (its fitted calibration, or the new-market rule's)`,
    );
  }
  const commitment =
    model !== undefined
      ? await modelCommitment(model)
      : f.commitment === undefined
        ? undefined
        : BigInt(f.commitment);
  const set = f.publishers === undefined ? undefined : await readPublisherSet(f.publishers);
  const setCommitment = set === undefined ? undefined : await publisherSetCommitment(set);

  return withChain(f.rpc, f.key, async (chain) => {
    const oracle = await oracleOption(chain, f.oracle);
    const verifier =
      f.verifier === undefined ? undefined : await contractOption(chain, "--verifier", f.verifier);
    const before = await registeredMarketOption(oracle, f.market, marketId);
    const next = {
      verifier: verifier ?? before.verifier,
      modelCommitment: commitment ?? before.modelCommitment,
      publisherSet: setCommitment ?? before.publisherSet,
      quorum: set?.quorum ?? before.quorum,
    };
    // A key registered for another domain (before a chain split, on the original chain) is registered again for
    // this chain's, even with nothing else changed: the way out of a split (contracts/README.md, Chain splits).
    const keyHere = await oracleStatementKey(oracle, marketId, before);
    const changed = [
      ...(next.verifier.toLowerCase() !== before.verifier.toLowerCase() ? ["verifier"] : []),
      ...(next.modelCommitment !== before.modelCommitment ? ["model"] : []),
      ...(next.publisherSet !== before.publisherSet || next.quorum !== before.quorum ? ["publishers"] : []),
      ...(keyHere !== before.statementKey ? ["statement key"] : []),
    ];
    if (changed.length === 0) {
      throw new UsageError(
        `market ${f.market} already has this verifier, model and publisher set, and its statement key is this ` +
          "chain's: nothing to rotate, nothing sent",
      );
    }
    const adaptive = (await readAdaptiveState(oracle, marketId)).num !== 0n; // num 0: a plain market
    // The layout of the verifier the market will have: a mismatch with its mode is refused or warned of.
    const proves =
      verifier === undefined
        ? await verifierIsAdaptive(chain.signer, before.verifier).catch(() => undefined)
        : await checkLayout(chain.signer, verifier, before.verifier, adaptive, f);
    const { receipt } = await setPublisherSet(oracle, marketId, next).catch((err: unknown) => {
      throw explainRefusal(err, f);
    });
    const after = await readRegisteredPublisherSet(oracle, marketId);
    return {
      market: f.market,
      oracle: f.oracle,
      marketId: marketId.toString(),
      before: view(before),
      after: view(after),
      changed,
      txHash: receipt.hash,
      ...(proves !== undefined &&
        proves !== adaptive && {
          warning:
            `${f.market} is ${adaptive ? "adaptive" : "plain"} and its verifier proves ` +
            `${proves ? "adaptive" : "plain"} updates, so it takes no update until both agree: ` +
            (proves
              ? "make it adaptive from its model file (`zkrisk set-adaptive --model`), or give it a plain verifier"
              : "give it the verifier of a `zkrisk compile --adaptive` directory, or make it plain " +
                "(`zkrisk set-adaptive --off`)"),
        }),
    };
  });
}

/**
 * The oracle's refusal of another model for an adaptive market (`OracleAdaptiveModelChange(market, registered,
 * new)`) with the steps that change it; any other error as it is.
 */
function explainRefusal(err: unknown, f: SetPublisherSetFlags): unknown {
  if (!(err instanceof OracleError) || err.reason !== "OracleAdaptiveModelChange") return err;
  const rotation = [
    ...(f.publishers === undefined ? [] : ["--publishers", f.publishers]),
    ...(f.model === undefined ? [] : ["--model", f.model]),
    ...(f.commitment === undefined ? [] : ["--commitment", f.commitment]),
    ...(f.verifier === undefined ? [] : ["--verifier", f.verifier]),
  ].join(" ");
  return new OracleError(
    err.reason,
    `${err.message}: ${f.market} is adaptive, and its state (num, outcomes, pending margins) was earned under ` +
      "its registered model, so the oracle does not carry it over to another. To change the model, make the " +
      `market plain (\`zkrisk set-adaptive --market ${f.market} --off\`; its adaptive updates are refused until ` +
      `the last step), rotate (\`zkrisk set-publisher-set --market ${f.market} ${rotation}\`), then make it ` +
      `adaptive again from the new model's calibration (\`zkrisk set-adaptive --market ${f.market} --model ` +
      "NEW_MODEL_FILE`), each with --oracle, --rpc and --key",
  );
}

/**
 * Refuse a verifier whose layout is not the market's mode where the registered one's is: the oracle would register
 * it, and then take no update of the market (`OracleAdaptiveLayoutMismatch` at every submission). A market whose
 * registered verifier disagrees already (after `zkrisk set-adaptive --off` of a model change, or `--model` before
 * its adaptive verifier) takes no update either way, and may be given a verifier of either layout on the way to
 * agreeing. A verifier without `adaptiveLayout()` is left to the oracle.
 * @returns the new verifier's layout (true: adaptive), undefined where it has none to read
 */
async function checkLayout(
  runner: ContractRunner,
  verifier: string,
  registered: string,
  adaptive: boolean,
  f: SetPublisherSetFlags,
): Promise<boolean | undefined> {
  const proves = await verifierIsAdaptive(runner, verifier).catch(() => undefined);
  if (proves === undefined || proves === adaptive) return proves;
  const registeredProves = await verifierIsAdaptive(runner, registered).catch(() => undefined);
  if (registeredProves === proves) return proves;
  throw new UsageError(
    `--verifier: ${verifier} proves ${proves ? "adaptive" : "plain"} updates (its adaptiveLayout() is ${proves}), ` +
      `but ${f.market} is ${adaptive ? "adaptive" : "plain"}, so it would take no update: give the verifier of a ` +
      `directory compiled ${adaptive ? "with" : "without"} --adaptive` +
      (adaptive ? "" : ", or make the market adaptive first (`zkrisk set-adaptive --model`)"),
  );
}

/** The text output of `zkrisk set-publisher-set`. */
export function formatSetPublisherSet(r: SetPublisherSetResult): string {
  const lines = [
    `${r.market} (id ${r.marketId}) on ${r.oracle}: rotated ${r.changed.join(", ")}; tx ${r.txHash}`,
  ];
  const row = (what: string, a: string, b: string) =>
    lines.push(`  ${what}: ${a === b ? a : `${a} -> ${b}`}`);
  row("verifier", r.before.verifier, r.after.verifier);
  row("model commitment", r.before.modelCommitment, r.after.modelCommitment);
  row("publisher set", r.before.publisherSet, r.after.publisherSet);
  row("quorum", String(r.before.quorum), String(r.after.quorum));
  row("statement key", r.before.statementKey, r.after.statementKey);
  if (r.warning !== undefined) lines.push(`WARNING: ${r.warning}`);
  return `${lines.join("\n")}\n`;
}

/** `zkrisk set-publisher-set`: rotate, then print what the oracle reports. */
export async function setPublisherSetAction(f: SetPublisherSetFlags): Promise<void> {
  output(await runSetPublisherSet(f), f.json, formatSetPublisherSet);
}
