/**
 * Usage errors that name what is at fault, found before any work or output: options out of order (`train`), an
 * empty value (`ceremony contribute --name`), every problem of the domain options (`prove --oracle`). Each runs the
 * program in this process (the real actions) and expects the UsageError (exit 2) with its whole message. And an
 * oracle's `OracleUnknownMarket(id)` named by `--market` as typed (`set-publisher-set`, `set-adaptive`).
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Contract } from "ethers";
import { marketIdOf } from "../../candles/market-id";
import { registeredMarketOption } from "../../cli/chain-options";
import { buildProgram } from "../../cli/main";
import { UsageError } from "../../core/errors";
import { OracleError, oracleInterface } from "../../onchain/oracle";

const dir = mkdtempSync(join(tmpdir(), "zkrisk-usage-messages-"));

/** Run `zkrisk ...args` in this process and return the error it fails with. */
async function failure(...args: string[]): Promise<Error> {
  try {
    await buildProgram().parseAsync(["node", "zkrisk", ...args]);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`zkrisk ${args.join(" ")} did not fail`);
}

/** Run `zkrisk ...args` in this process and return the message of the UsageError it is refused with. */
async function refused(...args: string[]): Promise<string> {
  const err = await failure(...args);
  expect(err).toBeInstanceOf(UsageError);
  return err.message;
}

describe("zkrisk train: the split dates in order", () => {
  it("refuses a --test-from not after --validation-from, naming both and their values, before the candles", async () => {
    const out = join(dir, "never.float.json");
    const message =
      "the validation split runs from --validation-from up to --test-from, so it would be empty";
    expect(
      await refused(
        "train",
        "--out",
        out,
        "--data",
        join(dir, "no-candles.csv"),
        "--validation-from",
        "2023-06-01",
        "--test-from",
        "2023-01-01",
      ),
    ).toBe(`--test-from 2023-01-01 is not after --validation-from 2023-06-01: ${message}`);
    // one of them at its default: named with it
    expect(await refused("train", "--out", out, "--validation-from", "2023-01-01")).toBe(
      `--test-from 2023-01-01 is not after --validation-from 2023-01-01: ${message}`,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe("zkrisk ceremony contribute: --name and --entropy", () => {
  const artifacts = join(dir, "no-artifacts");
  const contribute = (...args: string[]) =>
    refused("ceremony", "contribute", "--artifacts", artifacts, ...args);

  it("refuses an empty or too long --name, naming the option, before the artifacts are read", async () => {
    const rule =
      "a contributor name has 1 to 64 (the zkey would record none of an empty name, and cut a longer one)";
    expect(await contribute("--name", "")).toBe(`--name: "" has 0 characters; ${rule}`);
    expect(await contribute("--name", "x".repeat(65))).toBe(
      `--name: "${"x".repeat(65)}" has 65 characters; ${rule}`,
    );
  });

  it("refuses an empty --entropy (snarkjs would prompt for it)", async () => {
    expect(await contribute("--name", "bob", "--entropy", "")).toBe(
      "--entropy: empty; give some text, or leave it out for random entropy",
    );
  });

  it("takes a good --name, on to the artifacts", async () => {
    const next = await failure("ceremony", "contribute", "--artifacts", artifacts, "--name", "x".repeat(64));
    expect(next.message).toContain(artifacts);
  });
});

describe("zkrisk prove: every problem of --oracle and --chain-id at once", () => {
  const prove = (...domain: string[]) =>
    refused(
      "prove",
      "--artifacts",
      join(dir, "no-artifacts"),
      "--market",
      "BTC-USDT",
      "--window",
      join(dir, "no-window.json"),
      ...domain,
      "--out",
      join(dir, "never.proof.json"),
    );
  const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const needsChainId =
    "--oracle needs --chain-id, the chain id of the oracle (they make the domain together)";

  it("names a malformed --oracle and the missing --chain-id together", async () => {
    expect(await prove("--oracle", "0x1234")).toBe(`--oracle: '0x1234' is not an address; ${needsChainId}`);
    expect(await prove("--oracle", "0x1234", "--chain-id", "0")).toBe(
      "--oracle: '0x1234' is not an address; --chain-id: '0' is not a positive integer",
    );
  });

  it("names the missing one of a well-formed pair", async () => {
    expect(await prove("--oracle", ORACLE)).toBe(needsChainId);
    expect(await prove("--chain-id", "5")).toBe(
      "--chain-id needs --oracle, the oracle the proof is for (they make the domain together)",
    );
  });
});

describe("registeredMarketOption (set-publisher-set, set-adaptive): a market the oracle does not know", () => {
  const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  /** An oracle whose `publisherSet(market)` reverts with `error`'s data, as a node reports a reverted call. */
  const oracle = (data: string) =>
    ({
      interface: oracleInterface(),
      getAddress: async () => ORACLE,
      publisherSet: async () => {
        throw Object.assign(new Error("execution reverted"), { data });
      },
    }) as unknown as Contract;

  it("names --market as typed, the oracle and the custom error", async () => {
    const id = marketIdOf("NOPE-USDT");
    const data = oracleInterface().encodeErrorResult("OracleUnknownMarket", [id]);
    const refused = registeredMarketOption(oracle(data), "NOPE-USDT", id);
    await expect(refused).rejects.toThrow(OracleError);
    await expect(refused).rejects.toThrow(
      `--market NOPE-USDT: not registered on the oracle at ${ORACLE} (OracleUnknownMarket(${id})); ` +
        "`zkrisk register-market` registers a market",
    );
  });

  it("leaves any other refusal as the oracle's", async () => {
    const data = oracleInterface().encodeErrorResult("OracleMarketPaused", [1n]);
    await expect(registeredMarketOption(oracle(data), "BTC-USDT", 1n)).rejects.toThrow(
      "the oracle refused: OracleMarketPaused(1)",
    );
  });
});
