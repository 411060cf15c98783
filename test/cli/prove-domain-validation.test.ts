/**
 * The domain options of `zkrisk prove` (cli/commands/prove.ts): `--chain-id` is a positive integer (no chain has
 * id 0, and `audit` refuses it too), and a malformed `--oracle` is named as the option, not as the library's
 * parameter (prover/domain.ts keeps `oracle` / `chainId` for library callers that name nothing else).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import { oracleDomain } from "../../prover/domain";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const dir = mkdtempSync(join(tmpdir(), "zkrisk-prove-domain-"));
const WINDOW = join(dir, "window.json");
writeFileSync(WINDOW, "{}");

/** `zkrisk prove --window` with the domain options `domain` (refused before any file is read). */
function prove(...domain: string[]) {
  return zkrisk(
    "prove",
    "--model",
    MODEL,
    "--artifacts",
    dir,
    "--window",
    WINDOW,
    "--market",
    "BTC-USDT",
    ...domain,
    "--out",
    join(dir, "never.proof.json"),
  );
}

describe("zkrisk prove: --oracle and --chain-id", () => {
  it.each(["0", "00", "-1", "1.0", "0x1", ""])(
    "refuses --chain-id %j with exit code 2",
    (chainId) => {
      const r = prove("--oracle", ORACLE, "--chain-id", chainId);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`zkrisk: --chain-id: '${chainId}' is not a positive integer\n`);
    },
    120_000,
  );

  it("names --oracle for an address that is not one, and --chain-id for one above uint256", () => {
    const bad = prove("--oracle", "garbage", "--chain-id", "1");
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toBe("zkrisk: --oracle: 'garbage' is not an address\n");
    const big = prove("--oracle", ORACLE, "--chain-id", (2n ** 256n).toString());
    expect(big.code, big.stderr).toBe(2);
    expect(big.stderr).toBe(`zkrisk: --chain-id: ${2n ** 256n} is not a uint256\n`);
  }, 120_000);
});

describe("oracleDomain: the names of its parameters in messages", () => {
  it("names chainId and oracle by default, and what the caller passes otherwise", () => {
    expect(() => oracleDomain(1n, "0x12")).toThrow(new UsageError("oracle: '0x12' is not an address"));
    expect(() => oracleDomain(-1n, ORACLE)).toThrow(new UsageError("chainId: -1 is not a uint256"));
    const names = { chainId: "chain.id", oracle: "chain.oracle" };
    expect(() => oracleDomain(1n, "0x12", names)).toThrow("chain.oracle: '0x12' is not an address");
    expect(() => oracleDomain(-1n, ORACLE, names)).toThrow("chain.id: -1 is not a uint256");
    expect(oracleDomain(1n, ORACLE, names)).toBe(oracleDomain(1n, ORACLE));
  });
});
