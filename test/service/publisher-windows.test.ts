/**
 * The prover service's quorum of signed windows (service/publisher-windows.ts) against real
 * `zkrisk publisher serve` instances on 127.0.0.1 over the shipped candles, with real keys: publishers that
 * agree; one that serves edited candles (it signs them with its own key), named with the first differing
 * bar and field while the agreeing quorum is still used; fewer than k agreeing (final, with the reason); a
 * window signed by a key outside the set; a publisher down, one that has not signed the bar, one that never
 * answers (retry later); and, from a small server on 127.0.0.1 replaying a real window, a bad signature,
 * candles edited after signing, and a window of another bar. A faulty publisher costs no more than an honest one: an
 * endless (gzipped) answer is cut at SIGNED_ANSWER_MAX_BYTES, a redirect refused, a window of another length, market,
 * end or interval or by a key outside the set refused before its digest is computed, and a long error message cut.
 */
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePublisherSet, type PublisherSet } from "../../publisher";
import {
  PublisherWindows,
  SIGNED_ANSWER_MAX_BYTES,
  type FetchOutcome,
  type PublisherWindowsOptions,
} from "../../service/publisher-windows";
import { freePort } from "../helpers/ports";
import { noQuorum } from "../helpers/service-env";
import {
  BARS,
  barTime,
  csvText,
  HEADER,
  memoryLog,
  startTestPublisher,
  tempDir,
  TWO_HOURS,
  type TestPublisher,
} from "../helpers/publisher-serve";

const MARKET = "BTC-USDT";
/** The last bar the publishers hold (index in the shipped file); the window ending there is the one asked. */
const LAST = 199;
const END = barTime(LAST);
/** Bars per window (the feature window). */
const BARS_PER_WINDOW = 85;

let dir: string;
/** A and B serve the shipped candles; C the same with bar LAST's volume edited; D (not in the sets) too. */
let a: TestPublisher;
let b: TestPublisher;
let c: TestPublisher;
let d: TestPublisher;
let editedVolume: { before: string; after: string };
/** Set {A, B, C} with quorum 2. */
let setABC: PublisherSet;
const servers: Server[] = [];

beforeAll(async () => {
  dir = tempDir("service-windows");
  const honest = join(dir, "honest.csv");
  writeFileSync(honest, csvText(0, LAST + 1));
  const fields = BARS[LAST].split(",");
  const volume = Number(fields[5]);
  fields[5] = String(volume + 0.5);
  const edited = join(dir, "edited.csv");
  writeFileSync(edited, [HEADER, ...BARS.slice(0, LAST), fields.join(",")].join("\n") + "\n");
  // Volumes are signed in units of 1e-8.
  editedVolume = {
    before: String(Math.round(volume * 1e8)),
    after: String(Math.round((volume + 0.5) * 1e8)),
  };
  [a, b, c, d] = await Promise.all([
    startTestPublisher(dir, 21, honest, { backfillBars: 3 }),
    startTestPublisher(dir, 22, honest, { backfillBars: 3 }),
    startTestPublisher(dir, 23, edited, { backfillBars: 3 }),
    startTestPublisher(dir, 24, honest, { backfillBars: 3 }),
  ]);
  setABC = await makePublisherSet([a.key.publicKey, b.key.publicKey, c.key.publicKey], 2);
});
afterAll(async () => {
  await Promise.all([a, b, c, d].map((p) => p?.publisher.stop()));
  for (const s of servers) s.close();
});

/** A quorum fetcher over `urls` with set `set`; its log lines and counted outcomes are kept. */
function windowsOf(urls: string[], set: PublisherSet, o: Partial<PublisherWindowsOptions> = {}) {
  const { log, lines } = memoryLog();
  const counted: [string, FetchOutcome][] = [];
  const w = new PublisherWindows({
    market: MARKET,
    set,
    urls,
    timeoutMs: 2_000,
    intervalMs: TWO_HOURS,
    bars: BARS_PER_WINDOW,
    count: (publisher, outcome) => counted.push([publisher, outcome]),
    log,
    ...o,
  });
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { w, counted, logged };
}

/** A server on 127.0.0.1 answering every request with `answer` (status, body), or never when undefined. */
async function serve(answer: (() => { status: number; body: string }) | undefined): Promise<string> {
  return listen((_req, res) => {
    if (!answer) return; // never answers
    const { status, body } = answer();
    res.writeHead(status, { "content-type": "application/json" }).end(body);
  });
}

