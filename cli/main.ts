/** The `zkrisk` command line: one subcommand per stage of the data path. */
import { Command, CommanderError } from "commander";
import { ZkriskError } from "../models/errors";
import { registerBacktest } from "./commands/backtest";
import { registerDemo } from "./commands/demo";
import { registerInfer } from "./commands/infer";
import { registerQuantize } from "./commands/quantize";
import { registerTrain } from "./commands/train";

/** Exit codes: 1 for a failure of the work itself, 2 for bad usage or bad input. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command("zkrisk")
    .description("proven risk parameters for DeFi derivatives: model, circuit, prover and oracle")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of [registerDemo, registerTrain, registerQuantize, registerInfer, registerBacktest]) {
    register(program);
  }
  program.commands.forEach((c) => c.exitOverride());
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
        err.code === "USAGE" ||
        err.code.startsWith("DATA_") ||
        err.code === "MODEL_INVALID" ||
        err.code === "OUT_OF_BOUNDS"
          ? EXIT_USAGE
          : EXIT_FAILURE;
      return;
    }
    throw err;
  }
}
