/**
 * `zkrisk prove` and `zkrisk verify`: their flags and descriptions; cli/commands/prove.ts and verify.ts do the work.
 */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import { DEFAULT_MODEL } from "../paths";
import { DEFAULT_RPC } from "./chain";
import type { ProveFlags } from "../commands/prove";
import type { VerifyFlags } from "../commands/verify";

const prove = lazyModule<typeof import("../commands/prove")>(join(__dirname, "../commands/prove.ts"));
const verify = lazyModule<typeof import("../commands/verify")>(join(__dirname, "../commands/verify.ts"));

/**
 * Collect a repeatable option as given: `--market-model A=a --market-model B=b`. Not variadic (`<file...>`), which
 * would also take the operand that follows (`verify --market-model A=a proof.json`).
 */
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Register `zkrisk prove` and `zkrisk verify`. */
export function registerProveCommands(program: Command): void {
  program
    .command("prove")
    .description(
      "prove a market's margins from candles its publishers signed: signatures -> window -> features -> model -> " +
        "policy -> Groth16 proof (one market with --window, several with --batch)",
    )
    .option(
      "--model <file>",
      "quantised model file: the one the artifacts were made from, or with committed-weights artifacts any model " +
        "that fits their architecture (e.g. a market's own, `zkrisk market-model`)",
      DEFAULT_MODEL,
    )
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk setup`")
    .option(
      "--window <file...>",
      "signed window file(s), one per publisher: prove a signed update (artifacts of `zkrisk compile`); the files " +
        "must hold identical candles",
    )
    .option(
      "--batch <file...>",
      "signed batch file(s), one per publisher: prove a signed batch of N markets (artifacts of " +
        "`zkrisk compile --batch N`); the files must hold identical candles",
    )
    .option(
      "--market-model <label=file>",
      "--batch with committed-weights artifacts: a market's own model file (its registered model, e.g. its " +
        "calibration from `zkrisk market-model`), as LABEL=FILE, repeatable; the other markets use --model",
      repeat,
    )
    .option(
      "--publishers <file>",
      "the publisher set file of the market (--window) or of every market of the batch (--batch); default: " +
        "the files' keys, all of them needed",
    )
    .option(
      "--market <id>",
      "market id: a label such as BTC-USDT (packed as ASCII) or a number; required with --window; with --batch it " +
        "may list the batch's markets (comma-separated) to check them",
    )
    .option(
      "--domain <n>",
      "domain value binding the proof to one chain and oracle (or give --oracle and --chain-id; default 0: no " +
        "oracle, so no oracle accepts it: for verify only)",
    )
    .option(
      "--oracle <address>",
      "oracle the proof is for (with --chain-id: computes the domain); with adaptive artifacts, the market's " +
        "prior is read from it (--rpc) unless --prior is given, and with an adaptive batch every market's",
    )
    .option("--chain-id <n>", "chain id of --oracle")
    .option(
      "--rpc <url>",
      "JSON-RPC node of --oracle (adaptive artifacts: reads the market's prior)",
      DEFAULT_RPC,
    )
    .option(
      "--prior <num,outcomes,mmS[,lag]>",
      "adaptive artifacts (`zkrisk compile --adaptive`): the market's state (num at calibrationNum * 2^8, " +
        "outcomes), the accepted MM in bps of its oldest pending bar s = t - 12 - lag (0: none) and lag (0 to 11, " +
        "default 0), as the oracle's adaptivePrior reports them",
    )
    .requiredOption("--out <file>", "proof file to write")
    .option(
      "--snarkjs <dir>",
      "also write DIR/proof.json, DIR/public.json and DIR/verification_key.json for `snarkjs groth16 verify` " +
        "(--window only)",
    )
    .option("--json", "print the proof file's parameters as one JSON object")
    // --rpc as given: its default is shown in the help, but left at it, --rpc was not given (and a plain
    // circuit, which reads nothing from a chain, refuses a given --rpc rather than ignoring it)
    .action(async (f: ProveFlags, command: Command) =>
      (await prove()).proveAction({
        ...f,
        rpc: command.getOptionValueSource("rpc") === "default" ? undefined : f.rpc,
      }),
    );

  program
    .command("verify")
    .description(
      "verify a signed update's or a signed batch's proof file offline against an artifact directory's verification key",
    )
    .argument("<proof>", "proof file written by `zkrisk prove --window` or `zkrisk prove --batch`")
    .requiredOption("--artifacts <dir>", "artifact directory (its manifest is checked first)")
    .option(
      "--model <file>",
      "model file the proof was made with (default: the recorded one; committed-weights artifacts take any model " +
        "that fits their architecture)",
    )
    .option(
      "--market-model <label=file>",
      "a batch's proof file: a market's own model file, as LABEL=FILE, repeatable; the other markets use --model",
      repeat,
    )
    .option("--json", "print {ok, problems} as one JSON object")
    .action(async (proof: string, f: Omit<VerifyFlags, "proof">) =>
      (await verify()).verifyAction({ ...f, proof }),
    );
}
