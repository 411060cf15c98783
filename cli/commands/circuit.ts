/** `zkrisk compile`, `zkrisk setup`, `zkrisk ceremony contribute`: from a quantised model to proving artifacts. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  BUILD_SUBDIR,
  CIRCUIT_NAME,
  compileSignedBatchModel,
  compileSignedUpdateModel,
  type CircuitInfo,
} from "../../circuits/compile-model";
import type { WeightMode } from "../../circuits/generate-circuit";
import { UsageError } from "../../models/errors";
import { readJsonFile, sha256File } from "../../models/io";
import { runContribute, runSetup, type SetupLog } from "../../prover/setup";
import { outDirOption, parseIntOption, printJson } from "../options";
import { progressBar } from "../progress";

/** A setup log on stderr; info lines only when not in --json mode. */
export function stderrLog(json: boolean): SetupLog {
  return {
    info: (m) => {
      if (!json) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`WARNING: ${m}\n`),
  };
}

function parseMode(value: string): WeightMode {
  if (value !== "committed" && value !== "constant") {
    throw new UsageError(`--weights: '${value}' must be 'committed' or 'constant'`);
  }
  return value;
}

/** circuit.json of an artifact directory made by `zkrisk compile`. */
export function readCircuitInfo(dir: string): CircuitInfo {
  const file = join(dir, "circuit.json");
  if (!existsSync(file))
    throw new UsageError(
      `--artifacts: ${dir} has no circuit.json: run \`zkrisk compile --out ${dir}\` first`,
    );
  return readJsonFile(file, "ARTIFACTS_INVALID") as CircuitInfo;
}

/** The options of `zkrisk compile`, as commander gives them (cli/register/circuit.ts). */
export interface CompileFlags {
  model: string;
  out: string;
  weights: string;
  /** Compile the signed batch circuit of N markets (one quorum's signatures of a batch digest). */
  batch?: string;
  /** Signatures the signed circuit checks (the publisher set's quorum). */
  quorum?: string;
  json?: boolean;
}

/** The options of `zkrisk setup`. */
export interface SetupFlags {
  artifacts: string;
  model: string;
  ptau?: string;
  verifyPtau?: boolean;
  force?: boolean;
  beacon?: string;
  beaconIterations: string;
  json?: boolean;
}

/** The options of `zkrisk ceremony contribute`. */
export interface ContributeFlags {
  artifacts: string;
  name: string;
  entropy?: string;
  ptau?: string;
  model?: string;
  beacon?: string;
  json?: boolean;
}

/** `zkrisk compile`: generate and compile the circuit, print its size. */
export async function compileAction(f: CompileFlags): Promise<void> {
  outDirOption("--out", f.out);
  const mode = parseMode(f.weights);
  const quorum = () => parseIntOption("--quorum", f.quorum ?? "1", 1, 8);
  const info =
    f.batch !== undefined
      ? await compileSignedBatchModel(
          f.model,
          f.out,
          mode,
          parseIntOption("--batch", f.batch, 1, 32),
          quorum(),
        )
      : await compileSignedUpdateModel(f.model, f.out, mode, quorum());
  if (f.json) {
    printJson(info);
    return;
  }
  process.stdout.write(
    `compiled ${f.model} (${mode} weights` +
      `${info.quorum === undefined ? "" : info.batchSize === undefined ? `, signed update, quorum ${info.quorum}` : `, signed batch of ${info.batchSize} markets, quorum ${info.quorum}`}) ` +
      `into ${join(f.out, BUILD_SUBDIR)}\n` +
      `  constraints    ${info.constraints}\n` +
      `  wires          ${info.wires}\n` +
      `  public signals ${info.outputs + info.publicInputs}: ${info.publicSignals.join(", ")}\n` +
      `  private inputs ${info.privateInputs}\n` +
      `  model commitment ${info.modelCommitment}\n`,
  );
}

/** `zkrisk setup`: the Groth16 setup of a compiled circuit. */
export async function setupAction(f: SetupFlags): Promise<void> {
  const info = readCircuitInfo(f.artifacts);
  if (sha256File(f.model) !== info.model.sha256) {
    throw new UsageError(
      `--model: ${f.model} is not the model the circuit in ${f.artifacts} was compiled from (${info.model.file})`,
    );
  }
  const build = join(f.artifacts, BUILD_SUBDIR);
  const bar = progressBar(!f.json);
  let started = false;
  const result = await runSetup(
    {
      r1cs: join(build, `${CIRCUIT_NAME}.r1cs`),
      wasm: join(build, `${CIRCUIT_NAME}_js`, `${CIRCUIT_NAME}.wasm`),
      model: f.model,
      out: f.artifacts,
      ptau: f.ptau,
      verifyPtau: f.verifyPtau,
      force: f.force,
      name: CIRCUIT_NAME,
      beaconHash: f.beacon,
      beaconIterationsExp: parseIntOption("--beacon-iterations", f.beaconIterations, 10, 63),
      onProgress: (p) => {
        if (!started) bar.start(p.steps, "development ptau");
        started = true;
        bar.update(p.step, p.stage);
      },
    },
    stderrLog(Boolean(f.json)),
  );
  bar.stop();
  const summary = {
    dir: result.dir,
    constraints: result.manifest.circuit.constraints,
    setup: result.manifest.setup,
    ptau: { ...result.ptau, sha256: result.manifest.ptau.sha256 },
    files: result.paths,
    timingsMs: result.timings,
  };
  if (f.json) {
    printJson(summary);
    return;
  }
  process.stdout.write(
    `setup done in ${f.artifacts}: ${summary.constraints} constraints, ptau power ${result.ptau.power} ` +
      `(needed ${result.ptau.requiredPower})` +
      `${result.manifest.setup.insecure ? ` — INSECURE ${result.manifest.setup.method === "direct" ? "direct development setup" : "development ptau"}` : ""}\n` +
      `  ptau sha256 ${summary.ptau.sha256}\n` +
      `  zkey ${result.paths.zkey}\n  verification key ${result.paths.vkey}\n  verifier ${result.paths.verifier}\n`,
  );
}

/** `zkrisk ceremony contribute`: one more phase-2 contribution. */
export async function contributeAction(f: ContributeFlags): Promise<void> {
  const result = await runContribute(
    {
      dir: f.artifacts,
      name: f.name,
      entropy: f.entropy,
      ptau: f.ptau,
      model: f.model,
      beaconHash: f.beacon,
    },
    stderrLog(Boolean(f.json)),
  );
  const out = { dir: result.dir, contribution: result.contribution, beacon: result.beacon ?? null };
  if (f.json) printJson(out);
  else
    process.stdout.write(
      `contribution by "${f.name}" added to ${result.paths.zkey}\n  hash ${result.contribution.hash}\n` +
        `verification key and verifier re-exported; artifacts.json updated\n`,
    );
}
