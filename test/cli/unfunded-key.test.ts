/**
 * A `--key` whose account cannot pay (onchain/chain.ts's signer, onchain/insufficient-funds.ts): on a `hardhat
 * node`, `zkrisk deploy` with an empty account is refused with exit 2 naming `--key`, the account, its balance and
 * what the transaction could cost, whether the node says so as Hardhat does ("Sender doesn't have enough funds",
 * which ethers leaves as "could not coalesce error") or as geth does (ethers' INSUFFICIENT_FUNDS); and a governance
 * transaction sent through the oracle's functions (whose refusals are decoded) is refused with the same message.
 */
import { JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcChain } from "../../onchain/chain";
import { deployOracle, deployVerifier } from "../../onchain/oracle";
import { startFaultyRpc } from "../helpers/faulty-rpc";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { batchStandInArtifacts } from "../helpers/signed-batch-stand-in";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { zkrisk, zkriskAsync, type ZkriskRun } from "../helpers/zkrisk-cli";

/** A valid key whose account holds nothing on the node: 1. */
const EMPTY_KEY = "0x" + "00".repeat(31) + "01";
const EMPTY_ACCOUNT = new Wallet(EMPTY_KEY).address;

let node: HardhatNode;
let updateArtifacts: string;
let batchArtifacts: string;

/** The start of the refusal of EMPTY_KEY's transactions on the node (chain 31337), up to the cost. */
const REFUSAL =
  `--key: account ${EMPTY_ACCOUNT} has 0 ETH on chain 31337, too little to pay for this transaction ` +
  "(it may cost up to ";

/** A run refused with exit code 2, the message starting with {@link REFUSAL} and ending with its advice. */
function expectRefused(r: ZkriskRun): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr.startsWith(`zkrisk: ${REFUSAL}`), r.stderr).toBe(true);
  expect(r.stderr).toMatch(
    /up to 0\.\d+ ETH: gas limit × max fee per gas \+ value\); fund the account or give another --key\n$/,
  );
}

/** How many transactions EMPTY_ACCOUNT has sent (a provider of its own: the CLI's runs block this process). */
async function sentByEmptyAccount(): Promise<number> {
  const provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  try {
    return await provider.getTransactionCount(EMPTY_ACCOUNT);
  } finally {
    provider.destroy();
  }
}

beforeAll(async () => {
  [updateArtifacts, batchArtifacts, node] = await Promise.all([
    standInArtifacts(),
    batchStandInArtifacts(2),
    startHardhatNode(),
  ]);
  expect(EMPTY_ACCOUNT).toBe("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
}, 600_000);

afterAll(() => node?.stop());

describe("a --key whose account cannot pay", () => {
  it("zkrisk deploy is refused as Hardhat refuses it (exit 2), in text and as JSON; nothing is sent", async () => {
    const args = ["deploy", "--artifacts", updateArtifacts, "--rpc", node.rpc, "--key", EMPTY_KEY];
    expectRefused(zkrisk(...args));
    const json = zkrisk(...args, "--json");
    expect(json.code, json.stderr).toBe(2);
    const error = JSON.parse(json.stderr) as { error: string; message: string };
    expect(error.error).toBe("USAGE");
    expect(error.message.startsWith(REFUSAL), error.message).toBe(true);
    expect(await sentByEmptyAccount()).toBe(0);
  });

  it("zkrisk deploy is refused as geth refuses it (ethers' INSUFFICIENT_FUNDS, exit 2)", async () => {
    const faulty = await startFaultyRpc(node.rpc);
    try {
      faulty.sendError = "insufficient funds for gas * price + value: balance 0, tx cost 1226665588630724";
      const r = await zkriskAsync(
        "deploy",
        "--artifacts",
        updateArtifacts,
        "--rpc",
        faulty.url,
        "--key",
        EMPTY_KEY,
      );
      expectRefused(r);
    } finally {
      await faulty.close();
    }
  });

  it("a governance transaction through the oracle's functions is refused with the same message (exit 2)", async () => {
    const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
    let oracle: string;
    let verifier: string;
    try {
      // The empty account governs this oracle, so the node's estimate passes and only the payment fails.
      oracle = await (await deployOracle(chain.signer, EMPTY_ACCOUNT)).getAddress();
      verifier = await (await deployVerifier(chain.signer, batchArtifacts)).getAddress();
    } finally {
      await chain.close();
    }
    const r = zkrisk(
      "set-batch-verifier",
      "--oracle",
      oracle,
      "--artifacts",
      batchArtifacts,
      "--commitment",
      "5",
      "--verifier",
      verifier,
      "--rpc",
      node.rpc,
      "--key",
      EMPTY_KEY,
    );
    expectRefused(r);
    expect(await sentByEmptyAccount()).toBe(0);
  });
});
