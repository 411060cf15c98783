/**
 * The markets a service proves for, loaded from its config and checked against the chain before anything is
 * scheduled: each market's model (against its artifacts' manifest), its signed-update circuit (the artifacts'
 * circuit.json: a circuit compiled with `--signed` whose quorum is the set's), its publisher set file, and the
 * publisher set the oracle registered for it (`readRegisteredPublisherSet`: the set's commitment, the quorum, the
 * model and the statement key must all be the configured ones, or the service refuses to start, naming the file and
 * the market). Then the newest bar already scheduled (the later of the oracle's last accepted update and the
 * store's newest job).
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { modelCommitment } from "../circuits/commitments";
import type { CircuitInfo } from "../circuits/compile-model";
import type { WeightMode } from "../circuits/generate-circuit";
import { isoFromSeconds } from "../core/time";
import { FEATURE_INTERVAL_MS } from "../features/window-features";
import { WINDOW_BARS } from "../candles/window";
import { ConfigError, ModelError, ZkriskError } from "../core/errors";
import { readJsonFile } from "../core/io";
import { checkWindowModel } from "../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import {
  publisherSetCommitment,
  PublisherFileError,
  readPublisherSet as readPublisherSetFile,
  type PublisherSet,
} from "../publisher";
import { loadArtifacts, type LoadedArtifacts } from "../setup/artifacts";
import { oracleStatementKey, readRegisteredPublisherSet } from "../onchain/oracle";
import type { AdaptiveRule } from "../models/adaptive";
import type { ChainView } from "./chain-view";
import type { MarketConfig, ServiceConfig } from "./config";
import { readMarketState } from "./guards";
import type { JobStore } from "./jobs";
import type { ServiceMetrics } from "./metrics";
import { PublisherWindows } from "./publisher-windows";

/** A market the service proves for, with its model, circuit and publishers loaded. */
export interface MarketRuntime {
  id: string;
  marketId: bigint;
  modelPath: string;
  artifactsDir: string;
  model: QuantizedModel;
  modelCommitment: bigint;
  /** Weight mode of the signed-update circuit (its circuit.json). */
  mode: WeightMode;
  /**
   * The adaptive rule of artifacts compiled with `--adaptive` (their manifest's): the market is adaptive on the
   * oracle, and each proof starts from the prior the oracle reports. Undefined for a plain market.
   */
  adaptiveRule?: AdaptiveRule;
  /** The market's publisher set (from its set file; the oracle registers the same commitment). */
  publishers: PublisherSet;
  /** Where each bar's signed windows come from. */
  windows: PublisherWindows;
  /** Newest bar scheduled so far (seconds); bars at or before it are not scheduled again. */
  lastScheduled: number;
}

/**
 * Load every market of `cfg`, in config order, and check each against the oracle.
 * @throws ConfigError (CONFIG_INVALID) naming the config file, the field, the file at fault and the market: a
 *   model that does not read the window features, artifacts of a circuit that takes features or checks another
 *   quorum, a malformed publisher set file, fewer publisher URLs than the quorum, a market with no publisher
 *   set on the oracle or another one (set, quorum, model or statement key); the artifacts' errors for artifacts
 *   that do not match their manifest.
 */
export async function loadMarkets(
  cfg: ServiceConfig,
  chain: ChainView,
  store: JobStore,
  metrics: ServiceMetrics,
  log: Logger,
): Promise<Map<string, MarketRuntime>> {
  const markets = new Map<string, MarketRuntime>();
  for (const [index, m] of cfg.markets.entries()) {
    const where = (field: string) => `${cfg.file}: markets[${index}].${field}`;
    const { model, adaptiveRule, circuit, publishers } = await loadMarketFiles(cfg, index);
    const commitment = await modelCommitment(model);
    await checkOnChainSet(chain, m, { model: commitment, publishers }, where("publishers.set"));
    await checkAdaptive(chain, m, adaptiveRule !== undefined, where("artifacts"));

    const runtime: MarketRuntime = {
      id: m.id,
      marketId: m.marketId,
      modelPath: m.model,
      artifactsDir: m.artifacts,
      model,
      modelCommitment: commitment,
      mode: circuit.mode,
      ...(adaptiveRule && { adaptiveRule }),
      publishers,
      windows: new PublisherWindows({
        market: m.id,
        set: publishers,
        urls: m.publishers.urls,
        timeoutMs: m.publishers.timeoutMs,
        intervalMs: model.barIntervalMs,
        bars: WINDOW_BARS,
        count: (publisher, outcome) => metrics.publisherFetches.inc({ market: m.id, publisher, outcome }),
        log,
      }),
      lastScheduled: 0,
    };
    const state = await readMarketState(chain.oracle, runtime.marketId);
    const onChain = state.last?.dataTimestamp ?? 0;
    if (onChain) metrics.sawAccepted(m.id, onChain);
    runtime.lastScheduled = Math.max(onChain, await store.maxSubmitTimestamp(m.id));
    markets.set(m.id, runtime);
    log.info(
      {
        market: m.id,
        publishers: runtime.windows.names,
        quorum: publishers.quorum,
        lastOnChain: onChain ? isoFromSeconds(onChain) : null,
        lastScheduled: isoFromSeconds(runtime.lastScheduled),
      },
      "market loaded",
    );
  }
  return markets;
}

