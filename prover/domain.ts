/**
 * The domain public signal: binds a proof to one chain and one oracle contract, so a proof made for one
 * deployment is refused by every other (another chain, another oracle address, a fork after a chain split).
 * The TypeScript twin of `RiskOracle.domain()` in contracts/RiskOracle.sol.
 */
import { AbiCoder, getAddress, isAddress, keccak256 } from "ethers";
import { FIELD_MODULUS } from "../crypto/field";
import { UsageError } from "../core/errors";

const UINT256_LIMIT = 1n << 256n;

/**
 * The domain of an oracle: `uint256(keccak256(abi.encode(chainId, oracle))) mod p`, with p the BN254 scalar
 * field modulus, exactly as the contract computes it from `block.chainid` and `address(this)`.
 * @param chainId EIP-155 chain id (e.g. 1n for Ethereum mainnet, 31337n for the Hardhat network)
 * @param oracle address of the RiskOracle contract (hex, any letter case)
 * @param names what the caller calls the two values in error messages (a command's `--chain-id` and `--oracle`);
 *   `chainId` and `oracle` by default
 * @returns the domain, a field element in [0, p)
 * @throws UsageError if the chain id is not a uint256 or the address is malformed, naming the value as `names` says
 */
export function oracleDomain(
  chainId: bigint,
  oracle: string,
  names: { chainId: string; oracle: string } = { chainId: "chainId", oracle: "oracle" },
): bigint {
  if (chainId < 0n || chainId >= UINT256_LIMIT) {
    throw new UsageError(`${names.chainId}: ${chainId} is not a uint256`);
  }
  // isAddress accepts all-lower and all-upper hex, and mixed case only with a valid EIP-55 checksum.
  if (!isAddress(oracle)) throw new UsageError(`${names.oracle}: '${oracle}' is not an address`);
  const encoded = AbiCoder.defaultAbiCoder().encode(["uint256", "address"], [chainId, getAddress(oracle)]);
  return BigInt(keccak256(encoded)) % FIELD_MODULUS;
}
