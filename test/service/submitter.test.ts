/**
 * Sending proven updates (prover/service/submitter.ts) to a real oracle on a `hardhat node` on 127.0.0.1, with
 * real proofs: the gas-price ceiling, a refusal found by the dry run (no transaction sent, no nonce used),
 * confirmation, sending the same signed transaction again, a transaction whose nonce another one took
 * (dropped), and one not yet mined (pending).
 */
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCandles } from "../../models/load-data";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { oracleInterface, OracleError } from "../../prover/onchain/oracle";
import { UpdateProver, type ProvedUpdate } from "../../prover/prove-update";
import { Submitter, TransientError } from "../../prover/service/submitter";
import { buildProvingArtifacts, MODEL } from "../helpers/artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { CandleFeed, deployMarket, MARKET } from "../helpers/service-env";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

describe("Submitter", () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let wallet: Wallet;
  let oracle: Contract;
  let updates: ProvedUpdate[];
  const submitter = (ceilingWei = 10n ** 12n, trackNonces = true) =>
    new Submitter(provider, wallet, oracle, {
      gasPriceCeilingWei: ceilingWei,
      confirmations: 1,
      trackNonces,
    });

  beforeAll(async () => {
    const artifacts = await buildProvingArtifacts();
    node = await startHardhatNode();
    const deployed = await deployMarket(node.rpc, artifacts);
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    wallet = new Wallet(DEV_KEYS[1], provider);
    oracle = new Contract(deployed.oracle, oracleInterface(), provider);
    const feed = new CandleFeed(
      join(mkdtempSync(join(tmpdir(), "zkrisk-submit-")), "c.csv"),
      "2024-05-20 00:00:00",
    );
    const series = loadCandles(feed.path);
    const prover = await UpdateProver.open(artifacts, { modelPath: MODEL });
    const n = series.candles.length;
    updates = [];
    for (const index of [n - 4, n - 3, n - 2, n - 1]) {
      updates.push(
        await prover.proveBar(series, {
          market: MARKET,
          marketId: marketIdOf(MARKET),
          domain: oracleDomain(deployed.chainId, deployed.oracle),
          index,
        }),
      );
    }
    await prover.close();
  }, 600_000);

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
});
