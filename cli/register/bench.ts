/** `zkrisk bench` (npm run bench): its flags, description and defaults; cli/commands/bench.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import type { WeightMode } from "../../circuits/generate-circuit";
import { lazyModule } from "../lazy";
import { DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import type { BenchFlags } from "../commands/bench";

const commands = lazyModule<typeof import("../commands/bench")>(join(__dirname, "../commands/bench.ts"));

/** Default proofs in one loaded prover (also witness and verification runs). */
export const DEFAULT_WARM_RUNS = 5;
/** Default fresh prover processes. */
export const DEFAULT_COLD_RUNS = 3;
/** The weight modes measured by default. */
export const ALL_MODES: readonly WeightMode[] = ["constant", "committed"];

/** Register `zkrisk bench`. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "benchmark the circuit in each weight mode: constraints, witness, proving (cold process and warm " +
        "prover), verification, proof size, and the gas of submitUpdate, submitSignedBatch and submitSignedUpdate; " +
        "the signed-update circuit's constraints, witness and proving for each quorum and weight mode; " +
        "artifacts cached as for the demo",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV (the latest bars are proven)", DEFAULT_DATA)
    .option("--market <id>", "market label", "BTC-USDT")
    .option("--modes <list>", "weight modes, comma-separated", ALL_MODES.join(","))
    .option(
      "--runs <n>",
      `runs per timing (default ${DEFAULT_WARM_RUNS} warm proofs, witnesses and verifications; ` +
        `${DEFAULT_COLD_RUNS} cold processes)`,
    )
    .option("--cold-runs <n>", "fresh prover processes (default: --runs, else 3)")
    .option("--quick", "one run of each kind (for tests)")
    .option("--json", "print the report as one JSON object")
    .option("--out <file>", "also write the JSON report to this file")
    .option(
      "--batch <sizes>",
      "signed batch sizes N (constraints, proving time, submitSignedBatch gas per market), or none",
      "1,4,8",
    )
    .option(
      "--signed-circuits <list>",
      "signed-update circuits to time, k<K>-<mode> comma-separated, or none",
      "k1-constant,k3-constant,k1-committed,k3-committed",
    )
    .option(
      "--no-signed",
      "skip the signed-update circuit: its proving times and the submitSignedUpdate gas (real circuit, k = 1)",
    )
    .action(async (f: BenchFlags) => {
      await (await commands()).runBenchCommand(f);
    });
}
