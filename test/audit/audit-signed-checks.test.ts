/**
 * The pieces of the signed-update audit that need no chain (audit/audit-signed.ts,
 * publisher/window-sources.ts): the digest comparison, the publisher set in force from PublisherSetChanged history,
 * the comparison of signed candles with an independent candle file (of the update's market only), window
 * directories of signed window and batch files (real signed files, real keys), and hostile sources: a publisher on
 * 127.0.0.1 that answers too deep, too long, endless or cut off, and a window file nested too deep. The audit
 * itself, with the real circuits and a real publisher, is in audit-signed.test.ts and audit-batch.test.ts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, pipeline } from "node:stream";
import { createGzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { windowDigest } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import type { CandleSeries } from "../../candles/types";
import {
  auditSignedUpdate,
  candlesByTime,
  compareWithCandles,
  digestMatches,
  setInForce,
  type PublisherSetChange,
} from "../../audit/audit-signed";
import type { PublisherSetConfig } from "../../onchain/oracle";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  signBatch,
  signedBatchJson,
  signWindow,
  signedWindowJson,
  writeSignedBatch,
  writeSignedWindow,
} from "../../publisher";
import { digestSignal, statementKey } from "../../circuits/statement";
import {
  PUBLISHER_MAX_ANSWER_BYTES,
  PUBLISHER_DOWN_AFTER,
  PublisherArchiveSource,
  WindowDirectory,
} from "../../publisher/window-sources";
import { SMALL_WINDOW } from "../helpers/windows";

const config = (n: number): PublisherSetConfig => ({
  verifier: "0x0000000000000000000000000000000000000001",
  modelCommitment: 7n,
  publisherSet: BigInt(n),
  quorum: 1,
  statementKey: BigInt(100 + n),
});
const change = (block: number, logIndex: number, from: number, to: number): PublisherSetChange => ({
  marketId: 1n,
  block,
  logIndex,
  previous: config(from),
  config: config(to),
});

describe("digestMatches", () => {
  it("compares the recomputed digest's low 180 bits (digestSignal) with the event's", async () => {
    const d = await windowDigest(SMALL_WINDOW);
    const low = d & ((1n << 180n) - 1n);
    expect(digestMatches(d, low)).toBe(true);
    expect(digestMatches(d, d)).toBe(d === low);
    expect(digestMatches(d, low ^ 1n)).toBe(false);
    expect(digestMatches(d, low ^ (1n << 179n))).toBe(false);
  });
});

describe("setInForce", () => {
  // Set 1 until block 10 (log 3), then 2 until block 20, then 3.
  const history = [change(10, 3, 1, 2), change(20, 0, 2, 3)];
  it("is the last change before the update, else the previous of the first change after it", () => {
    expect(setInForce(history, { block: 5, logIndex: 0 })?.publisherSet).toBe(1n);
    expect(setInForce(history, { block: 10, logIndex: 2 })?.publisherSet).toBe(1n);
    expect(setInForce(history, { block: 10, logIndex: 4 })?.publisherSet).toBe(2n);
    expect(setInForce(history, { block: 19, logIndex: 9 })?.publisherSet).toBe(2n);
    expect(setInForce(history, { block: 20, logIndex: 1 })?.publisherSet).toBe(3n);
    expect(setInForce(history, { block: 99, logIndex: 0 })?.statementKey).toBe(103n);
  });
  it("is undefined without a change in range (the oracle's configuration is read instead)", () => {
    expect(setInForce([], { block: 5, logIndex: 0 })).toBeUndefined();
  });
});

/** SMALL_WINDOW's present bars as float candles (the file an exchange would give), minus `drop`. */
function candles(edit: (c: CandleSeries["candles"][number]) => void = () => {}, drop: number[] = []) {
  const bars = SMALL_WINDOW.bars.filter((b, i) => !b.missing && !drop.includes(i));
  const list = bars.map((b) => {
    const c = {
      time: b.time,
      open: Number(b.close) / 1e8,
      high: Number(b.high) / 1e8,
      low: Number(b.low) / 1e8,
      close: Number(b.close) / 1e8,
      volume: Number(b.volume) / 1e8,
    };
    edit(c);
    return c;
  });
  const series: CandleSeries = { source: "exchange.csv", candles: list, intervalMs: 7_200_000, gaps: [] };
  return { series, byTime: candlesByTime(series) };
}

