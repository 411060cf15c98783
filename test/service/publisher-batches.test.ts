/**
 * The prover service's quorum of signed batches (service/publisher-windows.ts, `PublisherBatches`), from small
 * servers on 127.0.0.1 answering `GET /v1/batches/:batch?at=END` with batches signed here by real keys over the
 * shipped BTC-USDT and ETH-USDT candles: publishers that agree; one whose ETH window has an edited candle (named
 * with the market, bar and field while the agreeing quorum is still used); a batch of other markets, of another
 * bar, signed by a key outside the set, or with a bad signature; and a publisher that has not signed the bar
 * (retry later). A faulty publisher costs no more than an honest one: a batch of 33 markets, a market twice, a window
 * of another length or a key outside the set is refused before any digest is computed, and an answer longer than
 * SIGNED_ANSWER_MAX_BYTES (which a batch of 32 markets at every value's bound is well under) is not read.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWindow, type Window } from "../../candles";
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { jsonText } from "../../core/io";
import { FIELD_MODULUS } from "../../crypto/field";
import {
  makePublisherSet,
  publicKeyOf,
  signBatch,
  signedBatchJson,
  type PublisherKey,
  type PublisherSet,
} from "../../publisher";
import {
  PublisherBatches,
  SIGNED_ANSWER_MAX_BYTES,
  type FetchOutcome,
} from "../../service/publisher-windows";
import { memoryLog, privateKeyOf, TWO_HOURS } from "../helpers/publisher-serve";
import { noQuorum } from "../helpers/service-env";

const ROOT = join(__dirname, "../..");
const BATCH = "pair";
const btc = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const eth = loadCandles(join(ROOT, "models/data/ethusdt-2h.csv"));
/** The bar asked for: BTC's bar 20,000 and ETH's bar with the same open time. */
const BTC_LAST = 20_000;
const END = btc.candles[BTC_LAST].time;
const ETH_LAST = eth.candles.findIndex((c) => c.time === END);

let a: PublisherKey;
let b: PublisherKey;
let c: PublisherKey;
let outsider: PublisherKey;
/** {A, B, C}, quorum 2. */
let set: PublisherSet;
const servers: Server[] = [];
/** The paths the servers were asked for. */
const asked: string[] = [];

const windows = (end = BTC_LAST) => [
  { market: "BTC-USDT", window: buildWindow(btc, marketIdOf("BTC-USDT"), end, WINDOW_BARS) },
  {
    market: "ETH-USDT",
    window: buildWindow(eth, marketIdOf("ETH-USDT"), ETH_LAST - (BTC_LAST - end), WINDOW_BARS),
  },
];

/** ETH's window with the close of its last bar moved by one unit of 1e-8. */
function editedEth(): { market: string; window: Window }[] {
  const [btcWindow, ethWindow] = windows();
  const bars = ethWindow.window.bars.map((bar, i) =>
    i === WINDOW_BARS - 1 && bar !== null ? { ...bar, close: bar.close + 1n } : bar,
  );
  return [btcWindow, { market: "ETH-USDT", window: { ...ethWindow.window, bars } }];
}

