/**
 * `zkrisk publisher serve` while it starts (real sockets on 127.0.0.1): the API listens before the archive is
 * checked. While the check reads the archive (held here on one file by a stand-in for `readFile`, so the test
 * knows where it stops without timing it: the files before it are read and counted, the held one is not), /health answers 503 "starting" with the check's progress, a window or
 * batch request 503 STARTING with Retry-After, /metrics `zkrisk_publisher_starting 1`, and nothing is signed; once
 * the check has passed, /health is 200, the windows are served and the first poll signs. A check that fails
 * fails the start with its error as before and closes the API (a connection is refused); a stop during the check
 * (startPublisher's `signal`, SIGTERM for servePublisher) ends it, closes the API and removes an archive
 * directory the start made.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { ConfigError } from "../../core/errors";
import { isoFromMs } from "../../core/time";
import type { PublisherKey } from "../../publisher";
import {
  parsePublisherConfig,
  servePublisher,
  startPublisher,
  type PublisherConfig,
  type StartPublisherOptions,
} from "../../publisher/serve";
import { freePort } from "../helpers/ports";
import {
  barTime,
  csvClock,
  csvText,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeJson,
  writeTestKeystore,
} from "../helpers/publisher-serve";

/** Reads of archived files that wait until the test releases them (`holdRead`). */
const holds = vi.hoisted(() => ({
  /** Per file: called when its read begins; it waits for the promise returned. */
  waiting: new Map<string, () => Promise<void>>(),
  /** The files whose read has begun, in order. */
  begun: [] as string[],
}));

vi.mock("node:fs/promises", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs/promises")>();
  const readFile = (async (...args: Parameters<typeof original.readFile>) => {
    const path = String(args[0]);
    holds.begun.push(path);
    const wait = holds.waiting.get(path);
    if (wait !== undefined) {
      holds.waiting.delete(path);
      await wait();
    }
    return original.readFile(...args);
  }) as typeof original.readFile;
  return { ...original, readFile, default: { ...original, readFile } };
});

/** A read of `file` to hold: `reached` once it has begun, and waiting until `release()`. */
function holdRead(file: string): { reached: Promise<void>; release(): void } {
  let reached!: () => void;
  let release!: () => void;
  const begun = new Promise<void>((done) => (reached = done));
  const released = new Promise<void>((done) => (release = done));
  holds.waiting.set(file, () => {
    reached();
    return released;
  });
  return { reached: begun, release };
}

const MARKETS = ["BTC-USDT", "ETH-USDT"];
/** Bars signed into the archive before each start here: windows and batches ending at bars 196 to 199. */
const SIGNED = [196, 197, 198, 199];
/** Files in the archive: 4 windows of each market and 4 batches. */
const FILES = SIGNED.length * 3;

let dir: string;
let key: PublisherKey;
/** An archive as a publisher left it (`SIGNED`), copied for each test. */
let signedArchive: string;

/** The config of a publisher in `dir` over `archive`, its markets' sources `csv` (2-hour bars), on `port`. */
function configOf(archive: string, csv: string, port = 0): PublisherConfig {
  return parsePublisherConfig(
    {
      key: "publisher.key.json",
      archive,
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", port },
      markets: MARKETS.map((market) => ({
        market,
        intervalMs: TWO_HOURS,
        source: { csv },
        backfillBars: SIGNED.length,
      })),
      batches: [{ batch: "majors", markets: MARKETS }],
    },
    join(dir, "publisher.json"),
    dir,
  );
}

let copies = 0;
/** A copy of the signed archive, and the file of `market`'s window ending at bar `i` in it. */
function archiveCopy(): { archive: string; windowFile(market: string, i: number): string } {
  const archive = join(dir, `archive-${++copies}`);
  cpSync(signedArchive, archive, { recursive: true });
  return { archive, windowFile: (market, i) => join(archive, market, `${barTime(i)}.json`) };
}

beforeAll(async () => {
  dir = tempDir("publisher-starting");
  key = await writeTestKeystore(join(dir, "publisher.key.json"), 6);
  writeFileSync(join(dir, "to-199.csv"), csvText(0, 200));
  writeFileSync(join(dir, "to-200.csv"), csvText(0, 201));
  signedArchive = join(dir, "signed-archive");
  const publisher = await startPublisher(configOf(signedArchive, "to-199.csv"), memoryLog().log, {
    env: PASSWORD_ENV,
    now: csvClock(join(dir, "to-199.csv")),
  });
  await publisher.poll();
  await publisher.stop();
  expect(MARKETS.map((m) => publisher.archive.times(m))).toEqual(
    MARKETS.map(() => SIGNED.map((i) => barTime(i))),
  );
  expect(publisher.batchArchive.times("majors")).toEqual(SIGNED.map((i) => barTime(i)));
});

/** GET `url`: its status, its `Retry-After` and its body as text. */
async function get(url: string): Promise<{ status: number; retryAfter: string | null; text: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    text: await response.text(),
  };
}

