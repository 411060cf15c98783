/**
 * `zkrisk verify`: check a signed update's or a signed batch's proof file offline against an artifact directory's
 * verification key (the manifest is checked first); exit code 1 when it fails.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../../core/errors";
import { loadArtifacts } from "../../setup/artifacts";
import { checkSignedProofFile } from "../../prover/signed-proof-file";
import { checkSignedBatchProofFile, readAnySignedProofFile } from "../../prover/signed-batch-proof-file";
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
  const file = readAnySignedProofFile(f.proof);
  if (models.size > 0 && !("batch" in file)) {
    throw new UsageError(
      `--market-model: ${f.proof} is a signed update's proof; give its model with --model`,
    );
  }
  const problems =
    "batch" in file
      ? await checkSignedBatchProofFile(file.batch, {
          model,
          vkey,
          models,
          rule: artifacts.manifest.adaptive?.rule,
        })
      : await checkSignedProofFile(file.update, { model, vkey, rule: artifacts.manifest.adaptive?.rule });
  return { proof: f.proof, ok: problems.length === 0, problems };
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
