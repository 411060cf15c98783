/**
 * `--oracle` must be a RiskOracle (onchain/oracle-identity.ts): on a `hardhat node` with a verifier and an oracle
 * deployed by `zkrisk deploy`, the verifier's address given as `--oracle` is refused by `audit` (which would
 * otherwise report "no accepted update" and exit 0), `read` and the governance commands, exit 2, naming
 * `--oracle` and the address, sending nothing; so is a contract whose answer does not decode. The oracle itself is
 * still read and audited, an address without code is still refused as such, and a node that fails the call is
 * not taken for a wrong address.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcChain } from "../../onchain/chain";
import { makePublisherSet, publicKeyOf, writePublisherSet } from "../../publisher";
import { startFaultyRpc } from "../helpers/faulty-rpc";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { batchStandInArtifacts } from "../helpers/signed-batch-stand-in";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { zkrisk, zkriskAsync, type ZkriskRun } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const GOVERNOR = new Wallet(DEV_KEYS[0]).address;
/**
 * Creation code of a contract that answers every call with one zero word: `PUSH1 32 PUSH1 0 RETURN` (60206000f3)
 * as its runtime code, which the creation code stores in memory and returns.
 */
const ONE_WORD_ANSWERER = "0x6460206000f36000526005601bf3";

const dir = mkdtempSync(join(tmpdir(), "zkrisk-oracle-identity-"));
let node: HardhatNode;
let verifier: string;
let oracle: string;
let batchArtifacts: string;

/** The refusal of `address` as `--oracle` for a revert of the probe. */
const notAnOracle = (address: string): string =>
  `--oracle: ${address} is not a RiskOracle (the contract there reverts readings(uint256[],uint64), which every ` +
  "RiskOracle answers; give the oracle's address, which `zkrisk deploy` prints as `oracle`, not the verifier's)";

/** A run refused with exit code 2 and `message`, nothing on stdout. */
function expectRefused(r: ZkriskRun, message: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).toBe(`zkrisk: ${message}\n`);
}

beforeAll(async () => {
  const [update, batch, started] = await Promise.all([
    standInArtifacts(),
    batchStandInArtifacts(2),
    startHardhatNode(),
  ]);
  node = started;
  batchArtifacts = batch;
  const deployed = zkrisk("deploy", "--artifacts", update, "--rpc", node.rpc, "--key", DEV_KEYS[0], "--json");
  expect(deployed.code, deployed.stderr).toBe(0);
  ({ verifier, oracle } = JSON.parse(deployed.stdout) as { verifier: string; oracle: string });
  const set = await makePublisherSet([await publicKeyOf(new Uint8Array(32).fill(7))], 1);
  writePublisherSet(join(dir, "set.json"), set);
}, 600_000);

afterAll(() => node?.stop());

/**
 * `read` run with a provider of its own: a connection kept alive across the blocking runs of the CLI would find the node
 * closed it ("socket hang up").
 */
async function onNode<T>(read: (provider: JsonRpcProvider) => Promise<T>): Promise<T> {
  const provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  try {
    return await read(provider);
  } finally {
    provider.destroy();
  }
}

describe("--oracle that is not a RiskOracle", () => {
  it("zkrisk audit refuses the verifier's address (exit 2), in text and as JSON", () => {
    expectRefused(zkrisk("audit", "--rpc", node.rpc, "--oracle", verifier), notAnOracle(verifier));
    const json = zkrisk("audit", "--rpc", node.rpc, "--oracle", verifier, "--json");
    expect(json.code, json.stderr).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({ error: "USAGE", message: notAnOracle(verifier) });
  });

  it("zkrisk read refuses it (exit 2)", () => {
    const r = zkrisk("read", "--rpc", node.rpc, "--oracle", verifier, "--market", "BTC-USDT");
    expectRefused(r, notAnOracle(verifier));
  });

  it("the governance commands refuse it (exit 2) and send nothing", async () => {
    const key = ["--rpc", node.rpc, "--key", DEV_KEYS[0]];
    const nonce = await onNode((p) => p.getTransactionCount(GOVERNOR));
    const runs = {
      "register-market": zkrisk(
        "register-market",
        "--oracle",
        verifier,
        "--market",
        "BTC-USDT",
        "--verifier",
        verifier,
        "--model",
        MODEL,
        "--publishers",
        join(dir, "set.json"),
        ...key,
      ),
      "set-publisher-set": zkrisk(
        "set-publisher-set",
        "--oracle",
        verifier,
        "--market",
        "BTC-USDT",
        "--commitment",
        "5",
        ...key,
      ),
      "set-adaptive": zkrisk("set-adaptive", "--oracle", verifier, "--market", "BTC-USDT", "--off", ...key),
      "set-batch-verifier": zkrisk(
        "set-batch-verifier",
        "--oracle",
        verifier,
        "--artifacts",
        batchArtifacts,
        "--commitment",
        "5",
        "--verifier",
        verifier,
        ...key,
      ),
    };
    for (const [command, r] of Object.entries(runs)) {
      expect(r.stderr, command).toBe(`zkrisk: ${notAnOracle(verifier)}\n`);
      expect(r.code, command).toBe(2);
    }
    expect(await onNode((p) => p.getTransactionCount(GOVERNOR))).toBe(nonce);
  });

  it("refuses a contract whose answer does not decode as a reading (exit 2)", async () => {
    const chain = await rpcChain(node.rpc, DEV_KEYS[1]);
    let answerer: string;
    try {
      const receipt = await (await chain.signer.sendTransaction({ data: ONE_WORD_ANSWERER })).wait();
      answerer = receipt!.contractAddress!;
    } finally {
      await chain.close();
    }
    expect(await onNode((p) => p.call({ to: answerer, data: "0x12345678" }))).toBe("0x" + "00".repeat(32));
    const r = zkrisk("read", "--rpc", node.rpc, "--oracle", answerer, "--market", "BTC-USDT");
    expectRefused(
      r,
      `--oracle: ${answerer} is not a RiskOracle (its answer to readings(uint256[],uint64), 32 bytes, is not the ` +
        "reading a RiskOracle returns; give the oracle's address, which `zkrisk deploy` prints as `oracle`, not the " +
        "verifier's)",
    );
  });
});

describe("what the check lets through or leaves to other errors", () => {
  it("the RiskOracle is read and audited as before (exit 0)", () => {
    const read = zkrisk("read", "--rpc", node.rpc, "--oracle", oracle, "--market", "BTC-USDT", "--json");
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ oracle, markets: [{ status: "unknown market" }] });
    const audit = zkrisk("audit", "--rpc", node.rpc, "--oracle", oracle);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toContain(`audit of RiskOracle ${oracle}`);
  });

  it("an address without code is still refused as such (exit 2)", async () => {
    const empty = "0x000000000000000000000000000000000000dEaD";
    const { chainId } = await onNode((p) => p.getNetwork());
    const r = zkrisk("read", "--rpc", node.rpc, "--oracle", empty, "--market", "BTC-USDT");
    expectRefused(r, `--oracle: no contract at ${empty} on chain ${chainId} (${node.rpc})`);
  });

  it("a node that fails the call is a node failure (exit 1), not a wrong address", async () => {
    const faulty = await startFaultyRpc(node.rpc);
    try {
      faulty.failCalls = true;
      const r = await zkriskAsync("read", "--rpc", faulty.url, "--oracle", oracle, "--market", "BTC-USDT");
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toBe(
        `zkrisk: cannot check that ${oracle} is a RiskOracle: the node failed the call of ` +
          "readings(uint256[],uint64) (the node said: header not found)\n",
      );
    } finally {
      await faulty.close();
    }
  });
});
