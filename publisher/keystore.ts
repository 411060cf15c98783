/**
 * The publisher's encrypted keystore: one 32-byte EdDSA private key (eddsa.ts), encrypted with a password.
 *
 * File (JSON, version 1; every field required, unknown keys refused):
 *
 *   { "version": 1,
 *     "publicKey": { "Ax": "<decimal>", "Ay": "<decimal>" },   in clear, so a key can be listed unlocked
 *     "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1 },
 *     "cipher": "aes-256-gcm",
 *     "salt": "<32 bytes hex>", "iv": "<12 bytes hex>", "ciphertext": "<32 bytes hex>", "tag": "<16 bytes hex>" }
 *
 * The AES key is scrypt(password, salt) (32 bytes); the public key is the cipher's associated data, so a
 * key file whose clear public key was swapped does not decrypt, and after decryption the private key must
 * give that public key. The private key is never printed or logged; errors name the file and field only.
 * Files are written atomically with mode 0600, and never over an existing file unless asked to.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, type ScryptOptions } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { writeFileAtomic } from "../core/atomic-file";
import { UsageError } from "../core/errors";
import { readJsonFile } from "../core/io";
import { JsonReader } from "../core/validate";
import { comparePublicKeys, PRIVATE_KEY_BYTES, publicKeyOf, type PublicKey } from "./eddsa";
import { PublisherFileError } from "./errors";
import { refuseOtherPublisherFile } from "./file-kind";

/** The environment variable holding the keystore password. */
export const PASSWORD_ENV = "ZKRISK_PUBLISHER_PASSWORD";
/** Version of the keystore format above. */
export const KEYSTORE_VERSION = 1;

/** scrypt cost parameters: N (CPU/memory cost, a power of 2), r (block size), p (parallelism). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** The default cost: N = 2^17, r = 8, p = 1 (128 MiB and about half a second per unlock). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

/** The largest cost a keystore may ask for: N <= 2^20, r <= 32, p <= 16, memory 128·N·r <= 1 GiB. */
const MAX_SCRYPT_MEMORY = 2 ** 30;

/**
 * The smallest N a keystore may declare: 2^10 (about a millisecond per guess at r = 8, already weak; the
 * default is 2^17). Below it a keystore protects its key with next to no work.
 */
export const MIN_SCRYPT_N = 2 ** 10;

/** A parsed, validated keystore file. */
export interface Keystore {
  version: typeof KEYSTORE_VERSION;
  publicKey: PublicKey;
  kdf: { name: "scrypt" } & ScryptParams;
  cipher: "aes-256-gcm";
  salt: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

const KEYS = ["version", "publicKey", "kdf", "cipher", "salt", "iv", "ciphertext", "tag"] as const;
const SIZES = { salt: 32, iv: 12, ciphertext: PRIVATE_KEY_BYTES, tag: 16 } as const;

/** The file holding the keystore password instead (a Docker or Kubernetes secret mounted as a file). */
export const PASSWORD_FILE_ENV = `${PASSWORD_ENV}_FILE`;

/**
 * The keystore password from `ZKRISK_PUBLISHER_PASSWORD`, or from the file `ZKRISK_PUBLISHER_PASSWORD_FILE` names
 * (its text, one trailing line break taken off), so that the password need not sit in the environment.
 * @throws UsageError when neither is set, both are, the password is empty, or the file cannot be read (named,
 *   its contents never shown).
 */
export function publisherPassword(env: NodeJS.ProcessEnv = process.env): string {
  const password = env[PASSWORD_ENV];
  const file = env[PASSWORD_FILE_ENV];
  if (password !== undefined && file !== undefined) {
    throw new UsageError(`${PASSWORD_ENV} and ${PASSWORD_FILE_ENV} are both set: set one`);
  }
  if (file !== undefined) return passwordFromFile(file);
  if (password === undefined) {
    throw new UsageError(
      `${PASSWORD_ENV} is not set: it must hold the publisher keystore's password (or ${PASSWORD_FILE_ENV} ` +
        "name a file holding it)",
    );
  }
  if (password === "") {
    throw new UsageError(`${PASSWORD_ENV} is set but empty: it must hold the publisher keystore's password`);
  }
  return password;
}

function passwordFromFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `${PASSWORD_FILE_ENV}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") {
    throw new UsageError(
      `${PASSWORD_FILE_ENV}: ${file} is empty: it must hold the publisher keystore's password`,
    );
  }
  return password;
}

/** The fewest characters of a new keystore's password (`zkrisk publisher keygen`). */
export const MIN_NEW_PASSWORD_LENGTH = 12;

/**
 * The password of a new keystore, as {@link publisherPassword} reads it: at least {@link MIN_NEW_PASSWORD_LENGTH}
 * characters, as the keystore is all that stands between a copied file and forged market data. Existing keystores
 * are opened with any password ({@link publisherPassword}).
 * @throws UsageError when the variable is unset, empty or too short (its length said, never the value).
 */
