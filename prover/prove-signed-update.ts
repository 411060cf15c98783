/**
 * Proving one signed update: k publishers' signed windows -> witness of the signed-update circuit ->
 * Groth16 proof, verified locally and compared with the integer engine before it is returned.
 * `SignedUpdateProver` keeps the model, the verification key and, from its first proof on, a Groth16Prover
 * (groth16-prover.ts: the witness calculator instantiated, the zkey parsed, the curve built), so repeated proofs
 * skip the loading; `close()` releases the curve's worker threads.
 */
import { readFileSync } from "node:fs";
import type { WeightMode } from "../circuits/generate-circuit";
import { UPDATE_SIGNAL_INDEX, UPDATE_SIGNALS } from "../circuits/public-signals";
import { modelCommitment } from "../circuits/commitments";
import { WINDOW_FEATURES } from "../features/window-features";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import { loadArtifacts, type LoadedArtifacts } from "../setup/artifacts";
import { toVerifierCalldata, type VerifierCalldata } from "./calldata";
import { ProofError, proveChecked } from "./checked-proof";
import { LazyGroth16Prover, type Groth16ProverOptions } from "./groth16-prover";
import { readProvingFiles } from "./proving-files";
import { releaseCurves, snarkjs, type Groth16Proof, type VerificationKey } from "../setup/snarkjs";
import { signedUpdateInput, type SignedUpdateSource } from "./update-input";

/** What `zkrisk prove --window` writes: everything needed to verify, submit and audit one signed update. */
export interface ProvedSignedUpdate {
  format: "zkrisk-signed-proof/1";
  market: string;
  /** Open time of the window's last bar (ISO-8601 UTC). */
  bar: string;
  proof: Groth16Proof;
  /** Public signals, in the order of UPDATE_SIGNALS (circuits/public-signals.ts). */
  publicSignals: string[];
  calldata: VerifierCalldata;
  parameters: {
    maintenanceMarginBps: number;
    initialMarginBps: number;
    /** Seconds since the Unix epoch. */
    dataTimestamp: number;
    /** The window's full digest (candles/digest.ts); the proof and the event carry its low 180 bits. */
    windowDigest: string;
    statement: string;
    marketId: string;
    modelCommitment: string;
    publisherSet: string;
    domain: string;
  };
  /** The integer features (scale 2^32) and their values. */
  features: { name: string; value: number; quantized: string }[];
  /** Wall-clock proving time (witness + proof), ms; for display. */
  provingMs: number;
}

/** A signed-update prover with its artifacts loaded. */
export class SignedUpdateProver {
  private constructor(
    readonly artifacts: LoadedArtifacts,
    readonly model: QuantizedModel,
    readonly mode: WeightMode,
    readonly quorum: number,
    private readonly groth16: LazyGroth16Prover,
    readonly vkey: VerificationKey,
  ) {}

  /**
   * Load an artifact directory of a signed-update circuit (compiled with `compileSignedUpdateModel`, then set
   * up), checking every file against its manifest.
   * @param circuit the directory's circuit.json facts: weight mode and quorum.
   */
  static open(
    dir: string,
    circuit: { mode: WeightMode; quorum: number },
    options: { modelPath?: string } & Groth16ProverOptions = {},
  ): SignedUpdateProver {
    const artifacts = loadArtifacts(dir, options);
    const model = loadQuantizedModel(artifacts.modelPath);
    const files = readProvingFiles(artifacts);
    const { outputs, publicSignals } = artifacts.manifest.circuit;
    if (outputs !== UPDATE_SIGNALS.length || publicSignals !== UPDATE_SIGNALS.length) {
      throw new ProofError(
        `${dir}: the circuit has ${publicSignals} public signals (${outputs} outputs); a signed-update ` +
          `circuit has ${UPDATE_SIGNALS.length} outputs and no public input`,
      );
    }
    return new SignedUpdateProver(
      artifacts,
      model,
      circuit.mode,
      circuit.quorum,
      new LazyGroth16Prover(files.wasm, files.zkey, { singleThread: options.singleThread }),
      JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey,
    );
  }

  /** Prove the update of the quorum's signed windows (see signedUpdateInput for the input errors). */
  async prove(src: SignedUpdateSource, meta: { market: string }): Promise<ProvedSignedUpdate> {
    const built = await signedUpdateInput(this.model, this.mode, src);
    const { proof, publicSignals, provingMs } = await proveChecked(
      { prover: this.groth16, vkey: this.vkey },
      built.input,
      UPDATE_SIGNALS,
      built.publicSignals,
    );
    const { trace } = built;
    return {
      format: "zkrisk-signed-proof/1",
      market: meta.market,
      bar: new Date(Number(built.dataTimestamp) * 1000).toISOString(),
      proof,
      publicSignals,
      calldata: toVerifierCalldata(proof, publicSignals),
      parameters: {
        maintenanceMarginBps: Number(trace.maintenanceMarginBps),
        initialMarginBps: Number(trace.initialMarginBps),
        dataTimestamp: Number(built.dataTimestamp),
        windowDigest: built.windowDigest.toString(),
        statement: built.publicSignals[UPDATE_SIGNAL_INDEX.statement].toString(),
        marketId: built.marketId.toString(),
        modelCommitment: (await modelCommitment(this.model)).toString(),
        publisherSet: built.publisherSetCommitment.toString(),
        domain: src.domain.toString(),
      },
      features: WINDOW_FEATURES.map((f, i) => ({
        name: f.name,
        value: Number(trace.features[i]) / 2 ** 32,
        quantized: trace.features[i].toString(),
      })),
      provingMs,
    };
  }

  /** Verify a proof with this prover's verification key. */
  verify(proof: Groth16Proof, publicSignals: string[]): Promise<boolean> {
    return snarkjs.groth16.verify(this.vkey, publicSignals, proof);
  }

  /** Release the curve's worker threads (the process cannot exit while they run). */
  async close(): Promise<void> {
    await this.groth16.close();
    await releaseCurves();
  }
}
