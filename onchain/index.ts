/**
 * The on-chain client: deploying and driving the oracle (markets, publisher sets, proven updates), checking that an
 * address is one, reading its events in chunks, the HTTP transport to a node (`rpcRequest`), a signer that names an
 * account too poor to pay, and the contracts' shipped ABIs and bytecode.
 */
export * from "./oracle";
export { checkRiskOracle } from "./oracle-identity";
export * from "./chain";
export { rpcRequest } from "./rpc-request";
export { insufficientFundsError, isInsufficientFunds } from "./insufficient-funds";
export * from "./get-logs";
export {
  SHIPPED_CONTRACTS,
  type ShippedContract,
  CONTRACT_BUILD_DIR,
  type ContractFile,
  contractSourceHash,
  readContractFile,
  shippedContract,
} from "./contract-files";
export { SolidityError, type CompiledContract } from "./solc";
export { VerifierKeyError } from "./groth16-verifier-source";
