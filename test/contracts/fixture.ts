/**
 * Shared fixture of the contract tests (and of the audit and service suites that run a chain): Hardhat's
 * in-process network, the shipped model and data, chain-time helpers, and decoding of the oracle's custom errors.
 * Each suite deploys its own verifier and oracle: the stand-in suites (oracle, signed-update, signed-batch) from
 * test/helpers/signed-*-stand-in.ts, the real-circuit suites from setup/signed-update-artifacts.ts and
 * bench/signed-batch-bench.ts.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeEach } from "vitest";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { BaseContract, Contract, Interface, Signer } from "ethers";
import { marketIdOf } from "../../candles/market-id";
import { FIELD_MODULUS } from "../../crypto/field";
import { DEFAULT_LIMITS, type MarketLimits } from "../../onchain/oracle";

const requireHere = createRequire(__filename);
// Hardhat loads hardhat.config.ts with Node's require: under vitest nothing handles .ts there, so register ts-node
// first (under tsx, its own hook already does).
if (!requireHere.extensions[".ts"]) requireHere("ts-node").register({ transpileOnly: true });
/** The Hardhat runtime environment (in-process network). */
export const hre = requireHere("hardhat") as HardhatRuntimeEnvironment;

const ROOT = join(__dirname, "../..");
/** The shipped quantised model. */
export const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
/** The shipped candles. */
export const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
/** Market label of the shipped model. */
export const MARKET = "BTC-USDT";
/** Its market id as the circuit and the oracle take it. */
export const MARKET_ID = marketIdOf(MARKET);
/** Bar interval of the shipped data, seconds. */
export const BAR_SECONDS = 7200;
/** Seconds in an hour. */
export const HOUR = 3600;

// The market guards and their defaults are the library's (onchain/oracle.ts).
export { DEFAULT_LIMITS, type MarketLimits };

/** A JSON-RPC call to the in-process network. */
export function rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
  return hre.network.provider.send(method, params) as Promise<T>;
}

/**
 * The publisher-set fields the oracle refuses, at registration and rotation alike: the custom error, the field
 * patched into an otherwise valid configuration, and the error's argument.
 */
export const BAD_PUBLISHER_SET_FIELDS: [string, Record<string, bigint | number>, bigint][] = [
  ["OracleInvalidModelCommitment", { modelCommitment: 0n }, 0n],
  ["OracleInvalidModelCommitment", { modelCommitment: FIELD_MODULUS }, FIELD_MODULUS],
  ["OracleInvalidPublisherSet", { publisherSet: 0n }, 0n],
  ["OracleInvalidPublisherSet", { publisherSet: FIELD_MODULUS }, FIELD_MODULUS],
  ["OracleInvalidQuorum", { quorum: 0 }, 0n],
  ["OracleInvalidStatementKey", { statementKey: 0n }, 0n],
  ["OracleInvalidStatementKey", { statementKey: FIELD_MODULUS }, FIELD_MODULUS],
];

/** A RiskOracle governed by `governor`, deployed with Hardhat's compilation of the sources in contracts/. */
export async function deployRiskOracle(governor: Signer): Promise<Contract> {
  const c = (await hre.ethers.deployContract("RiskOracle", [
    await governor.getAddress(),
  ])) as unknown as Contract;
  await c.waitForDeployment();
  return c;
}

/**
 * Start every test of the calling file from the chain as the file's `beforeAll` left it: a snapshot taken before
 * the first test is reverted to before each later one (and taken again, since a revert spends it).
 */
export function fromSnapshotEachTest(): void {
  let snapshot: string | undefined;
  beforeEach(async () => {
    if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
    snapshot = await rpc<string>("evm_snapshot");
  });
}

/** Make the next block's timestamp `time` (s). */
export async function setNextBlockTime(time: number): Promise<void> {
  await rpc("evm_setNextBlockTimestamp", [time]);
}

/** Mine an empty block at `time` (s), so views run at that time. */
export async function mineAt(time: number): Promise<void> {
  await setNextBlockTime(time);
  await rpc("evm_mine");
}

/** Seconds since the epoch of a UTC date-time. */
export function utc(year: number, month: number, day: number, hour: number): number {
  return Date.UTC(year, month - 1, day, hour) / 1000;
}

/** The revert data carried by an error thrown by ethers or Hardhat, if any. */
function revertData(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === "object" && e !== null; depth++) {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x")) return data;
    if (typeof data === "object" && data !== null && typeof (data as { data?: unknown }).data === "string") {
      return (data as { data: string }).data;
    }
    e = (e as { error?: unknown; info?: unknown }).error ?? (e as { info?: { error?: unknown } }).info?.error;
  }
  return undefined;
}

/** A custom error decoded from a failed call: its name and arguments. */
export interface DecodedRevert {
  name: string;
  args: unknown[];
}

/** Await `action`, which must revert with a custom error of `abi`; return that error's name and arguments. */
export async function revertOf(
  action: Promise<unknown>,
  abi: BaseContract | Interface,
): Promise<DecodedRevert> {
  let failure: unknown;
  try {
    await action;
  } catch (err) {
    failure = err;
  }
  if (failure === undefined) throw new Error("expected a revert, but the call succeeded");
  const data = revertData(failure);
  if (data === undefined) throw new Error(`expected a custom error, got: ${String(failure)}`);
  const iface = "interface" in abi ? abi.interface : abi;
  const parsed = iface.parseError(data);
  if (!parsed) throw new Error(`revert data ${data} is no error of the contract's ABI`);
  return { name: parsed.name, args: [...parsed.args] };
}
