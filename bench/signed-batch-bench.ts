/**
 * Signed batches measured on the in-process Hardhat network: for each batch size N, the shipped model's
 * signed batch circuit (quorum 1, constant weights; compiled and set up once with the direct development
 * setup, cached by its source like the demo's circuits), a fresh zkrisk batch verifier and oracle, N signed markets
 * sharing one one-key publisher set, and two real batches (the first update of every market, then the
 * next bar's) from one signature each over the batch digest, submitted with `submitSignedBatch`. The first batch
 * of the composition pays for its batch base (computed by the verifier and stored by the oracle); the later one
 * reads it, as every later batch does.
 *
 * The markets are MKT-00 .. MKT-{N-1}, all with the shipped BTC-USDT candles (their window digests differ by
 * the market id), so the figures are those of N real windows.
 */
import type { Contract } from "ethers";
import { buildWindow } from "../candles";
import { marketIdOf } from "../candles/market-id";
import { modelCommitment as commitModel } from "../circuits/commitments";
import { compileSignedBatchModel } from "../circuits/compile-model";
import { generateSignedBatchCircuit } from "../circuits/generate-signed-batch-circuit";
import type { WeightMode } from "../circuits/generate-circuit";
import { batchSignalNames } from "../circuits/public-signals";
import { WINDOW_BARS } from "../candles/window";
import { loadCandles } from "../candles/load-data";
import { loadQuantizedModel } from "../models/quantized-model";
import type { CandleSeries } from "../candles/types";
import { oracleDomain } from "../prover/domain";
import { inProcessChain } from "../onchain/chain";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  setBatchVerifier,
  submitSignedBatch,
} from "../onchain/oracle";
import { SignedBatchProver, type ProvedSignedBatch } from "../prover/prove-signed-batch";
import { silentLog, type SetupLog } from "../setup";
import { publicKeyOf } from "../publisher/eddsa";
import { makePublisherSet, publisherSetCommitment } from "../publisher/publisher-set";
import { signBatch } from "../publisher/signed-batch";
import { cachedArtifacts, signedUpdateArtifacts } from "../setup/cached-artifacts";

/** How the figures are taken, for `npm run bench -- --json`. */
export const SIGNED_BATCH_METHOD =
  "signed batch circuit of the shipped model (quorum 1, constant weights, direct development setup, cached); N " +
  "markets MKT-xx registered with DEFAULT_LIMITS and one one-key publisher set (whose verifier is the real " +
  "signed-update circuit's, k = 1, constant weights; batches do not call it) and zkrisk's batch verifier of the " +
  "circuit; per N two real proofs from one signed batch each (the markets' first update, which also stores the " +
  "composition's batch base, then the next bar's, which reads it), submitted with submitSignedBatch on the " +
  "in-process Hardhat network; gas from the receipts; proving = witness + Groth16 proof (snarkjs fullProve), " +
  "wall clock of one run";

/** One batch size's figures. */
export interface SignedBatchFigures {
  n: number;
  constraints: number;
  publicSignals: number;
  /** Wall clock of compile and setup in this run (0 when the cache had them), ms. */
  setupMs: number;
  /** Witness + proof of the first and the later batch, ms. */
  provingMs: [number, number];
  /** Gas of the batch carrying every market's first update. */
  gasFirst: number;
  /** Gas of the next bar's batch (every market already has parameters). */
  gasLater: number;
  /** gasLater / N. */
  gasPerMarket: number;
  txHash: string;
  /** Parameters read back from the oracle for every market after the later batch, in batch order. */
  stored: { market: string; maintenanceMarginBps: number; initialMarginBps: number }[];
  /** The later batch's proof file (for tests). */
  batch: ProvedSignedBatch;
}

/**
 * Artifacts of the signed batch circuit for `n` markets (quorum 1 and constant weights unless given), cached by
 * source. Committed weights: every market may have its own calibration (its own model file).
 */
export async function signedBatchArtifacts(
  modelPath: string,
  n: number,
  log: SetupLog = silentLog,
  quorum = 1,
  mode: WeightMode = "constant",
): Promise<{ dir: string; reused: boolean; ms: number }> {
  const model = loadQuantizedModel(modelPath);
  return cachedArtifacts(
    { model: modelPath, log },
    {
      source: (await generateSignedBatchCircuit(model, mode, n, quorum)).source,
      suffix: `signed-batch${n}-k${quorum}-${mode}`,
      what: `the signed batch circuit (${n} markets, quorum ${quorum}, ${mode} weights)`,
      compile: (dir) => compileSignedBatchModel(modelPath, dir, mode, n, quorum),
    },
  );
}