async function key(n: number): Promise<PublisherKey> {
  const privateKey = privateKeyOf(n);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** A server on 127.0.0.1 answering every request with `status` and `body`. */
async function serve(status: number, body: unknown): Promise<string> {
  const server = createServer((req, res) => {
    asked.push(req.url ?? "");
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server answering with `key`'s signed batch of `entries`. */
async function publisher(k: PublisherKey, entries = windows()): Promise<string> {
  return serve(200, signedBatchJson(await signBatch(k, entries)));
}

function batchesOf(urls: string[], s: PublisherSet = set) {
  const { log, lines } = memoryLog();
  const counted: [string, FetchOutcome][] = [];
  const p = new PublisherBatches({
    market: BATCH,
    markets: ["ETH-USDT", "BTC-USDT"],
    set: s,
    urls,
    timeoutMs: 2_000,
    intervalMs: TWO_HOURS,
    bars: WINDOW_BARS,
    count: (publisher, outcome) => counted.push([publisher, outcome]),
    log,
  });
  return { p, counted, logged: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

beforeAll(async () => {
  expect(ETH_LAST).toBeGreaterThan(WINDOW_BARS);
  [a, b, c, outsider] = [await key(51), await key(52), await key(53), await key(54)];
  set = await makePublisherSet([a.publicKey, b.publicKey, c.publicKey], 2);
});
afterAll(() => {
  for (const s of servers) s.close();
});

describe("PublisherBatches.collect", () => {
  it("takes k agreeing signed batches by distinct registered keys, asking each publisher for the batch's bar", async () => {
    const urls = [await publisher(a), await publisher(b)];
    const { p, counted } = batchesOf(urls);
    const q = await p.collect(END);
    expect(q.batches).toHaveLength(2);
    expect(q.batches.map((x) => x.publicKey)).toEqual([a.publicKey, b.publicKey]);
    expect(q.batches[0].markets.map((m) => m.market)).toEqual(
      ["BTC-USDT", "ETH-USDT"].sort((x, y) => (marketIdOf(x) < marketIdOf(y) ? -1 : 1)),
    );
    expect(q.names).toEqual(urls.map((u) => `${u}/`));
    expect(counted.map(([, o]) => o)).toEqual(["ok", "ok"]);
    expect(asked.slice(-2)).toEqual([`/v1/batches/${BATCH}?at=${END}`, `/v1/batches/${BATCH}?at=${END}`]);
  });

  it("names the market, bar and field of a publisher that disagrees, and proves from the quorum", async () => {
    const urls = [await publisher(c, editedEth()), await publisher(a), await publisher(b)];
    const { p, logged } = batchesOf(urls);
    const q = await p.collect(END);
    expect(q.names).toEqual([`${urls[1]}/`, `${urls[2]}/`]);
    expect(q.reports[0].outcome).toBe("disagree");
    const eth = q.batches[0].markets.findIndex((m) => m.market === "ETH-USDT");
    expect(q.reports[0].disagreement?.field).toBe(`markets[${eth}].bars[84].close`);
    expect(q.reports[0].detail).toContain(`${urls[0]}/ differs from ${urls[1]}/ at market ETH-USDT`);
    expect(logged().find((l) => l.msg === "publisher disagrees")).toMatchObject({
      market: BATCH,
      publisher: `${urls[0]}/`,
      field: `markets[${eth}].bars[84].close`,
    });
  });

  it("ignores batches of other markets, of another bar, by keys outside the set, or with a bad signature", async () => {
    const other = [
      windows()[0],
      {
        market: "SOL-USDT",
        window: { ...windows()[1].window, marketId: marketIdOf("SOL-USDT") },
      },
    ];
    const wrongMarkets = await publisher(a, other);
    const wrongBar = await publisher(b, windows(BTC_LAST - 1));
    const unregistered = await publisher(outsider);
    const forged = signedBatchJson(await signBatch(c, windows()));
    (forged.signature as Record<string, string>).S = "12345";
    const badSignature = await serve(200, forged);
    const err = await noQuorum(
      batchesOf([wrongMarkets, wrongBar, unregistered, badSignature]).p.collect(END),
    );
    expect(err.transient).toBe(false);
    expect(err.reports.map((r) => r.outcome)).toEqual([
      "invalid",
      "invalid",
      "unregistered",
      "bad_signature",
    ]);
    expect(err.reports[0].detail).toBe(
      `the batch holds market "SOL-USDT", not one of the batch's (BTC-USDT, ETH-USDT)`,
    );
    expect(err.reports[1].detail).toMatch(/^the window of (BTC|ETH)-USDT ends at the bar opening /);
    expect(err.reports[2].detail).toContain("which is not in the batch's publisher set");
    expect(err.message).toMatch(
      new RegExp(
        `^${BATCH} bar .*: 0 agreeing signed batch\\(s\\) by registered publishers, the publisher set needs 2`,
      ),
    );
  });

  it("is transient while publishers that have not signed the bar could still make up the quorum", async () => {
    const notSigned = await serve(404, { error: "NOT_SIGNED", message: "pair: no batch ending there" });
    const err = await noQuorum(batchesOf([await publisher(a), notSigned]).p.collect(END));
    expect(err.transient).toBe(true);
    expect(err.reports.map((r) => r.outcome)).toEqual(["ok", "not_signed"]);
  });

  it("refuses 33 markets, a market twice, a window of another length or a key outside the set before any digest", async () => {
    const signed = signedBatchJson(await signBatch(a, windows())) as Record<string, unknown> & {
      markets: Record<string, unknown>[];
    };
    // Every window digest below is one the bars do not give: a service that computed the digests first would report
    // that (`markets[0].digest: 1 is not the digest of the bars`), so each reason shows it was refused before.
    const undigested: Record<string, unknown>[] = signed.markets.map((m) => ({ ...m, digest: "1" }));
    const [first, second] = undigested;
    const byOutsider = signedBatchJson(await signBatch(outsider, windows()));
    const docs = [
      { ...signed, markets: Array.from({ length: 33 }, (_, i) => undigested[i % 2]) },
      { ...signed, markets: [first, first] },
      { ...signed, markets: [first, { ...second, bars: (second.bars as unknown[]).slice(1) }] },
      { ...byOutsider, markets: undigested },
    ];
    const urls = await Promise.all(docs.map((doc) => serve(200, doc)));
    const err = await noQuorum(batchesOf(urls).p.collect(END));
    expect(err.reports.map((r) => [r.outcome, r.detail])).toEqual([
      ["invalid", "the batch holds 33 markets, not the batch's 2 (BTC-USDT, ETH-USDT)"],
      ["invalid", `the batch holds market ${String(first.market)} twice`],
      [
        "invalid",
        `the window of ${String(second.market)} holds ${WINDOW_BARS - 1} bars, the circuit reads ${WINDOW_BARS}`,
      ],
      [
        "unregistered",
        `signed by key (Ax ${outsider.publicKey.Ax}), which is not in the batch's publisher set`,
      ],
    ]);
  });

  it("does not read an answer longer than SIGNED_ANSWER_MAX_BYTES, which a batch of 32 markets is well under", async () => {
    // A batch of 32 markets (the most) of WINDOW_BARS bars, every value at its bound, as a publisher serves it
    // (indented): what the cap must hold with margin.
    const p = FIELD_MODULUS - 1n;
    const window = (marketId: bigint) => ({
      marketId,
      intervalMs: 2 ** 32 - 1,
      endTime: 2 ** 47,
      bars: Array.from({ length: WINDOW_BARS }, (_, i) => ({
        time: 2 ** 47 - i,
        missing: false,
        close: 2n ** 64n - 1n,
        volume: 2n ** 80n - 1n,
        high: 2n ** 64n - 1n,
        low: 2n ** 64n - 1n,
      })),
    });
    const markets = Array.from({ length: 32 }, (_, i) => ({
      market: String(p - BigInt(i)),
      window: window(p - BigInt(i)),
      digest: p,
    }));
    const largest = jsonText(
      signedBatchJson({
        markets,
        digest: p,
        publicKey: { Ax: p, Ay: p },
        signature: { R8x: p, R8y: p, S: p },
      }),
    );
    expect(largest.length).toBeGreaterThan(500_000);
    expect(largest.length).toBeLessThan(SIGNED_ANSWER_MAX_BYTES * 0.6);

    const signed = signedBatchJson(await signBatch(a, windows()));
    const over = await serve(200, { ...signed, padding: " ".repeat(SIGNED_ANSWER_MAX_BYTES) });
    const err = await noQuorum(batchesOf([over]).p.collect(END));
    expect(err.reports).toEqual([
      {
        publisher: `${over}/`,
        outcome: "invalid",
        detail:
          `HTTP 200: ${over}/v1/batches/${BATCH}?at=*** answered more than ${SIGNED_ANSWER_MAX_BYTES} bytes (the most ` +
          "read of a publisher's answer), not read",
      },
    ]);
  });
});