describe("compareWithCandles", () => {
  const iso = (i: number) => new Date(SMALL_WINDOW.bars[i].time).toISOString();
  it("finds nothing when the file has the signed candles", () => {
    expect(compareWithCandles(SMALL_WINDOW, candles())).toEqual({ flags: [], gaps: [] });
  });
  it("names the bar and the field of each difference (the first, and how many more)", () => {
    const closeUp = candles((c) => {
      if (c.time === SMALL_WINDOW.bars[0].time) c.close = 4315.33;
    });
    expect(compareWithCandles(SMALL_WINDOW, closeUp).flags).toEqual([
      `the signed candles are not exchange.csv's: bar ${iso(0)} close: signed 4315.32, exchange.csv 4315.33`,
    ]);
    const two = candles((c) => {
      c.volume = 71.5;
    });
    expect(compareWithCandles(SMALL_WINDOW, two).flags[0]).toMatch(
      new RegExp(`bar ${iso(0)} volume: signed 70\\.415925, exchange\\.csv 71\\.5; 1 more differ$`),
    );
  });
  it("flags a signed bar the file does not have, and a bar signed as missing that the file has", () => {
    // The middle bar signed as present; the file has only the first and the last.
    const b0 = SMALL_WINDOW.bars[0];
    const signedMiddle = {
      ...SMALL_WINDOW,
      bars: [b0, { ...b0, time: SMALL_WINDOW.bars[1].time }, SMALL_WINDOW.bars[2]],
    };
    expect(compareWithCandles(signedMiddle, candles()).flags).toEqual([
      `the signed candles are not exchange.csv's: bar ${iso(1)}: signed with close 4315.32, exchange.csv has no such bar`,
    ]);
    const full = candles();
    const middle = { ...full.series.candles[0], time: SMALL_WINDOW.bars[1].time };
    const series = { ...full.series, candles: [full.series.candles[0], middle, full.series.candles[1]] };
    expect(compareWithCandles(SMALL_WINDOW, { series, byTime: candlesByTime(series) }).flags).toEqual([
      `the signed candles are not exchange.csv's: bar ${iso(1)}: signed as missing, exchange.csv has it (close 4315.32)`,
    ]);
  });
  it("does not compare bars the file does not cover, and says so", () => {
    const last = candles(undefined, [0]);
    const { series } = last;
    const covered = { ...series, candles: series.candles.slice(-1) };
    expect(compareWithCandles(SMALL_WINDOW, { series: covered, byTime: candlesByTime(covered) })).toEqual({
      flags: [],
      gaps: ["exchange.csv does not cover 2 of the window's 3 bars: they were not compared"],
    });
  });
});

