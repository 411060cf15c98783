/** The `hardhat node` of tests: the same one the service benchmark starts (onchain/hardhat-node.ts). */
export { DEV_KEYS, startHardhatNode, type HardhatNode } from "../../onchain/hardhat-node";
