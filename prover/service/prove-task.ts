/**
 * The proving task that runs in a proving thread of the service's pool (piscina). A thread keeps one
 * `UpdateProver` per artifact directory (model, wasm, zkey and curve loaded once), so only the first proof of
 * a thread pays for loading. Inputs and outputs are plain data (decimal strings for field elements): they cross threads by
 * structured clone.
 */
import type { ProvedUpdate } from "../prove-update";
import { UpdateProver } from "../prove-update";
import { isoFromSeconds } from "../../core/time";

/** One proof to make. */
export interface ProveTask {
  artifactsDir: string;
  modelPath: string;
  market: string;
  /** Quantised features (decimal strings). */
  featuresInt: string[];
  /** Feature values before quantisation, for the proof file. */
  features: number[];
  marketId: string;
  /** Bar open time, seconds. */
  dataTimestamp: number;
  domain: string;
}

const provers = new Map<string, Promise<UpdateProver>>();

function proverFor(task: ProveTask): Promise<UpdateProver> {
  const key = `${task.artifactsDir}\n${task.modelPath}`;
  let p = provers.get(key);
  if (!p) {
    p = UpdateProver.open(task.artifactsDir, { modelPath: task.modelPath });
    // A failed load is not cached: the next task tries again (the artifacts may have been repaired).
    p.catch(() => provers.delete(key));
    provers.set(key, p);
  }
  return p;
}

/** Prove one update (witness, Groth16 proof, local verification, cross-check with the integer engine). */
export async function prove(task: ProveTask): Promise<ProvedUpdate> {
  const prover = await proverFor(task);
  return prover.proveFeatures(
    task.featuresInt.map(BigInt),
    {
      marketId: BigInt(task.marketId),
      dataTimestamp: BigInt(task.dataTimestamp),
      domain: BigInt(task.domain),
    },
    { market: task.market, bar: isoFromSeconds(task.dataTimestamp), features: task.features },
  );
}