describe("window sources", () => {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-window-sources-"));
  const key = async (byte: number) => {
    const privateKey = new Uint8Array(32).fill(byte);
    return { privateKey, publicKey: await publicKeyOf(privateKey) };
  };

  it("a directory is read recursively and indexed by market and end time; each window is checked when asked for", async () => {
    const root = join(dir, "archive");
    mkdirSync(join(root, "BTC-USDT"), { recursive: true });
    const signed = await signWindow(await key(1), "BTC-USDT", SMALL_WINDOW);
    writeSignedWindow(join(root, "BTC-USDT", `${SMALL_WINDOW.endTime}.json`), signed);
    const edited = signedWindowJson(await signWindow(await key(2), "BTC-USDT", SMALL_WINDOW)) as {
      bars: { close: string }[];
    };
    edited.bars[0].close = "431533000000"; // 4315.33, within its high and low
    writeFileSync(join(root, "edited.json"), JSON.stringify(edited));
    const source = WindowDirectory.open(root);
    expect(source.files).toBe(2);
    const found = await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
    expect(found.map((l) => l.kind)).toEqual(["found", "invalid"]);
    expect(found[0]).toMatchObject({ kind: "found", window: { digest: signed.digest } });
    expect(found[1]).toMatchObject({
      kind: "invalid",
      reason: expect.stringMatching(/edited\.json: digest: \d+ is not the digest of the bars/),
    });
    const other = await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime - 7_200_000);
    expect(other).toEqual([
      { source: root, kind: "absent", reason: expect.stringContaining("no window ending") },
    ]);
  });

  it("a directory keeps paths, not documents: a window is read when asked for, and one removed since is absent", async () => {
    const root = join(dir, "archive-reread");
    mkdirSync(root);
    const signed = await signWindow(await key(1), "BTC-USDT", SMALL_WINDOW);
    const file = join(root, "w.json");
    writeSignedWindow(file, signed);
    const source = WindowDirectory.open(root);
    // Rewritten after indexing (another key's signature of the same bar): what is read at lookup counts.
    writeSignedWindow(file, await signWindow(await key(2), "BTC-USDT", SMALL_WINDOW));
    const [again] = await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
    expect(again.kind === "found" && again.window.signature).not.toEqual(signed.signature);
    rmSync(file);
    expect(await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime)).toEqual([
      { source: file, kind: "absent", reason: expect.stringMatching(/w\.json: not read again: /) },
    ]);
  });

  it("batch files are indexed by each of their markets' windows and checked when asked for, apart from windows", async () => {
    const root = join(dir, "batches");
    mkdirSync(root);
    const eth = { ...SMALL_WINDOW, marketId: 0x4554482d55534454n }; // "ETH-USDT"
    const windows = [
      { market: "BTC-USDT", window: SMALL_WINDOW },
      { market: "ETH-USDT", window: eth },
    ];
    const batch = await signBatch(await key(1), windows);
    writeSignedBatch(join(root, "batch.json"), batch);
    const edited = signedBatchJson(batch) as { markets: { bars: { close: string }[] }[] };
    edited.markets[1].bars[0].close = "431533000000";
    writeFileSync(join(root, "edited.json"), JSON.stringify(edited));
    writeSignedWindow(join(root, "window.json"), await signWindow(await key(1), "BTC-USDT", SMALL_WINDOW));
    const source = WindowDirectory.open(root);
    expect(source.files).toBe(3);

    const btc = await source.lookupBatches("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
    expect(btc.map((l) => l.kind)).toEqual(["found", "invalid"]);
    expect(btc[0]).toMatchObject({ kind: "found", batch: { digest: batch.digest } });
    expect(btc[1]).toMatchObject({
      kind: "invalid",
      reason: expect.stringMatching(/edited\.json: markets\[1\]\.digest: \d+ is not the digest of the bars/),
    });
    const ethFound = await source.lookupBatches("ETH-USDT", eth.marketId, eth.endTime);
    expect(ethFound.map((l) => l.source)).toEqual([join(root, "batch.json"), join(root, "edited.json")]);
    // Windows and batches are looked up apart.
    const windowsFound = await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
    expect(windowsFound.map((l) => l.source)).toEqual([join(root, "window.json")]);
    const earlier = SMALL_WINDOW.endTime - 7_200_000;
    expect(await source.lookupBatches("BTC-USDT", SMALL_WINDOW.marketId, earlier)).toEqual([
      {
        source: root,
        kind: "absent",
        reason: `${root}: no signed batch with a window of BTC-USDT ending at ${new Date(earlier).toISOString()}`,
      },
    ]);

    const broken = join(dir, "broken-batch");
    mkdirSync(broken);
    writeFileSync(join(broken, "b.json"), JSON.stringify({ version: 1, markets: [{ endTime: 1 }] }));
    expect(() => WindowDirectory.open(broken)).toThrow(
      /b\.json: markets\[0\]\.market: missing: not a signed batch file \(--windows .*broken-batch\)/,
    );
  });

  it("refuses a directory holding a file that is no signed window, naming it, and a path that is no directory", () => {
    const root = join(dir, "mixed");
    mkdirSync(root);
    writeFileSync(join(root, "set.json"), JSON.stringify({ version: 1, quorum: 1, keys: [] }));
    expect(() => WindowDirectory.open(root)).toThrow(/set\.json: market: missing: not a signed window file/);
    expect(() => WindowDirectory.open(join(root, "set.json"))).toThrow(
      /^--windows: '.*set\.json' is not a directory$/,
    );
  });

  it("a publisher URL must be http(s); an unreachable publisher is absent evidence, not a fault", async () => {
    expect(() => new PublisherArchiveSource("ftp://127.0.0.1:1")).toThrow(
      /^--publisher: 'ftp:\/\/127\.0\.0\.1:1' is not an http\(s\) URL$/,
    );
    const down = new PublisherArchiveSource("http://127.0.0.1:1", "--publisher", 2_000);
    const [l] = await down.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
    expect(l.kind).toBe("absent");
    expect(l.source).toBe(`http://127.0.0.1:1/v1/windows/BTC-USDT?at=${SMALL_WINDOW.endTime}`);
    expect(l.kind === "absent" && l.reason).toMatch(/unreachable: .* \(3 attempts\)$/);
  });

  it(`a publisher unreachable ${PUBLISHER_DOWN_AFTER} lookups in a row is asked again only once a probe interval, until it answers`, async () => {
    let alive = false;
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      if (!alive) {
        req.socket.destroy();
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "NOT_FOUND", message: "no window" }));
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      // The probe interval: long enough that a loaded machine's pause between two lookups does not end it.
      const PROBE_MS = 2_000;
      const source = new PublisherArchiveSource(base, "--publisher", 2_000, PROBE_MS);
      const reasonOf = async () => {
        const [l] = await source.lookup("BTC-USDT", SMALL_WINDOW.marketId, SMALL_WINDOW.endTime);
        return l.kind === "absent" ? l.reason : l.kind;
      };
      for (let i = 0; i < PUBLISHER_DOWN_AFTER; i++) expect(await reasonOf()).toMatch(/\(3 attempts\)$/);
      expect(requests).toBe(3 * PUBLISHER_DOWN_AFTER);
      // Down: absent at once, nothing asked.
      expect(await reasonOf()).toMatch(
        /unreachable: not asked, down since \S+ \(3 lookups in a row failed; asked again every 2 s\)$/,
      );
      expect(requests).toBe(3 * PUBLISHER_DOWN_AFTER);
      // Back, and asked again once the probe interval has passed.
      alive = true;
      await new Promise((r) => setTimeout(r, PROBE_MS + 100));
      expect(await reasonOf()).toMatch(/not signed there \(no window\)$/);
      expect(await reasonOf()).toMatch(/not signed there \(no window\)$/);
      expect(requests).toBe(3 * PUBLISHER_DOWN_AFTER + 2);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});

