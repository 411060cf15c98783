/** `zkrisk publisher ...`: the data publisher's commands (keygen; sign); cli/register/publisher.ts registers them. */
import { printJson } from "../options";
import { formatPublisherKeygen, runPublisherKeygen, type PublisherKeygenFlags } from "./publisher-keygen";
import { formatPublisherSign, runPublisherSign, type PublisherSignFlags } from "./publisher-sign";

/** `zkrisk publisher keygen`: a new key in an encrypted keystore; prints the public key. */
export async function publisherKeygenAction(f: PublisherKeygenFlags): Promise<void> {
  const result = await runPublisherKeygen(f);
  if (f.json) printJson(result);
  else process.stdout.write(formatPublisherKeygen(result));
}

/** `zkrisk publisher sign`: sign the window ending at one bar and write it as a signed window file. */
export async function publisherSignAction(f: PublisherSignFlags): Promise<void> {
  const result = await runPublisherSign(f);
  if (f.json) printJson(result);
  else process.stdout.write(formatPublisherSign(result));
}
