/** `zkrisk publisher ...`: the data publisher's commands (keygen; sign). */
import type { Command } from "commander";
import { printJson } from "../options";
import { formatPublisherKeygen, runPublisherKeygen, type PublisherKeygenFlags } from "./publisher-keygen";

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
    .action(async (f: PublisherKeygenFlags) => {
      const result = await runPublisherKeygen(f);
      if (f.json) printJson(result);
      else process.stdout.write(formatPublisherKeygen(result));
    });
}
