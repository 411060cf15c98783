/**
 * The proving task that runs in a proving thread of the service's pool (piscina): one signed update from the
 * quorum's signed windows. A thread keeps one `SignedUpdateProver` per artifact directory (model, wasm, zkey
 * and verification key loaded once), so only the first proof of a thread pays for loading. Inputs and outputs
 * are plain data (windows, keys and signatures hold bigints, which structured clone carries across threads).
 */
import type { WeightMode } from "../circuits/generate-circuit";
import type { PublisherSet, SignedWindow } from "../publisher";
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
