/**
 * The bounds on the work a token holder can queue through the API (service/requests.ts `ProofRequests`), with the
 * service's own parts: the SQLite job store on a temporary file, its jobs moved by the store's claim and the state
 * machine's transitions; the RiskOracle on Hardhat's in-process network, served over JSON-RPC to the service's
 * `ChainView`, with BTC-USDT and SOL-USDT registered with a maxDataAge of 6 h and ETH-USDT of 3 h; the chain's clock
 * on 2024-06-01T12:00:00Z. A bar older than its proof can be of use (to submit: the oracle's maxDataAge for the
 * market, the smallest of a batch's; proof only: api.maxBarAgeSeconds) is refused 400 BAR_TOO_OLD naming the field
 * and the bars taken; when the node fails the oracle's reads (every eth_call answered "header not found", as a
 * load-balanced backend behind the others answers), a request to submit is bounded by api.maxBarAgeSeconds; a market
 * gets no new job while it has api.maxPendingJobsPerMarket jobs to prove (429 TOO_MANY_JOBS), also when asked at
 * once, counted in the store whichever process or the scheduler made them. The HTTP statuses by `app.inject` on the
 * API of a stand-in service that hands each request to these `ProofRequests`.
 *
 * In the slow suite (it starts Hardhat). The refusals made before the store or the chain is read are
 * test/service/requests.test.ts.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { ZeroAddress, parseUnits } from "ethers";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { modelCommitment } from "../../circuits/commitments";
import { ZkriskError } from "../../core/errors";
import { isoFromSeconds } from "../../core/time";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { inProcessChain, type Chain } from "../../onchain/chain";
import { DEFAULT_LIMITS, deployOracle, deployVerifier, registerMarket } from "../../onchain/oracle";
import { makePublisherSet, publicKeyOf, publisherSetCommitment, type PublisherSet } from "../../publisher";
import { buildApi } from "../../service/api";
import type { BatchMember, BatchRuntime } from "../../service/batches";
import { ChainView } from "../../service/chain-view";
import type { ChainConfig } from "../../service/config";
import { SERVICE_DEFAULTS } from "../../service/config-schema";
import { LocalDispatcher } from "../../service/dispatcher";
import type { JobStatus } from "../../service/job-states";
import { jobIdOf, transition, type JobFieldPatch, type JobRecord } from "../../service/jobs";
import type { MarketRuntime } from "../../service/markets";
import { ServiceMetrics } from "../../service/metrics";
import { PublisherBatches, PublisherWindows } from "../../service/publisher-windows";
import { RequestRefusedError } from "../../service/request-errors";
import { ProofRequests, type ProofRequestsOptions } from "../../service/requests";
import type { ProverService } from "../../service/service";
import { SqliteJobStore } from "../../service/sqlite-store";
import { utc } from "../contracts/fixture";
import { MODEL } from "../helpers/artifacts";
import { startFaultyRpc, type FaultyRpc } from "../helpers/faulty-rpc";
import { noCounts } from "../helpers/job-store-contract";
import { serveInProcessNetwork, type InProcessRpc } from "../helpers/rpc-server";
import { standInArtifacts } from "../helpers/signed-update-stand-in";

/**
 * The chain's time in these tests: 2024-06-01T12:00:00Z (the in-process chain starts at 00:00 that day,
 * hardhat.config.ts); the newest closed 2 h bar opened at 10:00.
 */
const NOW = utc(2024, 6, 1, 12);
const HOUR = 3600;
const NEWEST = NOW - 2 * HOUR;

/** Each market's maxDataAge on the oracle (s). */
const MAX_DATA_AGE: Record<string, number> = {
  "BTC-USDT": 6 * HOUR,
  "SOL-USDT": 6 * HOUR,
  "ETH-USDT": 3 * HOUR,
};

/** This process, as the service names the holder of the jobs it claims. */
const HOLDER = `${hostname()}:${process.pid}`;
const log = pino({ level: "silent" });

