/**
 * The proving tasks that run in a proving thread of the service's pool (piscina): one signed update from the
 * quorum's signed windows (`prove`), or one signed batch from the quorum's signed batches (`proveBatch`). A
 * thread keeps one prover per artifact directory (model, wasm, zkey and verification key loaded once), so only
 * the first proof of a thread pays for loading. Inputs and outputs
 * are plain data (windows, keys and signatures hold bigints, which structured clone carries across threads).
 */
import type { WeightMode } from "../circuits/generate-circuit";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import type { PublisherSet, SignedBatch, SignedWindow } from "../publisher";
import { SignedBatchProver, type ProvedSignedBatch } from "../prover/prove-signed-batch";
import {
  SignedUpdateProver,
  type AdaptivePriorState,
  type ProvedSignedUpdate,
} from "../prover/prove-signed-update";

/** One proof to make. */
export interface ProveTask {
  artifactsDir: string;
  modelPath: string;
  /** The signed-update circuit's weight mode and quorum (its circuit.json). */
  mode: WeightMode;
  quorum: number;
  market: string;
  /** The quorum's k signed windows (identical candles, distinct registered keys). */
  windows: SignedWindow[];
  /** Their publishers, for messages. */
  names: string[];
  /** The market's publisher set. */
  publishers: PublisherSet;
  /** The oracle's domain (decimal). */
  domain: string;
  /** An adaptive market's prior as the oracle reported it just before this task (`readAdaptivePrior`). */
  prior?: AdaptivePriorState;
}

const provers = new Map<string, SignedUpdateProver>();

function proverFor(task: ProveTask): SignedUpdateProver {
  const key = `${task.artifactsDir}\n${task.modelPath}\n${task.mode}\n${task.quorum}`;
  let p = provers.get(key);
  if (!p) {
    // A failed load is not cached: the next task tries again (the artifacts may have been repaired).
    p = SignedUpdateProver.open(
      task.artifactsDir,
      { mode: task.mode, quorum: task.quorum },
      { modelPath: task.modelPath },
    );
    provers.set(key, p);
  }
  return p;
}

/** Prove one signed update (witness, Groth16 proof, local verification, cross-check with the integer engine). */
export async function prove(task: ProveTask): Promise<ProvedSignedUpdate> {
  return proverFor(task).prove(
    { windows: task.windows, names: task.names, publishers: task.publishers, domain: BigInt(task.domain) },
    { market: task.market, ...(task.prior && { prior: task.prior }) },
  );
}

/** One signed batch to prove. */
export interface BatchProveTask {
  artifactsDir: string;
  modelPath: string;
  /** Markets proved with their own model file instead of `modelPath`: label -> path. */
  marketModels: Record<string, string>;
  /** An adaptive batch: every market's prior as the oracle reported it, by label. */
  priors?: Record<string, AdaptivePriorState>;
  /** The signed batch circuit's weight mode, markets per proof and quorum (its circuit.json). */
  mode: WeightMode;
  batchSize: number;
  quorum: number;
  /** The quorum's k signed batches (identical candles, distinct registered keys). */
  batches: SignedBatch[];
  /** Their publishers, for messages. */
  names: string[];
  /** The publisher set every market of the batch registered. */
  publishers: PublisherSet;
  /** The oracle's domain (decimal). */
  domain: string;
}

const batchProvers = new Map<string, SignedBatchProver>();
/** Markets' own model files, loaded once per thread (by path). */
const marketModels = new Map<string, QuantizedModel>();

/**
 * Prove one signed batch (witness, Groth16 proof, local verification, cross-check with the integer engine); the
 * pool runs it by name (`pool.run(task, { name: "proveBatch" })`).
 */
export async function proveBatch(task: BatchProveTask): Promise<ProvedSignedBatch> {
  const key = `${task.artifactsDir}\n${task.modelPath}\n${task.mode}\n${task.batchSize}\n${task.quorum}`;
  let p = batchProvers.get(key);
  if (!p) {
    p = SignedBatchProver.open(
      task.artifactsDir,
      { mode: task.mode, batchSize: task.batchSize, quorum: task.quorum },
      { modelPath: task.modelPath },
    );
    batchProvers.set(key, p);
  }
  const models = new Map<string, QuantizedModel>();
  for (const [market, path] of Object.entries(task.marketModels)) {
    let model = marketModels.get(path);
    if (model === undefined) marketModels.set(path, (model = loadQuantizedModel(path)));
    models.set(market, model);
  }
  return p.prove(
    {
      batches: task.batches,
      names: task.names,
      publishers: task.publishers,
      domain: BigInt(task.domain),
      models,
    },
    task.priors === undefined ? undefined : new Map(Object.entries(task.priors)),
  );
}
