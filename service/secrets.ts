/**
 * The service's secrets, read on demand and never from the config file: the submitting key (an environment
 * variable, or an encrypted keystore and the variable holding its password) and the API tokens (variables, or
 * their sha256 in the config). Messages name the variable or file, never a value. What the config file itself
 * may hold that must not be shown (URLs with credentials, token hashes) is redaction.ts's concern.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isHexString, Wallet } from "ethers";
import { ConfigError } from "../core/errors";
import type { ChainConfig, ServiceConfig } from "./config";

/** Shortest accepted API token, characters. */
export const MIN_API_TOKEN_LENGTH = 16;

/** The config file each key or token source was read from (see {@link recordConfigFile}). */
const configFiles = new WeakMap<object, string>();

/**
 * Record that `source` (a config's `chain.key`, or one of its `auth.tokens`) was read from the config file `file`,
 * so that the errors of reading the secret later (at start, at `serve --check`) name the file as well as the field:
 * `s.json: chain.key.env: environment variable NAME is empty or unset`. Returns `source`. A source built in memory
 * has no file, and its errors name the field only.
 */
export function recordConfigFile<T extends object>(source: T, file: string): T {
  configFiles.set(source, file);
  return source;
}

/** `field` of the config `source` was read from, as an error message starts: `file: field`, or `field`. */
function where(source: object, field: string): string {
  const file = configFiles.get(source);
  return file === undefined ? field : `${file}: ${field}`;
}

/**
 * Reads the submitting key. `env`: the variable must hold a 0x-prefixed 32-byte hex key. `keystore`: the
 * file is decrypted with the password in `passwordEnv`. Messages name the variable or file, never a value.
 * @returns the 0x-prefixed private key.
 * @throws ConfigError when a variable is unset, the key malformed, or the keystore cannot be decrypted, naming the
 *   config file (when recorded: {@link recordConfigFile}), the field and the variable or keystore file.
 */
export async function loadSignerKey(chain: Pick<ChainConfig, "key">): Promise<string> {
  const key = chain.key;
  if (key.kind === "env") {
    const field = where(key, "chain.key.env");
    const value = readEnv(key.name, field);
    if (!isHexString(value, 32)) {
      throw new ConfigError(
        `${field}: ${key.name} is not a 0x-prefixed 32-byte hex private key (value not shown)`,
      );
    }
    return value;
  }
  const password = readEnv(key.passwordEnv, where(key, "chain.key.passwordEnv"));
  const keystore = `${where(key, "chain.key.keystore")}: ${key.path}`;
  let json: string;
  try {
    json = readFileSync(key.path, "utf8");
  } catch (err) {
    throw new ConfigError(`${keystore}: cannot read keystore: ${(err as Error).message}`);
  }
  try {
    return (await Wallet.fromEncryptedJson(json, password)).privateKey;
  } catch (err) {
    const reason = (err as Error).message.split(" (")[0];
    throw new ConfigError(
      `${keystore}: cannot decrypt keystore with the password in ${key.passwordEnv}: ${reason}`,
    );
  }
}

/**
 * The sha256 (lowercase hex) of every accepted API token, in config order. Tokens given by environment
 * variable are read now: each must be set and hold at least `MIN_API_TOKEN_LENGTH` characters.
 * @throws ConfigError naming the config file (when recorded: {@link recordConfigFile}), the token's field
 *   (`auth.tokens[1].env`) and the variable (never its value).
 */
export function apiTokenHashes(auth: ServiceConfig["auth"]): string[] {
  return auth.tokens.map((t, i) => {
    if (t.kind === "sha256") return t.sha256;
    const field = where(t, `auth.tokens[${i}].env`);
    const token = readEnv(t.name, field);
    if (token.length < MIN_API_TOKEN_LENGTH) {
      throw new ConfigError(
        `${field}: the token in ${t.name} is shorter than ${MIN_API_TOKEN_LENGTH} characters`,
      );
    }
    return createHash("sha256").update(token).digest("hex");
  });
}

/** The value of the environment variable `name`, which `field` (`file: path`) names; unset or empty is an error. */
function readEnv(name: string, field: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new ConfigError(`${field}: environment variable ${name} is empty or unset`);
  }
  return value;
}