/** A market's files, read and checked against each other (not against the chain). */
export interface MarketFiles {
  model: QuantizedModel;
  /** The artifacts' adaptive rule (their manifest's), if compiled with `--adaptive`. */
  adaptiveRule?: AdaptiveRule;
  circuit: CircuitInfo & { mode: WeightMode; quorum: number };
  publishers: PublisherSet;
}

/**
 * Everything of market `index` that can be checked without the chain, as `serve` loads it at start (and
 * `serve --check` checks it): the model file (a window model), the artifacts against their manifest (every file
 * hashed), their circuit.json (a signed-update circuit), the publisher set file (its quorum the circuit's, and
 * enough URLs for it).
 * @throws ConfigError `config file: markets[i].field: the file: reason`.
 */
export async function loadMarketFiles(cfg: ServiceConfig, index: number): Promise<MarketFiles> {
  const m = cfg.markets[index];
  const where = (field: string) => `${cfg.file}: markets[${index}].${field}`;
  const model = windowModelOf(m.model, where("model"), `market ${m.id}`);
  const adaptiveRule = checkedArtifacts(m.artifacts, m.model, where("artifacts")).manifest.adaptive?.rule;
  const circuit = signedCircuit(m, where("artifacts"));
  const publishers = await quorumSetOf(m, circuit.quorum, where, `market ${m.id}`);
  return { model, ...(adaptiveRule && { adaptiveRule }), circuit, publishers };
}

/**
 * The artifacts of a market or batch with every file checked against their manifest, now, not mid-proof.
 * @param field the config file and field, for messages (`service.json: markets[0].artifacts`).
 * @throws ConfigError `field: reason` (the artifacts' own message: the file and both hashes).
 */
export function checkedArtifacts(dir: string, modelPath: string, field: string): LoadedArtifacts {
  try {
    return loadArtifacts(dir, { modelPath });
  } catch (err) {
    if (err instanceof ZkriskError) throw new ConfigError(`${field}: ${err.message}`);
    throw err;
  }
}

/**
 * The artifacts must match the market's kind on the oracle: adaptive artifacts (`zkrisk compile --adaptive`) for a
 * market governance made adaptive (`setAdaptiveCalibration`), plain ones otherwise; the oracle would refuse every
 * proof of the other kind.
 */
async function checkAdaptive(
  chain: ChainView,
  m: MarketConfig,
  adaptive: boolean,
  field: string,
): Promise<void> {
  const [num] = (await chain.oracle.adaptiveState(m.marketId)) as [bigint, bigint, bigint[]];
  if ((num !== 0n) === adaptive) return;
  throw new ConfigError(
    adaptive
      ? `${field}: ${m.artifacts} holds a circuit with the adaptive rule, but market ${m.id} is not adaptive on ` +
          `the oracle (its proofs would be refused); use artifacts compiled without --adaptive`
      : `${field}: market ${m.id} is adaptive on the oracle (num ${num}), but ${m.artifacts} holds a circuit ` +
          "without the adaptive rule (its proofs would be refused); compile them with `zkrisk compile --adaptive`",
  );
}

/** The artifacts' circuit.json, which must describe a signed-update circuit. */
function signedCircuit(m: MarketConfig, field: string): CircuitInfo & { mode: WeightMode; quorum: number } {
  const file = join(m.artifacts, "circuit.json");
  let info: CircuitInfo;
  try {
    info = readJsonFile(file, "CONFIG_INVALID") as CircuitInfo;
  } catch (err) {
    throw new ConfigError(`${field}: ${err instanceof ZkriskError ? err.message : String(err)}`);
  }
  if (info.quorum === undefined || info.batchSize !== undefined) {
    throw new ConfigError(
      `${field}: ${m.artifacts} holds ${info.batchSize === undefined ? "a circuit that takes features" : "a signed batch circuit"} ` +
        `(market ${m.id}); the service proves ` +
        "signed updates only: compile the model with `zkrisk compile --quorum K`, then `zkrisk setup`",
    );
  }
  return info as CircuitInfo & { mode: WeightMode; quorum: number };
}

/**
 * The model file of a market or batch, loaded; it must read the signed windows' features and bars.
 * @throws ConfigError `field: ...` for a file that is not a quantised model (not JSON, an unknown key, ...) or not
 *   a window model.
 * @param field the config file and field, for messages; `who` names the market or batch (`market BTC-USDT`).
 */
