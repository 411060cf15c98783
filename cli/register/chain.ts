/**
 * `zkrisk deploy`, `zkrisk register-market`, `zkrisk set-publisher-set`, `zkrisk set-adaptive`,
 * `zkrisk set-batch-verifier`, `zkrisk submit`: their flags and descriptions; cli/commands/deploy.ts,
 * register-market.ts, set-publisher-set.ts, set-adaptive.ts, set-batch-verifier.ts and submit.ts do the work.
 */
import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_LIMITS } from "../../onchain/limits";
import { lazyModule } from "../lazy";
import type { DeployFlags } from "../commands/deploy";
import type { RegisterMarketFlags } from "../commands/register-market";
import type { SetAdaptiveFlags } from "../commands/set-adaptive";
import type { SetPublisherSetFlags } from "../commands/set-publisher-set";
import type { SetBatchVerifierFlags } from "../commands/set-batch-verifier";
import type { SubmitFlags } from "../commands/submit";

const deploy = lazyModule<typeof import("../commands/deploy")>(join(__dirname, "../commands/deploy.ts"));
const registerMarket = lazyModule<typeof import("../commands/register-market")>(
  join(__dirname, "../commands/register-market.ts"),
);
const setPublisherSet = lazyModule<typeof import("../commands/set-publisher-set")>(
  join(__dirname, "../commands/set-publisher-set.ts"),
);
const setAdaptive = lazyModule<typeof import("../commands/set-adaptive")>(
  join(__dirname, "../commands/set-adaptive.ts"),
);
const setBatchVerifier = lazyModule<typeof import("../commands/set-batch-verifier")>(
  join(__dirname, "../commands/set-batch-verifier.ts"),
);
const submit = lazyModule<typeof import("../commands/submit")>(join(__dirname, "../commands/submit.ts"));

/** The JSON-RPC node of the chain options when `--rpc` is not given. */
export const DEFAULT_RPC = "http://127.0.0.1:8545";
const KEY_HELP = "signing key: 0x-hex or env:NAME; never printed";

/** Collect a repeatable option as given. */
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Register `zkrisk deploy`, `zkrisk register-market`, `zkrisk set-publisher-set`, `zkrisk set-adaptive`,
 * `zkrisk set-batch-verifier` and `zkrisk submit`.
 */
