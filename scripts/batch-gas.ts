/**
 * Gas of batched updates on the in-process Hardhat network: for each batch size N, the shipped model's
 * batch circuit (compiled and set up once, cached by its source), a fresh verifier and oracle, N registered
 * markets, one real batch proof of their latest bars, and `submitBatch`'s receipt.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { compileBatchModel } from "../circuits/compile-model";
import { generateBatchCircuit } from "../circuits/generate-batch-circuit";
import { packAscii } from "../circuits/commitments";
import { sha256Hex } from "../models/io";
import { loadCandles } from "../models/load-data";
import { loadQuantizedModel } from "../models/quantized-model";
import { loadArtifacts } from "../prover/artifacts";
import { oracleDomain } from "../prover/domain";
import { inProcessChain } from "../prover/onchain/chain";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  setBatchVerifier,
  submitBatch,
} from "../prover/onchain/oracle";
import { BatchProver, type ProvedBatch } from "../prover/prove-batch";
import { setupCompiledDir, type SetupLog } from "../prover/setup";
import { DEMO_CACHE } from "./demo";

/** One batch size's figures. */
export interface BatchGas {
  n: number;
  constraints: number;
  gasUsed: number;
  gasPerMarket: number;
  provingMs: number;
  txHash: string;
  /** Parameters read back from the oracle for every market, in batch order. */
  stored: { market: string; maintenanceMarginBps: number; initialMarginBps: number }[];
  batch: ProvedBatch;
}

/** Batch artifacts for `n` markets, cached by the generated source. */
export async function batchArtifacts(modelPath: string, n: number, log: SetupLog): Promise<string> {
  const source = (await generateBatchCircuit(loadQuantizedModel(modelPath), n)).source;
  const dir = join(DEMO_CACHE, `${sha256Hex(source).slice(0, 16)}-batch${n}`);
  if (existsSync(join(dir, "artifacts.json"))) {
    try {
      loadArtifacts(dir, { modelPath });
      return dir;
    } catch (err) {
      log.warn(`cached batch artifacts in ${dir} are unusable (${(err as Error).message}); rebuilding`);
    }
  }
  await compileBatchModel(modelPath, dir, n);
  await setupCompiledDir(dir, modelPath, log);
  return dir;
}

/** Measure submitBatch for each batch size on one in-process chain. */
export async function measureBatchGas(opts: {
  model: string;
  data: string;
  sizes: number[];
  log: SetupLog;
}): Promise<BatchGas[]> {
  const series = loadCandles(opts.data);
  const chain = await inProcessChain();
  const out: BatchGas[] = [];
  try {
    const me = await chain.signer.getAddress();
    const barOpen = series.candles[series.candles.length - 1].time / 1000;
    for (const n of opts.sizes) {
      const dir = await batchArtifacts(opts.model, n, opts.log);
      const prover = await BatchProver.open(dir, { modelPath: opts.model });
      try {
        const verifier = await deployVerifier(chain.signer, dir);
        const oracle = await deployOracle(chain.signer, me);
        const markets = Array.from({ length: n }, (_, i) => `MKT-${String(i).padStart(2, "0")}`);
        for (const m of markets) {
          await registerMarket(oracle, packAscii(m), {
            verifier: await verifier.getAddress(),
            modelCommitment: prover.modelCommitment,
            guardian: me,
            limits: DEFAULT_LIMITS,
          });
        }
        await setBatchVerifier(oracle, prover.modelCommitment, n, await verifier.getAddress());
        const batch = await prover.prove(
          markets.map((m) => ({ market: m, marketId: packAscii(m), series })),
          oracleDomain(chain.chainId, await oracle.getAddress()),
        );
        // Just after the bar's close (block time only moves forward: later sizes submit a little later).
        const now = await chain.now();
        await chain.mineAt(Math.max(now + 1, barOpen + 7200 + 60));
        const receipt = await submitBatch(oracle, batch);
        const stored = [];
        for (const m of markets) {
          const [mm, im] = (await oracle.parameters(packAscii(m))) as [bigint, bigint];
          stored.push({ market: m, maintenanceMarginBps: Number(mm), initialMarginBps: Number(im) });
        }
        out.push({
          n,
          constraints: prover.artifacts.manifest.circuit.constraints,
          gasUsed: Number(receipt.gasUsed),
          gasPerMarket: Number(receipt.gasUsed) / n,
          provingMs: batch.provingMs,
          txHash: receipt.hash,
          stored,
          batch,
        });
      } finally {
        await prover.close();
      }
    }
  } finally {
    await chain.close();
  }
  return out;
}