let chain: Chain;
/** The in-process network over JSON-RPC, as the service reaches a node. */
let node: InProcessRpc;
/** The same node behind a proxy that fails every eth_call: the oracle cannot be read, the chain's clock can. */
let failingCalls: FaultyRpc;
let oracle: string;
/** The verifier the oracle registered: a contract, not a RiskOracle. */
let verifier: string;
/** The signed-update stand-in's artifacts, whose verifier the oracle registered for every market. */
let artifacts: string;
/** The shipped model (2 h bars), registered for every market with `publishers`. */
let model: QuantizedModel;
let commitment: bigint;
let publishers: PublisherSet;

beforeAll(async () => {
  chain = await inProcessChain();
  artifacts = await standInArtifacts();
  verifier = await (await deployVerifier(chain.signer, artifacts)).getAddress();
  const contract = await deployOracle(chain.signer, await chain.signer.getAddress());
  model = loadQuantizedModel(MODEL);
  commitment = await modelCommitment(model);
  publishers = await makePublisherSet([await publicKeyOf(new Uint8Array(32).fill(9))], 1);
  const publisherSet = await publisherSetCommitment(publishers);
  for (const [market, maxDataAge] of Object.entries(MAX_DATA_AGE)) {
    await registerMarket(contract, marketIdOf(market), {
      publishers: { verifier, modelCommitment: commitment, publisherSet, quorum: publishers.quorum },
      guardian: ZeroAddress,
      limits: { ...DEFAULT_LIMITS, maxDataAge },
    });
  }
  oracle = await contract.getAddress();
  expect(await chain.mineAt(NOW)).toBe(true);
  node = await serveInProcessNetwork();
  failingCalls = await startFaultyRpc(node.url);
  failingCalls.failCalls = true;
});

afterAll(async () => {
  await failingCalls?.close();
  await node?.close();
  await chain?.close();
});

let dir: string;
/** What each test opened, closed after it. */
let opened: { store: SqliteJobStore; view: ChainView }[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-request-bounds-"));
  opened = [];
});

