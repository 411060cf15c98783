/**
 * `zkrisk publisher serve` against clients that misbehave, on real sockets on 127.0.0.1 with small connection
 * limits: a slow client cannot hold up `stop()`, connections over the cap are closed at once while the
 * publisher keeps signing, a host or port it cannot listen on is a ConfigError naming `listen.host` or
 * `listen.port` before the key is unlocked or the archive made, and fastify's own refusals (a URL that does not
 * decode, a path parameter too long) answer the documented `{ error, message }` with a bounded preview.
 */
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors";
import type { HttpLimits } from "../../core/json-api";
import {
  checkPublisher,
  parsePublisherConfig,
  startPublisher,
  type PublisherConfig,
  type RunningPublisher,
} from "../../publisher/serve";
import {
  csvText,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeJson,
  writeTestKeystore,
} from "../helpers/publisher-serve";
import { rawClient, within } from "../helpers/raw-http";

/** Limits whose timeouts never fire in these tests: only the fix can close a slow client. */
const LIMITS: Partial<HttpLimits> = {
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 120_000,
  timeoutCheckMs: 50,
};

let dir: string;
beforeAll(async () => {
  dir = tempDir("publisher-connections");
  await writeTestKeystore(join(dir, "publisher.key.json"), 7);
  writeFileSync(join(dir, "btc.csv"), csvText(0, 200));
});

/** A config in `dir` with its own archive `archive` and `listen`, over the candles `csv`. */
function config(
  archive: string,
  listen: { host?: string; port?: number } = { port: 0 },
  csv = "btc.csv",
): PublisherConfig {
  return parsePublisherConfig(
    {
      key: "publisher.key.json",
      archive,
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", ...listen },
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv }, backfillBars: 1 }],
    },
    join(dir, "publisher.json"),
    dir,
  );
}

