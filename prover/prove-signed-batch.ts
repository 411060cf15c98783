/**
 * Proving a signed batch: k publishers' signed batches of N markets -> witness of the signed batch circuit
 * (circuits/generate-signed-batch-circuit.ts) -> one Groth16 proof, verified locally and compared with the
 * integer engine before it is returned. `SignedBatchProver` keeps the model, the verification key and a
 * Groth16Prover (groth16-prover.ts) loaded, as `SignedUpdateProver` (prove-signed-update.ts) does for one market.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { architectureFromJson, architectureMismatches, type Architecture } from "../circuits/architecture";
import { marketIdOf, marketLabel, marketLabelProblem } from "../candles/market-id";
import { CIRCUIT_INFO_FILE } from "../circuits/compile-model";
import { toField } from "../crypto/field";
import type { WeightMode } from "../circuits/generate-circuit";
import { batchSignalLayout, batchSignalNames } from "../circuits/public-signals";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import { loadArtifacts, type LoadedArtifacts } from "../setup/artifacts";
import { toVerifierCalldata, type VerifierCalldata } from "./calldata";
import { ProofError, proveChecked } from "./checked-proof";
import { LazyGroth16Prover, type Groth16ProverOptions } from "./groth16-prover";
import { readProvingFiles } from "./proving-files";
import { releaseCurves, snarkjs, type Groth16Proof, type VerificationKey } from "../setup/snarkjs";
import { signedBatchInput, type SignedBatchSource } from "./signed-batch-input";
import type { AdaptiveRule } from "../models/adaptive";
import {
  checkCircuitFacts,
  checkedTransition,
  type AdaptivePriorState,
  type ProvedAdaptiveTransition,
} from "./prove-signed-update";

/** What `zkrisk prove --batch` writes: everything needed to verify, submit and audit one signed batch. */
export interface ProvedSignedBatch {
  format: "zkrisk-signed-batch-proof/3";
  proof: Groth16Proof;
  /** Public signals, in the order of `batchSignalNames(N)` (circuits/public-signals.ts). */
  publicSignals: string[];
  calldata: VerifierCalldata;
  /**
   * The batch digest the publishers signed (candles/batch-digest.ts); the proof carries its low 91 bits (an
   * adaptive batch: its low 87, in every market's update).
   */
  batchDigest: string;
  publisherSet: string;
  domain: string;
  /** Each market, in the batch's order (ids increasing). */
  markets: {
    market: string;
    marketId: string;
    /** Open time of the window's last bar (ISO-8601 UTC). */
    bar: string;
    /** Seconds since the Unix epoch. */
    dataTimestamp: number;
    maintenanceMarginBps: number;
    initialMarginBps: number;
    windowDigest: string;
    /** The commitment of the model the market was proved with (its registered model). */
    modelCommitment: string;
    /** An adaptive batch's market (artifacts with the adaptive rule): the transition it proves. */
    adaptive?: ProvedAdaptiveTransition;
  }[];
  /** Wall-clock proving time (witness + proof), ms; for display. */
  provingMs: number;
}

/** A signed batch prover with its artifacts loaded. */
export class SignedBatchProver {
  private constructor(
    readonly artifacts: LoadedArtifacts,
    readonly model: QuantizedModel,
    readonly mode: WeightMode,
    readonly batchSize: number,
    readonly quorum: number,
    private readonly groth16: LazyGroth16Prover,
    readonly vkey: VerificationKey,
    /** A committed-weights circuit's architecture (circuit.json), which every market's model must fit. */
    private readonly architecture: Architecture | undefined,
    /** The adaptive rule every market of the batch proves (the manifest's), undefined for a plain batch. */
    readonly rule: AdaptiveRule | undefined,
  ) {}

  /**
   * Load an artifact directory of a signed batch circuit (compiled with `compileSignedBatchModel`, then set
   * up), checking every file against its manifest.
   * @param circuit the directory's circuit.json facts: weight mode, markets per proof and quorum.
   */
  static open(
    dir: string,
    circuit: { mode: WeightMode; batchSize: number; quorum: number },
    options: { modelPath?: string } & Groth16ProverOptions = {},
  ): SignedBatchProver {
    const artifacts = loadArtifacts(dir, options);
    const { outputs, publicSignals } = artifacts.manifest.circuit;
    const n = circuit.batchSize;
    const rule = artifacts.manifest.adaptive?.rule;
    const layout = batchSignalLayout(n, rule !== undefined);
    if (publicSignals !== layout.count || outputs !== layout.marketId) {
      throw new ProofError(
        `${dir}: the circuit has ${publicSignals} public signals (${outputs} outputs); a signed ` +
          `${rule === undefined ? "" : "adaptive "}batch circuit of ${n} markets has ${layout.count} ` +
          `(${layout.marketId} outputs, the market ids and the domain)`,
      );
    }
    const info = checkCircuitFacts(dir, circuit);
    const model = loadQuantizedModel(artifacts.modelPath);
    const files = readProvingFiles(artifacts);
    return new SignedBatchProver(
      artifacts,
      model,
      circuit.mode,
      n,
      circuit.quorum,
      new LazyGroth16Prover(files.wasm, files.zkey, {
        singleThread: options.singleThread,
        wasmFile: artifacts.paths.wasm,
      }),
      JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey,
      circuit.mode === "committed"
        ? architectureFromJson(info.architecture, join(dir, CIRCUIT_INFO_FILE))
        : undefined,
      rule,
    );
  }