describe("auditSignedUpdate: the registered configuration (check 1)", () => {
  it("flags a statement key that is not the key of the market, model, set and oracle, and a quorum the set does not commit to", async () => {
    const set = await makePublisherSet([await publicKeyOf(new Uint8Array(32).fill(9))], 1);
    const commitment = await publisherSetCommitment(set);
    const parts = {
      marketId: SMALL_WINDOW.marketId,
      modelCommitment: 7n,
      publisherSet: commitment,
      domain: 5n,
    };
    const good: PublisherSetConfig = {
      verifier: "0x0000000000000000000000000000000000000001",
      modelCommitment: 7n,
      publisherSet: commitment,
      quorum: 1,
      statementKey: await statementKey(parts),
    };
    const ctx = {
      domain: 5n,
      sources: [],
      sets: new Map([[commitment, { file: "set.json", set, commitment }]]),
    };
    const u = {
      marketId: SMALL_WINDOW.marketId,
      market: "BTC-USDT",
      maintenanceMarginBps: 100n,
      initialMarginBps: 200n,
      dataTimestamp: BigInt(SMALL_WINDOW.endTime / 1000),
      windowDigest: 1n,
      blockTimestamp: SMALL_WINDOW.endTime / 1000 + 7200,
    };
    const honest = await auditSignedUpdate(ctx, u, good);
    expect(honest.flags).toEqual([]);
    expect(honest.gaps).toEqual([
      "no window source (--publisher URL or --windows DIR): the window was not looked up",
    ]);

    const otherDomain = await auditSignedUpdate({ ...ctx, domain: 6n }, u, good);
    expect(otherDomain.flags).toHaveLength(1);
    expect(otherDomain.flags[0]).toMatch(
      /^the registered statement key \d+ is not the key of this market, its model 7, its publisher set \d+ and this oracle \(\d+\)$/,
    );
    const quorum = await auditSignedUpdate(ctx, u, { ...good, quorum: 2 });
    expect(quorum.flags).toEqual([
      `the oracle registered quorum 2 with publisher set ${commitment}, which commits to quorum 1 (set.json)`,
    ]);
    const noFile = await auditSignedUpdate({ ...ctx, sets: new Map() }, u, good);
    expect(noFile.flags).toEqual([]);
    expect(noFile.gaps[0]).toMatch(/^no --publishers file commits to the publisher set in force \d+:/);
  });
});

