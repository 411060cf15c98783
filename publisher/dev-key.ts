/**
 * The INSECURE development publisher key of `zkrisk demo`: made once (random), cached, and labelled INSECURE
 * like the development ptau, so the demo can sign the shipped candles without a real publisher.
 *
 * Two files in the cache directory:
 *   dev-publisher.INSECURE.keystore.json   an ordinary keystore (keystore.ts), encrypted with the fixed
 *                                          password DEV_PUBLISHER_PASSWORD and a cheap scrypt cost
 *   dev-publisher.INSECURE.json            its label: { "insecure": true, "warning", "password", "keystore",
 *                                          "publicKey" }
 * Anyone who can read the cache can sign as this key: it must never be in a real market's publisher set. The
 * demo refuses to register it on a chain other than the local 31337 unless told `--allow-insecure-setup`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJsonFile, writeJsonAtomic } from "../core/io";
import { JsonReader } from "../core/validate";
import { comparePublicKeys, generatePrivateKey, type PublicKey } from "./eddsa";
import { PublisherFileError } from "./errors";
import { encryptKeystore, unlockKeystore, writeKeystore, type PublisherKey } from "./keystore";

/** The development key's keystore password: fixed and public, so it protects nothing (INSECURE). */
export const DEV_PUBLISHER_PASSWORD = "zkrisk INSECURE development publisher key: do not use";
/** File name of the development key's keystore in the cache directory. */
export const DEV_PUBLISHER_KEYSTORE = "dev-publisher.INSECURE.keystore.json";
/** File name of the development key's label in the cache directory. */
export const DEV_PUBLISHER_LABEL = "dev-publisher.INSECURE.json";
/** scrypt cost of the development keystore: cheap (N = 2^12), since its password is public anyway. */
const DEV_SCRYPT = { N: 2 ** 12, r: 8, p: 1 };
const WARNING =
  "INSECURE development publisher key of `zkrisk demo`: its password is public and anyone who can read this " +
  "directory can sign as it. Never register it in a real market's publisher set.";

/** The unlocked development key and where it lives. */
export interface DevPublisherKey {
  key: PublisherKey;
  /** Absolute path of the keystore file. */
  keystore: string;
  /** Absolute path of the label file. */
  label: string;
  /** Made by this call (false: read from the cache). */
  created: boolean;
}

function readLabel(path: string): PublicKey {
  const doc = new JsonReader(path, readJsonFile(path), "", (file, field, reason) => {
    return new PublisherFileError(file, field, reason);
  });
  doc.onlyKeys(["insecure", "warning", "password", "keystore", "publicKey"]);
  if (doc.at("insecure").boolean() !== true) doc.at("insecure").error("must be true");
  const pk = doc.at("publicKey").onlyKeys(["Ax", "Ay"]);
  return { Ax: pk.at("Ax").bigint(), Ay: pk.at("Ay").bigint() };
}

/**
 * The development publisher key cached in `dir`: unlocked when its label and keystore are there and agree,
 * made (a fresh random key) and written otherwise.
 * @param warn receives the INSECURE warning when a key is made
 * @param o.labelWaitMs how long a keystore without its label is waited for (another process making the key) before
 *   it is replaced, ms (default 10 s)
 * @throws PublisherFileError when the cached files are malformed or disagree (delete them to start over)
 */
export async function devPublisherKey(
  dir: string,
  warn: (msg: string) => void,
  o: { labelWaitMs?: number } = {},
): Promise<DevPublisherKey> {
  const keystore = join(dir, DEV_PUBLISHER_KEYSTORE);
  const label = join(dir, DEV_PUBLISHER_LABEL);
  if (existsSync(label) && existsSync(keystore)) return cachedKey(keystore, label);
  const privateKey = generatePrivateKey();
  const ks = await encryptKeystore(privateKey, DEV_PUBLISHER_PASSWORD, DEV_SCRYPT);
  // The keystore is written only where none is (a link, not a rename), and its label after it: of two processes
  // making the key at once (two demos, the bench beside the tests), one writes both files and the other reads
  // them, so a keystore never ends up labelled with the other's key.
  try {
    writeKeystore(keystore, ks, false, "dev publisher key");
  } catch (err) {
    if (!existsSync(keystore)) throw err;
    if (await appears(label, o.labelWaitMs ?? LABEL_WAIT_MS)) return cachedKey(keystore, label);
    // A keystore with no label for that long was left by a process stopped between the two writes.
    writeKeystore(keystore, ks, true, "dev publisher key");
  }
  warn(`made an INSECURE development publisher key at ${keystore} (public password; for the demo only)`);
  writeJsonAtomic(label, {
    insecure: true,
    warning: WARNING,
    password: DEV_PUBLISHER_PASSWORD,
    keystore: DEV_PUBLISHER_KEYSTORE,
    publicKey: { Ax: ks.publicKey.Ax.toString(), Ay: ks.publicKey.Ay.toString() },
  });
  return { key: { privateKey, publicKey: ks.publicKey }, keystore, label, created: true };
}

/** How long a keystore without its label is taken as another process's key in the making, ms. */
const LABEL_WAIT_MS = 10_000;

/** The cached key, unlocked, checked against its label. */
async function cachedKey(keystore: string, label: string): Promise<DevPublisherKey> {
  const labelled = readLabel(label);
  const key = await unlockKeystore(keystore, DEV_PUBLISHER_PASSWORD);
  if (comparePublicKeys(key.publicKey, labelled) !== 0) {
    throw new PublisherFileError(label, "publicKey", `is not the key of ${keystore}`);
  }
  return { key, keystore, label, created: false };
}

/** Whether `path` exists within `ms` (looked for every 50 ms). */
async function appears(path: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