export function windowModelOf(path: string, field: string, who: string): QuantizedModel {
  let model: QuantizedModel;
  try {
    model = loadQuantizedModel(path);
  } catch (err) {
    // not JSON, an unknown key, a bad value: the file's own message, after the config field that names it
    if (!(err instanceof ZkriskError)) throw err;
    throw new ConfigError(`${field}: ${err.message}`);
  }
  try {
    checkWindowModel(model, path);
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    throw new ConfigError(`${field}: ${who}: ${err.message}`);
  }
  if (model.barIntervalMs !== FEATURE_INTERVAL_MS) {
    throw new ConfigError(
      `${field}: ${path} reads bars of ${model.barIntervalMs} ms; signed windows have bars of ` +
        `${FEATURE_INTERVAL_MS} ms`,
    );
  }
  return model;
}

/**
 * The publisher set file of a market or batch, read; its quorum must be the circuit's, and there must be at
 * least that many publisher URLs.
 * @param where the config file and a field of the entry, for messages; `who` names the market or batch.
 */
export async function quorumSetOf(
  m: Pick<MarketConfig, "publishers" | "artifacts">,
  circuitQuorum: number,
  where: (field: string) => string,
  who: string,
): Promise<PublisherSet> {
  const publishers = await publisherSetOf(m, where("publishers.set"));
  if (circuitQuorum !== publishers.quorum) {
    throw new ConfigError(
      `${where("publishers.set")}: ${m.publishers.set} has quorum ${publishers.quorum}, but the circuit in ` +
        `${m.artifacts} checks ${circuitQuorum} signature(s) (${who})`,
    );
  }
  if (m.publishers.urls.length < publishers.quorum) {
    throw new ConfigError(
      `${where("publishers.urls")}: ${m.publishers.urls.length} publisher(s), fewer than the quorum of ` +
        `${publishers.quorum} in ${m.publishers.set} (${who})`,
    );
  }
  return publishers;
}

/**
 * The market's publisher set file, read.
 * @param field the config file and field, for messages (`service.json: markets[0].publishers.set`).
 * @throws ConfigError `field: file: field in the file: reason`.
 */
export async function publisherSetOf(
  m: Pick<MarketConfig, "publishers">,
  field: string,
): Promise<PublisherSet> {
  try {
    return await readPublisherSetFile(m.publishers.set);
  } catch (err) {
    if (err instanceof PublisherFileError) throw new ConfigError(`${field}: ${err.message}`);
    throw err;
  }
}

/**
 * The oracle's publisher set of the market must be the configured one: its commitment, quorum, model and
 * statement key (which binds the market, the model, the set and the oracle's domain).
 */
export async function checkOnChainSet(
  chain: ChainView,
  m: Pick<MarketConfig, "id" | "marketId" | "model" | "publishers">,
  ours: { model: bigint; publishers: PublisherSet },
  field: string,
): Promise<void> {
  const registered = await readRegisteredPublisherSet(chain.oracle, m.marketId);
  const oracle = await chain.oracle.getAddress();
  const file = m.publishers.set;
  if (registered.publisherSet === 0n) {
    throw new ConfigError(
      `${field}: market ${m.id} has no publisher set on the oracle at ${oracle} (governance registers ` +
        `${file} with setPublisherSet before the service can submit signed updates)`,
    );
  }
  const commitment = await publisherSetCommitment(ours.publishers);
  if (registered.publisherSet !== commitment || registered.quorum !== ours.publishers.quorum) {
    throw new ConfigError(
      `${field}: ${file} is not the publisher set the oracle at ${oracle} registers for market ${m.id}: ` +
        `the file commits to ${commitment} with quorum ${ours.publishers.quorum}, the oracle has ` +
        `${registered.publisherSet} with quorum ${registered.quorum}`,
    );
  }
  if (registered.modelCommitment !== ours.model) {
    throw new ConfigError(
      `${field.replace(/publishers\.set$/, "model")}: ${m.model} (commitment ${ours.model}) is not the model the ` +
        `oracle at ${oracle} registers with the publisher set of market ${m.id} (${registered.modelCommitment})`,
    );
  }
  const key = await oracleStatementKey(chain.oracle, m.marketId, {
    modelCommitment: ours.model,
    publisherSet: commitment,
  });
  if (registered.statementKey !== key) {
    const { chainId } = await chain.provider.getNetwork();
    throw new ConfigError(
      `${field}: market ${m.id}: the oracle at ${oracle} registers statement key ${registered.statementKey}, ` +
        `the configured model, ${file} and the oracle's domain on chain ${chainId} give ${key}: a key made for ` +
        "another domain (e.g. registered before a chain split) takes no proof made here; governance registers " +
        "the market's publisher set again on this chain (setPublisherSet)",
    );
  }
}
