/**
 * `zkrisk publisher keygen --out KEYFILE [--force] [--json]`: a new publisher key in an encrypted keystore
 * (publisher/keystore.ts), password from ZKRISK_PUBLISHER_PASSWORD; prints the public key, never the
 * private key.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../../core/errors";
import {
  encryptKeystore,
  generatePrivateKey,
  newPublisherPassword,
  writeKeystore,
  type PublicKey,
} from "../../publisher";
import { outFileOption } from "../options";
import { progressLine } from "../progress";

/** The options of `zkrisk publisher keygen`, as commander gives them. */
export interface PublisherKeygenFlags {
  /** Keystore file to write. */
  out: string;
  /** Replace an existing file. */
  force?: boolean;
  json?: boolean;
}

/** What `keygen` made: the keystore's absolute path and the public key. */
export interface PublisherKeygenResult {
  keystore: string;
  publicKey: PublicKey;
}

/**
 * Makes a key and writes its keystore.
 * @throws UsageError when ZKRISK_PUBLISHER_PASSWORD is unset or empty, `--out` is a directory or lies under a
 *   file, or `--out` exists without `--force`: all checked before the (slow) key derivation.
 */
export async function runPublisherKeygen(
  f: PublisherKeygenFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PublisherKeygenResult> {
  const password = newPublisherPassword(env);
  const keystore = resolve(outFileOption("--out", f.out));
  if (!f.force && existsSync(keystore)) {
    throw new UsageError(`--out: ${keystore} already exists (use --force to replace it)`);
  }
  progressLine("deriving the keystore's encryption key (scrypt, a few seconds)", f.json);
  const ks = await encryptKeystore(generatePrivateKey(), password);
  writeKeystore(keystore, ks, Boolean(f.force));
  return { keystore, publicKey: ks.publicKey };
}

/** The text report: where the keystore is and the public key. */
export function formatPublisherKeygen(r: PublisherKeygenResult): string {
  return `publisher keystore written to ${r.keystore}\n  public key Ax ${r.publicKey.Ax}\n             Ay ${r.publicKey.Ay}\n`;
}