export function newPublisherPassword(env: NodeJS.ProcessEnv = process.env): string {
  const password = publisherPassword(env);
  const length = [...password].length;
  if (length < MIN_NEW_PASSWORD_LENGTH) {
    throw new UsageError(
      `${env[PASSWORD_FILE_ENV] === undefined ? PASSWORD_ENV : PASSWORD_FILE_ENV}: a new keystore's password needs at least ${MIN_NEW_PASSWORD_LENGTH} characters, this one ` +
        `has ${length} (value not shown)`,
    );
  }
  return password;
}

/**
 * The bytes scrypt allocates for `kdf`, as OpenSSL counts them against `maxmem`: V, 128·r·(N + 2), and B,
 * 128·r·p.
 */
export function scryptMemory(kdf: ScryptParams): number {
  return 128 * kdf.r * (kdf.N + 2) + 128 * kdf.r * kdf.p;
}

/** scrypt(password, salt), 32 bytes, with `maxmem` twice what the cost needs (Node's default, 32 MiB, is too small). */
function deriveKey(password: string, salt: Buffer, kdf: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 2 * scryptMemory(kdf) };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, options, (err, key) => (err === null ? resolve(key) : reject(err))),
  );
}

/** Associated data of the cipher: binds the clear public key to the ciphertext. */
const associatedData = (key: PublicKey) => Buffer.from(`zkrisk.publisher.keystore.v1:${key.Ax}:${key.Ay}`);

/** Encrypts a private key with `password` (fresh salt and iv), giving the keystore to write. */
export async function encryptKeystore(
  privateKey: Uint8Array,
  password: string,
  kdf: ScryptParams = DEFAULT_SCRYPT,
): Promise<Keystore> {
  const publicKey = await publicKeyOf(privateKey);
  const salt = randomBytes(SIZES.salt);
  const iv = randomBytes(SIZES.iv);
  const cipher = createCipheriv("aes-256-gcm", await deriveKey(password, salt, kdf), iv);
  cipher.setAAD(associatedData(publicKey));
  const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()]);
  return {
    version: KEYSTORE_VERSION,
    publicKey,
    kdf: { name: "scrypt", ...kdf },
    cipher: "aes-256-gcm",
    salt,
    iv,
    ciphertext,
    tag: cipher.getAuthTag(),
  };
}

/** The keystore as its JSON document. */
export function keystoreJson(ks: Keystore): Record<(typeof KEYS)[number], unknown> {
  return {
    version: ks.version,
    publicKey: { Ax: ks.publicKey.Ax.toString(), Ay: ks.publicKey.Ay.toString() },
    kdf: ks.kdf,
    cipher: ks.cipher,
    salt: ks.salt.toString("hex"),
    iv: ks.iv.toString("hex"),
    ciphertext: ks.ciphertext.toString("hex"),
    tag: ks.tag.toString("hex"),
  };
}

/**
 * Writes a keystore to `path` atomically (a temporary file, mode 0600, renamed into place). Without `force`,
 * an existing file is never replaced, even one created meanwhile: the temporary file is hard-linked to
 * `path`, which fails if it exists.
 * @throws UsageError naming `option` and the path when the path is a directory, or the file exists and `force`
 *   is not set.
 */
export function writeKeystore(path: string, ks: Keystore, force: boolean, option = "--out"): void {
  const exists = () => new UsageError(`${option}: ${path} already exists (use --force to replace it)`);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new UsageError(`${option}: ${path} is a directory, not a keystore file`);
  }
  if (!force && existsSync(path)) throw exists();
  try {
    writeFileAtomic(path, JSON.stringify(keystoreJson(ks), null, 2) + "\n", { mode: 0o600, replace: force });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw exists();
    throw err;
  }
}

/**
 * Reads and validates a keystore file (no password needed).
 * @throws PublisherFileError `file: field: reason` for an unreadable or malformed file, an unknown key,
 *   a wrong type, size or version, or a kdf cost out of bounds; PublisherFileKindError for another zkrisk file
 *   (a publisher set, a signed window...).
 */
