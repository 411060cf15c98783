/**
 * Waits on the chain (service/job-runner.ts `waitOnChain`): the real job runner on a real SQLite store, with a
 * submitter that fails as the real one does when the node is down or the gas price is above the ceiling:
 * - a node that does not answer is a wait, not a failed attempt: a proved job keeps its proof past
 *   `chain.maxAttempts`, looks again after a delay that grows with the time waited (capped at 60 s), logs the wait
 *   once, counts each look in `zkrisk_submit_waits_total{reason="node_unreachable"}`, and once the node answers
 *   goes on as usual (sent and confirmed, or skipped when the bar grew too old);
 * - a job with a sent transaction keeps it, and settles it once the node answers;
 * - the gas-price wait backs off the same way and logs its start once, not at each look;
 * - a node that answers with an error still spends an attempt;
 * and which errors mean that the node was not reached (`isNodeUnreachable`), with the errors ethers v6 makes of a
 * refused connection, a gateway with no node behind it (HTTP 502) and a refused key (HTTP 401), and the real
 * submitter's classification of them.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, JsonRpcProvider, makeError, Network, Wallet } from "ethers";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UPDATE_SIGNALS } from "../../circuits/public-signals";
import { OracleError, oracleInterface } from "../../onchain/oracle";
import { JobRunner, waitIn, waitingReason } from "../../service/job-runner";
import type { JobRecord, ProvedJob, SentTransaction } from "../../service/jobs";
import { ServiceMetrics } from "../../service/metrics";
import { MAX_CHAIN_WAIT_MS } from "../../service/retry";
import { SqliteJobStore } from "../../service/sqlite-store";
import {
  isNodeUnreachable,
  Submitter,
  TransientError,
  waitReasonOf,
  type Settlement,
} from "../../service/submitter";
import { DEV_KEYS } from "../helpers/hardhat-node";
import { bareJobRunner } from "../helpers/bare-job-runner";

const HOLDER = "test:1";
const BAR = 1_717_192_800; // 2024-05-31T22:00:00Z
const BASE_MS = 2_000;
const MAX_ATTEMPTS = 2;
const DOWN = "the node did not answer: connect ECONNREFUSED 127.0.0.1:8545";
const TX: SentTransaction = { hash: "0x" + "ab".repeat(32), raw: "0x02", nonce: 7, signedAt: Date.now() };

/** What the fake submitter does at each call: throw, or answer. */
interface Faults {
  sign: () => Promise<SentTransaction>;
  settle: () => Promise<Settlement>;
}

