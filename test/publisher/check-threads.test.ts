/**
 * Signed windows and batches checked in worker threads (publisher/check-threads.ts) give the lookups the main
 * thread gives (document-checks.ts `IN_THREAD`), field for field: documents that check (real BTC and ETH windows
 * of 85 bars), documents that do not (an edited close, a broken signature, a batch with an edited bar, an unknown
 * key), one of a version this reader does not read (absent), and one that is no window at all. Real threads,
 * started from the sources as the CLI starts them.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWindow, WINDOW_BARS } from "../../candles";
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { runAudit } from "../../cli/commands/audit";
import { CheckThreads } from "../../publisher/check-threads";
import { IN_THREAD } from "../../publisher/document-checks";
import { publicKeyOf } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { signBatch, signedBatchJson } from "../../publisher/signed-batch";
import { signedWindowJson, signWindow } from "../../publisher/signed-window";
import { DATA } from "../contracts/fixture";

type Doc = Record<string, unknown> & { bars: Record<string, unknown>[] };
type BatchDoc = Record<string, unknown> & { markets: Doc[] };

const btc = loadCandles(DATA);
const eth = loadCandles(join(DATA, "../ethusdt-2h.csv"));
const window = (series: typeof btc, market: string, back: number) =>
  buildWindow(series, marketIdOf(market), series.candles.length - 1 - back, WINDOW_BARS);

let threads: CheckThreads;
const windows: { name: string; value: unknown }[] = [];
const batches: { name: string; value: unknown }[] = [];

beforeAll(async () => {
  threads = new CheckThreads(2);
  const privateKey = new Uint8Array(32).fill(11);
  const key: PublisherKey = { privateKey, publicKey: await publicKeyOf(privateKey) };
  const copy = <T>(doc: unknown) => JSON.parse(JSON.stringify(doc)) as T;
  for (let back = 0; back < 4; back++) {
    windows.push({
      name: `btc-${back}.json`,
      value: signedWindowJson(await signWindow(key, "BTC-USDT", window(btc, "BTC-USDT", back))),
    });
  }
  const honest = copy<Doc>(windows[0].value);
  const edited = copy<Doc>(honest);
  edited.bars[84].close = String(BigInt(edited.bars[84].close as string) + 1n);
  const broken = copy<Doc & { signature: { S: string } }>(honest);
  broken.signature.S = String(BigInt(broken.signature.S) + 1n);
  const older = copy<Doc>(honest);
  older.version = 2;
  windows.push(
    { name: "edited-close.json", value: edited },
    { name: "broken-signature.json", value: broken },
    { name: "version-2.json", value: older },
    { name: "not-a-window.json", value: { hello: "world" } },
  );

  const pair = [
    { market: "BTC-USDT", window: window(btc, "BTC-USDT", 0) },
    { market: "ETH-USDT", window: window(eth, "ETH-USDT", 0) },
  ];
  const batch = signedBatchJson(await signBatch(key, pair));
  const editedBatch = copy<BatchDoc>(batch);
  editedBatch.markets[1].bars[40].volume = "1";
  batches.push({ name: "batch.json", value: batch }, { name: "edited-batch.json", value: editedBatch });
});

afterAll(async () => {
  await threads?.close();
});

describe("checking in worker threads", () => {
  it("gives the main thread's lookups for windows, whatever they hold", async () => {
    const inThread = await Promise.all(windows.map((d) => IN_THREAD.window(d.value, d.name)));
    const pooled = await Promise.all(windows.map((d) => threads.window(d.value, d.name)));
    expect(pooled).toEqual(inThread);
    expect(pooled.map((l) => l.kind)).toEqual([
      "found",
      "found",
      "found",
      "found",
      "invalid",
      "invalid",
      "absent",
      "invalid",
    ]);
    // the window crosses back whole: its bars, digest and key as bigints
    const found = pooled[0];
    if (found.kind !== "found") throw new Error("expected a found window");
    expect(found.window.window.bars).toHaveLength(WINDOW_BARS);
    expect(typeof found.window.digest).toBe("bigint");
    expect(pooled[4]).toMatchObject({ reason: expect.stringMatching(/^edited-close\.json: digest: /) });
    expect(pooled[5]).toMatchObject({
      reason: expect.stringMatching(/^broken-signature\.json: signature: the signature does not verify/),
    });
  });

  it("gives the main thread's lookups for batches", async () => {
    const inThread = await Promise.all(batches.map((d) => IN_THREAD.batch(d.value, d.name)));
    const pooled = await Promise.all(batches.map((d) => threads.batch(d.value, d.name)));
    expect(pooled).toEqual(inThread);
    expect(pooled.map((l) => l.kind)).toEqual(["found", "invalid"]);
  });

  it("refuses a pool of no threads, and zkrisk audit a --threads that is not a count", async () => {
    expect(() => new CheckThreads(0)).toThrow(/^threads: 0 is not >= 1$/);
    for (const threads of ["0", "two", "1.5"]) {
      await expect(runAudit({ rpc: "http://127.0.0.1:1", oracle: "0x", threads })).rejects.toThrow(
        new RegExp(`^--threads: '${threads}' is not an integer in \\[1, 1024\\]$`),
      );
    }
  });
});
