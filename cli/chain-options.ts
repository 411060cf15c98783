/**
 * What `zkrisk deploy`, `zkrisk register-market` and `zkrisk submit` share (not a command): an address option
 * checked, and a signer on a JSON-RPC node, closed after the work.
 */
import { isAddress } from "ethers";
import { UsageError } from "../core/errors";
import { rpcChain, type Chain } from "../onchain/chain";

/** The address `value` of `option`, or a UsageError naming both. */
export function addressOption(option: string, value: string): string {
  if (!isAddress(value)) throw new UsageError(`${option}: '${value}' is not an address`);
  return value;
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
