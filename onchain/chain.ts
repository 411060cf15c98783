/**
 * A connection to a chain: the in-process Hardhat network by default, or a JSON-RPC node with a key.
 * Keys are never printed; `--key` takes hex or `env:NAME` (read from the environment).
 */
import {
  BrowserProvider,
  JsonRpcProvider,
  NonceManager,
  Wallet,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
} from "ethers";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root";
import { UsageError } from "../core/errors";
import { redactUrl } from "../core/url";
import { insufficientFundsError, isInsufficientFunds } from "./insufficient-funds";
import { rpcRequest } from "./rpc-request";

/** An open chain connection. */
export interface Chain {
  provider: Provider;
  signer: Signer;
  chainId: bigint;
  /** "in-process" or the RPC URL. */
  label: string;
  /** Whether the node accepts Hardhat's time controls (evm_setNextBlockTimestamp). */
  setNextBlockTime(seconds: number): Promise<boolean>;
  /** Mine an empty block at `seconds` (Hardhat chains), so calls and estimates run at that time. */
  mineAt(seconds: number): Promise<boolean>;
  /** Latest block timestamp (s). */
  now(): Promise<number>;
  close(): Promise<void>;
}

/** Resolve `--key`: a 0x-prefixed 32-byte hex key, or `env:NAME`. */
export function resolveKey(key: string): string {
  let value = key;
  if (key.startsWith("env:")) {
    const name = key.slice(4);
    value = process.env[name] ?? "";
    if (!value) throw new UsageError(`--key: environment variable ${name} is empty or unset`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new UsageError(
      "--key: expected a 0x-prefixed 32-byte hex private key (or env:NAME); value not shown",
    );
  }
  return value;
}

type RpcSender = { send(method: string, params: unknown[]): Promise<unknown> };

async function mine(provider: RpcSender, t: number): Promise<boolean> {
  if (!(await send(provider, t))) return false;
  await provider.send("evm_mine", []);
  return true;
}

async function send(provider: RpcSender, t: number): Promise<boolean> {
  try {
    await provider.send("evm_setNextBlockTimestamp", [t]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Hardhat's CLI script and the repository's config, for a local chain. Both exist only in a clone of the repository:
 * Hardhat is a development dependency and hardhat.config.ts is not in the package.
 * @throws UsageError saying so, and that a node's `--rpc` URL does without them
 */
export function localHardhat(): { cli: string; config: string } {
  const config = join(PACKAGE_ROOT, "hardhat.config.ts");
  let cli: string | undefined;
  try {
    cli = require.resolve("hardhat/internal/cli/cli.js", { paths: [PACKAGE_ROOT] });
  } catch {
    cli = undefined;
  }
  if (cli === undefined || !existsSync(config)) {
    throw new UsageError(
      `a local Hardhat network runs only in a clone of the zkrisk repository (it needs ` +
        `${cli === undefined ? "the hardhat package, a development dependency" : config}); ` +
        `give the --rpc URL of a node instead`,
    );
  }
  return { cli, config };
}

/** The in-process Hardhat network (Hardhat 2, config hardhat.config.ts) with its first account. */
export async function inProcessChain(): Promise<Chain> {
  // Hardhat finds its config through HARDHAT_CONFIG when it is loaded from outside its CLI.
  const { config } = localHardhat();
  process.env.HARDHAT_CONFIG ??= config;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hre = require("hardhat") as {
    network: { provider: { request(a: { method: string; params?: unknown[] }): Promise<unknown> } };
  };
  const eip1193 = hre.network.provider;
  const provider = new BrowserProvider(eip1193 as never);
  const signer = await provider.getSigner(0);
  const chainId = (await provider.getNetwork()).chainId;
  return {
    provider,
    signer,
    chainId,
    label: "in-process Hardhat network",
    setNextBlockTime: (t) => send(provider, t),
    mineAt: (t) => mine(provider, t),
    now: async () => (await provider.getBlock("latest"))!.timestamp,
    close: async () => provider.destroy(),
  };
}

/**
 * The `--rpc` URL, which must be http(s); checked before any work (`rpcChain` checks it again).
 * @throws UsageError naming --rpc and the value.
 */
export function rpcUrlOption(url: string): string {
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--rpc: '${url}' is not an http(s) URL`);
  return url;
}

/**
 * The signer of `--key` on a node: nonces are tracked locally (NonceManager: asking the node between back-to-back
 * transactions can return a stale count), and a transaction the node refuses because the account cannot pay for
 * it is a UsageError naming `--key`, the account and its balance ({@link insufficientFundsError}), whichever
 * command sent it.
 */
class KeySigner extends NonceManager {
  override connect(provider: Provider | null): KeySigner {
    return new KeySigner(this.signer.connect(provider));
  }

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    try {
      return await super.sendTransaction(tx);
    } catch (err) {
      if (this.provider === null || !isInsufficientFunds(err)) throw err;
      throw await insufficientFundsError(this.provider, await this.getAddress(), err, "--key");
    }
  }
}

/** How long a command waits out a node's passing failures (HTTP 429, 502-504, timeouts, dropped connections), ms. */
export const COMMAND_RETRY_MS = 120_000;
/** Bound of each request of a command, ms. */
export const COMMAND_REQUEST_TIMEOUT_MS = 60_000;

/**
 * The node's transport for a command (onchain/rpc-request.ts): each request bounded by
 * `COMMAND_REQUEST_TIMEOUT_MS`, reads asked again through passing failures for `COMMAND_RETRY_MS` once the node has
 * answered (a long audit does not die of one 502), each pause said on stderr. The chain id is asked once
 * (`staticNetwork`), not before every request: a node moved to another chain refuses the transactions signed for
 * this one.
 */
function commandRequest(url: string) {
  return rpcRequest(url, {
    timeoutMs: COMMAND_REQUEST_TIMEOUT_MS,
    retryForMs: COMMAND_RETRY_MS,
    onRetry: ({ attempt, delayMs, reason }) =>
      process.stderr.write(
        `zkrisk: ${redactUrl(url)} failed (${reason}); asking again in ${(delayMs / 1000).toFixed(1)} s (try ${attempt})\n`,
      ),
  });
}

/** A JSON-RPC node with a signing key ({@link KeySigner}: an account that cannot pay is named). */
export async function rpcChain(url: string, key: string): Promise<Chain> {
  rpcUrlOption(url);
  // The key is checked before the node is contacted: a bad --key is the user's to fix whatever the node says.
  const wallet = new Wallet(resolveKey(key));
  const provider = new JsonRpcProvider(commandRequest(url), undefined, { staticNetwork: true });
  let chainId: bigint;
  try {
    chainId = (await provider.getNetwork()).chainId;
  } catch (err) {
    provider.destroy();
    throw new UsageError(`--rpc: cannot reach ${url}: ${(err as Error).message}`);
  }
  const signer = new KeySigner(wallet.connect(provider));
  return {
    provider,
    signer,
    chainId,
    label: url,
    setNextBlockTime: (t) => send(provider, t),
    mineAt: (t) => mine(provider, t),
    now: async () => (await provider.getBlock("latest"))!.timestamp,
    close: async () => provider.destroy(),
  };
}

/** A read-only JSON-RPC provider (audits need no key). */
export async function readOnlyProvider(url: string): Promise<JsonRpcProvider> {
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--rpc: '${url}' is not an http(s) URL`);
  const provider = new JsonRpcProvider(commandRequest(url), undefined, { staticNetwork: true });
  try {
    await provider.getNetwork();
  } catch (err) {
    provider.destroy();
    throw new UsageError(`--rpc: cannot reach ${url}: ${(err as Error).message}`);
  }
  return provider;
}

export type { Provider, Signer };
