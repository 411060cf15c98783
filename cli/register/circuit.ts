/**
 * `zkrisk compile`, `zkrisk setup`, `zkrisk ceremony contribute`: their flags and descriptions;
 * cli/commands/compile.ts, setup.ts and contribute.ts do the work.
 */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import { DEFAULT_CALIBRATIONS, DEFAULT_MODEL } from "../paths";
import type { CompileFlags } from "../commands/compile";
import type { ContributeFlags } from "../commands/contribute";
import type { SetupFlags } from "../commands/setup";

const compile = lazyModule<typeof import("../commands/compile")>(join(__dirname, "../commands/compile.ts"));
const setup = lazyModule<typeof import("../commands/setup")>(join(__dirname, "../commands/setup.ts"));
const contribute = lazyModule<typeof import("../commands/contribute")>(
  join(__dirname, "../commands/contribute.ts"),
);

/** Register `zkrisk compile`, `zkrisk setup` and `zkrisk ceremony contribute`. */
export function registerCircuitCommands(program: Command): void {
  program
    .command("compile")
    .description(
      "generate and compile (circom 2.2, --O2) the signed-update circuit of a quantised model: publishers' " +
        "signatures -> window digest -> features -> model -> policy, in one proof (--batch N: N markets at once)",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .requiredOption("--out <dir>", "artifact directory (circuit source and compiler output go to DIR/build)")
    .option(
      "--weights <mode>",
      "committed (private weights, public model commitment) or constant",
      "committed",
    )
    .option(
      "--batch <n>",
      "the signed batch circuit: one quorum's signatures of a batch digest -> N markets' windows -> features -> " +
        "model -> policy, in one proof",
    )
    .option("--quorum <k>", "signatures the circuit checks (the publisher set's quorum)", "1")
    .option(
      "--adaptive",
      "the signed-update circuit with the adaptive calibration rule: each proof also steps the market's state " +
        "held by the oracle (for markets made adaptive with setAdaptiveCalibration); with --batch N (N >= 2), " +
        "an adaptive batch: every market of it adaptive, each stepping its own state",
    )
    .option(
      "--calibrations <file>",
      `calibrations file whose \`adaptive\` block is the rule (only with --adaptive; default ${DEFAULT_CALIBRATIONS})`,
    )
    .option("--force", "compile into a directory that was already set up, removing its stale setup files")
    .option("--json", "print the result as one JSON object")
    .action(async (f: CompileFlags) => (await compile()).compileAction(f));

  program
    .command("setup")
    .description(
      "Groth16 trusted setup for a compiled circuit: a fast INSECURE development setup, or phase 2 on a public " +
        "ceremony's ptau; verifier export, manifest",
    )
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk compile`")
    .option("--model <file>", "the quantised model the circuit was compiled from", DEFAULT_MODEL)
    .option(
      "--ptau <file>",
      "phase-1 file from a public ceremony, then snarkjs's phase 2 with a contribution and a beacon; 'dev': the " +
        "same on a cached INSECURE development ptau (default: an INSECURE direct development setup, in seconds)",
    )
    .option("--verify-ptau", "verify every contribution of --ptau (slow)")
    .option("--force", "replace the keys of a directory that was already set up")
    .option(
      "--beacon <hex>",
      "beacon hash closing snarkjs's phase 2, with --ptau only (default: random, for development)",
    )
    .option("--beacon-iterations <n>", "beacon hash iterations 2^n (10..63)", "10")
    .option("--json", "print the result as one JSON object")
    .action(async (f: SetupFlags) => (await setup()).setupAction(f));

  const ceremony = program.command("ceremony").description("multi-party phase-2 ceremony");
  ceremony
    .command("contribute")
    .description("add a phase-2 contribution to an artifact directory's zkey and re-export the verifier")
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk setup`")
    .requiredOption("--name <name>", "contributor name recorded in the zkey, 1 to 64 characters")
    .option("--entropy <text>", "extra entropy (OS randomness is always added)")
    .option(
      "--ptau <file>",
      "the ptau the setup used (default: for a development setup, its own ptau or the cached development ptau)",
    )
    .option("--model <file>", "model file (default: the one recorded in the manifest)")
    .option("--beacon <hex>", "apply a beacon after the contribution, closing the ceremony")
    .option("--json", "print the result as one JSON object")
    .action(async (f: ContributeFlags) => (await contribute()).contributeAction(f));
}
