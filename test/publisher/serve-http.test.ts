/**
 * `zkrisk publisher serve`, HTTP (real sockets on 127.0.0.1): GET /v1/windows/:market with and without `at`
 * (the body is a signed window file the publisher module reads and verifies), 404 for what is not signed, 400
 * for a bad market or timestamp, 500 with no detail (the reason logged) for an archived file that is not this
 * key's record of the bar asked for, /health and /metrics.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWindow, WINDOW_BARS } from "../../candles";
import { parseCandlesCsv } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import {
  publicKeyOf,
  readSignedWindow,
  signedWindowJson,
  signWindow,
  type PublisherKey,
} from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import {
  barTime,
  csvClock,
  csvText,
  memoryLog,
  PASSWORD_ENV,
  privateKeyForms,
  privateKeyOf,
  tempDir,
  TWO_HOURS,
  writeTestKeystore,
} from "../helpers/publisher-serve";

let dir: string;
let key: PublisherKey;
let publisher: RunningPublisher;
/** The publisher's log lines. */
let logged: string[];
/** Every body the API answered, to check that none holds the key. */
const bodies: string[] = [];

beforeAll(async () => {
  dir = tempDir("publisher-http");
  key = await writeTestKeystore(join(dir, "publisher.key.json"), 3);
  writeFileSync(join(dir, "btc.csv"), csvText(0, 200));
  // ETH-USDT's source holds too little history for a window: it never has one.
  writeFileSync(join(dir, "eth.csv"), csvText(0, 20));
  const cfg = parsePublisherConfig(
    {
      key: "publisher.key.json",
      archive: "archive",
      pollSeconds: 3600,
      listen: { port: 0 },
      markets: [
        { market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" }, backfillBars: 3 },
        { market: "ETH-USDT", intervalMs: TWO_HOURS, source: { csv: "eth.csv" } },
      ],
    },
    "publisher.json",
    dir,
  );
  const { log, lines } = memoryLog();
  logged = lines;
  publisher = await startPublisher(cfg, log, { env: PASSWORD_ENV, now: csvClock(join(dir, "btc.csv")) });
  await publisher.poll();
});
afterAll(async () => {
  await publisher?.stop();
});

/** GET `path`: the status, the content type and the body (kept in `bodies`). */
async function get(path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${publisher.url}${path}`);
  const text = await response.text();
  bodies.push(text);
  return { status: response.status, type: response.headers.get("content-type") ?? "", text };
}

/** GET `path`, expecting `status` and a JSON error `{error, message}`. */
async function refused(path: string, status: number): Promise<{ error: string; message: string }> {
  const r = await get(path);
  expect(r.status, r.text).toBe(status);
  expect(r.type).toMatch(/^application\/json/);
  return JSON.parse(r.text) as { error: string; message: string };
}

let files = 0;
/** Writes a served body to a file and reads it back with the publisher module (digest and signature checked). */
async function verified(text: string) {
  const file = join(dir, `served-${++files}.json`);
  writeFileSync(file, text);
  return readSignedWindow(file);
}

describe("publisher serve: HTTP API", () => {
  it("serves the newest window without `at`, and the one asked for by epoch ms or ISO 8601", async () => {
    const latest = await get("/v1/windows/BTC-USDT");
    expect(latest.status).toBe(200);
    expect(latest.type).toMatch(/^application\/json/);
    const newest = await verified(latest.text);
    expect(newest.window.endTime).toBe(barTime(199));
    expect(newest.market).toBe("BTC-USDT");
    expect(newest.publicKey).toEqual(key.publicKey);

    const t = barTime(198);
    const iso = new Date(t).toISOString();
    const forms = [
      String(t),
      iso,
      iso.replace(".000Z", "Z"),
      iso.replace(".000Z", "+00:00"),
      iso.replace("T", " ").slice(0, 19),
    ];
    const texts = new Set<string>();
    for (const at of forms) {
      const r = await get(`/v1/windows/BTC-USDT?at=${encodeURIComponent(at)}`);
      expect(r.status, at).toBe(200);
      texts.add(r.text);
    }
    expect(texts.size).toBe(1);
    const window = await verified([...texts][0]);
    expect(window.window.endTime).toBe(t);
    // Served as archived, byte for byte.
    expect([...texts][0]).toBe((await publisher.archive.read("BTC-USDT", t))!.text);
  });

  it("answers 404 with a JSON error for a window not signed and for a market not signed here", async () => {
    const before = await refused(`/v1/windows/BTC-USDT?at=${barTime(196)}`, 404);
    expect(before).toEqual({
      error: "NOT_SIGNED",
      message:
        `BTC-USDT: no window ending at the bar opening ${new Date(barTime(196)).toISOString()} is signed here ` +
        `(3 are signed, from ${new Date(barTime(197)).toISOString()} to ${new Date(barTime(199)).toISOString()})`,
    });
    // Not on a bar's open time.
    expect((await refused(`/v1/windows/BTC-USDT?at=${barTime(199) + 1}`, 404)).error).toBe("NOT_SIGNED");
    expect(await refused("/v1/windows/ETH-USDT", 404)).toEqual({
      error: "NOT_SIGNED",
      message: "ETH-USDT: no window is signed here (none is signed yet)",
    });
    expect(await refused("/v1/windows/SOL-USDT", 404)).toEqual({
      error: "UNKNOWN_MARKET",
      message: 'market "SOL-USDT" is not signed here (markets: BTC-USDT, ETH-USDT)',
    });
    expect((await refused("/v2/windows/BTC-USDT", 404)).error).toBe("NOT_FOUND");
    // No batch is configured here.
    expect(await refused("/v1/batches/majors", 404)).toEqual({
      error: "UNKNOWN_BATCH",
      message: 'batch "majors" is not signed here (none is configured)',
    });
  });

  it("answers 400 for a label that cannot be a market and for a bad timestamp, naming the parameter", async () => {
    expect(await refused(`/v1/windows/${encodeURIComponent("BTC€USDT")}`, 400)).toEqual({
      error: "BAD_REQUEST",
      message:
        'params/market: "BTC€USDT" is not a market label (printable ASCII of at most 31 bytes, or a decimal id)',
    });
    expect((await refused(`/v1/windows/${"X".repeat(32)}`, 400)).message).toMatch(/^params\/market: "X{32}"/);
    expect((await refused(`/v1/windows/${"X".repeat(100)}`, 400)).message).toMatch(/^params\/market/);
    expect(await refused("/v1/windows/BTC-USDT?at=yesterday", 400)).toEqual({
      error: "BAD_REQUEST",
      message:
        'querystring/at: "yesterday" is not a time: expected ms since the Unix epoch (11 to 14 digits) or ISO ' +
        "8601 (2024-06-30T22:00:00Z)",
    });
    for (const at of ["1505102400", "2017-09-11", "2017-02-30T00:00:00Z", ""]) {
      expect((await refused(`/v1/windows/BTC-USDT?at=${at}`, 400)).error, at).toBe("BAD_REQUEST");
    }
    expect(await refused("/v1/windows/BTC-USDT?time=1505102400000", 400)).toEqual({
      error: "BAD_REQUEST",
      message: 'querystring: unknown parameter "time" (the only one is "at")',
    });
  });

  it("reports health with the public key and each market's windows", async () => {
    const r = await get("/health");
    expect(r.status).toBe(200);
    const health = JSON.parse(r.text) as { status: string; publicKey: unknown; markets: unknown[] };
    expect(health.status).toBe("ok");
    expect(health.publicKey).toEqual({ Ax: key.publicKey.Ax.toString(), Ay: key.publicKey.Ay.toString() });
    expect(health.markets).toEqual([
      {
        market: "BTC-USDT",
        windows: 3,
        first: new Date(barTime(197)).toISOString(),
        latest: new Date(barTime(199)).toISOString(),
        lastPollAt: expect.any(String),
        lastError: null,
      },
      {
        market: "ETH-USDT",
        windows: 0,
        first: null,
        latest: null,
        lastPollAt: expect.any(String),
        lastError: null,
      },
    ]);
  });

  it("exposes Prometheus metrics: windows signed and archived, skipped bars, requests by status, the process", async () => {
    const r = await get("/metrics");
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain/);
    for (const line of [
      'zkrisk_publisher_windows_signed_total{market="BTC-USDT"} 3',
      'zkrisk_publisher_archived_windows{market="BTC-USDT"} 3',
      'zkrisk_publisher_archived_windows{market="ETH-USDT"} 0',
      `zkrisk_publisher_last_signed_bar_seconds{market="BTC-USDT"} ${barTime(199) / 1000}`,
      'zkrisk_publisher_bars_skipped_total{market="ETH-USDT",reason="history"} 1',
      "zkrisk_publisher_signing_seconds_count 3",
    ]) {
      expect(r.text).toContain(line);
    }
    expect(r.text).toMatch(/zkrisk_publisher_window_requests_total\{status="200"\} \d+/);
    expect(r.text).toMatch(/zkrisk_publisher_window_requests_total\{status="404"\} \d+/);
    expect(r.text).toMatch(/zkrisk_publisher_window_requests_total\{status="400"\} \d+/);
    // The process's own (prom-client's defaults), which the dashboard reads.
    expect(r.text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(r.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it("serves its OpenAPI document, built from its routes (deploy/openapi/publisher.json)", async () => {
    const r = await get("/openapi.json");
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.text) as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
    };
    expect(Object.keys(doc.paths)).toEqual([
      "/v1/windows/{market}",
      "/v1/batches/{batch}",
      "/health",
      "/metrics",
      "/openapi.json",
    ]);
    expect(doc.paths["/v1/windows/{market}"].get.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      "path:market",
      "query:at",
    ]);
    // The shipped copy is this document (vitest -u rewrites it after an API change).
    await expect(JSON.stringify(doc, null, 2) + "\n").toMatchFileSnapshot(
      "../../deploy/openapi/publisher.json",
    );
  });

  it("answers 500 with its code and no detail for an archived file that is not this key's record of the bar, and logs why", async () => {
    // The archived window of bar 197, replaced on disk by another key's window of that bar, then by this key's
    // window of bar 198.
    const file = join(dir, "archive", "BTC-USDT", `${barTime(197)}.json`);
    const original = readFileSync(file, "utf8");
    const series = parseCandlesCsv(csvText(0, 200), "btc.csv");
    const otherKey = { privateKey: privateKeyOf(7), publicKey: await publicKeyOf(privateKeyOf(7)) };
    const theirs = await signWindow(
      otherKey,
      "BTC-USDT",
      buildWindow(series, marketIdOf("BTC-USDT"), 197, WINDOW_BARS),
    );
    const path = `/v1/windows/BTC-USDT?at=${barTime(197)}`;
    const errors = () =>
      logged
        .map((line) => JSON.parse(line) as { msg: string; url?: string; err?: { message: string } })
        .filter((l) => l.msg === "request failed" && l.url === path)
        .map((l) => l.err?.message);
    try {
      writeFileSync(file, JSON.stringify(signedWindowJson(theirs), null, 2) + "\n");
      expect(await refused(path, 500)).toEqual({ error: "FILE_INVALID", message: "internal error" });
      writeFileSync(file, readFileSync(join(dir, "archive", "BTC-USDT", `${barTime(198)}.json`)));
      expect(await refused(path, 500)).toEqual({ error: "FILE_INVALID", message: "internal error" });
      expect(errors()).toEqual([
        `${file}: publicKey: signed by another key (Ax ${otherKey.publicKey.Ax}), not this publisher's ` +
          `(Ax ${key.publicKey.Ax}): the archive holds only what this key signed`,
        expect.stringMatching(new RegExp(`^${file}: endTime: ${barTime(198)} \\(`)),
      ]);
    } finally {
      writeFileSync(file, original);
    }
    // The archived window again: served.
    expect((await get(path)).text).toBe(original);
  });

  it("never answers with the private key", () => {
    expect(bodies.length).toBeGreaterThan(10);
    const all = bodies.join("\n");
    for (const form of privateKeyForms(key.privateKey)) expect(all).not.toContain(form);
  });
});
