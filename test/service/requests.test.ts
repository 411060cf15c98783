/**
 * What the service answers a proof request (service/requests.ts): refusals before it looks at the store or the
 * chain that name what to ask for instead; and the bounds on the work a token holder can queue, with a stand-in
 * store and oracle: a bar older than its proof can be of use (to submit: the oracle's maxDataAge for the market,
 * the smallest of a batch's; proof only: api.maxBarAgeSeconds) is refused 400 BAR_TOO_OLD naming the field and
 * the bars taken, and a market takes at most api.maxPendingJobsPerMarket unfinished API jobs (429 TOO_MANY_JOBS),
 * also when asked at once. The HTTP statuses by `app.inject` on the API of a stand-in service.
 */
import { createHash } from "node:crypto";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { isoFromSeconds } from "../../core/time";
import { buildApi } from "../../service/api";
import type { BatchRuntime } from "../../service/batches";
import type { JobRecord, JobSpec } from "../../service/jobs";
import { jobIdOf } from "../../service/jobs";
import { RequestRefusedError } from "../../service/request-errors";
import { ProofRequests, type ProofRequestsOptions } from "../../service/requests";
import type { ProverService } from "../../service/service";

/** A service with one batch, "majors", of BTC-USDT and ETH-USDT, and no market proved alone. */
function requests(): ProofRequests {
  const batch = { id: "majors", markets: [{ id: "BTC-USDT" }, { id: "ETH-USDT" }] } as BatchRuntime;
  // Nothing else is reached before these refusals.
  const parts = {
    markets: new Map(),
    batches: new Map([["majors", batch]]),
    log: pino({ level: "silent" }),
    stopping: () => false,
  } as unknown as ProofRequestsOptions;
  return new ProofRequests(parts);
}

describe("proof requests", () => {
  it("refuses a market it does not serve", async () => {
    const err = await requests()
      .request("SOL-USDT", 1_717_192_800, false)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(err).toMatchObject({ code: "UNKNOWN_MARKET", message: "market 'SOL-USDT' is not served here" });
  });

  it("names the batch of a market proved in a batch, whose proofs are asked for by the batch's id", async () => {
    const err = await requests()
      .request("ETH-USDT", 1_717_192_800, true)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(err).toMatchObject({
      code: "UNKNOWN_MARKET",
      message:
        "market 'ETH-USDT' is proved here in batch 'majors', with the batch's other markets: " +
        "ask for the batch's proof (market 'majors')",
    });
  });
});

/** The chain's time in these tests: 2024-06-01T00:00:00Z; the newest closed 2 h bar opened at 22:00 the day before. */
const NOW = 1_717_200_000;
const HOUR = 3600;
const NEWEST = NOW - 2 * HOUR;

/**
 * A service proving BTC-USDT alone and the batch "majors" (SOL-USDT and ETH-USDT) on 2 h bars, over a store in
 * memory and an oracle whose maxDataAge is 6 h for BTC-USDT and SOL-USDT and 3 h for ETH-USDT (or that cannot be
 * read, `oracleDown`).
 */
function bounded(o: { maxPendingJobsPerMarket?: number; oracleDown?: boolean } = {}) {
  const jobs = new Map<string, JobRecord>();
  const store = {
    get: async (id: string) => jobs.get(id),
    enqueue: async (spec: JobSpec) => {
      const id = jobIdOf(spec.market, spec.dataTimestamp);
      const known = jobs.get(id);
      if (known) {
        if (spec.submit) known.submit = true;
        return { job: known, created: false };
      }
      const job: JobRecord = {
        id,
        ...spec,
        status: "queued",
        attempts: 0,
        notBefore: 0,
        reason: null,
        update: null,
        tx: null,
        block: null,
        holder: null,
        history: [],
        createdAt: 0,
        updatedAt: 0,
      };
      jobs.set(id, job);
      return { job, created: true };
    },
  };
  const maxDataAge = new Map([
    [1n, 6 * HOUR],
    [2n, 6 * HOUR],
    [3n, 3 * HOUR],
  ]);
  const limit = (n: number) => ({
    minMaintenanceMarginBps: 50,
    maxMaintenanceMarginBps: 5000,
    minInitialMarginBps: 100,
    maxInitialMarginBps: 10000,
    maxIncreaseBps: 10000,
    maxDecreaseBps: 10000,
    minUpdateInterval: 3600,
    maxDataAge: n,
  });
  const oracle = {
    marketConfig: async (marketId: bigint) => {
      if (o.oracleDown) throw new Error("connect ECONNREFUSED 127.0.0.1:8545");
      return { limits: limit(maxDataAge.get(marketId)!), publishers: { modelCommitment: 1n } };
    },
    isPaused: async () => false,
    parameters: async () => ({
      maintenanceMarginBps: 100,
      initialMarginBps: 200,
      dataTimestamp: 1,
      updatedAt: 1,
    }),
  };
  const model = { barIntervalMs: 2 * HOUR * 1000 };
  const market = { id: "BTC-USDT", marketId: 1n, model };
  const batch = {
    id: "majors",
    markets: [
      { id: "SOL-USDT", marketId: 2n },
      { id: "ETH-USDT", marketId: 3n },
    ],
    model,
  };
  const parts = {
    markets: new Map([["BTC-USDT", market]]),
    batches: new Map([["majors", batch]]),
    store,
    dispatcher: { notify: async () => undefined },
    chain: { now: async () => NOW, oracle },
    log: pino({ level: "silent" }),
    api: { maxPendingJobsPerMarket: o.maxPendingJobsPerMarket ?? 16, maxBarAgeSeconds: 7 * 24 * HOUR },
    stopping: () => false,
  } as unknown as ProofRequestsOptions;
  return { requests: new ProofRequests(parts), jobs };
}

