/**
 * The batches a service proves, loaded from its config (`batches`) and checked against the chain before anything
 * is scheduled. A batch is N markets proved together at each bar close: one signed batch circuit, one proof
 * from the quorum's signed batches (`GET BASE/v1/batches/:batch?at=END` at each publisher), one
 * `submitSignedBatch` transaction (`submitAdaptiveBatch` for an adaptive batch, every market stepping its adaptive
 * state from the prior the oracle reports), which the oracle accepts for all N markets or none.
 *
 * At start the service refuses, naming the config file, the field and the market: a model that does not read
 * the window features, artifacts that are not a signed batch circuit of N markets with the set's quorum, fewer
 * publisher URLs than the quorum, a market whose publisher set, model or statement key on the oracle is not the
 * configured one (the same check as a market's: markets.ts), an adaptive market in a plain batch circuit or a
 * plain market in an adaptive one,
 * a market's own model (`marketModels`) that is not the batch's network with another calibration or that a
 * constant-weights circuit cannot prove, and a model with no (adaptive) batch verifier of N markets on the oracle,
 * or another one than the other models' (the oracle takes one verifier for the whole batch).
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { modelCommitment } from "../circuits/commitments";
import type { CircuitInfo } from "../circuits/compile-model";
import type { WeightMode } from "../circuits/generate-circuit";
import { WINDOW_BARS } from "../candles/window";
import { ConfigError, ZkriskError } from "../core/errors";
import { readJsonFile } from "../core/io";
import { isoFromSeconds } from "../core/time";
import type { QuantizedModel } from "../models/quantized-model";
import type { PublisherSet } from "../publisher";
import type { ChainView } from "./chain-view";
import type { BatchConfig, BatchMarketConfig, ServiceConfig } from "./config";
import { networkDifference } from "../prover/signed-batch-input";
import type { AdaptiveRule } from "../models/adaptive";
import { circuitInfoAdaptive } from "../setup/artifacts";
import { readMarketState } from "./guards";
import type { JobStore } from "./jobs";
import { checkedArtifacts, checkOnChainSet, quorumSetOf, windowModelOf } from "./markets";
import type { ServiceMetrics } from "./metrics";
import { PublisherBatches } from "./publisher-windows";

/** A market of a batch, with the model it registered (the batch's, or its own from `marketModels`). */
export interface BatchMember extends BatchMarketConfig {
  modelPath: string;
  model: QuantizedModel;
  modelCommitment: bigint;
}

/** A batch the service proves, with its model, circuit and publishers loaded. */
export interface BatchRuntime {
  /** The batch's label (its jobs' `market`, the publishers' batch). */
  id: string;
  /** Its markets in the proof's order (ids increasing), each with its model. */
  markets: BatchMember[];
  /** The batch's model (the network, and the calibration of the markets without their own). */
  modelPath: string;
  artifactsDir: string;
  model: QuantizedModel;
  /** Weight mode of the signed batch circuit (its circuit.json). */
  mode: WeightMode;
  /** The publisher set every market of the batch registered (its set file). */
  publishers: PublisherSet;
  /** Where each bar close's signed batches come from. */
  batches: PublisherBatches;
  /** Newest bar scheduled so far (seconds); bars at or before it are not scheduled again. */
  lastScheduled: number;
  /** An adaptive batch's rule (its circuit.json's): every market steps its adaptive state. */
  adaptiveRule?: AdaptiveRule;
}

/**
 * Load every batch of `cfg`, in config order, and check each against the oracle.
 * @throws ConfigError naming the config file, the field, the file at fault and the market (see the file header).
 */
