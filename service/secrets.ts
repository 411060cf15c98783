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

/**
 * Reads the submitting key. `env`: the variable must hold a 0x-prefixed 32-byte hex key. `keystore`: the
 * file is decrypted with the password in `passwordEnv`. Messages name the variable or file, never a value.
 * @returns the 0x-prefixed private key.
 * @throws ConfigError when a variable is unset, the key malformed, or the keystore cannot be decrypted.
 */
export async function loadSignerKey(chain: Pick<ChainConfig, "key">): Promise<string> {
  const key = chain.key;
  if (key.kind === "env") {
    const value = readEnv(key.name, "chain.key.env");
    if (!isHexString(value, 32)) {
      throw new ConfigError(
        `chain.key.env: ${key.name} is not a 0x-prefixed 32-byte hex private key (value not shown)`,
      );
    }
    return value;
  }
  const password = readEnv(key.passwordEnv, "chain.key.passwordEnv");
  let json: string;
  try {
    json = readFileSync(key.path, "utf8");
  } catch (err) {
    throw new ConfigError(`${key.path}: cannot read keystore: ${(err as Error).message}`);
  }
  try {
    return (await Wallet.fromEncryptedJson(json, password)).privateKey;
  } catch (err) {
    const reason = (err as Error).message.split(" (")[0];
    throw new ConfigError(
      `${key.path}: cannot decrypt keystore with the password in ${key.passwordEnv}: ${reason}`,
    );
  }
}

/**
 * The sha256 (lowercase hex) of every accepted API token, in config order. Tokens given by environment
 * variable are read now: each must be set and hold at least `MIN_API_TOKEN_LENGTH` characters.
 * @throws ConfigError naming the variable (never its value).
 */
export function apiTokenHashes(auth: ServiceConfig["auth"]): string[] {
  return auth.tokens.map((t) => {
    if (t.kind === "sha256") return t.sha256;
    const token = readEnv(t.name, "auth.tokens");
    if (token.length < MIN_API_TOKEN_LENGTH) {
      throw new ConfigError(
        `auth.tokens: the token in ${t.name} is shorter than ${MIN_API_TOKEN_LENGTH} characters`,
      );
    }
    return createHash("sha256").update(token).digest("hex");
  });
}

function readEnv(name: string, field: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new ConfigError(`${field}: environment variable ${name} is empty or unset`);
  }
  return value;
}
