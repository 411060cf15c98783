/**
 * TEST FIXTURE ONLY: a stand-in for the ADAPTIVE signed batch circuit of N markets, with the same public signals
 * (`batchSignalNames(n, true)` in circuits/public-signals.ts: one varying signal per market, market i's packed
 * adaptive update, then each market's model, the set, the market ids and the domain), for testing every check of
 * `RiskOracle.submitAdaptiveBatch` cheaply (a 2 s setup per N) with zkrisk's batch verifier of the stand-in's key
 * (onchain/signed-batch-verifier.ts, `adaptive`). Only tests use it; nothing under cli/, scripts/ or the package's
 * runtime code may import it. The circuit is test/helpers/signed-batch-stand-in.ts's with the adaptive layout.
 *
 * NOT SOUND, on purpose: it proves whatever updates (margins, bar, prior, new state, digest bits), market ids,
 * models and publisher set it is given: no signatures, windows, model, adaptive rule or range checks, and no
 * check that every market carries the batch's one bar and digest bits (the real circuit binds both). So every
 * check of the oracle is tested against a proof the verifier accepts, and the test shows that the oracle, not the
 * circuit, refuses it.
 *
 * Its artifact directory has a circuit.json with `batchSize` and the `adaptive` rule (models/calibrations.json's,
 * which the stand-in does not prove), as `zkrisk compile` writes for the real circuit, so `deployVerifier` deploys
 * the adaptive batch verifier for it as it will for the real one.
 */
import { join } from "node:path";
import { packAdaptiveUpdate, type AdaptiveUpdateValues } from "../../circuits/statement";
import { sha256File } from "../../core/io";
import { loadCalibrations } from "../../models/market-calibrations";
import { toVerifierCalldata } from "../../prover/calldata";
import { silentLog, snarkjs, type SetupLog } from "../../setup";
import { batchStandInSource, type BatchStandInProof } from "./signed-batch-stand-in";
import { sourceArtifacts } from "./source-artifacts";

/** Name of the adaptive stand-in circuit of `n` markets (the stem of its artifact files). */
export const adaptiveStandInName = (n: number): string => `adaptive_batch${n}_stand_in`;

/** The calibrations file whose adaptive rule the stand-in's circuit.json records (the stand-in does not prove it). */
const CALIBRATIONS = join(__dirname, "../../models/calibrations.json");

/**
 * The adaptive stand-in's artifacts for `n` markets (INSECURE direct development setup), cached under
 * `.zkrisk-cache/demo` by the sha256 of its source and circuit.json; compiled and set up when absent or stale.
 * @returns the artifact directory (its manifest records the adaptive rule)
 */
export async function adaptiveBatchStandInArtifacts(n: number, log: SetupLog = silentLog): Promise<string> {
  const circuitInfo = {
    batchSize: n,
    adaptive: {
      rule: loadCalibrations(CALIBRATIONS).adaptive,
      calibrations: { file: "calibrations.json", sha256: sha256File(CALIBRATIONS) },
    },
  };
  return sourceArtifacts(
    batchStandInSource(n, true),
    adaptiveStandInName(n),
    `adaptive-batch${n}-stand-in`,
    log,
    circuitInfo,
  );
}

/** What the adaptive stand-in proves: each market's adaptive update and the batch's constants. */
export interface AdaptiveBatchStandInStatement {
  /** Each market's id and adaptive update, in the batch's order. */
  markets: { marketId: bigint; update: AdaptiveUpdateValues }[];
  /** Each market's model commitment, in the batch's order. */
  modelCommitments: bigint[];
  publisherSet: bigint;
  domain: bigint;
  /** Raw varying signals instead of the packed updates (to test malformed ones). */
  update?: bigint[];
}

/** Prove `s` with the adaptive stand-in of `dir` (a fresh random proof each call). */
export async function proveAdaptiveBatchStandIn(
  dir: string,
  s: AdaptiveBatchStandInStatement,
): Promise<BatchStandInProof> {
  const n = s.markets.length;
  if (s.modelCommitments.length !== n) {
    throw new Error(`modelCommitments: ${s.modelCommitments.length} for a batch of ${n} market(s)`);
  }
  const update = s.update ?? s.markets.map((m) => packAdaptiveUpdate(m.update));
  const input = {
    marketId: s.markets.map((m) => m.marketId.toString()),
    domain: s.domain.toString(),
    updateIn: update.map(String),
    model: s.modelCommitments.map(String),
    set: s.publisherSet.toString(),
  };
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(
    input,
    join(dir, `${adaptiveStandInName(n)}.wasm`),
    join(dir, `${adaptiveStandInName(n)}.zkey`),
  );
  return { publicSignals, calldata: toVerifierCalldata(proof, publicSignals) };
}