export async function loadBatches(
  cfg: ServiceConfig,
  chain: ChainView,
  store: JobStore,
  metrics: ServiceMetrics,
  log: Logger,
): Promise<Map<string, BatchRuntime>> {
  const batches = new Map<string, BatchRuntime>();
  for (const [index, b] of cfg.batches.entries()) {
    const where = (field: string) => `${cfg.file}: batches[${index}].${field}`;
    const { model, circuit, publishers, rule, members } = await loadBatchFiles(cfg, index);
    for (const [i, m] of members.entries()) {
      const market = { id: m.id, marketId: m.marketId, model: m.modelPath, publishers: b.publishers };
      await checkOnChainSet(chain, market, { model: m.modelCommitment, publishers }, where("publishers.set"));
      const [num] = (await chain.oracle.adaptiveState(m.marketId)) as [bigint, bigint, bigint[]];
      if (num !== 0n && rule === undefined) {
        throw new ConfigError(
          `${where(`markets[${i}]`)}: market ${m.id} is adaptive on the oracle (num ${num}), and ${b.artifacts} ` +
            "is a plain batch circuit, which the oracle refuses for it: compile the batch with " +
            `\`zkrisk compile --batch ${b.markets.length} --adaptive\` (every market of it adaptive)`,
        );
      }
      if (num === 0n && rule !== undefined) {
        throw new ConfigError(
          `${where(`markets[${i}]`)}: market ${m.id} is not adaptive on the oracle (num 0), and ${b.artifacts} ` +
            "is an adaptive batch circuit (every market steps its adaptive state): governance makes it adaptive " +
            "with setAdaptiveCalibration, or the batch uses a plain circuit",
        );
      }
    }
    await checkBatchVerifier(chain, b, members, where("artifacts"), rule !== undefined);
    let onChain = 0;
    for (const m of members) {
      const state = await readMarketState(chain.oracle, m.marketId);
      const last = state.last?.dataTimestamp ?? 0;
      if (last) metrics.sawAccepted(m.id, last);
      onChain = Math.max(onChain, last);
    }

    const sorted = members.sort((x, y) => (x.marketId < y.marketId ? -1 : 1));
    const runtime: BatchRuntime = {
      id: b.id,
      markets: sorted,
      modelPath: b.model,
      artifactsDir: b.artifacts,
      model,
      mode: circuit.mode,
      publishers,
      batches: new PublisherBatches({
        market: b.id,
        markets: sorted.map((m) => m.id),
        set: publishers,
        urls: b.publishers.urls,
        timeoutMs: b.publishers.timeoutMs,
        intervalMs: model.barIntervalMs,
        bars: WINDOW_BARS,
        count: (publisher, outcome) => metrics.publisherFetches.inc({ market: b.id, publisher, outcome }),
        log,
      }),
      // A bar is sent for all markets at once: none may have one at or after it.
      lastScheduled: Math.max(onChain, await store.maxSubmitTimestamp(b.id)),
      ...(rule !== undefined && { adaptiveRule: rule }),
    };
    batches.set(b.id, runtime);
    log.info(
      {
        batch: b.id,
        markets: sorted.map((m) => m.id),
        publishers: runtime.batches.names,
        quorum: publishers.quorum,
        lastOnChain: onChain ? isoFromSeconds(onChain) : null,
        lastScheduled: isoFromSeconds(runtime.lastScheduled),
      },
      "batch loaded",
    );
  }
  return batches;
}

/** A batch's files, read and checked against each other (not against the chain). */
export interface BatchFiles {
  model: QuantizedModel;
  circuit: CircuitInfo & { mode: WeightMode; quorum: number };
  publishers: PublisherSet;
  /** The adaptive rule of an adaptive batch circuit (its circuit.json's). */
  rule?: AdaptiveRule;
  /** The batch's markets in config order, each with the model it registered. */
  members: BatchMember[];
}

/**
 * Everything of batch `index` that can be checked without the chain, as `serve` loads it at start (and
 * `serve --check` checks it): the model file (a window model), the artifacts against their manifest, their
 * circuit.json (a signed batch circuit of N markets), the publisher set file (its quorum the circuit's, enough
 * URLs), and each market's own model (`marketModels`: the batch's network, provable by the circuit).
 * @throws ConfigError `config file: batches[i].field: the file: reason`.
 */
