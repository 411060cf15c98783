/**
 * prover/domain.ts on its own (its agreement with `RiskOracle.domain()` on chain is in oracle.test.ts).
 */
import { describe, expect, it } from "vitest";
import { keccak256 } from "ethers";
import { FIELD_MODULUS } from "../../crypto/field";
import { UsageError } from "../../core/errors";
import { oracleDomain } from "../../prover/domain";

const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("oracleDomain", () => {
  it("is keccak256 of the 64-byte ABI encoding of (chainId, oracle), reduced mod p", () => {
    const encoded = `0x${(31337).toString(16).padStart(64, "0")}${ORACLE.slice(2).toLowerCase().padStart(64, "0")}`;
    const expected = BigInt(keccak256(encoded)) % FIELD_MODULUS;
    expect(oracleDomain(31337n, ORACLE)).toBe(expected);
    expect(expected).toBeLessThan(FIELD_MODULUS);
  });

  it("ignores the address's letter case and changes with the chain and the address", () => {
    const d = oracleDomain(31337n, ORACLE);
    expect(oracleDomain(31337n, ORACLE.toLowerCase())).toBe(d);
    expect(oracleDomain(31337n, `0x${ORACLE.slice(2).toUpperCase()}`)).toBe(d);
    expect(oracleDomain(1n, ORACLE)).not.toBe(d);
    expect(oracleDomain(31337n, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")).not.toBe(d);
  });

  it.each([
    ["a negative chain id", -1n, ORACLE, /chainId: -1 is not a uint256/],
    ["a chain id of 2^256", 2n ** 256n, ORACLE, /chainId: .* is not a uint256/],
    ["a short address", 1n, "0x1234", /oracle: '0x1234' is not an address/],
    ["a bad checksum", 1n, ORACLE.replace("F", "f"), /is not an address/],
  ])("refuses %s with a UsageError naming the parameter", (_name, chainId, oracle, message) => {
    expect(() => oracleDomain(chainId, oracle)).toThrow(UsageError);
    expect(() => oracleDomain(chainId, oracle)).toThrow(message);
  });
});