/** A server on 127.0.0.1 running `handler`; its base URL. */
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A's signed window of bar `end` as JSON. */
async function windowJson(end = END): Promise<Record<string, unknown>> {
  const r = await fetch(`${a.url}/v1/windows/${MARKET}?at=${end}`);
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

describe("PublisherWindows.collect", () => {
  it("takes k windows that agree, by distinct registered keys, in config order", async () => {
    const set = await makePublisherSet([a.key.publicKey, b.key.publicKey], 2);
    const { w, counted, logged } = windowsOf([b.url, a.url], set);
    const q = await w.collect(END);
    expect(q.names).toEqual([`${b.url}/`, `${a.url}/`]);
    expect(q.windows.map((sw) => sw.publicKey)).toEqual([b.key.publicKey, a.key.publicKey]);
    expect(q.windows[0].window.endTime).toBe(END);
    expect(q.windows[0].digest).toBe(q.windows[1].digest);
    expect(q.reports.map((r) => r.outcome)).toEqual(["ok", "ok"]);
    expect(counted.map(([, o]) => o)).toEqual(["ok", "ok"]);
    expect(logged()).toEqual([]);
  });

  it("names a publisher serving other candles (bar and field) and uses the agreeing quorum", async () => {
    // C comes first in the config: the larger agreeing group (A, B) is still the quorum's.
    const { w, counted, logged } = windowsOf([c.url, a.url, d.url, b.url], setABC);
    const q = await w.collect(END);
    expect(q.names).toEqual([`${a.url}/`, `${b.url}/`]);
    expect(q.reports.map((r) => r.outcome)).toEqual(["disagree", "ok", "unregistered", "ok"]);
    const barIso = new Date(END).toISOString();
    expect(q.reports[0]).toEqual({
      publisher: `${c.url}/`,
      outcome: "disagree",
      detail:
        `${c.url}/ differs from ${a.url}/ at bar 84 (${barIso}) bars[84].volume: ` +
        `${editedVolume.after} vs ${editedVolume.before}`,
      disagreement: {
        field: "bars[84].volume",
        bar: { index: 84, time: barIso },
        values: [editedVolume.before, editedVolume.after],
      },
    });
    expect(q.reports[2].detail).toBe(
      `signed by key (Ax ${d.key.publicKey.Ax}), which is not in the market's publisher set`,
    );
    expect(counted).toEqual([
      [`${c.url}/`, "disagree"],
      [`${a.url}/`, "ok"],
      [`${d.url}/`, "unregistered"],
      [`${b.url}/`, "ok"],
    ]);
    const lines = logged();
    expect(lines.find((l) => l.msg === "publisher disagrees")).toMatchObject({
      market: MARKET,
      bar: barIso,
      publisher: `${c.url}/`,
      outcome: "disagree",
      field: "bars[84].volume",
      differingBar: { index: 84, time: barIso },
      values: [editedVolume.before, editedVolume.after],
      detail: expect.stringContaining(`${c.url}/ differs from ${a.url}/ at bar 84`),
    });
    expect(lines.find((l) => l.msg === "publisher window not used")).toMatchObject({
      publisher: `${d.url}/`,
      outcome: "unregistered",
    });
    // The bar before: C's candles are the shipped ones there, so all three agree.
    const before = await windowsOf([c.url, a.url, b.url], setABC).w.collect(barTime(LAST - 1));
    expect(before.names).toEqual([`${c.url}/`, `${a.url}/`]);
  });

  it("fewer than k agreeing, every publisher answered: no quorum, for good, saying why", async () => {
    const { w } = windowsOf([a.url, c.url, d.url], setABC);
    const err = await noQuorum(w.collect(END));
    expect(err.code).toBe("NO_QUORUM");
    expect(err.transient).toBe(false);
    expect(err.message).toBe(
      `${MARKET} bar ${new Date(END).toISOString()}: 1 agreeing signed window(s) by registered publishers, ` +
        `the publisher set needs 2: ${a.url}/: disagree (${err.reports[0].detail}); ` +
        `${c.url}/: disagree (${err.reports[1].detail}); ` +
        `${d.url}/: unregistered (${err.reports[2].detail})`,
    );
    // Neither of the two is taken for the right one: each is named against the other.
    expect(err.reports[0].detail).toMatch(
      new RegExp(`^${a.url}/ differs from ${c.url}/ at bar 84 .* bars\\[84\\]\\.volume`),
    );
    expect(err.reports[1].detail).toMatch(
      new RegExp(`^${c.url}/ differs from ${a.url}/ at bar 84 .* bars\\[84\\]\\.volume`),
    );
  });

  it("a publisher down, or one that has not signed the bar: retry later while they could make up k", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const { w, counted } = windowsOf([a.url, down, b.url], setABC);
    // Two still agree: the one down does not matter.
    expect((await w.collect(END)).names).toEqual([`${a.url}/`, `${b.url}/`]);
    expect(counted[1]).toEqual([`${down}/`, "unreachable"]);

    const err = await noQuorum(windowsOf([a.url, down, c.url], setABC).w.collect(END));
    expect(err.transient).toBe(true);
    expect(err.reports[1]).toMatchObject({
      outcome: "unreachable",
      detail: expect.stringMatching(/^request failed: /),
    });

    // No publisher has signed the bar after LAST yet.
    const next = END + TWO_HOURS;
    const notYet = await noQuorum(windowsOf([a.url, b.url], setABC).w.collect(next));
    expect(notYet.transient).toBe(true);
    expect(notYet.reports.map((r) => r.outcome)).toEqual(["not_signed", "not_signed"]);
    expect(notYet.reports[0].detail).toMatch(/^HTTP 404 NOT_SIGNED: BTC-USDT: no window ending at the bar/);
  });

  it("collect(again) takes the bar's quorum found before, asking no publisher; collect and other bars still ask", async () => {
    const real = await windowJson();
    let up = true;
    const url = await serve(() =>
      up ? { status: 200, body: JSON.stringify(real) } : { status: 503, body: '{"error":"DOWN"}' },
    );
    const set = await makePublisherSet([a.key.publicKey], 1);
    const { w, counted } = windowsOf([url], set);
    // Nothing found yet: collect(again) asks, as collect does.
    const first = await w.collect(END, true);
    expect(String(first.windows[0].digest)).toBe(real.digest);
    up = false;
    expect(await w.collect(END, true)).toEqual(first);
    expect(counted).toEqual([[`${url}/`, "ok"]]);
    // Without again, collect always asks, and a failure to find a quorum does not drop the one held.
    expect((await noQuorum(w.collect(END))).reports[0]).toMatchObject({
      outcome: "unreachable",
      detail: "HTTP 503 DOWN",
    });
    expect(await w.collect(END, true)).toEqual(first);
    // Another bar's quorum was never found: asked, and the publisher is down.
    const err = await noQuorum(w.collect(END - TWO_HOURS, true));
    expect(err.transient).toBe(true);
    expect(counted.map(([, o]) => o)).toEqual(["ok", "unreachable", "unreachable"]);
  });

  it("a publisher that never answers: unreachable after the timeout", async () => {
    const silent = await serve(undefined);
    const { w } = windowsOf([silent, a.url, c.url], setABC, { timeoutMs: 300 });
    const err = await noQuorum(w.collect(END));
    expect(err.transient).toBe(true);
    expect(err.reports[0]).toEqual({
      publisher: `${silent}/`,
      outcome: "unreachable",
      detail: "no complete answer within 300 ms",
    });
  });

  it("ignores a bad signature, candles edited after signing, and a window of another bar", async () => {
    const real = await windowJson();
    const sig = real.signature as Record<string, string>;
    const badSignature = await serve(() => ({
      status: 200,
      body: JSON.stringify({ ...real, signature: { ...sig, S: (BigInt(sig.S) + 1n).toString() } }),
    }));
    const bars = structuredClone(real.bars) as Record<string, unknown>[];
    bars[84].volume = editedVolume.after;
    const edited = await serve(() => ({ status: 200, body: JSON.stringify({ ...real, bars }) }));
    const older = await windowJson(barTime(LAST - 1));
    const otherBar = await serve(() => ({ status: 200, body: JSON.stringify(older) }));
    const notJson = await serve(() => ({ status: 200, body: "<html>" }));

    const { w, counted } = windowsOf([badSignature, edited, otherBar, notJson, b.url], setABC);
    const err = await noQuorum(w.collect(END));
    expect(err.transient).toBe(false);
    expect(counted.map(([, o]) => o)).toEqual(["bad_signature", "invalid", "invalid", "invalid", "ok"]);
    expect(err.reports[0].detail).toMatch(/signature/);
    expect(err.reports[1].detail).toMatch(/digest: \d+ is not the digest of the bars/);
    expect(err.reports[2].detail).toBe(
      `the window ends at the bar opening ${new Date(barTime(LAST - 1)).toISOString()}, not ` +
        `${new Date(END).toISOString()}`,
    );
    expect(err.reports[3].detail).toBe(
      `${notJson}/v1/windows/BTC-USDT?at=***: line 1, column 1: not valid JSON: Unexpected token '<'`,
    );
  });

  it("asks on the base URL's path and keeps its query (a key), showing the key masked", async () => {
    const real = await windowJson();
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url!);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(real));
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const set = await makePublisherSet([a.key.publicKey], 1);
    const { w, logged } = windowsOf([`${base}/feed/?key=PUBKEY99`], set);
    const q = await w.collect(END);
    expect(asked).toEqual([`/feed/v1/windows/${MARKET}?key=PUBKEY99&at=${END}`]);
    expect(q.names).toEqual([`${base}/feed/?key=***`]);
    expect(logged()).toEqual([]);
  });

  it("shows no password or query key of a publisher URL in reports, logs or the error", async () => {
    const pass = "pubS3cretPW";
    const key = "PUBKEY99";
    // fetch refuses a URL with credentials, quoting it; a document's messages name its URL.
    const withCredentials = `http://reader:${pass}@127.0.0.1:${await freePort()}/`;
    const malformed = `${await serve(() => ({ status: 200, body: "{}" }))}/?key=${key}`;
    const { w, counted, logged } = windowsOf([withCredentials, malformed, a.url], setABC);
    const err = await noQuorum(w.collect(END));
    expect(err.reports.map((r) => r.outcome)).toEqual(["unreachable", "invalid", "ok"]);
    expect(err.reports[0].detail).toMatch(
      /^request failed: .*credentials: http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/v1\/windows\/BTC-USDT\?at=\*\*\*$/,
    );
    expect(err.reports[1].detail).toMatch(/\/v1\/windows\/BTC-USDT\?key=\*\*\*&at=\*\*\*/);
    const lines = logged();
    expect(lines.map((l) => l.msg)).toEqual(["publisher window not used", "publisher window not used"]);
    for (const text of [
      err.message,
      JSON.stringify(err.reports),
      JSON.stringify(counted),
      JSON.stringify(lines),
    ]) {
      expect(text).not.toContain(pass);
      expect(text).not.toContain(key);
    }
  });

  it("counts one publisher key once, even at two URLs", async () => {
    const copy = await windowJson();
    const twin = await serve(() => ({ status: 200, body: JSON.stringify(copy) }));
    const err = await noQuorum(windowsOf([a.url, twin], setABC).w.collect(END));
    expect(err.reports[1]).toEqual({
      publisher: `${twin}/`,
      outcome: "invalid",
      detail: `signed by the same key as ${a.url}/ (one window per publisher key)`,
    });
  });

  it("cuts an answer longer than SIGNED_ANSWER_MAX_BYTES (decompressed), naming the URL and the cap", async () => {
    expect(SIGNED_ANSWER_MAX_BYTES).toBe(1024 * 1024);
    // An endless body of spaces, sent gzipped (a gzip bomb without end): a reader that buffered it all would end
    // only at the timeout, as unreachable. Each server notes when the service hung up on it.
    const hungUp: Promise<void>[] = [];
    const endless = (status: number) =>
      listen((_req, res) => {
        hungUp.push(new Promise((done) => res.on("close", done)));
        res.writeHead(status, { "content-type": "application/json", "content-encoding": "gzip" });
        const spaces = Buffer.alloc(64 * 1024, 0x20);
        const body = Readable.from(
          (function* () {
            for (;;) yield spaces;
          })(),
        );
        pipeline(body, createGzip(), res).catch(() => undefined);
      });
    const [ok, down] = [await endless(200), await endless(503)];
    const { w } = windowsOf([ok, down, a.url], setABC, { timeoutMs: 5_000 });
    const err = await noQuorum(w.collect(END));
    const answered = (base: string, status: number) =>
      `HTTP ${status}: ${base}/v1/windows/${MARKET}?at=*** answered more than 1048576 bytes (the most read of a ` +
      "publisher's answer), not read";
    expect(err.reports.slice(0, 2)).toEqual([
      { publisher: `${ok}/`, outcome: "invalid", detail: answered(ok, 200) },
      { publisher: `${down}/`, outcome: "unreachable", detail: answered(down, 503) },
    ]);
    // not read to its end: the service closed both connections
    await Promise.all(hungUp);
  });

  it("refuses a redirect: a publisher is asked at its configured URL only", async () => {
    // to a real publisher's window, which would make the quorum
    const redirecting = await listen((req, res) => {
      res.writeHead(302, { location: `${a.url}${req.url}` }).end();
    });
    const set = await makePublisherSet([a.key.publicKey], 1);
    const err = await noQuorum(windowsOf([redirecting], set).w.collect(END));
    expect(err.reports).toEqual([
      { publisher: `${redirecting}/`, outcome: "unreachable", detail: "request failed: unexpected redirect" },
    ]);
  });

  it("refuses a window of another length, market, end or interval, or by a key outside the set, before its digest", async () => {
    const real = await windowJson();
    // Every document below states a digest its bars do not give: a service that computed the digest first would
    // report that (`digest: 1 is not the digest of the bars`), so each reason shows it was refused before.
    const undigested = { ...real, digest: "1" };
    // 4,096 bars (the most a window may hold, a well-formed one): 4,011 missing bars, then the real 85
    const missing = (i: number) => ({
      time: END - (4095 - i) * TWO_HOURS,
      missing: true,
      close: "0",
      volume: "0",
    });
    const longBars = [
      ...Array.from({ length: 4096 - 85 }, (_, i) => missing(i)),
      ...(real.bars as unknown[]),
    ];
    const byD = (await (await fetch(`${d.url}/v1/windows/${MARKET}?at=${END}`)).json()) as Record<
      string,
      unknown
    >;
    const docs = [
      { ...undigested, bars: longBars },
      { ...undigested, market: "ETH-USDT" },
      { ...(await windowJson(barTime(LAST - 1))), digest: "1" },
      { ...undigested, intervalMs: TWO_HOURS / 2 },
      { ...undigested, market: "x".repeat(100_000) },
      { ...byD, digest: "1" },
    ];
    const urls = await Promise.all(
      docs.map((doc) => serve(() => ({ status: 200, body: JSON.stringify(doc) }))),
    );
    const err = await noQuorum(windowsOf(urls, setABC).w.collect(END));
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(err.reports.map((r) => [r.outcome, r.detail])).toEqual([
      ["invalid", "the window holds 4096 bars, the circuit reads 85"],
      ["invalid", 'the window holds market "ETH-USDT", not "BTC-USDT"'],
      ["invalid", `the window ends at the bar opening ${iso(barTime(LAST - 1))}, not ${iso(END)}`],
      ["invalid", `the window has bars of ${TWO_HOURS / 2} ms, the model reads bars of ${TWO_HOURS} ms`],
      // the label quoted cut short
      ["invalid", `the window holds market "${"x".repeat(78)}…, not "BTC-USDT"`],
      [
        "unregistered",
        `signed by key (Ax ${d.key.publicKey.Ax}), which is not in the market's publisher set`,
      ],
    ]);
  });

  it("quotes a publisher's error message and code on one line, cut short", async () => {
    const message = `${"x".repeat(10_000)}\nBTC-USDT: ok (a forged report line)`;
    const down = await serve(() => ({ status: 503, body: JSON.stringify({ error: "DOWN", message }) }));
    const notSigned = await serve(() => ({
      status: 404,
      body: JSON.stringify({ error: "NOT_SIGNED", message: "not\r\nsigned\u0000\u2028yet" }),
    }));
    const longCode = await serve(() => ({
      status: 500,
      body: JSON.stringify({ error: "E".repeat(10_000), message: "m" }),
    }));
    const { w, logged } = windowsOf([down, notSigned, longCode, a.url], setABC);
    const err = await noQuorum(w.collect(END));
    expect(err.reports.map((r) => r.detail)).toEqual([
      `HTTP 503 DOWN: ${"x".repeat(200)}…`,
      "HTTP 404 NOT_SIGNED: not signed yet",
      `HTTP 500 ${"E".repeat(64)}…: m`,
      undefined,
    ]);
    for (const text of [err.message, JSON.stringify(logged())]) expect(text).not.toContain("forged");
  });
});