  /**
   * Prove the batch of the quorum's signed batches, each market with its own model from `src.models` or this
   * prover's (see signedBatchInput for the input errors). With adaptive artifacts, `priors` holds every market's
   * prior as the oracle will build it for this bar (`readAdaptivePrior`); required there and refused for a plain
   * circuit (ProofError). Each market's label (the one the proof file states) must name its window's market (its
   * id is the window's), else a ProofError before any proving. Each market's proven transition and margins are
   * checked against the integer engine.
   */
  async prove(
    src: Omit<SignedBatchSource, "adaptive">,
    priors?: ReadonlyMap<string, AdaptivePriorState>,
  ): Promise<ProvedSignedBatch> {
    checkBatchMarkets(src);
    const rule = this.rule;
    if ((rule === undefined) !== (priors === undefined)) {
      throw new ProofError(
        rule === undefined
          ? `${this.artifacts.dir}: a plain signed batch circuit (no adaptive rule in its manifest) takes no priors`
          : `${this.artifacts.dir}: an adaptive batch circuit needs every market's prior (num, outcomes, MM and ` +
              "lag of its pending bar s = t - 12 - lag) as the oracle holds it",
      );
    }
    for (const [label, model] of src.models ?? []) {
      const misfit = this.architecture === undefined ? [] : architectureMismatches(model, this.architecture);
      if (misfit.length > 0) {
        throw new ProofError(
          `${label}: its model does not fit the committed circuit of ${this.artifacts.dir}: ${misfit.join("; ")}`,
        );
      }
    }
    const adaptive = rule === undefined || priors === undefined ? undefined : { rule, priors };
    const built = await signedBatchInput(this.model, this.mode, this.batchSize, {
      ...src,
      ...(adaptive && { adaptive }),
    });
    const { proof, publicSignals, provingMs } = await proveChecked(
      { prover: this.groth16, vkey: this.vkey },
      built.input,
      batchSignalNames(this.batchSize, adaptive !== undefined),
      built.publicSignals,
    );
    return {
      format: "zkrisk-signed-batch-proof/3",
      proof,
      publicSignals,
      calldata: toVerifierCalldata(proof, publicSignals),
      batchDigest: built.batchDigest.toString(),
      publisherSet: built.publisherSetCommitment.toString(),
      domain: toField(src.domain).toString(),
      markets: built.markets.map((m, i) => ({
        market: m.market,
        marketId: m.marketId.toString(),
        bar: new Date(Number(m.dataTimestamp) * 1000).toISOString(),
        dataTimestamp: Number(m.dataTimestamp),
        maintenanceMarginBps: Number(m.trace.maintenanceMarginBps),
        initialMarginBps: Number(m.trace.initialMarginBps),
        windowDigest: m.windowDigest.toString(),
        modelCommitment: m.modelCommitment.toString(),
        ...(adaptive === undefined
          ? {}
          : {
              adaptive: checkedTransition(
                src.models?.get(m.market) ?? this.model,
                { rule: adaptive.rule, ...(adaptive.priors.get(m.market) as AdaptivePriorState) },
                src.batches[0].markets[i].window.bars,
                m.trace,
                BigInt(publicSignals[i]),
              ),
            }),
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

/**
 * Refuse a market whose label (the one the proof file states for it) does not name its window's market, in any of
 * the batches: a ProofError naming the batch, the label and both ids, before any proving. (A signed batch file
 * read with `readSignedBatch` cannot hold one; a batch built in memory can.)
 */
function checkBatchMarkets(src: Pick<SignedBatchSource, "batches" | "names">): void {
  src.batches.forEach((batch, b) => {
    batch.markets.forEach(({ market, window }, i) => {
      const where = `${src.names?.[b] ?? `batch ${b}`}: markets[${i}]`;
      const problem = marketLabelProblem(market);
      if (problem !== undefined) throw new ProofError(`${where}: market ${problem}`);
      const marketId = marketIdOf(market);
      if (marketId !== window.marketId) {
        throw new ProofError(
          `${where}: labelled '${market}' (id ${marketId}), but its window is of market '${marketLabel(window.marketId)}' (id ${window.marketId}): ` +
            "the proof would state one market with the other's id",
        );
      }
    });
  });
}
