/**
 * Proving a batch: the same model on N markets in one Groth16 proof (circuits/generate-batch-circuit.ts).
 * Like UpdateProver, it keeps the artifacts loaded, verifies each proof locally and checks every packed
 * output against the integer engine before returning.
 */
import { readFileSync } from "node:fs";
import { inputCommitment, modelCommitment } from "../circuits/commitments";
import { toField } from "../circuits/field";
import { packBatchUpdate } from "../circuits/generate-batch-circuit";
import { BATCH_TRAILING_SIGNALS } from "../circuits/public-signals";
import { inferBar } from "../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import type { CandleSeries } from "../models/types";
import { loadArtifacts, type LoadedArtifacts } from "./artifacts";
import { readProvingFiles } from "./proving-files";
import { toVerifierCalldata, type VerifierCalldata } from "./calldata";
import { ProofError } from "./prove-update";
import { releaseCurves, snarkjs, type Groth16Proof, type VerificationKey } from "./setup/snarkjs";

/** One market of a batch: its candles and which bar (default: the latest). */
export interface BatchEntry {
  market: string;
  marketId: bigint;
  series: CandleSeries;
  index?: number;
}

/** A proven batch: the proof, its N + 3 public signals, the verifier calldata and each market's update. */
export interface ProvedBatch {
  format: "zkrisk-batch-proof/1";
  proof: Groth16Proof;
  publicSignals: string[];
  calldata: VerifierCalldata;
  markets: {
    market: string;
    marketId: string;
    bar: string;
    dataTimestamp: number;
    maintenanceMarginBps: number;
    initialMarginBps: number;
  }[];
  /** Every market's quantised features, market 0 first, as field elements (what submitBatch publishes). */
  features: string[];
  provingMs: number;
}

/** A batch prover with its artifacts loaded. */
export class BatchProver {
  private constructor(
    readonly artifacts: LoadedArtifacts,
    readonly model: QuantizedModel,
    readonly batchSize: number,
    readonly modelCommitment: bigint,
    private readonly wasm: Uint8Array,
    private readonly zkey: Uint8Array,
    readonly vkey: VerificationKey,
  ) {}

  /** Load a batch artifact directory (manifest-checked); N is read from its public signal count. */
  static async open(dir: string, options: { modelPath?: string } = {}): Promise<BatchProver> {
    const artifacts = loadArtifacts(dir, options);
    const model = loadQuantizedModel(artifacts.modelPath);
    const files = readProvingFiles(artifacts);
    const n = artifacts.manifest.circuit.publicSignals - BATCH_TRAILING_SIGNALS;
    if (n < 1 || artifacts.manifest.circuit.privateInputs !== n * (model.features.length + 2)) {
      throw new ProofError(`${dir}: not a batch circuit of this model`);
    }
    return new BatchProver(
      artifacts,
      model,
      n,
      await modelCommitment(model),
      files.wasm,
      files.zkey,
      JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey,
    );
  }

  /** Prove one update per entry (exactly N entries), for the oracle with this domain. */
  async prove(entries: readonly BatchEntry[], domain: bigint): Promise<ProvedBatch> {
    if (entries.length !== this.batchSize) {
      throw new ProofError(`the circuit proves batches of ${this.batchSize} markets, got ${entries.length}`);
    }
    const bars = entries.map((e) => inferBar(this.model, e.series, e.index));
    const input = {
      domain: toField(domain).toString(),
      features: bars.map((b) => b.featuresInt.map((v) => toField(v).toString())),
      marketId: entries.map((e) => e.marketId.toString()),
      dataTimestamp: bars.map((b) => String(b.time / 1000)),
    };
    const t0 = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      input as never,
      { type: "mem", data: this.wasm } as never,
      { type: "mem", data: this.zkey } as never,
    );
    const provingMs = performance.now() - t0;
    if (!(await snarkjs.groth16.verify(this.vkey, publicSignals, proof))) {
      throw new ProofError("the batch proof does not verify with the verification key");
    }
    const expected = [
      ...bars.map((b, i) =>
        packBatchUpdate({
          mm: b.trace.maintenanceMarginBps,
          im: b.trace.initialMarginBps,
          dataTimestamp: BigInt(b.time / 1000),
          marketId: entries[i].marketId,
        }),
      ),
      this.modelCommitment,
      await inputCommitment(bars.flatMap((b) => b.featuresInt)),
      toField(domain),
    ];
    expected.forEach((v, i) => {
      if (BigInt(publicSignals[i]) !== v) {
        throw new ProofError(
          `batch circuit and integer engine disagree on public signal ${i}: ${publicSignals[i]} vs ${v}`,
        );
      }
    });
    return {
      format: "zkrisk-batch-proof/1",
      proof,
      publicSignals,
      calldata: toVerifierCalldata(proof, publicSignals),
      markets: entries.map((e, i) => ({
        market: e.market,
        marketId: e.marketId.toString(),
        bar: new Date(bars[i].time).toISOString(),
        dataTimestamp: bars[i].time / 1000,
        maintenanceMarginBps: Number(bars[i].trace.maintenanceMarginBps),
        initialMarginBps: Number(bars[i].trace.initialMarginBps),
      })),
      features: bars.flatMap((b) => b.featuresInt.map((v) => toField(v).toString())),
      provingMs,
    };
  }

  /** Release the curve's worker threads. */
  async close(): Promise<void> {
    await releaseCurves();
  }
}