export function registerChainCommands(program: Command): void {
  program
    .command("deploy")
    .description("deploy an artifact directory's generated verifier and a RiskOracle")
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk setup`")
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option(
      "--governor <address>",
      "governance account of the oracle, not the zero address (default: the deployer)",
    )
    .option(
      "--allow-insecure-setup",
      "deploy artifacts of an INSECURE development setup on a chain other than the local 31337 (test networks only)",
    )
    .option("--out <file>", "write the addresses to this JSON file")
    .option("--json", "print the result as one JSON object")
    .action(async (f: DeployFlags) => (await deploy()).deployAction(f));

  program
    .command("register-market")
    .description(
      "register a market on the oracle (governance): its publisher set, signed-update verifier, model, guards, guardian",
    )
    .requiredOption("--oracle <address>", "RiskOracle address")
    .requiredOption("--market <id>", "market label (e.g. BTC-USDT) or number")
    .requiredOption(
      "--verifier <address>",
      "verifier of the signed-update circuit (`zkrisk deploy --artifacts` of a `zkrisk compile` directory)",
    )
    .requiredOption(
      "--publishers <file>",
      "publisher set file (`zkrisk publisher set`): the keys and quorum whose signed candles the market's updates use",
    )
    .option("--model <file>", "quantised model whose commitment the market accepts")
    .option("--commitment <n>", "model commitment (instead of --model)")
    .option("--guardian <address>", "account that may pause the market (default: the sender)")
    .option(
      "--adaptive",
      "then make the market adaptive (setAdaptiveCalibration) from --model's calibration: its updates need " +
        "artifacts of `zkrisk compile --adaptive`",
    )
    .option("--min-mm <bps>", "lowest maintenance margin", String(DEFAULT_LIMITS.minMaintenanceMarginBps))
    .option("--max-mm <bps>", "highest maintenance margin", String(DEFAULT_LIMITS.maxMaintenanceMarginBps))
    .option("--min-im <bps>", "lowest initial margin", String(DEFAULT_LIMITS.minInitialMarginBps))
    .option(
      "--max-im <bps>",
      "highest initial margin (at least --min-mm: an update needs IM >= MM)",
      String(DEFAULT_LIMITS.maxInitialMarginBps),
    )
    .option("--max-increase <bps>", "largest rise per update", String(DEFAULT_LIMITS.maxIncreaseBps))
    .option("--max-decrease <bps>", "largest fall per update", String(DEFAULT_LIMITS.maxDecreaseBps))
    .option(
      "--min-interval <s>",
      "shortest time between updates, unless the data is that much newer",
      String(DEFAULT_LIMITS.minUpdateInterval),
    )
    .option("--max-age <s>", "oldest data an update may carry", String(DEFAULT_LIMITS.maxDataAge))
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(async (f: RegisterMarketFlags) => (await registerMarket()).registerMarketAction(f));

  program
    .command("set-publisher-set")
    .description(
      "rotate a registered market's publisher set (a new or revoked key, another quorum), model or signed-update " +
        "verifier (governance's setPublisherSet); what is not given stays as registered, and proofs for the " +
        "previous statement key are refused from then on",
    )
    .requiredOption("--oracle <address>", "RiskOracle address")
    .requiredOption("--market <id>", "market label (e.g. BTC-USDT) or number")
    .option("--publishers <file>", "the new publisher set file (`zkrisk publisher set`): its keys and quorum")
    .option(
      "--model <file>",
      "the market's new model file (`zkrisk market-model`), whose commitment it accepts; an adaptive market's " +
        "only between `zkrisk set-adaptive --off` and `set-adaptive --model` with the new file (its state is the " +
        "old model's)",
    )
    .option("--commitment <n>", "the new model commitment (instead of --model)")
    .option(
      "--verifier <address>",
      "the new signed-update verifier (deployed), of the market's layout: plain, or adaptive for an adaptive market",
    )
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(async (f: SetPublisherSetFlags) => (await setPublisherSet()).setPublisherSetAction(f));

  program
    .command("set-adaptive")
    .description(
      "make a registered market adaptive from its model file's calibration, or plain again (governance's " +
        "setAdaptiveCalibration)",
    )
    .requiredOption("--oracle <address>", "RiskOracle address")
    .requiredOption("--market <id>", "market label (e.g. BTC-USDT) or number")
    .option(
      "--model <file>",
      "the market's model file (its commitment must be the market's): num = its calibrationNum * 2^8, outcomes 0; " +
        "its updates then need artifacts of `zkrisk compile --adaptive`",
    )
    .option(
      "--off",
      "make the market plain again (num 0): its updates then need plain artifacts, and the oracle refuses them " +
        "(OracleAdaptiveLayoutMismatch) until the market's verifier is rotated to theirs",
    )
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(async (f: SetAdaptiveFlags) => (await setAdaptive()).setAdaptiveAction(f));

  program
    .command("set-batch-verifier")
    .description(
      "approve a signed batch circuit's verifier for batches holding markets of the given models (governance's " +
        "setBatchVerifier, or setAdaptiveBatchVerifier for an adaptive batch circuit), deploying it first",
    )
    .requiredOption("--oracle <address>", "RiskOracle address")
    .requiredOption(
      "--artifacts <dir>",
      "artifact directory of a signed batch circuit (`zkrisk compile --batch N [--adaptive]`, then `zkrisk setup`)",
    )
    .option("--model <file>", "a model whose markets the batches may hold (repeatable)", repeat)
    .option("--commitment <n>", "a model commitment instead of a file (repeatable)", repeat)
    .option("--verifier <address>", "the artifacts' verifier, already deployed (default: deploy it)")
    .option(
      "--allow-insecure-setup",
      "deploy artifacts of an INSECURE development setup on a chain other than the local 31337 (test networks only)",
    )
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(async (f: SetBatchVerifierFlags) => (await setBatchVerifier()).setBatchVerifierAction(f));

  program
    .command("submit")
    .description(
      "submit a signed update's or a signed batch's proof file to the oracle; a refusal names the oracle's reason",
    )
    .argument("<proof>", "proof file written by `zkrisk prove --window` or `zkrisk prove --batch`")
    .requiredOption("--oracle <address>", "RiskOracle address")
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(async (proof: string, f: Omit<SubmitFlags, "proof">) =>
      (await submit()).submitAction({ ...f, proof }),
    );
}