describe("job runner: waits on the chain", () => {
  let store: SqliteJobStore;
  let metrics: ServiceMetrics;
  let runner: JobRunner;
  let lines: Record<string, unknown>[];
  let faults: Faults;

  beforeEach(() => {
    store = SqliteJobStore.open(join(mkdtempSync(join(tmpdir(), "zkrisk-waits-")), "jobs.db"));
    metrics = new ServiceMetrics(() => store.counts());
    lines = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    faults = {
      sign: async () => TX,
      settle: async () => ({ status: "confirmed", block: 12, hash: TX.hash, receipt: {} as never }),
    };
    const submitter = {
      sign: () => faults.sign(),
      broadcast: async () => true,
      settle: () => faults.settle(),
      unsent: async () => undefined,
      replace: async () => ({ ceiling: "no room" }),
      neverMined: async () => false,
    } as unknown as Submitter;
    runner = bareJobRunner({
      store,
      submitter,
      metrics,
      holder: HOLDER,
      log,
      chain: { maxAttempts: MAX_ATTEMPTS, retryBaseMs: BASE_MS },
    });
  });

  afterEach(async () => {
    await store.close();
  });

  /** A proved job of BTC-USDT's bar `BAR`, to submit, with `tx` when given (sent before). */
  async function provedJob(tx: SentTransaction | null = null): Promise<JobRecord> {
    const { job } = await store.enqueue({ market: "BTC-USDT", dataTimestamp: BAR, submit: true }, Date.now());
    const update = { format: "zkrisk-signed-proof/1", parameters: { marketId: "1" } } as unknown as ProvedJob;
    return (await store.update(job.id, { status: "proved", update, tx }, Date.now()))!;
  }

  /** Claim the job as the dispatcher does once it is due (whenever that is), and run it. */
  async function runOnce(id: string): Promise<JobRecord> {
    const due = (await store.get(id))!;
    const claimed = await store.claimNext(HOLDER, Math.max(Date.now(), due.notBefore));
    expect(claimed?.id).toBe(id);
    await runner.run(claimed!);
    return (await store.get(id))!;
  }

  const waits = async (reason: string) =>
    (await metrics.submitWaits.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  const logged = (msg: string) => lines.filter((l) => l.msg === msg);

  it("keeps a proved job past maxAttempts while the node does not answer, then sends it", async () => {
    const job = await provedJob();
    faults.sign = async () => {
      throw new TransientError(DOWN);
    };
    for (let look = 1; look <= MAX_ATTEMPTS + 3; look++) {
      const t0 = Date.now();
      const after = await runOnce(job.id);
      expect({ status: after.status, attempts: after.attempts }).toEqual({ status: "proved", attempts: 0 });
      expect(after.update).not.toBeNull();
      expect(after.reason).toMatch(
        /^the node did not answer: connect ECONNREFUSED .* \(waiting for the node/,
      );
      // The first looks come after chain.retryBaseMs (a quarter of a few ms waited is less).
      expect(after.notBefore - t0).toBeGreaterThanOrEqual(BASE_MS);
      expect(after.notBefore - t0).toBeLessThan(BASE_MS + 1_000);
    }
    expect(await waits("node_unreachable")).toBe(MAX_ATTEMPTS + 3);
    // Logged once, when the wait began; no failed submission counted.
    expect(logged("waiting for the node to answer (no attempt spent)")).toHaveLength(1);
    expect(lines.filter((l) => l.level === 40 || l.level === 50)).toHaveLength(1);
    expect((await metrics.submitFailures.get()).values).toEqual([]);

    faults.sign = async () => TX;
    const done = await runOnce(job.id);
    expect({ status: done.status, tx: done.tx?.hash, block: done.block }).toEqual({
      status: "confirmed",
      tx: TX.hash,
      block: 12,
    });
    expect(logged("no longer waiting for the node to answer")).toHaveLength(1);
  });

  it("backs off by the time waited, up to 60 s, and logs a long wait again at most every 5 minutes", async () => {
    const job = await provedJob();
    faults.sign = async () => {
      throw new TransientError(DOWN);
    };
    // The wait began 40 s ago: the next look is 10 s away.
    await store.update(
      job.id,
      { reason: waitingReason(DOWN, "node_unreachable", Date.now() - 40_000) },
      Date.now(),
    );
    let t0 = Date.now();
    let after = await runOnce(job.id);
    expect(after.notBefore - t0).toBeGreaterThanOrEqual(10_000);
    expect(after.notBefore - t0).toBeLessThan(11_000);
    // Its start is kept across looks.
    expect(Date.now() - waitIn(after.reason)!.since).toBeGreaterThanOrEqual(40_000);
    expect(lines.filter((l) => String(l.msg).includes("waiting for the node"))).toEqual([]);
    // 4 min 50 s: the cap, and the line of this 5 minutes (the next look falls in the next ones).
    await store.update(
      job.id,
      { reason: waitingReason(DOWN, "node_unreachable", Date.now() - 290_000) },
      Date.now(),
    );
    t0 = Date.now();
    after = await runOnce(job.id);
    expect(after.notBefore - t0).toBeGreaterThanOrEqual(MAX_CHAIN_WAIT_MS);
    expect(after.notBefore - t0).toBeLessThan(MAX_CHAIN_WAIT_MS + 1_000);
    expect(logged("still waiting for the node to answer")).toMatchObject([{ waitedSeconds: 290 }]);
    // Later in the same 5 minutes: no line.
    await store.update(
      job.id,
      { reason: waitingReason(DOWN, "node_unreachable", Date.now() - 400_000) },
      Date.now(),
    );
    after = await runOnce(job.id);
    expect(logged("still waiting for the node to answer")).toHaveLength(1);
    expect(after).toMatchObject({ status: "proved", attempts: 0 });
  });

  it("skips a proved bar that grew too old while the node did not answer (nothing sent)", async () => {
    const job = await provedJob();
    faults.sign = async () => {
      throw new TransientError(DOWN);
    };
    await runOnce(job.id);
    faults.sign = async () => {
      throw new OracleError("OracleStaleData", "the oracle refused: OracleStaleData(1717192800, 7200)");
    };
    const done = await runOnce(job.id);
    expect({ status: done.status, tx: done.tx }).toEqual({ status: "skipped", tx: null });
    expect(done.reason).toMatch(
      /^the dry run was refused, nothing sent \(the bar grew too old while it waited\)/,
    );
    expect(await metrics.registry.metrics()).toMatch(
      /zkrisk_updates_skipped_total\{market="BTC-USDT",reason="OracleStaleData"\} 1\n/,
    );
  });

  it("keeps settling a sent transaction while the node does not answer, spending no attempt", async () => {
    const job = await provedJob(TX);
    faults.settle = async () => {
      throw new TransientError(DOWN);
    };
    for (let look = 1; look <= MAX_ATTEMPTS + 1; look++) {
      const after = await runOnce(job.id);
      expect({ status: after.status, attempts: after.attempts, tx: after.tx?.hash }).toEqual({
        status: "proved",
        attempts: 0,
        tx: TX.hash,
      });
    }
    faults.settle = async () => ({ status: "confirmed", block: 12, hash: TX.hash, receipt: {} as never });
    expect(await runOnce(job.id)).toMatchObject({ status: "confirmed", tx: { hash: TX.hash } });
  });

  it("waits out a gas price above the ceiling with one line at its start, each look counted", async () => {
    const job = await provedJob();
    faults.sign = async () => {
      throw new TransientError(
        "gas price 150 gwei is above the ceiling of 100 gwei; waiting",
        false,
        "transient",
        "gas_price",
      );
    };
    for (let look = 1; look <= 4; look++) await runOnce(job.id);
    expect(logged("waiting for a gas price under the ceiling (no attempt spent)")).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(await waits("gas_price")).toBe(4);
    expect(await store.get(job.id)).toMatchObject({ status: "proved", attempts: 0 });
  });

  it("spends an attempt when the node answers with an error, and fails the job at maxAttempts", async () => {
    const job = await provedJob();
    faults.sign = async () => {
      throw new TransientError("dry run failed: transaction failed: header not found");
    };
    expect(await runOnce(job.id)).toMatchObject({ status: "proved", attempts: 1 });
    expect(await runOnce(job.id)).toMatchObject({ status: "failed", attempts: 2 });
    expect(await waits("node_unreachable")).toBe(0);
  });
});

describe("isNodeUnreachable", () => {
  let server: Server;
  let status = 502;
  let url: string;
  const network = Network.from(31337);
  const provider = (at: string) => new JsonRpcProvider(at, network, { staticNetwork: network });

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(status);
      res.end("no node here");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(() => server.close());

  /** What `fn` throws. */
  const thrown = (fn: () => Promise<unknown>) =>
    fn().then(
      () => undefined,
      (e: unknown) => e,
    );

  it("a refused connection, and a gateway with no node behind it, are not reached", async () => {
    const closed = provider("http://127.0.0.1:9");
    status = 502;
    const gateway = provider(url);
    try {
      for (const err of [
        await thrown(() => closed.getBlockNumber()),
        await thrown(() => gateway.getBlockNumber()),
        makeError("request timeout", "TIMEOUT"),
        new TransientError(DOWN),
        new OracleError("unknown", "reading parameters of market 1: transaction failed: server response 503"),
      ]) {
        expect(isNodeUnreachable(err), String(err)).toBe(true);
      }
    } finally {
      closed.destroy();
      gateway.destroy();
    }
  });

  it("a refused key, a node's JSON-RPC error and a publisher not reached are no wait for the node", async () => {
    status = 401;
    const refusing = provider(url);
    try {
      for (const err of [
        await thrown(() => refusing.getBlockNumber()),
        new TransientError("dry run failed: transaction failed: header not found"),
        new TransientError("the node reports no gas price"),
        // A publisher that cannot be reached, in the words of a proof made again.
        new TransientError(
          "transaction 0x01 reverted in block 17: ...; proving again: BTC-USDT bar 2024-06-01T04:00:00.000Z: 0 " +
            "agreeing signed window(s): http://127.0.0.1:45197/: unreachable (request failed: connect ECONNREFUSED " +
            "127.0.0.1:45197)",
        ),
      ]) {
        expect(isNodeUnreachable(err), String(err)).toBe(false);
      }
    } finally {
      refusing.destroy();
    }
  });

  it("the submitter marks a dry run, a send and a read with the node down as a wait for the node", async () => {
    const closed = provider("http://127.0.0.1:9");
    const wallet = new Wallet(DEV_KEYS[1], closed);
    const oracle = new Contract("0x" + "11".repeat(20), oracleInterface(), closed);
    const submitter = new Submitter(closed, wallet, oracle, {
      gasPriceCeilingWei: 10n ** 11n,
      confirmations: 1,
    });
    const update = {
      format: "zkrisk-signed-proof/1",
      parameters: { marketId: "1" },
      calldata: {
        a: ["0", "0"],
        b: [
          ["0", "0"],
          ["0", "0"],
        ],
        c: ["0", "0"],
        input: UPDATE_SIGNALS.map(() => "0"),
      },
    } as unknown as ProvedJob;
    try {
      for (const err of [
        await thrown(() => submitter.sign(update)),
        await thrown(() => submitter.broadcast(TX)),
        await thrown(() => submitter.settle(TX, 0)),
      ]) {
        expect(err).toBeInstanceOf(TransientError);
        expect((err as Error).message).toMatch(/^the node did not answer: connect ECONNREFUSED/);
        expect(waitReasonOf(err)).toBe("node_unreachable");
      }
    } finally {
      closed.destroy();
    }
  });
});
