/** `zkrisk bench` (npm run bench): its flags, description and defaults; cli/commands/bench.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import type { WeightMode } from "../../circuits/generate-circuit";
import { lazyModule } from "../lazy";
import { DEFAULT_CALIBRATIONS, DEFAULT_DATA, DEFAULT_MODEL } from "../paths";
import type { BenchFlags } from "../commands/bench";

const commands = lazyModule<typeof import("../commands/bench")>(join(__dirname, "../commands/bench.ts"));

/** Default proofs in one loaded prover (also witness runs). */
export const DEFAULT_WARM_RUNS = 5;
/** Default fresh prover processes. */
export const DEFAULT_COLD_RUNS = 3;
/** The weight modes a signed-update circuit can have. */
export const ALL_MODES: readonly WeightMode[] = ["constant", "committed"];
/** The signed-update circuits timed by default: quorum 1 and 3 in both weight modes. */
export const DEFAULT_SIGNED_CIRCUITS = "k1-constant,k3-constant,k1-committed,k3-committed";
/** The signed batch sizes measured by default. */
export const DEFAULT_BATCH_SIZES = "1,4,8";

/** Register `zkrisk bench`. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "benchmark the signed path: the signed-update circuit's constraints, witness and proving (cold process " +
        "and warm prover) for each quorum and weight mode, the gas of submitSignedUpdate (verifier call, " +
        "pairing and rest), signed batches' constraints, proving and submitSignedBatch gas, and the CPU of " +
        "checking signed data; artifacts cached as for the demo",
    )
    .option("--model <file>", "quantised model file", DEFAULT_MODEL)
    .option("--data <file>", "candles CSV (the windows ending at its latest bars are proven)", DEFAULT_DATA)
    .option("--market <id>", "market label of the timed proofs", "BTC-USDT")
    .option(
      "--runs <n>",
      `runs per timing (default ${DEFAULT_WARM_RUNS} warm proofs and witnesses; ${DEFAULT_COLD_RUNS} cold processes)`,
    )
    .option("--cold-runs <n>", `fresh prover processes (default: --runs, else ${DEFAULT_COLD_RUNS})`)
    .option("--quick", "one run of each kind (for tests)")
    .option("--json", "print the report as one JSON object")
    .option("--out <file>", "also write the JSON report to this file")
    .option(
      "--signed-circuits <list>",
      "signed-update circuits to time, k<K>-<mode> comma-separated, or none; k<K>-adaptive (not in the default) " +
        "is the circuit with the adaptive rule (constant weights, as compile --adaptive --weights constant), and " +
        "with it the update gas covers an adaptive market too",
      DEFAULT_SIGNED_CIRCUITS,
    )
    .option(
      "--calibrations <file>",
      "calibrations file whose adaptive block the k<K>-adaptive circuits have (only with such a circuit; " +
        `default ${DEFAULT_CALIBRATIONS})`,
    )
    .option("--no-update-gas", "skip the submitSignedUpdate gas (real circuit, k = 1, constant weights)")
    .option(
      "--batch <sizes>",
      "signed batch sizes N (constraints, proving time, submitSignedBatch gas per market), or none",
      DEFAULT_BATCH_SIZES,
    )
    .option(
      "--no-checks",
      "skip the CPU of checking signed data (Poseidon, window digest, signature, signed window file read)",
    )
    .action(async (f: BenchFlags) => (await commands()).benchAction(f));
}
