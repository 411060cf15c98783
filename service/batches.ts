/**
 * The batches a service proves, loaded from its config (`batches`) and checked against the chain before anything
 * is scheduled. A batch is N plain markets proved together at each bar close: one signed batch circuit, one proof
 * from the quorum's signed batches (`GET BASE/v1/batches/:batch?at=END` at each publisher), one
 * `submitSignedBatch` transaction, which the oracle accepts for all N markets or none.
 *
 * At start the service refuses, naming the config file, the field and the market: a model that does not read
 * the window features, artifacts that are not a signed batch circuit of N markets with the set's quorum, fewer
 * publisher URLs than the quorum, a market whose publisher set, model or statement key on the oracle is not the
 * configured one (the same check as a market's: markets.ts), an adaptive market (a batch cannot carry its state),
 * and a model with no batch verifier of N markets on the oracle.
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
import { loadArtifacts } from "../setup/artifacts";
import type { ChainView } from "./chain-view";
import type { BatchConfig, BatchMarketConfig, ServiceConfig } from "./config";
import { readMarketState } from "./guards";
import type { JobStore } from "./jobs";
import { checkOnChainSet, quorumSetOf, windowModelOf } from "./markets";
import type { ServiceMetrics } from "./metrics";
import { PublisherBatches } from "./publisher-windows";

/** A batch the service proves, with its model, circuit and publishers loaded. */
export interface BatchRuntime {
  /** The batch's label (its jobs' `market`, the publishers' batch). */
  id: string;
  /** Its markets in the proof's order (ids increasing). */
  markets: BatchMarketConfig[];
  modelPath: string;
  artifactsDir: string;
  model: QuantizedModel;
  modelCommitment: bigint;
  /** Weight mode of the signed batch circuit (its circuit.json). */
  mode: WeightMode;
  /** The publisher set every market of the batch registered (its set file). */
  publishers: PublisherSet;
  /** Where each bar close's signed batches come from. */
  batches: PublisherBatches;
  /** Newest bar scheduled so far (seconds); bars at or before it are not scheduled again. */
  lastScheduled: number;
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
    const model = windowModelOf(b.model, where("model"), `batch ${b.id}`);
    loadArtifacts(b.artifacts, { modelPath: b.model }); // every file against its manifest, now, not mid-proof
    const circuit = batchCircuit(b, where("artifacts"));
    const publishers = await quorumSetOf(b, circuit.quorum, where, `batch ${b.id}`);
    const commitment = await modelCommitment(model);
    let onChain = 0;
    for (const [i, m] of b.markets.entries()) {
      const market = { id: m.id, marketId: m.marketId, model: b.model, publishers: b.publishers };
      await checkOnChainSet(chain, market, { model: commitment, publishers }, where("publishers.set"));
      const [num] = (await chain.oracle.adaptiveState(m.marketId)) as [bigint, bigint, bigint];
      if (num !== 0n) {
        throw new ConfigError(
          `${where(`markets[${i}]`)}: market ${m.id} is adaptive on the oracle (num ${num}); a signed batch ` +
            "cannot carry the adaptive state, so the oracle refuses it in a batch: make it a `markets` entry " +
            "with artifacts compiled with `zkrisk compile --adaptive`",
        );
      }
      const state = await readMarketState(chain.oracle, m.marketId);
      const last = state.last?.dataTimestamp ?? 0;
      if (last) metrics.lastAccepted.set({ market: m.id }, last);
      onChain = Math.max(onChain, last);
    }
    const n = b.markets.length;
    const verifier = (await chain.oracle.batchVerifier(commitment, n)) as string;
    if (/^0x0{40}$/.test(verifier)) {
      throw new ConfigError(
        `${where("artifacts")}: the oracle at ${await chain.oracle.getAddress()} has no batch verifier of ${n} ` +
          `markets for ${b.model} (commitment ${commitment}); governance registers the verifier of ` +
          `${b.artifacts} with setBatchVerifier (batch ${b.id})`,
      );
    }

    const sorted = [...b.markets].sort((x, y) => (x.marketId < y.marketId ? -1 : 1));
    const runtime: BatchRuntime = {
      id: b.id,
      markets: sorted,
      modelPath: b.model,
      artifactsDir: b.artifacts,
      model,
      modelCommitment: commitment,
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
      lastScheduled: Math.max(onChain, await store.maxDataTimestamp(b.id)),
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
