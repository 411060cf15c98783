/**
 * What `zkrisk deploy`, `zkrisk register-market`, `zkrisk set-adaptive` and `zkrisk submit` share (not a command):
 * address options checked, and a signer on a JSON-RPC node, closed after the work.
 */
import { isAddress, type Contract, type Provider } from "ethers";
import { UsageError } from "../core/errors";
import { rpcChain, type Chain } from "../onchain/chain";
import {
  OracleError,
  oracleAt,
  readRegisteredPublisherSet,
  type PublisherSetConfig,
} from "../onchain/oracle";
import { checkRiskOracle } from "../onchain/oracle-identity";

/** The address `value` of `option`, or a UsageError naming both. */
export function addressOption(option: string, value: string): string {
  if (!isAddress(value)) throw new UsageError(`${option}: '${value}' is not an address`);
  return value;
}

/**
 * The address `value` of `option`, which must hold a contract on the chain: a transaction to an account without
 * code succeeds and does nothing, so a mistyped address would otherwise be reported as done.
 */
export async function contractOption(
  chain: Pick<Chain, "provider" | "label">,
  option: string,
  value: string,
): Promise<string> {
  const address = addressOption(option, value);
  if ((await chain.provider.getCode(address)) === "0x") {
    const { chainId } = await chain.provider.getNetwork();
    throw new UsageError(`${option}: no contract at ${address} on chain ${chainId} (${chain.label})`);
  }
  return address;
}

/**
 * The RiskOracle at `--oracle`, connected to the chain's signer; refused when no contract is there, or when the
 * contract there is not a RiskOracle (`checkRiskOracle`: the verifier's address given by mistake).
 */
export async function oracleOption(chain: Chain, value: string): Promise<Contract> {
  const address = await contractOption(chain, "--oracle", value);
  await checkRiskOracle(chain.provider, address, "--oracle");
  return oracleAt(address, chain.signer);
}

/** The RiskOracle at `--oracle` for reading on `provider` (at `url`), refused as by {@link oracleOption}. */
export async function readOracleOption(provider: Provider, url: string, value: string): Promise<Contract> {
  const address = await contractOption({ provider, label: url }, "--oracle", value);
  await checkRiskOracle(provider, address, "--oracle");
  return oracleAt(address, provider);
}

/**
 * The registered publisher set configuration of the market `--market` (`market` as given, `marketId` its id); a
 * market the oracle does not know is refused naming `--market` as typed, not only the custom error with its id.
 * @throws OracleError `OracleUnknownMarket`, e.g. `--market NOPE-USDT: not registered on the oracle at 0x...
 *   (OracleUnknownMarket(1444561181737485550676)); \`zkrisk register-market\` registers a market`
 */
export async function registeredMarketOption(
  oracle: Contract,
  market: string,
  marketId: bigint,
): Promise<PublisherSetConfig> {
  try {
    return await readRegisteredPublisherSet(oracle, marketId);
  } catch (err) {
    if (!(err instanceof OracleError) || err.reason !== "OracleUnknownMarket") throw err;
    throw new OracleError(
      err.reason,
      `--market ${market}: not registered on the oracle at ${await oracle.getAddress()} ` +
        `(${err.reason}(${marketId})); \`zkrisk register-market\` registers a market`,
    );
  }
}

/** Run `work` with a signer of `key` on the node at `rpc`; the connection is closed afterwards. */
export async function withChain<T>(rpc: string, key: string, work: (chain: Chain) => Promise<T>): Promise<T> {
  const chain = await rpcChain(rpc, key);
  try {
    return await work(chain);
  } finally {
    await chain.close();
  }
}
