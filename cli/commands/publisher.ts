/**
 * `zkrisk publisher ...`: the data publisher's commands (keygen; sign; set; serve); cli/register/publisher.ts registers
 * them. Each is loaded when it runs, so `publisher sign` does not load fastify.
 */
import { join } from "node:path";
import { lazyModule } from "../lazy";
import { output } from "../options";
import { formatPublisherKeygen, runPublisherKeygen, type PublisherKeygenFlags } from "./publisher-keygen";
import type { PublisherServeFlags } from "./publisher-serve";
import { formatPublisherSet, runPublisherSet, type PublisherSetFlags } from "./publisher-set";
import { formatPublisherSign, runPublisherSign, type PublisherSignFlags } from "./publisher-sign";
import { formatPublisherSignBatch, runPublisherSignBatch } from "./publisher-sign-batch";
import { UsageError } from "../../core/errors";

const serveCommand = lazyModule<typeof import("./publisher-serve")>(join(__dirname, "publisher-serve.ts"));

/** `zkrisk publisher keygen`: a new key in an encrypted keystore; prints the public key. */
export async function publisherKeygenAction(f: PublisherKeygenFlags): Promise<void> {
  output(await runPublisherKeygen(f), f.json, formatPublisherKeygen);
}

/**
 * `zkrisk publisher sign`: sign the window ending at one bar and write it as a signed window file; with
 * --batch, the windows of several markets as one signed batch file.
 */
export async function publisherSignAction(f: PublisherSignFlags & { batch?: string[] }): Promise<void> {
  if (f.batch !== undefined) {
    if (f.market !== undefined || f.data !== undefined) {
      throw new UsageError("--batch MARKET=CANDLES.csv replaces --market and --data");
    }
    output(await runPublisherSignBatch({ ...f, batch: f.batch }), f.json, formatPublisherSignBatch);
    return;
  }
  output(await runPublisherSign(f), f.json, formatPublisherSign);
}

/** `zkrisk publisher set`: a market's publisher set file from keystores, and its commitment. */
export async function publisherSetAction(f: PublisherSetFlags): Promise<void> {
  output(await runPublisherSet(f), f.json, formatPublisherSet);
}

/** `zkrisk publisher serve`: sign each new window of every configured market once, and serve them over HTTP. */
export async function publisherServeAction(f: PublisherServeFlags): Promise<void> {
  const { runPublisherServe, formatPublisherServe } = await serveCommand();
  const result = await runPublisherServe(f);
  output(result, f.json, formatPublisherServe);
  // Everything is closed; a handle a library left open must not keep a stopped publisher alive.
  if (!result.checked) setTimeout(() => process.exit(), 2_000).unref();
}
