/** The `hardhat node` of tests: the same one the service benchmark starts (scripts/hardhat-node.ts). */
export { DEV_KEYS, freePort, startHardhatNode, type HardhatNode } from "../../scripts/hardhat-node";
