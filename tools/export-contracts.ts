/**
 * `npm run contracts`: compile the oracle and the example consumer and write their ABI and bytecode to
 * `contracts/abi/` (onchain/contract-files.ts), the files an installed zkrisk reads instead of compiling.
 * Run it after editing any contract; test/onchain/contract-files.test.ts fails until the files match.
 */
import { writeContractFiles } from "../onchain/contract-files";

for (const file of writeContractFiles()) process.stdout.write(`wrote ${file}\n`);