/** The refusal of a request that must be refused. */
async function refused(request: Promise<unknown>): Promise<RequestRefusedError> {
  const err = await request.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RequestRefusedError);
  return err as RequestRefusedError;
}

describe("proof requests: bounds on the work a token holder can queue", () => {
  it("refuses a bar older than a proof of it is of use, naming the field and the bars it takes", async () => {
    const { requests } = bounded();
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

  it("bounds a request to submit by api.maxBarAgeSeconds when the oracle cannot be read", async () => {
    const { requests } = bounded({ oracleDown: true });
    expect((await requests.request("BTC-USDT", NOW - 8 * HOUR, true)).created).toBe(true);
    expect(await refused(requests.request("BTC-USDT", NOW - 8 * 24 * HOUR, true))).toMatchObject({
      code: "BAR_TOO_OLD",
      message: expect.stringContaining(
        "; a proof-only request (api.maxBarAgeSeconds) takes bars at most 604800 s",
      ),
    });
  });

  it("takes at most api.maxPendingJobsPerMarket unfinished API jobs per market, also asked at once; one more when one finishes", async () => {
    const { requests, jobs } = bounded({ maxPendingJobsPerMarket: 3 });
    const bars = Array.from({ length: 5 }, (_, k) => NEWEST - k * 2 * HOUR);
    const answers = await Promise.allSettled(bars.map((t) => requests.request("BTC-USDT", t, false)));
    expect(answers.filter((a) => a.status === "fulfilled")).toHaveLength(3);
    const refusals = answers.flatMap((a) =>
      a.status === "rejected" ? [a.reason as RequestRefusedError] : [],
    );
    expect(refusals.map((e) => [e.code, e.message])).toEqual(
      Array(2).fill([
        "TOO_MANY_JOBS",
        "market 'BTC-USDT' has 3 jobs asked for through the API that have not finished, the most it takes at " +
          "once (api.maxPendingJobsPerMarket 3): ask again once one has (GET /v1/proofs/:id)",
      ]),
    );
    expect(jobs.size).toBe(3);
    const taken = [...jobs.values()];
    // Asked again, a job is answered (and may be made to submit); another market has its own count.
    expect((await requests.request("BTC-USDT", taken[0].dataTimestamp, false)).created).toBe(false);
    expect((await requests.request("BTC-USDT", taken[1].dataTimestamp, true)).created).toBe(false);
    expect((await requests.request("majors", NEWEST, false)).created).toBe(true);
    expect((await refused(requests.request("BTC-USDT", bars[4], false))).code).toBe("TOO_MANY_JOBS");
    // Proof-only and proved, failed: finished. In flight or proved and still to submit: not.
    taken[0].status = "proved";
    taken[1].status = "proved";
    taken[2].status = "proving";
    expect((await requests.request("BTC-USDT", bars[4], false)).created).toBe(true);
    expect((await refused(requests.request("BTC-USDT", NEWEST - 10 * 2 * HOUR, false))).code).toBe(
      "TOO_MANY_JOBS",
    );
    taken[2].status = "failed";
    expect((await requests.request("BTC-USDT", NEWEST - 10 * 2 * HOUR, false)).created).toBe(true);
  });

  it("answers BAR_TOO_OLD with 400 and TOO_MANY_JOBS with 429, with their messages", async () => {
    const { requests } = bounded({ maxPendingJobsPerMarket: 1 });
    const token = "test-token-0123456789abcdef";
    const service = {
      request: (market: string, timestamp: number, submit: boolean) =>
        requests.request(market, timestamp, submit),
    } as unknown as ProverService;
    const app = await buildApi(service, {
      tokenHashes: [createHash("sha256").update(token).digest("hex")],
      bodyLimitBytes: 4096,
      rateLimitPerMinute: 1000,
      log: pino({ level: "silent" }),
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
        message: expect.stringMatching(
          /^market 'BTC-USDT' has 1 jobs asked for through the API that have not/,
        ),
      });
    } finally {
      await app.close();
    }
  });
});
