/**
 * Hardhat 2 configuration. Solidity is compiled offline by solc-js from the `solc` npm package: the
 * compiler download subtask is replaced so no network is needed (see shared RECIPES).
 */
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-ethers";
import type { HardhatUserConfig } from "hardhat/types";
import { SOLC_SETTINGS } from "./onchain/solc";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const SOLC_VERSION: string = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(
  async (args: { solcVersion: string }, _hre, runSuper) => {
    if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
    return {
      compilerPath: require.resolve("solc/soljson.js"),
      isSolcJs: true,
      version: SOLC_VERSION,
      longVersion: SOLC_VERSION,
    };
  },
);

const config: HardhatUserConfig = {
  solidity: { version: SOLC_VERSION, settings: SOLC_SETTINGS },
  networks: {
    // The shipped candles end on 2024-06-30. Block time only moves forward, so the in-process chain starts
    // before them: tests and local demos place each block just after the bar they prove
    // (evm_setNextBlockTimestamp), and the oracle's data-age and future-data checks apply as on a live chain.
    // ZKRISK_HARDHAT_CHAIN_ID makes a node that is not the local chain 31337 (tests of what `deploy` refuses there).
    hardhat: {
      initialDate: "2024-06-01T00:00:00Z",
      chainId: Number(process.env.ZKRISK_HARDHAT_CHAIN_ID ?? 31337),
    },
  },
  paths: { sources: "contracts", tests: "test/contracts", cache: "cache", artifacts: "artifacts" },
};

export default config;