/** `series` with every candle moved `shiftMs` later (a whole number of bars keeps the windows aligned). */
function shifted(series: CandleSeries, shiftMs: number): CandleSeries {
  if (shiftMs === 0) return series;
  return { ...series, candles: series.candles.map((c) => ({ ...c, time: c.time + shiftMs })) };
}

/** Measure each batch size on one in-process chain. */
export async function measureSignedBatches(opts: {
  model: string;
  data: string;
  sizes: readonly number[];
  log?: SetupLog;
}): Promise<SignedBatchFigures[]> {
  const log = opts.log ?? silentLog;
  const raw = loadCandles(opts.data);
  const chain = await inProcessChain();
  const out: SignedBatchFigures[] = [];
  try {
    const me = await chain.signer.getAddress();
    const privateKey = new Uint8Array(32).fill(1);
    const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    const publishers = await makePublisherSet([key.publicKey], 1);
    const setCommitment = await publisherSetCommitment(publishers);
    const modelCommitment = await commitModel(loadQuantizedModel(opts.model));
    // Every market is registered with a signed-update verifier (its statement base); batches never call it.
    const single = await signedUpdateArtifacts(opts.model, "constant", 1, log);
    const singleVerifier = await (await deployVerifier(chain.signer, single.dir)).getAddress();
    for (const n of opts.sizes) {
      const artifacts = await signedBatchArtifacts(opts.model, n, log);
      const prover = SignedBatchProver.open(
        artifacts.dir,
        { mode: "constant", batchSize: n, quorum: 1 },
        { modelPath: opts.model },
      );
      try {
        const verifier = await deployVerifier(chain.signer, artifacts.dir);
        const verifierAddress = await verifier.getAddress();
        const oracle: Contract = await deployOracle(chain.signer, me);
        const markets = Array.from({ length: n }, (_, i) => `MKT-${String(i).padStart(2, "0")}`);
        for (const m of markets) {
          const marketId = marketIdOf(m);
          await registerMarket(oracle, marketId, {
            publishers: { verifier: singleVerifier, modelCommitment, publisherSet: setCommitment, quorum: 1 },
            guardian: me,
            limits: DEFAULT_LIMITS,
          });
        }
        await setBatchVerifier(oracle, modelCommitment, n, verifierAddress);
        const domain = oracleDomain(chain.chainId, await oracle.getAddress());
        // Block time only moves forward: move the candles by whole bars past the chain's time.
        const count = raw.candles.length;
        const barMs = raw.intervalMs;
        const lag = (await chain.now()) * 1000 + 3_600_000 - raw.candles[count - 2].time;
        const series = shifted(raw, lag > 0 ? Math.ceil(lag / barMs) * barMs : 0);
        const gas: number[] = [];
        const proving: number[] = [];
        let last: { proof: ProvedSignedBatch; hash: string } | undefined;
        for (const index of [count - 2, count - 1]) {
          const windows = markets.map((m) => ({
            market: m,
            window: buildWindow(series, marketIdOf(m), index, WINDOW_BARS),
          }));
          const signed = await signBatch(key, windows);
          const proof = await prover.prove({ batches: [signed], publishers, domain });
          const sendAt = (series.candles[index].time + barMs) / 1000 + 60;
          await chain.mineAt(sendAt - 1);
          await chain.setNextBlockTime(sendAt);
          const receipt = await submitSignedBatch(oracle, proof);
          gas.push(Number(receipt.gasUsed));
          proving.push(proof.provingMs);
          last = { proof, hash: receipt.hash };
        }
        const stored = [];
        for (const m of markets) {
          const [mm, im] = (await oracle.parameters(marketIdOf(m))) as [bigint, bigint];
          stored.push({ market: m, maintenanceMarginBps: Number(mm), initialMarginBps: Number(im) });
        }
        log.info(
          `signed batch N = ${n}: gas ${gas[0]} first, ${gas[1]} later (${Math.round(gas[1] / n)} per market)`,
        );
        out.push({
          n,
          constraints: prover.artifacts.manifest.circuit.constraints,
          publicSignals: batchSignalNames(n).length,
          setupMs: artifacts.ms,
          provingMs: [proving[0], proving[1]],
          gasFirst: gas[0],
          gasLater: gas[1],
          gasPerMarket: gas[1] / n,
          txHash: last!.hash,
          stored,
          batch: last!.proof,
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
