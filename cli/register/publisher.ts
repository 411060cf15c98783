/** `zkrisk publisher keygen` and `zkrisk publisher sign`: their flags; cli/commands/publisher.ts does the work. */
import type { Command } from "commander";
import { join } from "node:path";
import { lazyModule } from "../lazy";
import type { PublisherKeygenFlags } from "../commands/publisher-keygen";
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
        "write it as a signed window file",
    )
    .requiredOption("--key <file>", "publisher keystore made by `zkrisk publisher keygen`")
    .requiredOption("--market <id>", "market label (printable ASCII, at most 31 bytes) or decimal id")
    .requiredOption("--data <file>", "candles CSV (timestamp,open,high,low,close,volume)")
    .requiredOption("--at <timestamp>", "open time (UTC) of the window's last bar, e.g. '2024-06-30 22:00'")
    .requiredOption("--out <file>", "signed window file to write (JSON)")
    .option("--bars <n>", "bars in the window (default: the bars one feature vector reads, 85)")
    .option("--json", "print the result as one JSON object (bigints as strings)")
    .action(async (f: PublisherSignFlags) => (await commands()).publisherSignAction(f));
}
