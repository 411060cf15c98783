/**
 * Proving one signed update: k publishers' signed windows -> witness of the signed-update circuit ->
 * Groth16 proof, verified locally and compared with the integer engine before it is returned.
 * `SignedUpdateProver` keeps the model, the verification key and, from its first proof on, a Groth16Prover
 * (groth16-prover.ts: the witness calculator instantiated, the zkey parsed, the curve built), so repeated proofs
 * skip the loading; `close()` releases the curve's worker threads.
 *
 * Artifacts compiled with the adaptive rule (`zkrisk compile --adaptive`; the manifest records the rule) prove an
 * adaptive market's update: the caller passes the prior the oracle will build (`readAdaptivePrior`), and the proof
 * also carries one step of the rule from it (models/adaptive.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { marketIdOf, marketLabelProblem } from "../candles/market-id";
import { CIRCUIT_INFO_FILE, readCircuitInfo, type CircuitInfo } from "../circuits/compile-model";
import type { WeightMode } from "../circuits/generate-circuit";
import { UPDATE_SIGNAL_INDEX, UPDATE_SIGNALS } from "../circuits/public-signals";
import { unpackAdaptiveUpdate } from "../circuits/statement";
import { modelCommitment } from "../circuits/commitments";
import { WINDOW_FEATURES } from "../features/window-features";
import { adaptiveWindowUpdate, windowOutcome, type AdaptiveRule } from "../models/adaptive";
import { inferInteger } from "../models/integer-engine";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import { loadArtifacts, type LoadedArtifacts } from "../setup/artifacts";
import { toVerifierCalldata, type VerifierCalldata } from "./calldata";
import { ProofError, proveChecked } from "./checked-proof";
import { LazyGroth16Prover, type Groth16ProverOptions } from "./groth16-prover";
import { readProvingFiles } from "./proving-files";
import { releaseCurves, snarkjs, type Groth16Proof, type VerificationKey } from "../setup/snarkjs";
import { signedUpdateInput, type AdaptivePrior, type SignedUpdateSource } from "./update-input";

/**
 * The prior of an adaptive update as the oracle holds it (`readAdaptivePrior`): the state, and bar s's MM and lag
 * (s = t - 12 - lag, the oldest pending outcome).
 */
export type AdaptivePriorState = Omit<AdaptivePrior, "rule">;