/**
 * GET `url`/health once the check has read `files` files: the scan reads files ahead of the one it checks, so the
 * held read begins before the files before it are counted; it stops at `files` (the next one is held). Asked
 * again every 10 ms, at most 500 times; the last answer is returned either way, for the test to judge.
 */
async function healthAfter(
  url: string,
  files: number,
): Promise<{ status: number; retryAfter: string | null; text: string }> {
  for (let tries = 1; ; tries++) {
    const health = await get(`${url}/health`);
    const read = (JSON.parse(health.text) as { archive?: { filesRead?: number } }).archive?.filesRead;
    if (read === files || tries === 500) return health;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error code of a TCP connection to `url`'s port on 127.0.0.1, or "connected". */
function connectTo(url: string): Promise<string> {
  return new Promise((done) => {
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** The messages of a memory log's lines. */
const messages = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);

/**
 * Starts a publisher over `config` with its check held at `held`'s read; resolves once the read has begun, with
 * the API's URL and the start, still under way.
 */
async function startHeld(
  config: PublisherConfig,
  held: { reached: Promise<void> },
  options: StartPublisherOptions = {},
) {
  const { log, lines } = memoryLog();
  let url: string | undefined;
  const started = startPublisher(config, log, {
    env: PASSWORD_ENV,
    now: csvClock(join(dir, "to-200.csv")),
    ...options,
    onListening: (listening) => {
      url = listening.url;
      options.onListening?.(listening);
    },
  });
  // A start that fails before the read is held fails the test here, not by a hang.
  await Promise.race([held.reached, started]);
  expect(url).toBeDefined();
  return { url: url!, started, lines };
}

describe("publisher serve: starting", () => {
  it("listens before the check: /health 503 starting with the progress, windows and batches 503 STARTING with Retry-After, the gauge 1; then 200, served and signing", async () => {
    const { archive, windowFile } = archiveCopy();
    // The check reads BTC-USDT's windows first, oldest first (after verifying its newest): held at the third.
    const held = holdRead(windowFile("BTC-USDT", 198));
    const { url, started, lines } = await startHeld(configOf(archive, "to-200.csv"), held);

    const health = await healthAfter(url, 2);
    expect(health.status).toBe(503);
    const body = JSON.parse(health.text) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "starting",
      publicKey: { Ax: key.publicKey.Ax.toString(), Ay: key.publicKey.Ay.toString() },
      archive: { filesRead: 2, filesTotal: FILES },
    });
    expect(body.markets).toEqual(
      MARKETS.map((market) =>
        expect.objectContaining({ market, windows: 4, latest: isoFromMs(barTime(199)), lastPollAt: null }),
      ),
    );

    const starting = {
      error: "STARTING",
      message: `the publisher is starting: it checks its archive before serving it (2 of ${FILES} files read); ask again in 5 s`,
    };
    for (const path of [
      "/v1/windows/BTC-USDT",
      `/v1/windows/ETH-USDT?at=${barTime(197)}`,
      "/v1/batches/majors",
      `/v1/batches/majors?at=${new Date(barTime(199)).toISOString()}`,
    ]) {
      const r = await get(`${url}${path}`);
      expect(r.status, path).toBe(503);
      expect(r.retryAfter, path).toBe("5");
      expect(JSON.parse(r.text), path).toEqual(starting);
    }
    // What does not depend on the archive is answered as always.
    expect((await get(`${url}/v1/windows/SOL-USDT`)).status).toBe(404);
    expect((await get(`${url}/v1/batches/bad%20label`)).status).toBe(400);
    expect((await get(`${url}/openapi.json`)).status).toBe(200);
    const metrics = await get(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^zkrisk_publisher_starting 1$/m);
    expect(metrics.text).toMatch(/^zkrisk_publisher_window_requests_total\{status="503"\} 2$/m);
    expect(metrics.text).toMatch(/^zkrisk_publisher_batch_requests_total\{status="503"\} 2$/m);
    // Nothing signed yet, though the source has a new bar (200).
    expect(metrics.text).not.toMatch(/^zkrisk_publisher_windows_signed_total\{[^}]*\} [1-9]/m);
    expect(messages(lines)).toContain(
      "listening; checking the archive (/health, windows and batches answer 503 until it passed)",
    );
    expect(messages(lines)).not.toContain("publisher ready");

    held.release();
    const publisher = await started;
    try {
      expect(messages(lines)).toContain("publisher ready");
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
        expect.objectContaining({ windows: 8, batches: 4, msg: expect.stringMatching(/^archive checked/) }),
      );
      const window = await get(`${url}/v1/windows/BTC-USDT?at=${barTime(198)}`);
      expect(window.status).toBe(200);
      expect(window.text).toBe(readFileSync(windowFile("BTC-USDT", 198), "utf8"));
      expect((await get(`${url}/v1/batches/majors?at=${barTime(199)}`)).status).toBe(200);
      // The first poll, under way since the start returned, signs bar 200.
      await publisher.poll();
      expect(publisher.archive.latest("BTC-USDT")).toBe(barTime(200));
      const after = await get(`${url}/health`);
      expect(after.status).toBe(200);
      expect(JSON.parse(after.text)).not.toHaveProperty("archive");
      expect(JSON.parse(after.text)).toMatchObject({ status: "ok" });
      expect((await get(`${url}/metrics`)).text).toMatch(/^zkrisk_publisher_starting 0$/m);
    } finally {
      await publisher.stop();
    }
  });

  it("a check that fails fails the start with its error, as before, and leaves nothing listening", async () => {
    const { archive, windowFile } = archiveCopy();
    // This key's window of bar 196 copied to bar 190: the first file read, and not the record of its bar.
    cpSync(windowFile("BTC-USDT", 196), windowFile("BTC-USDT", 190));
    const held = holdRead(windowFile("BTC-USDT", 190));
    const { url, started, lines } = await startHeld(configOf(archive, "to-200.csv"), held);
    expect((await get(`${url}/health`)).status).toBe(503);

    held.release();
    const error = await started.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    const at = (i: number) => `${barTime(i)} (${isoFromMs(barTime(i))})`;
    expect((error as Error).message).toBe(
      `${join(dir, "publisher.json")}: archive: ${windowFile("BTC-USDT", 190)}: endTime: ${at(196)}, but the ` +
        `file's name says the bar opening at ${at(190)}: a file holds the document of the bar it is named for; ` +
        "the archive holds only this publisher's own record of each bar: move the file out of the archive (and " +
        "find out how it got there)",
    );
    expect(await connectTo(url)).toBe("ECONNREFUSED");
    expect(messages(lines)).not.toContain("publisher ready");
    // The archive was there before: it is kept as it was.
    expect(existsSync(windowFile("BTC-USDT", 199))).toBe(true);
  });

  it("a stop during the check ends it and closes the API; an archive directory the start made is removed", async () => {
    // Held in the middle of the check.
    const { archive, windowFile } = archiveCopy();
    const stop = new AbortController();
    const held = holdRead(windowFile("ETH-USDT", 197));
    const { url, started, lines } = await startHeld(configOf(archive, "to-200.csv"), held, {
      signal: stop.signal,
    });
    const health = JSON.parse((await healthAfter(url, 5)).text) as { archive: unknown };
    // BTC-USDT's 4 windows and ETH-USDT's first.
    expect(health.archive).toEqual({ filesRead: 5, filesTotal: FILES });
    // The files after the held one are read meanwhile (read ahead), though not counted before it.
    expect(holds.begun).toContain(windowFile("ETH-USDT", 198));
    stop.abort();
    held.release();
    await expect(started).rejects.toBe(stop.signal.reason);
    expect(await connectTo(url)).toBe("ECONNREFUSED");
    expect(messages(lines).filter((m) => /^archive checked|^publisher ready/.test(m))).toEqual([]);
    expect(existsSync(windowFile("ETH-USDT", 199))).toBe(true);

    // Asked for as soon as it listens, with an archive this start makes (nothing to read): it stops before
    // the check, and the empty archive directory it made is removed.
    const made = join(dir, "archive-made");
    const early = new AbortController();
    let listened: string | undefined;
    const error = await startPublisher(configOf(made, "to-200.csv"), memoryLog().log, {
      env: PASSWORD_ENV,
      signal: early.signal,
      onListening: ({ url: at }) => {
        listened = at;
        expect(existsSync(join(made, "BTC-USDT"))).toBe(true);
        early.abort();
      },
    }).catch((err: unknown) => err);
    expect(error).toBe(early.signal.reason);
    expect(await connectTo(listened!)).toBe("ECONNREFUSED");
    expect(existsSync(made)).toBe(false);
  });

  it("servePublisher: SIGTERM during the check ends it, closes the API and returns as after a stop, having signed nothing", async () => {
    const { archive, windowFile } = archiveCopy();
    const port = await freePort();
    const config = writeJson(dir, "serve-publisher.json", {
      key: "publisher.key.json",
      archive,
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", port },
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "to-200.csv" } }],
    });
    const handlers = process.listenerCount("SIGTERM");
    const held = holdRead(windowFile("BTC-USDT", 197));
    const run = servePublisher({ config, logLevel: "silent", env: PASSWORD_ENV });
    await Promise.race([held.reached, run]);
    const url = `http://127.0.0.1:${port}`;
    expect(JSON.parse((await healthAfter(url, 1)).text)).toMatchObject({
      status: "starting",
      archive: { filesRead: 1, filesTotal: 4 },
    });

    // As a real SIGTERM calls the handlers (not sent: it would reach vitest's worker).
    process.emit("SIGTERM", "SIGTERM");
    held.release();
    expect(await run).toEqual({
      url,
      publicKey: key.publicKey,
      signal: "SIGTERM",
      polls: 0,
      signed: 0,
      batches: 0,
      disagreements: 0,
    });
    expect(await connectTo(url)).toBe("ECONNREFUSED");
    expect(process.listenerCount("SIGTERM")).toBe(handlers);
    // Bar 200 is in the source, but nothing was signed.
    expect(existsSync(windowFile("BTC-USDT", 200))).toBe(false);
  });
});
