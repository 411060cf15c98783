/**
 * The prover service's HTTP API, in process against a `hardhat node` on 127.0.0.1 with the real proving pool
 * and SQLite store, its signed windows from a `zkrisk publisher serve` instance on 127.0.0.1 (the real
 * signed-update circuit, k = 1, cached): auth and validation (each 4xx with its message), idempotent requests,
 * proofs that verify and match the integer engine, a bar no publisher signed, the market view and metrics,
 * the rate limit, and a bounded load test (12 requests, 6 concurrent) in which every job is accounted for.
 */
import { readFileSync } from "node:fs";
import pino from "pino";
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { windowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";
import { loadArtifacts } from "../../setup/artifacts";
import { buildApi } from "../../service/api";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { snarkjs, type VerificationKey } from "../../setup/snarkjs";
import { parseSignedWindow } from "../../publisher";
import { runLoad } from "../../bench/service-load";
import { MODEL } from "../helpers/artifacts";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  MARKET,
  marketServiceParts,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  TOKEN,
  writeServiceConfig,
} from "../helpers/service-env";

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

// Signed proofs queue behind each other: a test waiting for one may wait minutes on a loaded machine.
describe("prover service HTTP API", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let running: RunningService;
  let url: string;
  let market: SignedMarket;

  beforeAll(async () => {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
    const dir = tempDir("api");
    // One publisher (quorum 1) that signed the 32 newest bars.
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1, backfillBars: 32 });
    Object.assign(process.env, SERVICE_ENV);
    const cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: node.rpc,
        ...marketServiceParts(market),
      }),
    );
    running = await startService(cfg, pino({ level: "silent" }));
    url = running.url;
  }, 900_000);

  afterAll(async () => {
    await running?.stop();
    await market?.stop();
    provider?.destroy();
    node?.stop();
  });

  /** The open time (s) of the newest bar the publisher holds. */
  const lastTimestamp = () => market.feed.lastTimestamp;

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

  async function waitFinal(id: string, timeoutMs = 300_000): Promise<Job> {
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

  it("serves its OpenAPI document, built from its routes (deploy/openapi/prover-service.json)", async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(Object.keys(doc.paths)).toEqual([
      "/v1/proofs",
      "/v1/proofs/{id}",
      "/v1/markets/{id}",
      "/healthz",
      "/readyz",
      "/metrics",
      "/openapi.json",
    ]);
    expect(doc.paths["/v1/proofs"].post.requestBody?.content["application/json"].schema).toMatchObject({
      required: ["market", "timestamp"],
      additionalProperties: false,
    });
    // The shipped copy is this document (vitest -u rewrites it after an API change).
    await expect(JSON.stringify(doc, null, 2) + "\n").toMatchFileSnapshot(
      "../../deploy/openapi/prover-service.json",
    );
  });

  it("refuses writes without a valid bearer token", async () => {
    const ts = lastTimestamp();
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
      /^body: unknown key "extra"$/,
    );
    await expectError(
      await post({ market: MARKET, timestamp: 1716163200000 }),
      400,
      "BAD_REQUEST",
      /milliseconds/,
    );
    await expectError(await post(undefined, TOKEN, "{not json"), 400, "BAD_REQUEST", /^body: not valid JSON/);
    // A key that could set a prototype is named as such (before: "not valid JSON").
    await expectError(
      await post(undefined, TOKEN, '{"market": "BTC-USDT", "timestamp": 1, "__proto__": {}}'),
      400,
      "BAD_REQUEST",
      /^body: key "__proto__" is not accepted/,
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
      await post({ market: "ETH-USDT", timestamp: lastTimestamp() }),
      404,
      "UNKNOWN_MARKET",
      /ETH-USDT/,
    );
    await expectError(
      await post({ market: MARKET, timestamp: lastTimestamp() + HOUR }),
      422,
      "NO_SUCH_BAR",
      /^timestamp: 1717196400 \(2024-05-31T23:00:00.000Z\) is not the open time of a bar of BTC-USDT \(bars of 7200 s/,
    );
    // The chain's clock is just past 2024-06-01 00:00: the bar opening then is still forming.
    await expectError(
      await post({ market: MARKET, timestamp: lastTimestamp() + 2 * HOUR }),
      422,
      "BAR_NOT_CLOSED",
      /^timestamp: the bar at 2024-06-01T00:00:00.000Z has not closed$/,
    );
    await expectError(await fetch(`${url}/v1/proofs/not-an-id`), 400, "BAD_REQUEST", /params\/id/);
    await expectError(await fetch(`${url}/v1/proofs/${"0".repeat(20)}`), 404, "UNKNOWN_JOB", /no job 0{20}/);
    await expectError(await fetch(`${url}/v1/markets/ETH-USDT`), 404, "UNKNOWN_MARKET", /ETH-USDT/);
    await expectError(await fetch(`${url}/v2/nothing`), 404, "NOT_FOUND", /no route GET \/v2\/nothing/);
  });

  it("is idempotent: the same market and bar give the same job, even when asked at once", async () => {
    const ts = lastTimestamp() - 10 * 2 * HOUR;
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
    const ts = lastTimestamp() - 3 * 2 * HOUR;
    const r = await post({ market: MARKET, timestamp: ts });
    const { id } = (await r.json()) as Job;
    const job = await waitFinal(id);
    expect(job.status).toBe("proved");
    const window = await fetch(`${market.urls[0]}/v1/windows/${MARKET}?at=${ts * 1000}`);
    const signed = await parseSignedWindow(await window.json(), "window");
    const expected = { trace: inferInteger(loadQuantizedModel(MODEL), windowFeatures(signed.window)) };
    expect(job.parameters).toMatchObject({
      maintenanceMarginBps: Number(expected.trace.maintenanceMarginBps),
      initialMarginBps: Number(expected.trace.initialMarginBps),
      dataTimestamp: ts,
    });
    const vkey = JSON.parse(
      readFileSync(loadArtifacts(market.artifacts).paths.vkey, "utf8"),
    ) as VerificationKey;
    expect(await snarkjs.groth16.verify(vkey, job.publicSignals!, job.proof as never)).toBe(true);
    expect(job.calldata).toBeTruthy();
    expect(job.parameters).toMatchObject({ windowDigest: signed.digest.toString() });
  });

  it("a bar no publisher signed, past its deadline: the job is skipped at once with the publisher's answer", async () => {
    // Older than the 32 bars the publisher signed, and within the 7 days a proof-only request may reach back.
    const ts = Date.UTC(2024, 4, 29) / 1000;
    const r = await post({ market: MARKET, timestamp: ts });
    expect(r.status).toBe(202);
    const job = await waitFinal(((await r.json()) as Job).id);
    expect(job).toMatchObject({ status: "skipped", attempts: 0, proof: null });
    // The chain's clock is days past the bar's close + publishers.waitSeconds (default 1 h): no wait.
    const deadline = job.reason!.split("): ")[0];
    expect(deadline).toMatch(
      /^no quorum by the deadline 2024-05-29T03:00:00\.000Z \(publishers\.waitSeconds 3600 after the bar's close at 2024-05-29T02:00:00\.000Z; chain time 2024-0[56]-\d\dT\d\d:\d\d:\d\d\.000Z$/,
    );
    expect(job.reason!.slice(deadline.length + 3)).toBe(
      `BTC-USDT bar 2024-05-29T00:00:00.000Z: 0 agreeing signed window(s) by registered publishers, the ` +
        `publisher set needs 1: ${market.urls[0]}/: not_signed (HTTP 404 NOT_SIGNED: BTC-USDT: no window ending ` +
        `at the bar opening 2024-05-29T00:00:00.000Z is signed here (32 are signed, from ` +
        `2024-05-29T08:00:00.000Z to 2024-05-31T22:00:00.000Z))`,
    );
    // A bar older than 7 days (api.maxBarAgeSeconds) makes no job.
    await expectError(
      await post({ market: MARKET, timestamp: Date.UTC(2024, 0, 1) / 1000 }),
      400,
      "BAR_TOO_OLD",
      /^timestamp: 1704067200 \(2024-01-01T00:00:00.000Z\) is \d+ s old by the chain's clock; a proof-only request \(api\.maxBarAgeSeconds\) takes bars at most 604800 s old: bars of BTC-USDT from 2024-05-2/,
    );
  });

  it("shows the market: the scheduled update of the latest bar on chain, and the latest proof", async () => {
    const scheduled = await waitFinal(jobIdOf(MARKET, lastTimestamp()));
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
      dataTimestamp: lastTimestamp(),
    });
    expect(view.latestProven.id).toBe(scheduled.id);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      `zkrisk_last_accepted_data_timestamp_seconds{market="BTC-USDT"} ${lastTimestamp()}`,
    );
    expect(metrics).toMatch(/zkrisk_proofs_total\{market="BTC-USDT",outcome="proved"\} [1-9]/);
    expect(metrics).toMatch(/zkrisk_proving_seconds_count\{market="BTC-USDT"\} [1-9]/);
    expect(metrics).toMatch(/zkrisk_queue_depth \d+/);
    expect(metrics).toContain('zkrisk_updates_accepted_total{market="BTC-USDT"} 1');
  });

  it("skips an update the oracle would refuse, before proving it, and says why", async () => {
    await waitFinal(jobIdOf(MARKET, lastTimestamp()));
    // The oracle already has the last bar: an older one is not newer.
    const ts = lastTimestamp() - 2 * HOUR;
    const r = await post({ market: MARKET, timestamp: ts, submit: true });
    const job = await waitFinal(((await r.json()) as Job).id);
    expect(job.status).toBe("skipped");
    expect(job.reason).toMatch(/^the oracle would refuse it: .*2024-05-31T20:00:00.*not newer/i);
    expect(job.proof).toBeNull();
    // Older than the market's maxDataAge (30 days here), which the oracle refuses too: no job at all.
    await expectError(
      await post({ market: MARKET, timestamp: Date.UTC(2024, 3, 1) / 1000, submit: true }),
      400,
      "BAR_TOO_OLD",
      /; the oracle \(maxDataAge of market BTC-USDT\) takes bars at most 2592000 s old: bars of BTC-USDT from /,
    );
  });

  it("gives up on a job whose attempts were all cut short by crashes", async () => {
    // As the store leaves a job that brought its process down at every attempt (see recoverInFlight).
    const ts = lastTimestamp() - 5 * 2 * HOUR;
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

  it("accounts for every job of a bounded load (12 requests, 6 concurrent)", async () => {
    // 6 distinct bars before the last, each asked for twice.
    const timestamps = Array.from({ length: 6 }, (_, i) => lastTimestamp() - (20 + i) * 2 * HOUR);
    const load = runLoad({
      url,
      token: TOKEN,
      market: MARKET,
      timestamps,
      requests: 12,
      concurrency: 6,
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
    expect(report.statuses).toEqual({ 200: 6, 202: 6 });
    expect(report.jobs).toBe(6);
    expect(report.created).toBe(6);
    expect(report.unfinished).toBe(0);
    expect(report.final).toEqual({ proved: 6 });
    console.log(
      `load: ${report.requests} requests, ${report.concurrency} concurrent: ${report.proofsPerMinute.toFixed(0)} proofs/min, ` +
        `latency p50 ${report.latencyMs.p50.toFixed(0)} ms, p95 ${report.latencyMs.p95.toFixed(0)} ms`,
    );
  });
});