/** An adaptive update's state transition as its packed signal carries it (decimal strings for the state). */
export interface ProvedAdaptiveTransition {
  /**
   * The state before the update, bar s = t - 12 - lag's accepted MM (bps, 0: no pending outcome) and lag (0..11),
   * as the oracle will check them.
   */
  prior: { num: string; outcomes: number; marginS: number; lag: number };
  /** The proven state the oracle stores. */
  next: { num: string; outcomes: number };
  /** Bar s's outcome in the window: a breach, covered, or none (no margin at s, or a bar of s..s+12 missing). */
  outcome: "breach" | "covered" | "none";
  /** The calibrationNum of this update's margins (`stateToNum(next.num)`). */
  calibrationNum: number;
}

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
  /** An adaptive market's update (artifacts with the adaptive rule): the transition it proves. */
  adaptive?: ProvedAdaptiveTransition;
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
    /** The adaptive rule the circuit proves (the manifest's), undefined for a plain circuit. */
    readonly rule: AdaptiveRule | undefined,
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
    const { outputs, publicSignals } = artifacts.manifest.circuit;
    if (outputs !== UPDATE_SIGNALS.length || publicSignals !== UPDATE_SIGNALS.length) {
      throw new ProofError(
        `${dir}: the circuit has ${publicSignals} public signals (${outputs} outputs); a signed-update ` +
          `circuit has ${UPDATE_SIGNALS.length} outputs and no public input`,
      );
    }
    checkCircuitFacts(dir, { mode: circuit.mode, quorum: circuit.quorum, batchSize: undefined });
    const model = loadQuantizedModel(artifacts.modelPath);
    const files = readProvingFiles(artifacts);
    return new SignedUpdateProver(
      artifacts,
      model,
      circuit.mode,
      circuit.quorum,
      new LazyGroth16Prover(files.wasm, files.zkey, {
        singleThread: options.singleThread,
        wasmFile: artifacts.paths.wasm,
      }),
      JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey,
      artifacts.manifest.adaptive?.rule,
    );
  }

  /**
   * Prove the update of the quorum's signed windows (see signedUpdateInput for the input errors); `meta.market`,
   * the label the proof file states, must name the windows' market (its id is theirs), else a ProofError before
   * any proving. With adaptive
   * artifacts, `meta.prior` is the prior the oracle will build for this bar (`readAdaptivePrior`); it is required
   * there and refused for a plain circuit (ProofError). The returned transition and margins are checked against
   * the integer engine (`windowOutcome`, `adaptiveUpdate`, the policy at the new state's calibrationNum).
   */
  async prove(
    src: Omit<SignedUpdateSource, "adaptive">,
    meta: { market: string; prior?: AdaptivePriorState },
  ): Promise<ProvedSignedUpdate> {
    checkWindowsMarket(meta.market, src);
    const rule = this.rule;
    if (rule === undefined && meta.prior !== undefined) {
      throw new ProofError(
        `${this.artifacts.dir}: a plain signed-update circuit (no adaptive rule in its manifest) takes no prior`,
      );
    }
    if (rule !== undefined && meta.prior === undefined) {
      throw new ProofError(
        `${this.artifacts.dir}: a circuit with the adaptive rule needs the market's prior (num, outcomes, MM and ` +
          "lag of its pending bar s = t - 12 - lag) as the oracle holds it",
      );
    }
    const adaptive = rule === undefined || meta.prior === undefined ? undefined : { rule, ...meta.prior };
    const built = await signedUpdateInput(this.model, this.mode, { ...src, ...(adaptive && { adaptive }) });
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
      ...(adaptive === undefined
        ? {}
        : {
            adaptive: checkedTransition(
              this.model,
              adaptive,
              src.windows[0].window.bars,
              trace,
              BigInt(publicSignals[UPDATE_SIGNAL_INDEX.update]),
            ),
          }),
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
 * Refuse circuit facts given to a prover's `open` that are not the ones its directory's circuit.json records (as
 * `zkrisk compile` wrote them): a weight mode or quorum (or batch size; undefined: the circuit has none) other than
 * the circuit's would fail deep inside the witness calculator, or worse, be reported as the prover's. A ProofError
 * naming the directory, the value given and circuit.json's; a directory without circuit.json is refused too.
 * @returns the directory's circuit.json
 */
export function checkCircuitFacts(
  dir: string,
  given: Pick<CircuitInfo, "mode" | "quorum" | "batchSize">,
): CircuitInfo {
  const file = join(dir, CIRCUIT_INFO_FILE);
  if (!existsSync(file)) {
    throw new ProofError(
      `${dir}: no ${CIRCUIT_INFO_FILE}, so its weight mode and quorum cannot be checked: compile the directory ` +
        "with `zkrisk compile --out DIR`, then `zkrisk setup`",
    );
  }
  const info = readCircuitInfo(dir);
  const facts: [keyof typeof given, string][] = [
    ["mode", "weight mode"],
    ["quorum", "quorum"],
    ["batchSize", "batch size (markets per proof)"],
  ];
  for (const [key, what] of facts) {
    if (given[key] === info[key]) continue;
    const said = (v: unknown) => (v === undefined ? "none" : String(v));
    throw new ProofError(
      `${dir}: ${what} ${said(given[key])} given, but its ${CIRCUIT_INFO_FILE} records ${said(info[key])}, ` +
        "which the circuit was compiled for (give the directory's own values, `readCircuitInfo(dir)`, or " +
        "compile a circuit for these)",
    );
  }
  return info;
}

/**
 * Refuse a market label (the one a signed-update proof file states) that does not name the market of every signed
 * window: a ProofError naming both, with their ids, before any proving.
 */
function checkWindowsMarket(market: string, src: Pick<SignedUpdateSource, "windows" | "names">): void {
  const problem = marketLabelProblem(market);
  if (problem !== undefined) throw new ProofError(`market: ${problem}`);
  const marketId = marketIdOf(market);
  src.windows.forEach((w, i) => {
    if (w.window.marketId !== marketId) {
      throw new ProofError(
        `${src.names?.[i] ?? `window ${i}`}: signed for market '${w.market}' (id ${w.window.marketId}), not ` +
          `the market given, '${market}' (id ${marketId}): the proof would state one market with the other's id`,
      );
    }
  });
}

/**
 * The transition a proven adaptive update `signal` carries (a signed update's, or one market's of an adaptive
 * batch), checked against the integer engine on the window's bars: the prior is the one given, the new state is
 * one step of the rule (`windowOutcome`, `adaptiveUpdate`), and the margins are the policy's at the new state's
 * calibrationNum. A difference is a ProofError (a bug, not a result).
 */
export function checkedTransition(
  model: QuantizedModel,
  prior: AdaptivePrior,
  bars: Parameters<typeof windowOutcome>[0],
  trace: { features: readonly bigint[] },
  signal: bigint,
): ProvedAdaptiveTransition {
  const u = unpackAdaptiveUpdate(signal);
  // the margins: the model's network output on the features, the policy at the new state's calibration
  const y = inferInteger(model, trace.features).output;
  const {
    outcome,
    after: next,
    calibrationNum,
    margins: policy,
  } = adaptiveWindowUpdate(model.policy, y, bars, prior, prior.rule);
  const problems: string[] = [];
  if (u.before.num !== prior.state.num || u.before.outcomes !== BigInt(prior.state.outcomes)) {
    problems.push(
      `prior state ${u.before.num}/${u.before.outcomes}, given ${prior.state.num}/${prior.state.outcomes}`,
    );
  }
  if (u.marginS !== prior.marginS) problems.push(`MM_s ${u.marginS}, given ${prior.marginS}`);
  if (u.lag !== BigInt(prior.lag)) problems.push(`lag ${u.lag}, given ${prior.lag}`);
  if (u.after.num !== next.num || u.after.outcomes !== BigInt(next.outcomes)) {
    problems.push(
      `new state ${u.after.num}/${u.after.outcomes}, the rule gives ${next.num}/${next.outcomes}`,
    );
  }
  if (u.mm !== policy.maintenanceMarginBps || u.im !== policy.initialMarginBps) {
    problems.push(
      `MM ${u.mm} / IM ${u.im} bps, the policy at calibrationNum ${calibrationNum} gives ` +
        `${policy.maintenanceMarginBps} / ${policy.initialMarginBps}`,
    );
  }
  if (problems.length > 0) {
    throw new ProofError(
      `the proven adaptive update disagrees with the integer engine: ${problems.join("; ")}`,
    );
  }
  return {
    prior: {
      num: u.before.num.toString(),
      outcomes: Number(u.before.outcomes),
      marginS: Number(u.marginS),
      lag: Number(u.lag),
    },
    next: { num: u.after.num.toString(), outcomes: Number(u.after.outcomes) },
    outcome: outcome === null ? "none" : outcome ? "breach" : "covered",
    calibrationNum: Number(calibrationNum),
  };
}