describe("the independent candle file is of one market", () => {
  it("only the updates of its market are compared with it: another market's are not, and get no gap for it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-data-market-"));
    const privateKey = new Uint8Array(32).fill(1);
    const signed = await signWindow(
      { privateKey, publicKey: await publicKeyOf(privateKey) },
      "BTC-USDT",
      SMALL_WINDOW,
    );
    writeSignedWindow(join(dir, "w.json"), signed);
    const closeUp = candles((c) => {
      if (c.time === SMALL_WINDOW.bars[0].time) c.close = 4315.33;
    });
    const ctx = (market: string) => ({
      domain: 5n,
      sources: [WindowDirectory.open(dir)],
      sets: new Map(),
      data: { ...closeUp, marketId: marketIdOf(market) },
    });
    const u = {
      marketId: SMALL_WINDOW.marketId,
      market: "BTC-USDT",
      maintenanceMarginBps: 100n,
      initialMarginBps: 200n,
      dataTimestamp: BigInt(SMALL_WINDOW.endTime / 1000),
      windowDigest: digestSignal(signed.digest),
      blockTimestamp: SMALL_WINDOW.endTime / 1000 + 7200,
    };
    const about = (r: { flags: string[]; gaps: string[] }) =>
      [...r.flags, ...r.gaps].filter((x) => x.includes("exchange.csv"));
    const same = await auditSignedUpdate(ctx("BTC-USDT"), u, config(1));
    expect(about(same)).toEqual([
      `the signed candles are not exchange.csv's: bar ${new Date(SMALL_WINDOW.bars[0].time).toISOString()} ` +
        "close: signed 4315.32, exchange.csv 4315.33",
    ]);
    expect(about(await auditSignedUpdate(ctx("ETH-USDT"), u, config(1)))).toEqual([]);
  });
});

