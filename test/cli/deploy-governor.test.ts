/**
 * `zkrisk deploy --governor`: the zero address is refused before any connection (the oracle's constructor would
 * revert with OracleInvalidGovernor after the verifier's deployment was paid for), and a step that fails after the
 * verifier was deployed is reported with the oracle's decoded custom error and the verifier's address.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ZeroAddress } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureOf } from "../../cli/main";
import { afterVerifierFailure } from "../../cli/commands/deploy";
import { oracleInterface } from "../../onchain/oracle";
import { zkriskAsync } from "../helpers/zkrisk-cli";

const SPAWN_TIMEOUT = 60_000;
const VERIFIER = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A JSON-RPC endpoint that counts the requests it gets and answers none of them usefully. */
let requests = 0;
const server = createServer((req, res) => {
  requests += 1;
  req.resume();
  res.writeHead(500).end();
});
let rpc: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  rpc = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("zkrisk deploy --governor", () => {
  it(
    "refuses the zero address (exit 2, naming --governor) before reading the artifacts or reaching the node",
    async () => {
      const r = await zkriskAsync(
        "deploy",
        "--artifacts",
        "/nonexistent/artifacts",
        "--rpc",
        rpc,
        "--key",
        "0x" + "11".repeat(32),
        "--governor",
        ZeroAddress,
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(new RegExp(`^zkrisk: --governor: ${ZeroAddress} is the zero address`));
      expect(requests).toBe(0);
    },
    SPAWN_TIMEOUT,
  );
});

describe("a deployment step that fails after the verifier is deployed", () => {
  it("decodes the oracle's revert with its ABI and names the verifier's address (exit 2)", () => {
    // What ethers throws when the constructor reverts: the custom error's data, which it cannot decode itself.
    const reverted = {
      code: "CALL_EXCEPTION",
      shortMessage: "execution reverted (unknown custom error)",
      data: oracleInterface().encodeErrorResult("OracleInvalidGovernor", []),
    };
    const failure = failureOf(afterVerifierFailure(reverted, VERIFIER, 31337n));
    expect(failure).toEqual({
      code: "ORACLE_REJECTED",
      message:
        "deploying the RiskOracle failed: the oracle refused: OracleInvalidGovernor(); the verifier was already " +
        `deployed, at ${VERIFIER} on chain 31337`,
      exitCode: 2,
    });
  });

  it("any other failure keeps its code and short message, and names the verifier's address (exit 1)", () => {
    const failure = failureOf(
      afterVerifierFailure(
        { code: "INSUFFICIENT_FUNDS", shortMessage: "insufficient funds for intrinsic transaction cost" },
        VERIFIER,
        11155111n,
      ),
    );
    expect(failure).toEqual({
      code: "INSUFFICIENT_FUNDS",
      message:
        "deploying the RiskOracle failed: insufficient funds for intrinsic transaction cost; the verifier was " +
        `already deployed, at ${VERIFIER} on chain 11155111`,
      exitCode: 1,
    });
  });
});
