/**
 * Proving one risk-parameter update: candles -> features -> integer engine -> witness -> Groth16 proof,
 * verified locally before it is returned. `UpdateProver` keeps the model, the wasm, the zkey and the
 * verification key loaded (and snarkjs keeps the curve) so repeated proofs skip the loading; `close()`
 * releases the curve's worker threads so the process can exit.
 */
import { readFileSync } from "node:fs";
import { ZkriskError } from "../models/errors";
import { inferInteger } from "../models/integer-engine";
import { inferBar } from "../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import type { CandleSeries } from "../models/types";
import { inputCommitment, modelCommitment } from "../circuits/commitments";
import { fromField, toField } from "../circuits/field";
import type { WeightMode } from "../circuits/generate-circuit";
import { PUBLIC_SIGNALS, PUBLIC_SIGNAL_INDEX } from "../circuits/public-signals";
import { loadArtifacts, type LoadedArtifacts } from "./artifacts";
import { readProvingFiles } from "./proving-files";
import { toVerifierCalldata, type VerifierCalldata } from "./calldata";
import { circuitInput, type UpdateContext } from "./circuit-input";
import { releaseCurves, snarkjs, type Groth16Proof, type VerificationKey } from "./setup/snarkjs";

/** A proof failed, or the circuit disagreed with the integer engine (a bug, never an input error). */
export class ProofError extends ZkriskError {
  constructor(message: string) {
    super("PROOF_FAILED", message);
  }
}

/** What `zkrisk prove` writes: everything needed to verify, submit and audit one update. */
export interface ProvedUpdate {
  format: "zkrisk-proof/1";
  market: string;
  /** Open time of the last bar used (ISO-8601 UTC). */
  bar: string;
  proof: Groth16Proof;
  /** Public signals, in the order of circuits/public-signals.ts. */
  publicSignals: string[];
  calldata: VerifierCalldata;
  parameters: {
    maintenanceMarginBps: number;
    initialMarginBps: number;
    modelCommitment: string;
    inputCommitment: string;
    marketId: string;
    dataTimestamp: number;
    domain: string;
  };
  features: { name: string; value: number | null; quantized: string }[];
  /** Wall-clock proving time (witness + proof), ms; for display. */
  provingMs: number;
}

/** A public signal by name, as a bigint. */
export function publicSignal(
  update: Pick<ProvedUpdate, "publicSignals">,
  name: (typeof PUBLIC_SIGNALS)[number],
): bigint {
  return BigInt(update.publicSignals[PUBLIC_SIGNAL_INDEX[name]]);
}

/** A prover with its artifacts loaded. */
export class UpdateProver {
  private constructor(
    readonly artifacts: LoadedArtifacts,
    readonly model: QuantizedModel,
    readonly mode: WeightMode,
    readonly modelCommitment: bigint,
    private readonly wasm: Uint8Array,
    private readonly zkey: Uint8Array,
    readonly vkey: VerificationKey,
  ) {}

  /**
   * Load an artifact directory made by `zkrisk setup`, checking every file against its manifest and the
   * model file against the manifest's hash (a stale zkey or another model is refused).
   */
  static async open(dir: string, options: { modelPath?: string } = {}): Promise<UpdateProver> {
    const artifacts = loadArtifacts(dir, options);
    const model = loadQuantizedModel(artifacts.modelPath);
    const files = readProvingFiles(artifacts);
    const nWeights = model.layers.reduce((n, l) => n + l.weights.length * (l.weights[0].length + 1), 0);
    const priv = artifacts.manifest.circuit.privateInputs;
    const mode: WeightMode =
      priv === model.features.length
        ? "constant"
        : priv === model.features.length + nWeights + 1
          ? "committed"
          : (() => {
              throw new ProofError(
                `${dir}: the circuit has ${priv} private inputs, which fits neither weight mode of the model`,
              );
            })();
    return new UpdateProver(
      artifacts,
      model,
      mode,
      await modelCommitment(model),
      files.wasm,
      files.zkey,
      JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey,
    );
  }

  /** Prove the update for integer features (already bounds-checked by the caller or checked here). */
  async proveFeatures(
    featuresInt: readonly bigint[],
    ctx: UpdateContext,
    meta: { market: string; bar: string; features?: number[] },
  ): Promise<ProvedUpdate> {
    const trace = inferInteger(this.model, featuresInt);
    const t0 = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      circuitInput(this.model, this.mode, featuresInt, ctx) as never,
      { type: "mem", data: this.wasm } as never,
      { type: "mem", data: this.zkey } as never,
    );
    const provingMs = performance.now() - t0;
    if (!(await snarkjs.groth16.verify(this.vkey, publicSignals, proof))) {
      throw new ProofError("the proof does not verify with the verification key (artifacts out of step?)");
    }
    // The circuit must agree with the integer engine bit for bit; anything else is a bug, not a result.
    const expected: bigint[] = [
      trace.maintenanceMarginBps,
      trace.initialMarginBps,
      this.modelCommitment,
      await inputCommitment(featuresInt),
      ctx.marketId,
      ctx.dataTimestamp,
      ctx.domain,
    ].map(toField);
    PUBLIC_SIGNALS.forEach((name, i) => {
      if (BigInt(publicSignals[i]) !== expected[i]) {
        throw new ProofError(
          `circuit and integer engine disagree on ${name}: ${publicSignals[i]} vs ${expected[i]}`,
        );
      }
    });
    return {
      format: "zkrisk-proof/1",
      market: meta.market,
      bar: meta.bar,
      proof,
      publicSignals,
      calldata: toVerifierCalldata(proof, publicSignals),
      parameters: {
        maintenanceMarginBps: Number(trace.maintenanceMarginBps),
        initialMarginBps: Number(trace.initialMarginBps),
        modelCommitment: this.modelCommitment.toString(),
        inputCommitment: publicSignals[PUBLIC_SIGNAL_INDEX.inputCommitment],
        marketId: ctx.marketId.toString(),
        dataTimestamp: Number(ctx.dataTimestamp),
        domain: ctx.domain.toString(),
      },
      features: this.model.features.map((f, i) => ({
        name: f.name,
        value: meta.features?.[i] ?? null,
        quantized: fromField(toField(featuresInt[i])).toString(),
      })),
      provingMs,
    };
  }

  /** Prove the update for bar `index` of a candle series (default: the latest bar). */
  async proveBar(
    series: CandleSeries,
    opts: { market: string; marketId: bigint; domain: bigint; index?: number },
  ): Promise<ProvedUpdate> {
    const r = inferBar(this.model, series, opts.index);
    return this.proveFeatures(
      r.featuresInt,
      { marketId: opts.marketId, dataTimestamp: BigInt(r.time / 1000), domain: opts.domain },
      { market: opts.market, bar: new Date(r.time).toISOString(), features: r.features },
    );
  }

  /** Verify a proof with this prover's verification key. */
  verify(proof: Groth16Proof, publicSignals: string[]): Promise<boolean> {
    return snarkjs.groth16.verify(this.vkey, publicSignals, proof);
  }

  /** Release the curve's worker threads (the process cannot exit while they run). */
  async close(): Promise<void> {
    await releaseCurves();
  }
}