describe("hostile sources", () => {
  const DEPTH = 200_000;
  /** 400 KB of JSON that parses, nested too deep for JSON.stringify. */
  const deep = "[".repeat(DEPTH) + "]".repeat(DEPTH);
  const at = SMALL_WINDOW.endTime;
  let server: Server;
  let url: string;
  /** Requests for the market FLAKY so far: the first two are reset before any answer. */
  let flaky = 0;
  /** Requests for BUSY (429, then 503, then an answer) and ALWAYS-BUSY (429 each time) so far. */
  let busy = 0;
  let alwaysBusy = 0;
  /** Requests for the market TARGET, where REDIRECT points. */
  let redirected = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const market = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.split("/").at(-1) ?? "");
      const json = { "content-type": "application/json" };
      if (market === "BUSY" && ++busy <= 2) {
        res.writeHead(busy === 1 ? 429 : 503, { ...json, "retry-after": "0" });
        res.end(JSON.stringify({ error: "BUSY", message: "try again" }));
      } else if (market === "BUSY") {
        res.writeHead(404, json);
        res.end(JSON.stringify({ error: "NOT_FOUND", message: "no window of BUSY" }));
      } else if (market === "ALWAYS-BUSY") {
        alwaysBusy++;
        res.writeHead(429, { ...json, "retry-after": "0" });
        res.end(JSON.stringify({ error: "RATE_LIMITED", message: "too many requests" }));
      } else if (market === "FLAKY" && ++flaky <= 2) {
        req.socket.destroy();
      } else if (market === "FLAKY") {
        res.writeHead(404, json);
        res.end(JSON.stringify({ error: "NOT_FOUND", message: "no window of FLAKY" }));
      } else if (market === "REDIRECT") {
        res.writeHead(302, { location: `/v1/windows/TARGET?at=${at}` });
        res.end();
      } else if (market === "TARGET") {
        redirected++;
        res.writeHead(404, json);
        res.end(JSON.stringify({ error: "NOT_FOUND", message: "no window of TARGET" }));
      } else if (market === "DEEP") {
        res.writeHead(200, json);
        res.end(`{"version":3,"market":${deep}}`);
      } else if (market === "STALL" || market === "RESET") {
        // headers and the start of a body, then nothing (a dropped connection), or a reset
        res.writeHead(200, json);
        res.write('{"version":3,');
        if (market === "RESET") setTimeout(() => res.socket?.destroy(), 50);
      } else if (market === "ENDLESS" || market === "ENDLESS-404") {
        // an endless body of spaces, sent gzipped (a gzip bomb without end): only a reader that stops gets out
        res.writeHead(market === "ENDLESS" ? 200 : 404, { ...json, "content-encoding": "gzip" });
        const spaces = Buffer.alloc(64 * 1024, 0x20);
        const endless = Readable.from(
          (function* () {
            for (;;) yield spaces;
          })(),
        );
        pipeline(endless, createGzip(), res, () => undefined);
      } else {
        const message = `${"x".repeat(10_000)}\nOK BTC-USDT forged report line`;
        res.writeHead(404, json);
        res.end(JSON.stringify({ error: "NOT_FOUND", message }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const lookup = (market: string, timeoutMs = 30_000) =>
    new PublisherArchiveSource(url, "--publisher", timeoutMs).lookup(market, SMALL_WINDOW.marketId, at);

  it("an answer nested too deep to write in a message: a window that does not check, naming the field", async () => {
    const source = `${url}/v1/windows/DEEP?at=${at}`;
    const reason = `${source}: market: expected a string, got an array`;
    expect(await lookup("DEEP")).toEqual([{ source, kind: "invalid", reason }]);
    // and the audit of an update goes on to its verdict
    const ctx = { domain: 5n, sources: [new PublisherArchiveSource(url)], sets: new Map() };
    const u = {
      marketId: SMALL_WINDOW.marketId,
      market: "DEEP",
      maintenanceMarginBps: 100n,
      initialMarginBps: 200n,
      dataTimestamp: BigInt(at / 1000),
      windowDigest: 1n,
      blockTimestamp: at / 1000 + 7200,
    };
    const audit = await auditSignedUpdate(ctx, u, config(9));
    expect(audit.flags).toContain(`a window for this bar does not check: ${reason}`);
  });

  it("a window file nested too deep: a window that does not check, naming the file and the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-deep-window-"));
    const file = join(dir, "deep.json");
    writeFileSync(
      file,
      `{"version":3,"market":"BTC-USDT","endTime":${at},"intervalMs":7200000,"bars":[${deep}]}`,
    );
    const [l] = await WindowDirectory.open(dir).lookup("BTC-USDT", SMALL_WINDOW.marketId, at);
    expect(l).toEqual({
      source: file,
      kind: "invalid",
      reason: `${file}: bars[0]: expected an object, got an array`,
    });
  });

  it("an answer cut off mid-body (the timeout, a reset): absent, as a publisher that cannot be reached", async () => {
    for (const [market, timeoutMs] of [
      ["STALL", 1_000],
      ["RESET", 30_000],
    ] as const) {
      const [l] = await lookup(market, timeoutMs);
      expect(l.kind, market).toBe("absent");
      expect(l.kind === "absent" && l.reason, market).toMatch(
        new RegExp(`^${url}/v1/windows/${market}\\?at=${at}: unreachable: the answer was cut off: `),
      );
      // a reset is tried twice more; a timeout is not tried again
      expect(l.kind === "absent" && l.reason.endsWith("(3 attempts)"), market).toBe(market === "RESET");
    }
  });

  it("a connection reset before any answer is tried again: the third attempt's answer counts", async () => {
    const [l] = await lookup("FLAKY");
    expect(flaky).toBe(3);
    expect(l).toEqual({
      source: `${url}/v1/windows/FLAKY?at=${at}`,
      kind: "absent",
      reason: `${url}/v1/windows/FLAKY?at=${at}: not signed there (no window of FLAKY)`,
    });
  });

  it("a publisher answering 429 or 503 is asked again after its Retry-After, twice at most", async () => {
    const [l] = await lookup("BUSY");
    expect(busy).toBe(3);
    expect(l).toEqual({
      source: `${url}/v1/windows/BUSY?at=${at}`,
      kind: "absent",
      reason: `${url}/v1/windows/BUSY?at=${at}: not signed there (no window of BUSY)`,
    });
    const [still] = await lookup("ALWAYS-BUSY");
    expect(alwaysBusy).toBe(3);
    expect(still).toEqual({
      source: `${url}/v1/windows/ALWAYS-BUSY?at=${at}`,
      kind: "absent",
      reason: `${url}/v1/windows/ALWAYS-BUSY?at=${at}: HTTP 429 (too many requests)`,
    });
  });

  it("an answer longer than PUBLISHER_MAX_ANSWER_BYTES (decompressed): not read past it, absent", async () => {
    expect(PUBLISHER_MAX_ANSWER_BYTES).toBe(4 * 1024 * 1024);
    // the body never ends: a reader that buffered it all would end only at the timeout (30 s), as unreachable
    for (const [market, status] of [
      ["ENDLESS", 200],
      ["ENDLESS-404", 404],
    ] as const) {
      const [l] = await lookup(market);
      expect(l).toEqual({
        source: `${url}/v1/windows/${market}?at=${at}`,
        kind: "absent",
        reason:
          `${url}/v1/windows/${market}?at=${at}: HTTP ${status}: an answer of more than 4194304 bytes, not read ` +
          "(a signed window is tens of KB)",
      });
    }
  });

  it("a redirect is not followed: absent, naming where it pointed", async () => {
    const [l] = await lookup("REDIRECT");
    expect(l).toEqual({
      source: `${url}/v1/windows/REDIRECT?at=${at}`,
      kind: "absent",
      reason:
        `${url}/v1/windows/REDIRECT?at=${at}: HTTP 302: a redirect to /v1/windows/TARGET?at=${at}, not ` +
        "followed (give the publisher's own URL)",
    });
    expect(redirected).toBe(0);
  });

  it("a long error message: its first 200 characters, on one line", async () => {
    const [l] = await lookup("BTC-USDT");
    expect(l).toEqual({
      source: `${url}/v1/windows/BTC-USDT?at=${at}`,
      kind: "absent",
      reason: `${url}/v1/windows/BTC-USDT?at=${at}: not signed there (${"x".repeat(200)}…)`,
    });
  });
});