const running: RunningPublisher[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

/** A publisher over `csv` (its first poll, at start, signs the newest bar), with `limits`. */
async function start(archive: string, limits: Partial<HttpLimits>, csv?: string): Promise<RunningPublisher> {
  const publisher = await startPublisher(config(archive, { port: 0 }, csv), memoryLog().log, {
    env: PASSWORD_ENV,
    limits,
  });
  running.push(publisher);
  return publisher;
}

describe("publisher serve: connections", () => {
  it("stops at once with a client sending its headers slowly, and closes it", async () => {
    const publisher = await start("archive-slow", LIMITS);
    const slow = await rawClient(Number(new URL(publisher.url).port), sockets);
    slow.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    const dribble = setInterval(() => slow.socket.write("X-Slow: 1\r\n"), 100);
    try {
      await new Promise((done) => setTimeout(done, 250));
      // Before: stop() waited until the client stopped (the headers timeout is not checked while closing).
      const stopped = await within(publisher.stop(), 3_000);
      expect(stopped).toMatchObject({ disagreements: 0 });
      expect(await within(slow.closed, 1_000)).toBeUndefined();
    } finally {
      clearInterval(dribble);
    }
  });

  it("closes connections over the cap at once, and keeps signing while the cap is reached", async () => {
    const csv = join(dir, "cap.csv");
    writeFileSync(csv, csvText(0, 200));
    const publisher = await start("archive-cap", { ...LIMITS, maxConnections: 3 }, csv);
    await publisher.poll();
    const held = await Promise.all(
      [1, 2, 3].map(() => rawClient(Number(new URL(publisher.url).port), sockets)),
    );
    const over = await rawClient(Number(new URL(publisher.url).port), sockets);
    over.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    // Before: no cap, so connections piled up until the process ran out of open files (EMFILE).
    expect(await within(over.closed, 3_000)).toBeUndefined();
    expect(over.text()).toBe("");
    // A new bar is signed meanwhile (before: EMFILE reading the candle file).
    writeFileSync(csv, csvText(0, 201));
    expect((await publisher.poll()).signed).toHaveLength(1);
    // Below the cap again, the API answers.
    held[0].socket.destroy();
    await held[0].closed;
    // (The server sees the close a moment after the client: until then, a new connection is still refused.)
    for (let i = 0; ; i++) {
      const client = await rawClient(Number(new URL(publisher.url).port), sockets);
      client.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await client.closed;
      if (client.text() !== "") {
        expect(client.text()).toMatch(/^HTTP\/1\.1 200 /);
        break;
      }
      if (i === 100) throw new Error("/health not answered below the cap");
      await new Promise((done) => setTimeout(done, 20));
    }
  });
});

describe("publisher serve: where it cannot listen", () => {
  let taken: Server | undefined;
  afterEach(() => taken?.close());

  it("a host that is not one, or a port in use, is a ConfigError naming it, before unlocking or making anything", async () => {
    taken = createServer().listen(0, "127.0.0.1");
    await new Promise((done) => taken!.once("listening", done));
    const port = (taken.address() as { port: number }).port;
    const file = join(dir, "publisher.json");
    const cases: [{ host?: string; port?: number }, string][] = [
      [
        { host: "not a host" },
        `${file}: listen.host: "not a host" does not resolve to an address (ENOTFOUND)`,
      ],
      [{ port }, `${file}: listen.port: ${port} is in use on 127.0.0.1 (EADDRINUSE)`],
    ];
    for (const [listen, message] of cases) {
      // A wrong password: had the key been unlocked first, this would fail on it instead.
      const err = await startPublisher(config("archive-never", listen), memoryLog().log, {
        env: { ZKRISK_PUBLISHER_PASSWORD: "wrong" },
      }).catch((e: unknown) => e);
      expect(err, JSON.stringify(listen)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(message);
      expect(existsSync(join(dir, "archive-never"))).toBe(false);
    }
    // --check refuses the host too (not the port: a running publisher may hold it).
    const badHost = writeJson(dir, "bad-host.json", {
      key: "publisher.key.json",
      archive: "archive-check",
      listen: { host: "not a host", port: 8090 },
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" } }],
    });
    const checked = await checkPublisher(badHost, PASSWORD_ENV).catch((e: unknown) => e);
    expect(checked).toBeInstanceOf(ConfigError);
    expect((checked as Error).message).toContain(`${badHost}: listen.host: "not a host"`);
  });
});

describe("publisher serve: fastify's own refusals", () => {
  it("answer { error, message } with a stable code and a bounded preview of the URL", async () => {
    const publisher = await start("archive-errors", LIMITS);
    const get = async (url: string) => {
      const r = await publisher.api.inject({ method: "GET", url });
      return { status: r.statusCode, body: r.json() as Record<string, unknown> };
    };
    // Before: fastify's {"error":"Bad Request","code":"FST_ERR_BAD_URL",...,"statusCode":400}.
    expect(await get("/v1/windows/%ZZ")).toEqual({
      status: 400,
      body: { error: "BAD_REQUEST", message: 'path "/v1/windows/%ZZ" is not a valid URL (bad %-encoding)' },
    });
    // Before: 414 echoing the whole parameter.
    const long = await get(`/v1/windows/${"B".repeat(10_000)}`);
    expect(long.status).toBe(400);
    expect(Object.keys(long.body).sort()).toEqual(["error", "message"]);
    expect(long.body.error).toBe("BAD_REQUEST");
    expect(String(long.body.message)).toContain("a path parameter is longer than 100 characters");
    expect(String(long.body.message).length).toBeLessThan(200);
    const at = await get(`/v1/windows/BTC-USDT?at=${"9x".repeat(5_000)}`);
    expect(at.status).toBe(400);
    expect(String(at.body.message).length).toBeLessThan(300);
    const unknown = await get(`/v2/${"C".repeat(10_000)}`);
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.message).length).toBeLessThan(200);
  });
});
