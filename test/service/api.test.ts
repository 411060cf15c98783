/**
 * The prover service's HTTP API, in process against a `hardhat node` on 127.0.0.1 with the real proving pool
 * and SQLite store, its candles served over HTTP: auth and validation (each 4xx with its message), idempotent requests, proofs that verify
 * and match the integer engine, the market view and metrics, the rate limit, and a bounded load test
 * (200 requests, 20 concurrent) in which every job is accounted for.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCandles } from "../../models/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { loadArtifacts } from "../../prover/artifacts";
import { buildApi } from "../../prover/service/api";
import { loadServiceConfig } from "../../prover/service/config";
import { jobIdOf } from "../../prover/service/jobs";
import { startService, type RunningService } from "../../prover/service/run";
import { snarkjs, type VerificationKey } from "../../prover/setup/snarkjs";
import { runLoad } from "../../scripts/service-load";
import { buildProvingArtifacts, MODEL } from "../helpers/artifacts";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import {
  CandleFeed,
  deployMarket,
  MARKET,
  SERVICE_ENV,
  TOKEN,
  writeServiceConfig,
} from "../helpers/service-env";

const LAST_BAR = "2024-05-20 00:00:00";
const HOUR = 3600;

interface Job {
  id: string;
  attempts: number;
  created?: boolean;
  status: string;
  reason: string | null;
  parameters: { maintenanceMarginBps: number; initialMarginBps: number; dataTimestamp: number } | null;
  proof: unknown;
  publicSignals: string[] | null;
  calldata: unknown;
}

describe("prover service HTTP API", () => {
  let node: HardhatNode;
  let running: RunningService;
  let url: string;
  let feed: CandleFeed;
  let artifacts: string;
  let feedServer: Server;

  beforeAll(async () => {
    artifacts = await buildProvingArtifacts();
    node = await startHardhatNode();
    const { oracle } = await deployMarket(node.rpc, artifacts);
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-api-"));
    feed = new CandleFeed(join(dir, "candles.csv"), LAST_BAR);
    Object.assign(process.env, SERVICE_ENV);
    // The market's candles come over HTTP: a server on 127.0.0.1 answering the feed's bars as JSON.
    feedServer = createServer((_req, res) => {
      const candles = loadCandles(feed.path).candles;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ candles }));
    });
    await new Promise<void>((done) => feedServer.listen(0, "127.0.0.1", done));
    const feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/candles`;
    const cfg = loadServiceConfig(
      writeServiceConfig(dir, { rpc: node.rpc, oracle, artifacts, candles: feedUrl }),
    );
    running = await startService(cfg, pino({ level: "silent" }));
    url = running.url;
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
    feedServer?.close();
    node?.stop();
  });

  const post = (body: unknown, token: string | null = TOKEN, raw?: string) =>
    fetch(`${url}/v1/proofs`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: raw ?? JSON.stringify(body),
    });

  async function expectError(r: Response, status: number, code: string, message: RegExp) {
    const body = (await r.json()) as { error: string; message: string };
    expect({ status: r.status, error: body.error }).toEqual({ status, error: code });
    expect(body.message).toMatch(message);
  }

  async function waitFinal(id: string, timeoutMs = 120_000): Promise<Job> {
    const t0 = Date.now();
    for (;;) {
      const job = (await (await fetch(`${url}/v1/proofs/${id}`)).json()) as Job;
      if (
        !["queued", "proving", "submitting"].includes(job.status) &&
        !(job.status === "proved" && job.id === "")
      ) {
        if (job.status !== "proved" || job.parameters) return job;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} not final: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("answers health and readiness", async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });

  it("refuses writes without a valid bearer token", async () => {
    const ts = feed.lastTimestamp;
    const none = await post({ market: MARKET, timestamp: ts }, null);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await expectError(none, 401, "UNAUTHORIZED", /missing Authorization: Bearer <token> header/);
    await expectError(
      await post({ market: MARKET, timestamp: ts }, "wrong-token-0123456789"),
      401,
      "UNAUTHORIZED",
      /bearer token is not accepted/,
    );
  });

  it("validates the request body, naming the field", async () => {
    await expectError(await post({ market: MARKET }), 400, "BAD_REQUEST", /^body.*timestamp/);
    await expectError(
      await post({ market: MARKET, timestamp: "soon" }),
      400,
      "BAD_REQUEST",
      /body\/timestamp must be integer/,
    );
    await expectError(
      await post({ market: MARKET, timestamp: 1, extra: true }),
      400,
      "BAD_REQUEST",
      /must NOT have additional properties/,
    );
    await expectError(
      await post({ market: MARKET, timestamp: 1716163200000 }),
      400,
      "BAD_REQUEST",
      /milliseconds/,
    );
    await expectError(
      await post(undefined, TOKEN, "{not json"),
      400,
      "FST_ERR_CTP_INVALID_JSON_BODY",
      /JSON/i,
    );
    await expectError(
      await post({ market: MARKET, timestamp: 1, pad: "x".repeat(5000) }),
      413,
      "BODY_TOO_LARGE",
      /exceeds the limit of 4096 bytes/,
    );
  });

  it("refuses unknown markets and bars it cannot prove", async () => {
    await expectError(
      await post({ market: "ETH-USDT", timestamp: feed.lastTimestamp }),
      404,
      "UNKNOWN_MARKET",
      /ETH-USDT/,
    );
    await expectError(
      await post({ market: MARKET, timestamp: feed.lastTimestamp + 2 * HOUR }),
      422,
      "NO_SUCH_BAR",
      /no candle of BTC-USDT opens at 1716170400 \(2024-05-20T02:00:00.000Z\)/,
    );
    // The first bars of the data have no 7-day window for their features.
    await expectError(
      await post({ market: MARKET, timestamp: Date.UTC(2017, 7, 17, 6) / 1000 }),
      422,
      "BAD_DATA",
      /a window of 85 bars ending at 2017-08-17T06:00:00.000Z starts at .*, before the first bar/,
    );
    await expectError(await fetch(`${url}/v1/proofs/not-an-id`), 400, "BAD_REQUEST", /params\/id/);
    await expectError(await fetch(`${url}/v1/proofs/${"0".repeat(20)}`), 404, "UNKNOWN_JOB", /no job 0{20}/);
    await expectError(await fetch(`${url}/v1/markets/ETH-USDT`), 404, "UNKNOWN_MARKET", /ETH-USDT/);
    await expectError(await fetch(`${url}/v2/nothing`), 404, "NOT_FOUND", /no route GET \/v2\/nothing/);
  });

  it("is idempotent: the same market and bar give the same job, even when asked at once", async () => {
    const ts = feed.lastTimestamp - 10 * 2 * HOUR;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        post({ market: MARKET, timestamp: ts }).then(async (r) => ({
          status: r.status,
          job: (await r.json()) as Job,
        })),
      ),
    );
    const ids = new Set(answers.map((a) => a.job.id));
    expect([...ids]).toEqual([jobIdOf(MARKET, ts)]);
    expect(answers.filter((a) => a.job.created).length).toBe(1);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
    const again = await post({ market: MARKET, timestamp: ts });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Job).created).toBe(false);
  });

  it("proves a requested bar: the proof verifies and matches the integer engine", async () => {
    const ts = feed.lastTimestamp - 3 * 2 * HOUR;
    const r = await post({ market: MARKET, timestamp: ts });
    const { id } = (await r.json()) as Job;
    const job = await waitFinal(id);
    expect(job.status).toBe("proved");
    const series = loadCandles(feed.path);
    const index = series.candles.findIndex((c) => c.time === ts * 1000);
    const expected = inferBar(loadQuantizedModel(MODEL), series, index);
    expect(job.parameters).toMatchObject({
      maintenanceMarginBps: Number(expected.trace.maintenanceMarginBps),
      initialMarginBps: Number(expected.trace.initialMarginBps),
      dataTimestamp: ts,
    });
    const vkey = JSON.parse(readFileSync(loadArtifacts(artifacts).paths.vkey, "utf8")) as VerificationKey;
    expect(await snarkjs.groth16.verify(vkey, job.publicSignals!, job.proof as never)).toBe(true);
    expect(job.calldata).toBeTruthy();
  });

  it("shows the market: the scheduled update of the latest bar on chain, and the latest proof", async () => {
    const scheduled = await waitFinal(jobIdOf(MARKET, feed.lastTimestamp));
    expect(scheduled.status).toBe("confirmed");
    const view = (await (await fetch(`${url}/v1/markets/${MARKET}`)).json()) as {
      onChain: {
        parameters: { maintenanceMarginBps: number; initialMarginBps: number; dataTimestamp: number };
      };
      latestProven: Job;
    };
    expect(view.onChain.parameters).toMatchObject({
      maintenanceMarginBps: scheduled.parameters!.maintenanceMarginBps,
      initialMarginBps: scheduled.parameters!.initialMarginBps,
      dataTimestamp: feed.lastTimestamp,
    });
    expect(view.latestProven.id).toBe(scheduled.id);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      `zkrisk_last_accepted_data_timestamp_seconds{market="BTC-USDT"} ${feed.lastTimestamp}`,
    );
    expect(metrics).toMatch(/zkrisk_proofs_total\{market="BTC-USDT",outcome="proved"\} [1-9]/);
    expect(metrics).toMatch(/zkrisk_proving_seconds_count\{market="BTC-USDT"\} [1-9]/);
    expect(metrics).toMatch(/zkrisk_queue_depth \d+/);
    expect(metrics).toContain('zkrisk_updates_accepted_total{market="BTC-USDT"} 1');
  });

  it("skips an update the oracle would refuse, before proving it, and says why", async () => {
    await waitFinal(jobIdOf(MARKET, feed.lastTimestamp));
    // The oracle already has the last bar: an older one is not newer.
    const ts = feed.lastTimestamp - 2 * 2 * HOUR;
    const r = await post({ market: MARKET, timestamp: ts, submit: true });
    const job = await waitFinal(((await r.json()) as Job).id);
    expect(job.status).toBe("skipped");
    expect(job.reason).toMatch(/^the oracle would refuse it: .*2024-05-19T20:00:00.*not newer/i);
    expect(job.proof).toBeNull();
  });

  it("gives up on a job whose attempts were all cut short by crashes", async () => {
    // As the store leaves a job that brought its process down at every attempt (see recoverInFlight).
    const ts = feed.lastTimestamp - 5 * 2 * HOUR;
    const store = running.service.store;
    // Enqueued as not due yet (a job is due from its enqueue time), so no worker takes it before it is set up.
    const later = Date.now() + 600_000;
    const { job } = await store.enqueue({ market: MARKET, dataTimestamp: ts, submit: false }, later);
    await store.update(job.id, { attempts: 5, notBefore: 0 }, Date.now());
    const final = await waitFinal(job.id);
    expect(final).toMatchObject({ status: "failed", attempts: 5, proof: null });
    expect(final.reason).toBe("gave up after 5 attempts, the last ones cut short by the process stopping");
  });

  it("rate-limits requests (429 with when to retry), but never health probes", async () => {
    const app = await buildApi(running.service, {
      tokenHashes: [],
      bodyLimitBytes: 4096,
      rateLimitPerMinute: 2,
      log: pino({ level: "silent" }),
    });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++)
        codes.push((await app.inject({ url: `/v1/proofs/${"0".repeat(20)}` })).statusCode);
      expect(codes).toEqual([404, 404, 429]);
      const limited = await app.inject({ url: `/v1/proofs/${"0".repeat(20)}` });
      expect(limited.json()).toMatchObject({
        error: "RATE_LIMITED",
        message: expect.stringMatching(/2 requests per minute/),
      });
      for (let i = 0; i < 5; i++) expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("accounts for every job of a bounded load (200 requests, 20 concurrent)", async () => {
    // 100 distinct bars in the week before the last, each asked for twice.
    const timestamps = Array.from({ length: 100 }, (_, i) => feed.lastTimestamp - (20 + i) * 2 * HOUR);
    const load = runLoad({
      url,
      token: TOKEN,
      market: MARKET,
      timestamps,
      requests: 200,
      concurrency: 20,
    });
    // Proving runs off the event loop: the probes answer all along.
    let finished = false;
    void load.finally(() => (finished = true));
    const probes: number[] = [];
    while (!finished) {
      probes.push((await fetch(`${url}/healthz`)).status, (await fetch(`${url}/readyz`)).status);
      await new Promise((r) => setTimeout(r, 200));
    }
    const report = await load;
    expect(probes.length).toBeGreaterThan(10);
    expect(new Set(probes)).toEqual(new Set([200]));
    expect(report.statuses).toEqual({ 200: 100, 202: 100 });
    expect(report.jobs).toBe(100);
    expect(report.created).toBe(100);
    expect(report.unfinished).toBe(0);
    expect(report.final).toEqual({ proved: 100 });
    console.log(
      `load: ${report.requests} requests, ${report.concurrency} concurrent: ${report.proofsPerMinute.toFixed(0)} proofs/min, ` +
        `latency p50 ${report.latencyMs.p50.toFixed(0)} ms, p95 ${report.latencyMs.p95.toFixed(0)} ms`,
    );
  }, 600_000);
});
