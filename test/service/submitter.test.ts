/**
 * Sending proven signed updates (service/submitter.ts) to a real oracle on a `hardhat node` on
 * 127.0.0.1, with real proofs of the signed-update circuit (k = 1, cached artifacts; windows of the shipped
 * candles signed by a test key): the gas-price ceiling, a refusal found by the dry run (no transaction sent,
 * no nonce used), confirmation, sending the same signed transaction again, a transaction whose nonce another
 * one took (dropped), one not yet mined (pending), and the nonce of one never sent handed out again; a
 * replacement of a pending transaction (same nonce, higher fees, none past the ceiling) and settling by the
 * original when it is the one mined; a transaction the node refuses as invalid (signed for another chain), and one
 * the account cannot pay for.
 */
import { Contract, JsonRpcProvider, Transaction, Wallet } from "ethers";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { oracleDomain } from "../../prover/domain";
import { oracleInterface, OracleError } from "../../onchain/oracle";
import { SignedUpdateProver, type ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { NodeRefusalError, Submitter, TransientError } from "../../service/submitter";
import { makePublisherSet, publicKeyOf, signWindow } from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "../helpers/artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { privateKeyOf } from "../helpers/publisher-serve";
import { CandleFeed, deployMarket, FEED_START, MARKET, signedForChain } from "../helpers/service-env";

describe("Submitter", () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let wallet: Wallet;
  let oracle: Contract;
  let updates: ProvedSignedUpdate[];
  const submitter = (ceilingWei = 10n ** 12n, trackNonces = true) =>
    new Submitter(provider, wallet, oracle, {
      gasPriceCeilingWei: ceilingWei,
      confirmations: 1,
      trackNonces,
    });

  beforeAll(async () => {
    const { dir: artifacts } = await signedUpdateArtifacts(MODEL, "constant", 1);
    node = await startHardhatNode();
    const privateKey = privateKeyOf(41);
    const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    const set = await makePublisherSet([key.publicKey], 1);
    const deployed = await deployMarket(node.rpc, artifacts, set);
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    wallet = new Wallet(DEV_KEYS[1], provider);
    oracle = new Contract(deployed.oracle, oracleInterface(), provider);
    const feed = new CandleFeed(join(mkdtempSync(join(tmpdir(), "zkrisk-submit-")), "c.csv"), FEED_START);
    const series = loadCandles(feed.path);
    const prover = SignedUpdateProver.open(artifacts, { mode: "constant", quorum: 1 }, { modelPath: MODEL });
    const domain = oracleDomain(deployed.chainId, deployed.oracle);
    const n = series.candles.length;
    updates = [];
    for (const index of [n - 4, n - 3, n - 2, n - 1]) {
      const window = buildWindow(series, marketIdOf(MARKET), index, WINDOW_BARS);
      updates.push(
        await prover.prove(
          { windows: [await signWindow(key, MARKET, window)], publishers: set, domain },
          { market: MARKET },
        ),
      );
    }
    await prover.close();
  }, 900_000);

  afterAll(() => {
    provider?.destroy();
    node?.stop();
  });

  it("waits while the gas price is above the ceiling (not counted as an attempt)", async () => {
    const err = await submitter(1n)
      .sign(updates[0])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).countsAsAttempt).toBe(false);
    expect((err as Error).message).toMatch(/^gas price [\d.]+ gwei is above the ceiling of 0 gwei; waiting$/);
  });

  it("signs, sends and confirms; sending the same transaction again changes nothing", async () => {
    const s = submitter();
    const tx = await s.sign(updates[0]);
    expect(tx.nonce).toBe(await provider.getTransactionCount(wallet.address, "pending"));
    expect(await s.broadcast(tx)).toBe(true);
    const first = await s.settle(tx, 30_000, 50);
    expect(first.status).toBe("confirmed");
    // After a crash the recorded transaction is sent again: it is already mined, so nothing new happens.
    expect(await s.broadcast(tx)).toBe(true);
    const again = await s.settle(tx, 30_000, 50);
    expect(again).toMatchObject({ status: "confirmed", block: (first as { block: number }).block });
    const [, , dataTimestamp] = (await oracle.parameters(marketIdOf(MARKET))) as bigint[];
    expect(Number(dataTimestamp)).toBe(updates[0].parameters.dataTimestamp);
  });

  it("finds a refusal by the dry run: no transaction, no nonce used", async () => {
    const s = submitter();
    const before = await provider.getTransactionCount(wallet.address, "pending");
    const err = await s.sign(updates[0]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OracleError);
    expect((err as OracleError).reason).toBe("OracleNotNewer");
    const tx = await s.sign(updates[1]);
    expect(tx.nonce).toBe(before);
    expect(await s.broadcast(tx)).toBe(true);
    expect((await s.settle(tx, 30_000, 50)).status).toBe("confirmed");
  });

  it("reports a transaction whose nonce another one took as dropped", async () => {
    const s = submitter();
    const tx = await s.sign(updates[2]);
    // Another transaction of the same key with the same nonce is mined first.
    await (await wallet.sendTransaction({ to: wallet.address, value: 0n, nonce: tx.nonce })).wait();
    expect(await s.broadcast(tx)).toBe(false);
    expect((await s.settle(tx, 1_000, 50)).status).toBe("dropped");
  });

  it("reports a transaction not yet mined as pending, then confirmed once mined", async () => {
    const s = submitter();
    const tx = await s.sign(updates[2]);
    await provider.send("evm_setAutomine", [false]);
    try {
      expect(await s.broadcast(tx)).toBe(true);
      expect((await s.settle(tx, 300, 50)).status).toBe("pending");
      expect(await s.broadcast(tx)).toBe(true); // the node already has it
      await provider.send("evm_mine", []);
      expect((await s.settle(tx, 30_000, 50)).status).toBe("confirmed");
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  });

  it("takes the node's nonce for every transaction when other processes share the key", async () => {
    const tracked = submitter();
    const shared = submitter(10n ** 12n, false);
    const first = await tracked.sign(updates[3]);
    expect((await shared.sign(updates[3])).nonce).toBe(first.nonce);
    // Another process sends two transactions with the key.
    for (const nonce of [first.nonce, first.nonce + 1]) {
      await (await wallet.sendTransaction({ to: wallet.address, value: 0n, nonce })).wait();
    }
    expect((await tracked.sign(updates[3])).nonce).toBe(first.nonce + 1);
    expect((await shared.sign(updates[3])).nonce).toBe(first.nonce + 2);
  });

  it("hands the nonce of a transaction never sent out again; one beyond the account's next is refused", async () => {
    const s = submitter();
    const unsent = await s.sign(updates[3]);
    await s.unsent(unsent);
    const next = await s.sign(updates[3]);
    expect(next.nonce).toBe(unsent.nonce);
    // Signed after `next`, which is never sent: it waits behind a nonce no transaction holds.
    const behind = await s.sign(updates[3]);
    expect(behind.nonce).toBe(next.nonce + 1);
    expect(await s.broadcast(behind)).toBe(false);
    expect((await s.sign(updates[3])).nonce).toBe(next.nonce);
  });

  it("signs no replacement the ceiling leaves no room for", async () => {
    const tx = await submitter().sign(updates[3]);
    const atCeiling = submitter(Transaction.from(tx.raw).maxFeePerGas!);
    const r = await atCeiling.replace(tx);
    expect(r).toEqual({
      ceiling: expect.stringMatching(
        /^a replacement needs fees at least 10 % above its max fee [\d.]+ gwei and tip [\d.]+ gwei, above the ceiling of [\d.]+ gwei; waiting$/,
      ),
    });
  });

  it("takes a transaction the node refuses as invalid for a NodeRefusalError, and one it cannot pay for as a wait for funds", async () => {
    const s = submitter();
    const tx = await s.sign(updates[3]);
    // The same transaction signed for another chain.
    const other = { ...(await signedForChain(wallet, tx.raw, 5n)), nonce: tx.nonce };
    const refused = await s.broadcast(other).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NodeRefusalError);
    expect((refused as Error).message).toBe(
      `the node refused transaction ${other.hash} (nonce ${tx.nonce}) as invalid: Trying to send a raw ` +
        "transaction with an invalid chainId. The expected chainId is 31337",
    );
    expect(await s.neverMined(other)).toBe(true);

    const balance = await provider.getBalance(wallet.address);
    await provider.send("hardhat_setBalance", [wallet.address, "0x0"]);
    try {
      const poor = await s.broadcast(tx).catch((e: unknown) => e);
      expect(poor).toBeInstanceOf(TransientError);
      expect(poor).toMatchObject({ countsAsAttempt: true, metricReason: "insufficient_funds" });
      expect((poor as Error).message).toMatch(
        new RegExp(
          `^account ${wallet.address} lacks the funds for transaction ${tx.hash} \\(nonce ${tx.nonce}\\); top it up: ` +
            "Sender doesn't have enough funds to send tx",
        ),
      );
    } finally {
      await provider.send("hardhat_setBalance", [wallet.address, "0x" + balance.toString(16)]);
    }
    await s.unsent(tx); // never sent: updates[3] stays for the next test
  });

  it("replaces a pending transaction (same nonce, fees 12.5 % higher) and settles by whichever one is mined", async () => {
    const s = submitter();
    const tx = await s.sign(updates[3]);
    await provider.send("evm_setAutomine", [false]);
    try {
      expect(await s.broadcast(tx)).toBe(true);
      const r = await s.replace(tx);
      if ("ceiling" in r) throw new Error(r.ceiling);
      expect(r.tx).toMatchObject({ nonce: tx.nonce, others: [{ hash: tx.hash, raw: tx.raw }] });
      expect(r.tx.hash).not.toBe(tx.hash);
      expect(r.to.maxFeePerGas).toBeGreaterThanOrEqual((r.from.maxFeePerGas * 1125n) / 1000n);
      expect(r.to.maxPriorityFeePerGas).toBeGreaterThanOrEqual((r.from.maxPriorityFeePerGas * 1125n) / 1000n);
      expect(Transaction.from(r.tx.raw).data).toBe(Transaction.from(tx.raw).data);
      // The replacement is not sent: the original is the one mined, and settles the replacement's record.
      await provider.send("evm_mine", []);
      expect(await s.settle(r.tx, 30_000, 50)).toMatchObject({ status: "confirmed", hash: tx.hash });
      // Sent now, its nonce is used by the original, which has a receipt: settled, not to be signed again.
      expect(await s.broadcast(r.tx)).toBe(true);
      expect(await s.neverMined(r.tx)).toBe(false);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  });
});
