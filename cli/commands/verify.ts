/**
 * `zkrisk verify`: check a signed update's or a signed batch's proof file offline against an artifact directory's
 * verification key (the manifest is checked first); exit code 1 when it fails, among others when the file states
 * what its proof contradicts. A malformed file, or artifacts of another kind of circuit than the file's (an update
 * against a batch circuit, a plain update against an adaptive one), is a usage error (exit code 2).
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../../core/errors";
import { loadArtifacts } from "../../setup/artifacts";
import { checkSignedProofFile } from "../../prover/signed-proof-file";
import {
  checkSignedBatchProofFile,
  readAnySignedProofFile,
  type SignedProofFile,
} from "../../prover/signed-batch-proof-file";
import { Contradictions } from "../../prover/proof-file";
import { readCircuitInfo, type CircuitInfo } from "../../circuits/compile-model";
import { loadQuantizedModel } from "../../models/quantized-model";
import type { VerificationKey } from "../../setup/snarkjs";
import { output } from "../options";
import { readMarketModels } from "./market-models";

/** The options of `zkrisk verify`, as commander gives them (cli/register/prove.ts), and its argument. */
export interface VerifyFlags {
  /** The proof file (the command's argument). */
  proof: string;
  artifacts: string;
  model?: string;
  /** A batch's markets' own model files, as LABEL=FILE (`--market-model`). */
  marketModel?: string[];
  json?: boolean;
}

/** The verdict on a proof file. */
export interface VerifyResult {
  /** The proof file checked. */
  proof: string;
  /** No problem found. */
  ok: boolean;
  /** What is wrong with the file, one sentence each. */
  problems: string[];
}

/** Check the proof file, by its format (signed update or signed batch). */
export async function runVerify(f: VerifyFlags): Promise<VerifyResult> {
  const artifacts = loadArtifacts(f.artifacts, { modelPath: f.model });
  const vkey = JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey;
  const model = loadQuantizedModel(artifacts.modelPath);
  const models = readMarketModels(f.marketModel);
  const contradictions = new Contradictions(true);
  const file = readAnySignedProofFile(f.proof, contradictions);
  refuseOtherCircuit(f, file, readCircuitInfo(f.artifacts));
  if (models.size > 0 && !("batch" in file)) {
    throw new UsageError(
      `--market-model: ${f.proof} is a signed update's proof; give its model with --model`,
    );
  }
  const checked =
    "batch" in file
      ? await checkSignedBatchProofFile(file.batch, {
          model,
          vkey,
          models,
          rule: artifacts.manifest.adaptive?.rule,
        })
      : await checkSignedProofFile(file.update, { model, vkey, rule: artifacts.manifest.adaptive?.rule });
  const problems = [...contradictions.found, ...checked];
  return { proof: f.proof, ok: problems.length === 0, problems };
}

/** What a circuit is, in words, for the refusal of a proof file of another kind. */
function circuitKind(info: CircuitInfo): string {
  const a = info.adaptive === undefined ? "a" : "an adaptive";
  if (info.quorum === undefined) return "a circuit that takes features (not signed data)";
  return info.batchSize === undefined
    ? `${a} signed-update circuit`
    : `${a} signed batch circuit of ${info.batchSize} markets`;
}

/**
 * Refuse artifacts whose circuit cannot have proved the file: a batch's file against an update circuit or one of
 * another batch size, an update's against a batch circuit, an adaptive one's against a plain one and back. Its
 * proof would just fail, as if the file were forged; the user gave the wrong directory.
 */
function refuseOtherCircuit(f: VerifyFlags, file: SignedProofFile, info: CircuitInfo): void {
  const markets = "batch" in file ? file.batch.markets.length : undefined;
  const adaptive =
    "batch" in file
      ? file.batch.markets.some((m) => m.adaptive !== undefined)
      : file.update.adaptive !== undefined;
  const a = adaptive ? "an adaptive" : "a";
  const fileKind = markets === undefined ? `${a} signed update` : `${a} signed batch of ${markets} markets`;
  if (info.quorum === undefined || info.batchSize !== markets || (info.adaptive !== undefined) !== adaptive) {
    throw new UsageError(
      `--artifacts: ${f.artifacts} holds ${circuitKind(info)}; ${f.proof} is the proof of ${fileKind}: ` +
        "give the artifacts it was proved with",
    );
  }
}

/** The `--json` document of `zkrisk verify`: `{ok, problems}`. */
export function verifyJson(r: VerifyResult): unknown {
  return { ok: r.ok, problems: r.problems };
}

/** The text output of `zkrisk verify`: OK, or FAIL and the problems. */
export function formatVerify(r: VerifyResult): string {
  return r.ok ? `OK ${r.proof}\n` : `FAIL ${r.proof}\n${r.problems.map((p) => `  ${p}\n`).join("")}`;
}

/** `zkrisk verify`: check, print the verdict; exit code 1 when the file fails. */
export async function verifyAction(f: VerifyFlags): Promise<void> {
  const result = await runVerify(f);
  output(result, f.json, formatVerify, verifyJson);
  if (!result.ok) process.exitCode = 1;
}