afterEach(async () => {
  for (const { store, view } of opened) {
    view.destroy();
    await store.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The service's chain settings for the node at `rpc` (defaults; the key is never read: nothing is sent). */
function chainConfig(rpc: string): ChainConfig {
  const D = SERVICE_DEFAULTS;
  return {
    rpc,
    oracle,
    key: { kind: "env", name: "ZKRISK_TEST_PROVER_KEY" },
    gasPriceCeilingGwei: D.gasPriceCeilingGwei,
    gasPriceCeilingWei: parseUnits(String(D.gasPriceCeilingGwei), "gwei"),
    confirmations: D.confirmations,
    maxAttempts: D.maxAttempts,
    retryBaseMs: D.retryBaseMs,
    replaceAfterSeconds: D.replaceAfterSeconds,
  };
}

/**
 * A service proving BTC-USDT alone and the batch "majors" (SOL-USDT and ETH-USDT) with the shipped 2 h model,
 * over a new SQLite store and the oracle (through a node that fails its reads, `oracleDown`). No job is proved or
 * sent: the dispatcher is not started (told of a job, it claims none; the tests claim jobs as its runner would),
 * and the circuit fields (`artifactsDir`, `mode`) and the publishers' URLs (none) are never read.
 */
async function bounded(o: { maxPendingJobsPerMarket?: number; oracleDown?: boolean } = {}) {
  const store = SqliteJobStore.open(join(dir, "jobs.db"));
  const view = await ChainView.connect(chainConfig(o.oracleDown ? failingCalls.url : node.url));
  opened.push({ store, view });
  const quorum = { set: publishers, urls: [], timeoutMs: SERVICE_DEFAULTS.publisherTimeoutMs, log };
  const windows = { intervalMs: model.barIntervalMs, bars: WINDOW_BARS };
  const market: MarketRuntime = {
    id: "BTC-USDT",
    marketId: marketIdOf("BTC-USDT"),
    modelPath: MODEL,
    artifactsDir: artifacts,
    model,
    modelCommitment: commitment,
    mode: "constant",
    publishers,
    windows: new PublisherWindows({ market: "BTC-USDT", ...quorum, ...windows }),
    lastScheduled: 0,
  };
  // In the proof's order: ids increasing.
  const members: BatchMember[] = ["SOL-USDT", "ETH-USDT"]
    .map((id) => ({ id, marketId: marketIdOf(id), modelPath: MODEL, model, modelCommitment: commitment }))
    .sort((a, b) => (a.marketId < b.marketId ? -1 : 1));
  const batch: BatchRuntime = {
    id: "majors",
    markets: members,
    modelPath: MODEL,
    artifactsDir: artifacts,
    model,
    mode: "constant",
    publishers,
    batches: new PublisherBatches({
      market: "majors",
      markets: members.map((m) => m.id),
      ...quorum,
      ...windows,
    }),
    lastScheduled: 0,
  };
  const parts: ProofRequestsOptions = {
    markets: new Map([[market.id, market]]),
    batches: new Map([[batch.id, batch]]),
    store,
    dispatcher: new LocalDispatcher({ store, holder: HOLDER, concurrency: 1, log }),
    chain: view,
    metrics: new ServiceMetrics(() => store.counts()),
    log,
    api: { maxPendingJobsPerMarket: o.maxPendingJobsPerMarket ?? 16, maxBarAgeSeconds: 7 * 24 * HOUR },
    stopping: () => false,
  };
  return { requests: new ProofRequests(parts), store };
}

/** The refusal of a request that must be refused. */
async function refused(request: Promise<unknown>): Promise<RequestRefusedError> {
  const err = await request.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RequestRefusedError);
  return err as RequestRefusedError;
}

describe("proof requests: bounds on the work a token holder can queue", () => {
  it("refuses a bar older than a proof of it is of use, naming the field and the bars it takes", async () => {
    const { requests } = await bounded();
    const eightHours = NOW - 8 * HOUR;
    // To submit: the oracle refuses data older than the market's maxDataAge (6 h).
    expect(await refused(requests.request("BTC-USDT", eightHours, true))).toMatchObject({
      code: "BAR_TOO_OLD",
      message:
        `timestamp: ${eightHours} (${isoFromSeconds(eightHours)}) is 28800 s old by the chain's clock; the oracle ` +
        `(maxDataAge of market BTC-USDT) takes bars at most 21600 s old: bars of BTC-USDT from ` +
        `${isoFromSeconds(NOW - 6 * HOUR)} to ${isoFromSeconds(NEWEST)} (the newest closed one)`,
    });
    expect((await requests.request("BTC-USDT", NOW - 6 * HOUR, true)).created).toBe(true);
    // Proof only: up to api.maxBarAgeSeconds (7 days); the proof-only job is not made a submitting one.
    expect((await requests.request("BTC-USDT", eightHours, false)).created).toBe(true);
    expect((await refused(requests.request("BTC-USDT", eightHours, true))).code).toBe("BAR_TOO_OLD");
    expect((await requests.request("BTC-USDT", NOW - 7 * 24 * HOUR, false)).created).toBe(true);
    const eightDays = NOW - 8 * 24 * HOUR;
    expect((await refused(requests.request("BTC-USDT", eightDays, false))).message).toBe(
      `timestamp: ${eightDays} (${isoFromSeconds(eightDays)}) is 691200 s old by the chain's clock; a proof-only ` +
        `request (api.maxBarAgeSeconds) takes bars at most 604800 s old: bars of BTC-USDT from ` +
        `${isoFromSeconds(NOW - 7 * 24 * HOUR)} to ${isoFromSeconds(NEWEST)} (the newest closed one)`,
    );
    expect((await refused(requests.request("BTC-USDT", 0, false))).code).toBe("BAR_TOO_OLD");
    // A batch, to submit: the smallest maxDataAge of its markets (ETH-USDT's 3 h).
    const fourHours = NOW - 4 * HOUR;
    expect((await refused(requests.request("majors", fourHours, true))).message).toMatch(
      /; the oracle \(maxDataAge of market ETH-USDT\) takes bars at most 10800 s old: bars of majors from /,
    );
    expect((await requests.request("majors", NOW - 2 * HOUR, true)).created).toBe(true);
  });

  it("the service does not start on a chain.oracle that is not a RiskOracle; a node that fails its calls is no reason", async () => {
    const err = await ChainView.connect(
      { ...chainConfig(node.url), oracle: verifier },
      { file: "service.json" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkriskError);
    expect(err).toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(
        new RegExp(
          `^service\\.json: chain\\.oracle: ${verifier} is not a RiskOracle \\(the contract there reverts readings`,
        ),
      ),
    });
    // through a node that fails every eth_call: started, the reads fail later as the chain unreachable
    (await ChainView.connect(chainConfig(failingCalls.url))).destroy();
  });

  it("bounds a request to submit by api.maxBarAgeSeconds when the oracle cannot be read", async () => {
    const { requests } = await bounded({ oracleDown: true });
    expect((await requests.request("BTC-USDT", NOW - 8 * HOUR, true)).created).toBe(true);
    expect(await refused(requests.request("BTC-USDT", NOW - 8 * 24 * HOUR, true))).toMatchObject({
      code: "BAR_TOO_OLD",
      message: expect.stringContaining(
        "; a proof-only request (api.maxBarAgeSeconds) takes bars at most 604800 s",
      ),
    });
  });

  it("makes no new job while a market has api.maxPendingJobsPerMarket to prove, also asked at once; one more once one is proved", async () => {
    const { requests, store } = await bounded({ maxPendingJobsPerMarket: 3 });
    const bars = Array.from({ length: 5 }, (_, k) => NEWEST - k * 2 * HOUR);
    const answers = await Promise.allSettled(bars.map((t) => requests.request("BTC-USDT", t, false)));
    expect(answers.filter((a) => a.status === "fulfilled")).toHaveLength(3);
    const refusals = answers.flatMap((a) =>
      a.status === "rejected" ? [a.reason as RequestRefusedError] : [],
    );
    expect(refusals.map((e) => [e.code, e.message])).toEqual(
      Array(2).fill([
        "TOO_MANY_JOBS",
        "market 'BTC-USDT' has 3 jobs waiting to be proved or being proved, the most at which it takes a new one " +
          "(api.maxPendingJobsPerMarket 3): ask again once one is proved (GET /v1/proofs/:id)",
      ]),
    );
    expect(await store.counts()).toEqual({ ...noCounts(), queued: 3 });
    // Newest first, so the first is at most 6 h old (the oracle's maxDataAge) whichever three were taken.
    const taken = answers
      .flatMap((a) => (a.status === "fulfilled" ? [a.value.job] : []))
      .sort((a, b) => b.dataTimestamp - a.dataTimestamp);
    const [toSubmit, proofOnly, inFlight] = taken;
    const left = bars.filter((t) => !taken.some((job) => job.dataTimestamp === t));
    // Asked again, a job is answered (and may be made to submit); another market has its own count.
    expect((await requests.request("BTC-USDT", proofOnly.dataTimestamp, false)).created).toBe(false);
    expect((await requests.request("BTC-USDT", toSubmit.dataTimestamp, true)).created).toBe(false);
    expect((await requests.request("majors", NEWEST, false)).created).toBe(true);
    expect((await refused(requests.request("BTC-USDT", left[0], false))).code).toBe("TOO_MANY_JOBS");
    // The job runner claims every due job (queued -> proving: still to be proved).
    expect((await claimAll(store)).map((job) => job.id).sort()).toEqual(
      [...taken.map((job) => job.id), jobIdOf("majors", NEWEST)].sort(),
    );
    expect((await refused(requests.request("BTC-USDT", left[0], false))).code).toBe("TOO_MANY_JOBS");
    const moveTo = async (job: JobRecord, to: JobStatus, patch: JobFieldPatch = {}) =>
      expect(await transition(store, job.id, to, patch, Date.now())).toMatchObject({ status: to });
    // Proved (still to submit or not) or failed: no longer pending.
    await moveTo(proofOnly, "proved");
    expect((await requests.request("BTC-USDT", left[0], false)).created).toBe(true);
    const older = NEWEST - 10 * 2 * HOUR;
    expect((await refused(requests.request("BTC-USDT", older, false))).code).toBe("TOO_MANY_JOBS");
    await moveTo(toSubmit, "proved");
    expect((await requests.request("BTC-USDT", older, false)).created).toBe(true);
    expect((await refused(requests.request("BTC-USDT", older - 2 * HOUR, false))).code).toBe("TOO_MANY_JOBS");
    await moveTo(inFlight, "failed", { reason: "retries exhausted" });
    expect((await requests.request("BTC-USDT", older - 2 * HOUR, false)).created).toBe(true);
  });

  it("counts the market's jobs in the store: the scheduler's, and those another process made through its own connection", async () => {
    const { requests, store } = await bounded({ maxPendingJobsPerMarket: 2 });
    // Another service process on the same store, with its own connection and request handler.
    const other = await bounded({ maxPendingJobsPerMarket: 2 });
    // The scheduler enqueues with no cap: its job is never refused, and counts.
    expect(
      (await store.enqueue({ market: "BTC-USDT", dataTimestamp: NEWEST, submit: true }, Date.now())).created,
    ).toBe(true);
    expect((await other.requests.request("BTC-USDT", NEWEST - 2 * HOUR, false)).created).toBe(true);
    for (const r of [requests, other.requests]) {
      expect(await refused(r.request("BTC-USDT", NEWEST - 4 * HOUR, false))).toMatchObject({
        code: "TOO_MANY_JOBS",
        message: expect.stringMatching(/^market 'BTC-USDT' has 2 jobs waiting to be proved or being proved/),
      });
    }
    // Each process answers the jobs that exist, whoever made them.
    expect((await requests.request("BTC-USDT", NEWEST - 2 * HOUR, true)).job).toMatchObject({ submit: true });
    expect(await store.counts()).toEqual({ ...noCounts(), queued: 2 });
    // The count is the store's, not a process's: after a restart (a new connection and handler) it holds.
    const restarted = await bounded({ maxPendingJobsPerMarket: 2 });
    expect((await refused(restarted.requests.request("BTC-USDT", NEWEST - 4 * HOUR, false))).code).toBe(
      "TOO_MANY_JOBS",
    );
  });

  it("answers BAR_TOO_OLD with 400 and TOO_MANY_JOBS with 429, with their messages", async () => {
    const { requests } = await bounded({ maxPendingJobsPerMarket: 1 });
    const token = "test-token-0123456789abcdef";
    // ProverService wires a started service (artifacts, prover pool, signer key); the API only hands it requests.
    const service = {
      request: (market: string, timestamp: number, submit: boolean) =>
        requests.request(market, timestamp, submit),
    } as unknown as ProverService;
    const app = await buildApi(service, {
      tokenHashes: [createHash("sha256").update(token).digest("hex")],
      bodyLimitBytes: 4096,
      rateLimitPerMinute: 1000,
      log,
    });
    const post = (timestamp: number) =>
      app.inject({
        method: "POST",
        url: "/v1/proofs",
        headers: { authorization: `Bearer ${token}` },
        payload: { market: "BTC-USDT", timestamp },
      });
    try {
      const old = await post(NOW - 8 * 24 * HOUR);
      expect(old.statusCode).toBe(400);
      expect(old.json()).toEqual({ error: "BAR_TOO_OLD", message: expect.stringMatching(/^timestamp: /) });
      expect((await post(NEWEST)).statusCode).toBe(202);
      const busy = await post(NEWEST - 2 * HOUR);
      expect(busy.statusCode).toBe(429);
      expect(busy.json()).toEqual({
        error: "TOO_MANY_JOBS",
        message: expect.stringMatching(/^market 'BTC-USDT' has 1 jobs waiting to be proved or being proved/),
      });
    } finally {
      await app.close();
    }
  });
});

/** Claim every due job of `store`, as this process's job runner would (queued -> proving). */
async function claimAll(store: SqliteJobStore): Promise<JobRecord[]> {
  const claimed: JobRecord[] = [];
  for (;;) {
    const job = await store.claimNext(HOLDER, Date.now());
    if (job === undefined) return claimed;
    claimed.push(job);
  }
}
