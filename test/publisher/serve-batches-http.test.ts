/**
 * `zkrisk publisher serve`, HTTP for batches (real sockets on 127.0.0.1): GET /v1/batches/:batch with and
 * without `at` (the body is a signed batch document `parseSignedBatch` reads and verifies, each market's window
 * in it the one /v1/windows serves for that bar), 404 for a batch not configured or not signed, 400 for a bad
 * label or timestamp; /health, /metrics and /openapi.json listing them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSignedBatch, type PublisherKey } from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import {
  barTime,
  csvClock,
  csvText,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeTestKeystore,
} from "../helpers/publisher-serve";

let dir: string;
let key: PublisherKey;
let publisher: RunningPublisher;

beforeAll(async () => {
  dir = tempDir("publisher-batches-http");
  key = await writeTestKeystore(join(dir, "publisher.key.json"), 7);
  writeFileSync(join(dir, "btc.csv"), csvText(0, 200));
  writeFileSync(join(dir, "eth.csv"), csvText(0, 200));
  // SOL-USDT's source holds too little history for a window: "with-sol" is never signed.
  writeFileSync(join(dir, "sol.csv"), csvText(0, 20));
  const cfg = parsePublisherConfig(
    {
      key: "publisher.key.json",
      archive: "archive",
      pollSeconds: 3600,
      listen: { port: 0 },
      markets: [
        { market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" }, backfillBars: 3 },
        { market: "ETH-USDT", intervalMs: TWO_HOURS, source: { csv: "eth.csv" }, backfillBars: 3 },
        { market: "SOL-USDT", intervalMs: TWO_HOURS, source: { csv: "sol.csv" } },
      ],
      batches: [
        { batch: "majors", markets: ["ETH-USDT", "BTC-USDT"] },
        { batch: "with-sol", markets: ["SOL-USDT", "BTC-USDT"] },
      ],
    },
    "publisher.json",
    dir,
  );
  publisher = await startPublisher(cfg, memoryLog().log, {
    env: PASSWORD_ENV,
    now: csvClock(join(dir, "btc.csv")),
  });
  await publisher.poll();
});
afterAll(async () => {
  await publisher?.stop();
});

/** GET `path`: the status, the content type and the body. */
async function get(path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${publisher.url}${path}`);
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

/** GET `path`, expecting `status` and a JSON error `{error, message}`. */
async function refused(path: string, status: number): Promise<{ error: string; message: string }> {
  const r = await get(path);
  expect(r.status, r.text).toBe(status);
  expect(r.type).toMatch(/^application\/json/);
  return JSON.parse(r.text) as { error: string; message: string };
}

const iso = (i: number) => new Date(barTime(i)).toISOString();

describe("publisher serve: HTTP API of batches", () => {
  it("serves the newest batch without `at`, and the one asked for by epoch ms or ISO 8601, as archived", async () => {
    const latest = await get("/v1/batches/majors");
    expect(latest.status).toBe(200);
    expect(latest.type).toMatch(/^application\/json/);
    const newest = await parseSignedBatch(JSON.parse(latest.text), "served");
    expect(newest.markets.map((m) => [m.market, m.window.endTime])).toEqual([
      ["BTC-USDT", barTime(199)],
      ["ETH-USDT", barTime(199)],
    ]);
    expect(newest.publicKey).toEqual(key.publicKey);

    const texts = new Set<string>();
    for (const at of [String(barTime(198)), iso(198), iso(198).replace(".000Z", "+00:00")]) {
      const r = await get(`/v1/batches/majors?at=${encodeURIComponent(at)}`);
      expect(r.status, at).toBe(200);
      texts.add(r.text);
    }
    expect(texts.size).toBe(1);
    const [text] = texts;
    expect((await parseSignedBatch(JSON.parse(text), "served")).markets[0].window.endTime).toBe(barTime(198));
    // Served as archived, byte for byte.
    expect(text).toBe((await publisher.batchArchive.read("majors", barTime(198)))!.text);
  });

  it("holds for each market the window /v1/windows serves for the same bar", async () => {
    for (const i of [197, 198, 199]) {
      const r = await get(`/v1/batches/majors?at=${barTime(i)}`);
      expect(r.status).toBe(200);
      const batch = await parseSignedBatch(JSON.parse(r.text), "served");
      const doc = JSON.parse(r.text) as { markets: Record<string, unknown>[] };
      for (const [j, m] of batch.markets.entries()) {
        const w = await get(`/v1/windows/${m.market}?at=${barTime(i)}`);
        expect(w.status).toBe(200);
        const window = JSON.parse(w.text) as Record<string, unknown>;
        // The window's fields and digest, as the window file writes them.
        const { market, intervalMs, endTime, bars, digest } = window;
        expect(doc.markets[j]).toEqual({ market, intervalMs, endTime, bars, digest });
        expect(m.window.bars).toHaveLength(85);
      }
    }
  });

  it("answers 404 for a bar not signed and for a batch not configured, saying what is held", async () => {
    expect(await refused(`/v1/batches/majors?at=${barTime(196)}`, 404)).toEqual({
      error: "NOT_SIGNED",
      message:
        `majors: no batch ending at the bar opening ${iso(196)} is signed here ` +
        `(3 are signed, from ${iso(197)} to ${iso(199)})`,
    });
    expect((await refused(`/v1/batches/majors?at=${barTime(199) + 1}`, 404)).error).toBe("NOT_SIGNED");
    expect(await refused("/v1/batches/with-sol", 404)).toEqual({
      error: "NOT_SIGNED",
      message: "with-sol: no batch is signed here (none is signed yet)",
    });
    expect(await refused("/v1/batches/minors", 404)).toEqual({
      error: "UNKNOWN_BATCH",
      message: 'batch "minors" is not signed here (batches: majors, with-sol)',
    });
    // Labels are exact (the config refuses two that differ by case only).
    expect((await refused("/v1/batches/Majors", 404)).error).toBe("UNKNOWN_BATCH");
  });

  it("answers 400 for a label that cannot be a batch and for a bad timestamp, naming the parameter", async () => {
    const label =
      'is not a batch label (1 to 31 letters, digits, ".", "_" or "-", starting with a letter or digit)';
    expect(await refused("/v1/batches/_batches", 400)).toEqual({
      error: "BAD_REQUEST",
      message: `params/batch: "_batches" ${label}`,
    });
    expect(await refused(`/v1/batches/${encodeURIComponent("maj/ors")}`, 400)).toEqual({
      error: "BAD_REQUEST",
      message: `params/batch: "maj/ors" ${label}`,
    });
    expect((await refused(`/v1/batches/${"m".repeat(32)}`, 400)).message).toBe(
      `params/batch: "${"m".repeat(32)}" ${label}`,
    );
    expect((await refused(`/v1/batches/${"m".repeat(65)}`, 400)).message).toMatch(/^params\/batch /);
    expect(await refused("/v1/batches/majors?at=yesterday", 400)).toEqual({
      error: "BAD_REQUEST",
      message:
        'querystring/at: "yesterday" is not a time: expected ms since the Unix epoch (11 to 14 digits) or ISO ' +
        "8601 (2024-06-30T22:00:00Z)",
    });
    expect((await refused("/v1/batches/majors?at=", 400)).error).toBe("BAD_REQUEST");
    expect(await refused(`/v1/batches/majors?time=${barTime(199)}`, 400)).toEqual({
      error: "BAD_REQUEST",
      message: 'querystring: unknown parameter "time" (the only one is "at")',
    });
  });

  it("lists each batch in /health with its markets, archived batches and last error", async () => {
    const r = await get("/health");
    expect(r.status).toBe(200);
    const health = JSON.parse(r.text) as { status: string; batches: unknown[] };
    expect(health.status).toBe("ok");
    expect(health.batches).toEqual([
      {
        batch: "majors",
        markets: ["ETH-USDT", "BTC-USDT"],
        batches: 3,
        first: iso(197),
        latest: iso(199),
        lastError: null,
      },
      {
        batch: "with-sol",
        markets: ["SOL-USDT", "BTC-USDT"],
        batches: 0,
        first: null,
        latest: null,
        lastError: null,
      },
    ]);
  });

  it("counts batches signed and archived and batch requests by status in /metrics", async () => {
    const r = await get("/metrics");
    expect(r.status).toBe(200);
    for (const line of [
      'zkrisk_publisher_batches_signed_total{batch="majors"} 3',
      'zkrisk_publisher_archived_batches{batch="majors"} 3',
      'zkrisk_publisher_archived_batches{batch="with-sol"} 0',
      `zkrisk_publisher_last_signed_batch_bar_seconds{batch="majors"} ${barTime(199) / 1000}`,
    ]) {
      expect(r.text).toContain(line);
    }
    for (const status of [200, 404, 400]) {
      expect(r.text).toMatch(
        new RegExp(`zkrisk_publisher_batch_requests_total\\{status="${status}"\\} \\d+`),
      );
    }
  });

  it("describes the route in its OpenAPI document", async () => {
    const r = await get("/openapi.json");
    const doc = JSON.parse(r.text) as {
      paths: Record<
        string,
        Record<string, { parameters: { name: string; in: string; required: boolean }[] }>
      >;
    };
    expect(doc.paths["/v1/batches/{batch}"].get.parameters).toEqual([
      expect.objectContaining({ name: "batch", in: "path", required: true }),
      expect.objectContaining({ name: "at", in: "query", required: false }),
    ]);
  });
});