export function readKeystore(path: string): Keystore {
  const value = readJsonFile(path);
  refuseOtherPublisherFile(path, value, ["a keystore"]);
  const doc = new JsonReader(path, value, "", (file, field, reason) => {
    return new PublisherFileError(file, field, reason);
  });
  doc.onlyKeys(KEYS);
  const version = doc.at("version").integer();
  if (version !== KEYSTORE_VERSION) doc.at("version").error(`unsupported version ${version} (expected 1)`);
  const pk = doc.at("publicKey").onlyKeys(["Ax", "Ay"]);
  const kdfDoc = doc.at("kdf").onlyKeys(["name", "N", "r", "p"]);
  kdfDoc.at("name").literal("scrypt");
  const kdf = {
    N: kdfDoc.at("N").integer(MIN_SCRYPT_N, 2 ** 20),
    r: kdfDoc.at("r").integer(1, 32),
    p: kdfDoc.at("p").integer(1, 16),
  };
  if ((kdf.N & (kdf.N - 1)) !== 0) kdfDoc.at("N").error(`${kdf.N} is not a power of 2`);
  if (128 * kdf.N * kdf.r > MAX_SCRYPT_MEMORY) kdfDoc.error("scrypt would need more than 1 GiB (128·N·r)");
  const bytes = (field: keyof typeof SIZES): Buffer => {
    const r = doc.at(field);
    const s = r.string();
    if (!/^[0-9a-f]*$/.test(s) || s.length !== 2 * SIZES[field]) {
      r.error(`expected ${SIZES[field]} bytes as lowercase hex`);
    }
    return Buffer.from(s, "hex");
  };
  return {
    version: KEYSTORE_VERSION,
    publicKey: { Ax: pk.at("Ax").bigint(), Ay: pk.at("Ay").bigint() },
    kdf: { name: "scrypt", ...kdf },
    cipher: doc.at("cipher").literal("aes-256-gcm"),
    salt: bytes("salt"),
    iv: bytes("iv"),
    ciphertext: bytes("ciphertext"),
    tag: bytes("tag"),
  };
}

/** The largest file {@link isKeystoreFile} reads, bytes: a keystore is about 600. */
const MAX_KEYSTORE_BYTES = 64 * 1024;

/**
 * Whether `path` holds a publisher keystore: an existing regular file of at most 64 KiB that {@link readKeystore}
 * reads. A cheap check for the commands' outputs (cli/options.ts `refuseOverwrites`), which must never replace a
 * private key: a missing, larger or unreadable file, or any other document, is not one.
 */
export function isKeystoreFile(path: string): boolean {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_KEYSTORE_BYTES) return false;
    readKeystore(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The public key of a keystore, or of a public key file: `{ "publicKey": { "Ax": "<decimal>", "Ay": "<decimal>" } }`,
 * with or without the `"keystore"` path beside it, which is exactly what `zkrisk publisher keygen --json` prints. A
 * publisher hands this to whoever writes a market's publisher set file, not its keystore: a keystore is the private
 * key, encrypted, and a copy of it lets anyone guess the password offline. No password is needed for either.
 * @throws PublisherFileError `file: field: reason`: for a keystore (a document with `version`, `kdf` or
 *   `ciphertext`) as `readKeystore`; for a public key file, a key other than `publicKey` and `keystore`, or a
 *   coordinate that is not a decimal integer; PublisherFileKindError for another zkrisk file (a publisher set...).
 */
export function readPublicKeyFile(path: string): PublicKey {
  const value = readJsonFile(path);
  refuseOtherPublisherFile(path, value, ["a keystore", "a public key file"]);
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  if (isObject && ["version", "kdf", "ciphertext"].some((key) => key in value))
    return readKeystore(path).publicKey;
  const doc = new JsonReader(
    path,
    value,
    "",
    (file, field, reason) => new PublisherFileError(file, field, reason),
  );
  doc.onlyKeys(["publicKey", "keystore"]);
  const pk = doc.at("publicKey").onlyKeys(["Ax", "Ay"]);
  return { Ax: pk.at("Ax").bigint(), Ay: pk.at("Ay").bigint() };
}

/** An unlocked keystore: the private key (keep it in memory only) and its public key. */
export interface PublisherKey {
  privateKey: Uint8Array;
  publicKey: PublicKey;
}

/**
 * Reads a keystore file and decrypts it with `password`.
 * @throws PublisherFileError (see `readKeystore`), or `file: (root): cannot decrypt ...` for a wrong
 *   password or an altered file, or when the key does not give the file's public key.
 * @param onDerive called once the file has been read and checked, before the (slow, seconds) key derivation.
 */
export async function unlockKeystore(
  path: string,
  password: string,
  onDerive?: () => void,
): Promise<PublisherKey> {
  const ks = readKeystore(path);
  onDerive?.(); // the file is well formed: the slow key derivation starts
  let key: Buffer;
  try {
    key = await deriveKey(password, ks.salt, ks.kdf);
  } catch (err) {
    // readKeystore bounds the cost, so this is the platform refusing it (memory); say which field asks for it
    const { N, r, p } = ks.kdf;
    throw new PublisherFileError(
      path,
      "kdf.N",
      `scrypt cannot run with N = ${N}, r = ${r}, p = ${p}: ${(err as Error).message}`,
    );
  }
  const decipher = createDecipheriv("aes-256-gcm", key, ks.iv);
  decipher.setAAD(associatedData(ks.publicKey));
  decipher.setAuthTag(ks.tag);
  let privateKey: Uint8Array;
  try {
    privateKey = new Uint8Array(Buffer.concat([decipher.update(ks.ciphertext), decipher.final()]));
  } catch {
    throw new PublisherFileError(path, "(root)", "cannot decrypt: wrong password, or the file was altered");
  }
  if (comparePublicKeys(await publicKeyOf(privateKey), ks.publicKey) !== 0) {
    throw new PublisherFileError(path, "publicKey", "does not match the encrypted private key");
  }
  return { privateKey, publicKey: ks.publicKey };
}
