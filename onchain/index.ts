/**
 * The on-chain client: deploying and driving the oracle (markets, publisher sets, proven updates), reading its
 * events in chunks, and the contracts' shipped ABIs and bytecode.
 */
export * from "./oracle";
export * from "./chain";
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
