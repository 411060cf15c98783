/**
 * The shipped contract builds (contracts/abi/*.json, what an installed zkrisk reads instead of compiling) are
 * what the Solidity sources compile to now: after editing a contract, `npm run contracts` rewrites them.
 */
import { describe, expect, it } from "vitest";
import {
  SHIPPED_CONTRACTS,
  contractSourceHash,
  readContractFile,
  shippedContract,
} from "../../onchain/contract-files";
import { compileOracleContracts } from "../../onchain/solc";

describe("shipped contract builds", () => {
  it("match a compilation of the current sources (else run `npm run contracts`)", () => {
    const compiled = compileOracleContracts();
    const sourceHash = contractSourceHash();
    for (const name of SHIPPED_CONTRACTS) {
      const shipped = readContractFile(name);
      expect(shipped.sourceHash, `${name}: built from other sources; run npm run contracts`).toBe(sourceHash);
      expect(shipped.abi, `${name} ABI`).toEqual(compiled[name].abi);
      expect(shipped.bytecode, `${name} bytecode`).toBe(compiled[name].bytecode);
    }
  });

  it("are what the on-chain client uses while the sources are unchanged", () => {
    for (const name of SHIPPED_CONTRACTS) expect(shippedContract(name)).toEqual(readContractFile(name));
  });
});