export async function loadBatchFiles(cfg: ServiceConfig, index: number): Promise<BatchFiles> {
  const b = cfg.batches[index];
  const where = (field: string) => `${cfg.file}: batches[${index}].${field}`;
  const model = windowModelOf(b.model, where("model"), `batch ${b.id}`);
  checkedArtifacts(b.artifacts, b.model, where("artifacts"));
  const circuit = batchCircuit(b, where("artifacts"));
  const publishers = await quorumSetOf(b, circuit.quorum, where, `batch ${b.id}`);
  const rule = circuitInfoAdaptive(b.artifacts)?.rule;
  const members: BatchMember[] = [];
  for (const m of b.markets) {
    const own = b.marketModels[m.id];
    const modelPath = own ?? b.model;
    const field = own === undefined ? "model" : `marketModels.${m.id}`;
    const memberModel = own === undefined ? model : windowModelOf(own, where(field), `market ${m.id}`);
    const commitment = await modelCommitment(memberModel);
    if (own !== undefined) {
      const differs = networkDifference(model, memberModel);
      if (differs !== undefined) throw new ConfigError(`${where(field)}: ${own}: ${differs}`);
      if (circuit.mode !== "committed" && commitment !== (await modelCommitment(model))) {
        throw new ConfigError(
          `${where(field)}: ${own} is not ${b.model}, and ${b.artifacts} is a constant-weights circuit, which ` +
            "proves its compiled-in model only: compile the batch with `--weights committed`",
        );
      }
    }
    members.push({ ...m, modelPath, model: memberModel, modelCommitment: commitment });
  }
  return { model, circuit, publishers, ...(rule !== undefined && { rule }), members };
}

/**
 * Every market's model must have one and the same batch verifier of N markets on the oracle (which looks up the
 * verifier of the first market's model and requires it of every other model of the batch).
 */
async function checkBatchVerifier(
  chain: ChainView,
  b: BatchConfig,
  members: readonly BatchMember[],
  field: string,
  adaptive: boolean,
): Promise<void> {
  const n = members.length;
  const [kind, setter] = adaptive
    ? ["adaptive batch", "setAdaptiveBatchVerifier"]
    : ["batch", "setBatchVerifier"];
  let first: { verifier: string; model: string } | undefined;
  for (const m of members) {
    const verifier = (
      adaptive
        ? await chain.oracle.adaptiveBatchVerifier(m.modelCommitment, n)
        : await chain.oracle.batchVerifier(m.modelCommitment, n)
    ) as string;
    if (/^0x0{40}$/.test(verifier)) {
      throw new ConfigError(
        `${field}: the oracle at ${await chain.oracle.getAddress()} has no ${kind} verifier of ${n} markets for ` +
          `${m.modelPath} (commitment ${m.modelCommitment}, market ${m.id}); governance registers the verifier ` +
          `of ${b.artifacts} with ${setter} for it (batch ${b.id})`,
      );
    }
    if (first === undefined) first = { verifier, model: m.modelPath };
    else if (verifier.toLowerCase() !== first.verifier.toLowerCase()) {
      throw new ConfigError(
        `${field}: the oracle's ${kind} verifier of ${n} markets for ${m.modelPath} (market ${m.id}) is ` +
          `${verifier}, for ${first.model} it is ${first.verifier}; a batch is verified by one verifier, so ` +
          `governance registers the same one for every model of batch ${b.id}`,
      );
    }
  }
}

/** The artifacts' circuit.json, which must describe a signed batch circuit of the batch's size. */
function batchCircuit(b: BatchConfig, field: string): CircuitInfo & { mode: WeightMode; quorum: number } {
  const file = join(b.artifacts, "circuit.json");
  let info: CircuitInfo;
  try {
    info = readJsonFile(file, "CONFIG_INVALID") as CircuitInfo;
  } catch (err) {
    throw new ConfigError(`${field}: ${err instanceof ZkriskError ? err.message : String(err)}`);
  }
  const n = b.markets.length;
  if (info.quorum === undefined || info.batchSize !== n) {
    const held =
      info.quorum === undefined
        ? "a circuit that takes features"
        : info.batchSize === undefined
          ? "a signed-update circuit (one market)"
          : `a signed batch circuit of ${info.batchSize} markets`;
    throw new ConfigError(
      `${field}: ${b.artifacts} holds ${held}; batch ${b.id} has ${n} markets: compile the model with ` +
        `\`zkrisk compile --batch ${n} --quorum K\`, then \`zkrisk setup\``,
    );
  }
  return info as CircuitInfo & { mode: WeightMode; quorum: number };
}
