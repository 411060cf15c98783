/** The `zkrisk` command line: one subcommand per stage of the data path. */
import { Command, CommanderError } from "commander";
import { ZkriskError } from "../models/errors";
import { releaseCurves } from "../prover/setup/snarkjs";
import { registerAudit } from "./commands/audit";
import { registerBacktest } from "./commands/backtest";
import { registerBench } from "./commands/bench";
import { registerBenchService } from "./commands/bench-service";
import { registerBenchSetup } from "./commands/bench-setup";
import { registerChainCommands } from "./commands/chain";
import { registerCircuitCommands } from "./commands/circuit";
import { registerProveCommands } from "./commands/prove";
import { registerPublisher } from "./commands/publisher";
import { registerDemo } from "./commands/demo";
import { registerInfer } from "./commands/infer";
import { registerQuantize } from "./commands/quantize";
import { registerServe } from "./commands/serve";
import { registerTrain } from "./commands/train";

/** Exit codes: 1 for a failure of the work itself, 2 for bad usage or bad input. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Error codes that mean the input (arguments, files) was bad rather than the work failing. */
const USAGE_CODES = new Set([
  "USAGE",
  "MODEL_INVALID",
  "OUT_OF_BOUNDS",
  "SETUP_INVALID",
  "SETUP_INSECURE",
  "ARTIFACTS_INVALID",
  "PROOF_INVALID",
  "FILE_INVALID",
  "ORACLE_REJECTED",
  "CONFIG_INVALID",
]);

export function buildProgram(): Command {
  const program = new Command("zkrisk")
    .description("proven risk parameters for DeFi derivatives: model, circuit, prover and oracle")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of [
    registerDemo,
    registerTrain,
    registerQuantize,
    registerInfer,
    registerBacktest,
    registerCircuitCommands,
    registerProveCommands,
    registerChainCommands,
    registerAudit,
    registerBench,
    registerBenchService,
    registerBenchSetup,
    registerServe,
    registerPublisher,
  ]) {
    register(program);
  }
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Run the CLI on process arguments; sets process.exitCode instead of exiting. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit with code 0; commander has already printed its message.
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (err instanceof ZkriskError) {
      process.stderr.write(`zkrisk: ${err.message}\n`);
      process.exitCode =
        USAGE_CODES.has(err.code) || err.code.startsWith("DATA_") ? EXIT_USAGE : EXIT_FAILURE;
      return;
    }
    const short = (err as { shortMessage?: unknown }).shortMessage;
    if (typeof short === "string") {
      // An ethers error: its short message, not the whole transaction it carries.
      process.stderr.write(`zkrisk: ${short}\n`);
      process.exitCode = EXIT_FAILURE;
      return;
    }
    throw err;
  } finally {
    // snarkjs keeps the curve's worker threads alive; the process cannot exit until they stop.
    await releaseCurves();
  }
}
