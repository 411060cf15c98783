/** `zkrisk compile`, `zkrisk setup`, `zkrisk ceremony contribute`: from a quantised model to proving artifacts. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  BUILD_SUBDIR,
  CIRCUIT_NAME,
  compileBatchModel,
  compileModel,
  type CircuitInfo,
} from "../../circuits/compile-model";
import type { WeightMode } from "../../circuits/generate-circuit";
import { UsageError } from "../../models/errors";
import { readJsonFile, sha256File } from "../../models/io";
import { runContribute, runSetup, type SetupLog } from "../../prover/setup";
import { DEFAULT_MODEL } from "../paths";
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

export function registerCircuitCommands(program: Command): void {
  program
    .command("compile")
    .description("generate the Circom circuit of a quantised model and compile it (circom 2.2, --O2)")
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .requiredOption("--out <dir>", "artifact directory (circuit source and compiler output go to DIR/build)")
    .option(
      "--weights <mode>",
      "committed (private weights, public model commitment) or constant",
      "committed",
    )
    .option("--batch <n>", "a batch circuit: the model on N markets in one proof (constant weights)")
    .option("--json", "print the result as one JSON object")
    .action(async (f: { model: string; out: string; weights: string; batch?: string; json?: boolean }) => {
      outDirOption("--out", f.out);
      const mode = parseMode(f.weights);
      const info =
        f.batch === undefined
          ? await compileModel(f.model, f.out, mode)
          : await compileBatchModel(f.model, f.out, parseIntOption("--batch", f.batch, 1, 32));
      if (f.json) {
        printJson(info);
        return;
      }
      process.stdout.write(
        `compiled ${f.model} (${info.mode === "batch" ? `batch of ${info.batchSize}` : `${mode} weights`}) into ${join(f.out, BUILD_SUBDIR)}\n` +
          `  constraints    ${info.constraints}\n` +
          `  wires          ${info.wires}\n` +
          `  public signals ${info.outputs + info.publicInputs}: ${info.publicSignals.join(", ")}\n` +
          `  private inputs ${info.privateInputs}\n` +
          `  model commitment ${info.modelCommitment}\n`,
      );
    });

  program
    .command("setup")
    .description("Groth16 trusted setup for a compiled circuit: phase 2 on a ptau, verifier export, manifest")
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk compile`")
    .option("--model <file>", "the quantised model the circuit was compiled from", DEFAULT_MODEL)
    .option(
      "--ptau <file>",
      "phase-1 file from a public ceremony (default: a cached INSECURE development ptau)",
    )
    .option("--verify-ptau", "verify every contribution of --ptau (slow)")
    .option("--beacon <hex>", "beacon hash closing phase 2 (default: random, for development)")
    .option("--beacon-iterations <n>", "beacon hash iterations 2^n (10..63)", "10")
    .option("--json", "print the result as one JSON object")
    .action(
      async (f: {
        artifacts: string;
        model: string;
        ptau?: string;
        verifyPtau?: boolean;
        beacon?: string;
        beaconIterations: string;
        json?: boolean;
      }) => {
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
            `(needed ${result.ptau.requiredPower})${result.ptau.dev ? " — INSECURE development ptau" : ""}\n` +
            `  ptau sha256 ${summary.ptau.sha256}\n` +
            `  zkey ${result.paths.zkey}\n  verification key ${result.paths.vkey}\n  verifier ${result.paths.verifier}\n`,
        );
      },
    );

  const ceremony = program.command("ceremony").description("multi-party phase-2 ceremony");
  ceremony
    .command("contribute")
    .description("add a phase-2 contribution to an artifact directory's zkey and re-export the verifier")
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk setup`")
    .requiredOption("--name <name>", "contributor name recorded in the zkey")
    .option("--entropy <text>", "extra entropy (OS randomness is always added)")
    .option("--ptau <file>", "the ptau the setup used (default: the cached development ptau)")
    .option("--model <file>", "model file (default: the one recorded in the manifest)")
    .option("--beacon <hex>", "apply a beacon after the contribution, closing the ceremony")
    .option("--json", "print the result as one JSON object")
    .action(
      async (f: {
        artifacts: string;
        name: string;
        entropy?: string;
        ptau?: string;
        model?: string;
        beacon?: string;
        json?: boolean;
      }) => {
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
      },
    );
}
