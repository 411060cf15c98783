/**
 * `zkrisk publisher keygen`, `zkrisk publisher sign` and `zkrisk publisher serve`: their flags;
 * cli/commands/publisher.ts does the work.
 */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import type { PublisherKeygenFlags } from "../commands/publisher-keygen";
import type { PublisherServeFlags } from "../commands/publisher-serve";
import type { PublisherSetFlags } from "../commands/publisher-set";
import type { PublisherSignFlags } from "../commands/publisher-sign";

const commands = lazyModule<typeof import("../commands/publisher")>(
  join(__dirname, "../commands/publisher.ts"),
);

/** Register the `zkrisk publisher` command group. */
export function registerPublisher(program: Command): void {
  const publisher = program
    .command("publisher")
    .description("a data publisher: keys and signed candle windows (EdDSA-Poseidon on BabyJubJub)");
  publisher
    .command("keygen")
    .description(
      "make a publisher key in an encrypted keystore (password from ZKRISK_PUBLISHER_PASSWORD) and print its " +
        "public key",
    )
    .requiredOption("--out <file>", "keystore file to write")
    .option("--force", "replace an existing keystore file")
    .option("--json", "print the result as one JSON object")
    .action(async (f: PublisherKeygenFlags) => (await commands()).publisherKeygenAction(f));
  publisher
    .command("sign")
    .description(
      "sign the window of integer candles ending at one bar (password from ZKRISK_PUBLISHER_PASSWORD) and " +
        "write it as a signed window file; with --batch, the windows of several markets at that bar under one " +
        "signature, as a signed batch file",
    )
    .requiredOption("--key <file>", "publisher keystore made by `zkrisk publisher keygen`")
    .option(
      "--market <id>",
      "market label (printable ASCII, at most 31 bytes) or decimal id (required but for --batch)",
    )
    .option("--data <file>", "candles CSV (timestamp,open,high,low,close,volume) (required but for --batch)")
    .option(
      "--batch <market=file>",
      "one market of a signed batch and its candles CSV, MARKET=CANDLES.csv (repeatable, 1 to 32 markets)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .requiredOption("--at <timestamp>", "open time (UTC) of the window's last bar, e.g. '2024-06-30 22:00'")
    .requiredOption("--out <file>", "signed window (or, with --batch, signed batch) JSON file to write")
    .option("--bars <n>", "bars in the window (default: the bars one feature vector reads, 85)")
    .option("--json", "print the result as one JSON object (bigints as strings)")
    .action(async (f: PublisherSignFlags) => (await commands()).publisherSignAction(f));
  publisher
    .command("set")
    .description(
      "write a market's publisher set file from the publishers' keystores or public key files (public keys only) " +
        "and print its commitment",
    )
    .requiredOption(
      "--keystore <file...>",
      "publisher keystore(s) made by `zkrisk publisher keygen`, or public key file(s) (`publisher keygen --json`)",
    )
    .requiredOption(
      "--quorum <k>",
      "signatures an update needs, 1 to the number of keys; a majority of them unless --allow-minority-quorum",
    )
    .requiredOption("--out <file>", "publisher set file to write (JSON)")
    .option(
      "--allow-minority-quorum",
      "accept a quorum of half the keys or fewer: two disjoint quorums could then sign different windows of one " +
        "bar, and the submitter would choose between them",
    )
    .option("--json", "print the result as one JSON object (bigints as strings)")
    .action(async (f: PublisherSetFlags) => (await commands()).publisherSetAction(f));
  publisher
    .command("serve")
    .description(
      "run the publisher: sign each new window of every configured market, and each configured batch of " +
        "markets, once (password from ZKRISK_PUBLISHER_PASSWORD), archive it, and serve GET " +
        "/v1/windows/:market?at=, /v1/batches/:batch?at=, /health and /metrics until SIGINT or SIGTERM (see " +
        "docs/publisher-service.md)",
    )
    .requiredOption(
      "--config <file>",
      "publisher config (JSON): key, archive, listen, pollSeconds, markets, batches",
    )
    .option(
      "--check",
      "validate the config, the keystore, the sources and the archive as a start would, print the config (and the " +
        "public key) without secrets, and exit",
    )
    .option(
      "--log-level <level>",
      "log level of the JSON lines on stderr: fatal, error, warn, info, debug, trace",
      "info",
    )
    .option(
      "--json",
      "print the result (the checked config, or the run's summary at exit) as one JSON object",
    )
    .action(async (f: PublisherServeFlags) => (await commands()).publisherServeAction(f));
}
