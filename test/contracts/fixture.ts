/**
 * Shared fixture of the contract tests and the gas measurement: real Groth16 artifacts for the shipped model
 * (constant weights; one compile and one trusted setup per process, the development ptau cached outside the
 * repo), the freshly generated verifier compiled straight from the artifact directory, and the oracle and the
 * example consumer deployed on Hardhat's in-process network.
 *
 * The generated verifier is never copied into contracts/: it is compiled here with solc-js (the compiler and
 * settings hardhat.config.ts uses) from `Groth16Verifier.sol` in the artifact directory, and the oracle only
 * knows it through `IGroth16Verifier`. So the verifier tested is the one this run's setup produced, the source
 * tree holds no build output, and `npx hardhat compile` does not depend on a setup having run.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { BaseContract, Contract, ContractTransactionResponse, Interface } from "ethers";
import { toField } from "../../circuits/field";
import { loadCandles } from "../../models/load-data";
import type { CandleSeries } from "../../models/types";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { UpdateProver, type ProvedUpdate } from "../../prover/prove-update";
import { DEFAULT_LIMITS, type MarketLimits } from "../../prover/onchain/oracle";
import { compileVerifier } from "../../prover/onchain/solc";

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

// The market guards and their defaults are the library's (prover/onchain/oracle.ts).
export { DEFAULT_LIMITS, type MarketLimits };

export { buildProvingArtifacts } from "../helpers/artifacts";

/** A JSON-RPC call to the in-process network. */
export function rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
  return hre.network.provider.send(method, params) as Promise<T>;
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

/** Timestamp of the latest block (s). */
export async function latestBlockTime(): Promise<number> {
  const block = await hre.ethers.provider.getBlock("latest");
  if (!block) throw new Error("no latest block");
  return block.timestamp;
}

/** Everything deployed for the tests. */
export interface Deployment {
  prover: UpdateProver;
  series: CandleSeries;
  chainId: bigint;
  verifier: Contract;
  oracle: Contract;
  /** `oracleDomain(chainId, oracle)`. */
  domain: bigint;
}

/**
 * Compile the contracts, deploy the generated verifier of `artifactsDir` and an oracle governed by the first
 * signer, and register `MARKET_ID` with `limits` and the second signer as guardian.
 */
export async function deploy(
  artifactsDir: string,
  limits: MarketLimits = DEFAULT_LIMITS,
): Promise<Deployment> {
  await hre.run("compile", { quiet: true });
  const [governor, guardian] = await hre.ethers.getSigners();
  const prover = await UpdateProver.open(artifactsDir);
  const compiled = compileVerifier(join(artifactsDir, "Groth16Verifier.sol"));
  const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
  const verifier = (await (await factory.deploy()).waitForDeployment()) as Contract;
  const oracle = (await hre.ethers.deployContract("RiskOracle", [governor.address])) as unknown as Contract;
  await oracle.waitForDeployment();
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  await (
    await oracle.registerMarket(MARKET_ID, {
      verifier: await verifier.getAddress(),
      modelCommitment: prover.modelCommitment,
      guardian: guardian.address,
      limits,
    })
  ).wait();
  return {
    prover,
    series: loadCandles(DATA),
    chainId,
    verifier,
    oracle,
    domain: oracleDomain(chainId, await oracle.getAddress()),
  };
}

/** Seconds since the epoch of a UTC date-time. */
export function utc(year: number, month: number, day: number, hour: number): number {
  return Date.UTC(year, month - 1, day, hour) / 1000;
}

/** Prove the bar opening at `barTime` (s) for market `marketId` and `domain`. */
export function proveBarAt(
  d: Pick<Deployment, "prover" | "series">,
  barTime: number,
  opts: { domain: bigint; marketId?: bigint },
): Promise<ProvedUpdate> {
  const index = d.series.candles.findIndex((c) => c.time === barTime * 1000);
  if (index < 0) throw new Error(`no bar opens at ${new Date(barTime * 1000).toISOString()}`);
  return d.prover.proveBar(d.series, {
    market: MARKET,
    marketId: opts.marketId ?? MARKET_ID,
    domain: opts.domain,
    index,
  });
}

/** The features as the oracle takes them: field elements (negative values mod p). */
export function featureFieldElements(update: ProvedUpdate): bigint[] {
  return update.features.map((f) => toField(BigInt(f.quantized)));
}

/** Send `submitUpdate` for `update`; `input` overrides the public signals, `marketId` the market argument. */
export function submit(
  oracle: Contract,
  update: ProvedUpdate,
  opts: { marketId?: bigint; input?: readonly (string | bigint)[]; a?: readonly string[] } = {},
): Promise<ContractTransactionResponse> {
  const { a, b, c, input } = update.calldata;
  return oracle.submitUpdate(
    opts.marketId ?? MARKET_ID,
    opts.a ?? a,
    b,
    c,
    opts.input ?? input,
    featureFieldElements(update),
  ) as Promise<ContractTransactionResponse>;
}

/** Submit `update` in a block at `time` (s) and wait for the receipt. */
export async function submitAt(
  oracle: Contract,
  update: ProvedUpdate,
  time: number,
): Promise<{ gasUsed: bigint; logs: readonly { topics: readonly string[]; data: string }[] }> {
  await setNextBlockTime(time);
  const receipt = await (await submit(oracle, update)).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt;
}

/** The revert data carried by an error thrown by ethers or Hardhat, if any. */
export function revertData(err: unknown): string | undefined {
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
