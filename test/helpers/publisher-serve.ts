/**
 * Fixtures of the `zkrisk publisher serve` suites and of the prover service's: real candles, cheap keystores,
 * configs, in-memory logs, and publishers started in process on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { encryptKeystore, publicKeyOf, writeKeystore, type PublisherKey } from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";

/** The shipped Binance BTC-USDT 2 h candles. */
export const DATA = join(__dirname, "../../models/data/btcusdt-2h.csv");
export const TWO_HOURS = 7_200_000;

/** The header and the bar lines of the real file (without newlines). */
export const [HEADER, ...BARS] = readFileSync(DATA, "utf8").trimEnd().split("\n");

/** Open time (ms) of bar `i` of the real file. */
export function barTime(i: number): number {
  return Date.parse(`${BARS[i].split(",")[0].replace(" ", "T")}Z`);
}

/** CSV text of bars `from` (inclusive) to `to` (exclusive) of the real file, with the header. */
export function csvText(from: number, to: number): string {
  return [HEADER, ...BARS.slice(from, to)].join("\n") + "\n";
}

/** Bars `from` to `to` (exclusive) as Binance klines, prices as the CSV wrote them. */
export function klinesOf(from: number, to: number): unknown[][] {
  return BARS.slice(from, to).map((line, j) => {
    const [, open, high, low, close, volume] = line.split(",");
    const openTime = barTime(from + j);
    return [openTime, open, high, low, close, volume, openTime + TWO_HOURS - 1, "0", 1, "0", "0", "0"];
  });
}

/** The password of the test keystores. */
export const PASSWORD = "correct horse battery staple 42";
/** An environment holding it. */
export const PASSWORD_ENV = { ZKRISK_PUBLISHER_PASSWORD: PASSWORD };

/** A cheap scrypt cost for tests (the default, N = 2^17, is for real keys). */
const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

/** A fresh temporary directory. */
export const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `zkrisk-${name}-`));

/** The private key of test publisher `n`: 32 bytes derived from n. */
export function privateKeyOf(n: number): Uint8Array {
  return new Uint8Array(32).map((_, i) => (n * 37 + i * 11 + 5) % 256);
}

/** Writes publisher `n`'s keystore (password PASSWORD) to `file`; returns its unlocked key. */
export async function writeTestKeystore(file: string, n: number): Promise<PublisherKey> {
  const privateKey = privateKeyOf(n);
  writeKeystore(file, await encryptKeystore(privateKey, PASSWORD, FAST_SCRYPT), false);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** Writes a JSON document to `dir/name`; returns the path. */
export function writeJson(dir: string, name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc, null, 2));
  return path;
}

/** A pino logger whose JSON lines are kept in `lines`. */
export function memoryLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

/** Every form a private key could be printed in: hex, base64, and its bytes as decimals. */
export function privateKeyForms(key: Uint8Array): string[] {
  const bytes = Buffer.from(key);
  return [
    bytes.toString("hex"),
    bytes.toString("base64"),
    Array.from(bytes).join(","),
    BigInt(`0x${bytes.toString("hex")}`).toString(),
  ];
}

/** A `zkrisk publisher serve` started in this process for one market, polling only when asked. */
export interface TestPublisher {
  publisher: RunningPublisher;
  key: PublisherKey;
  /** Its base URL (`http://127.0.0.1:PORT`). */
  url: string;
}

/**
 * Start publisher `n` (test key `n`) on 127.0.0.1 over the candle CSV `csv`, signing `market`'s 2 h bars
 * (the newest `backfillBars` closed ones on its first poll, done here). It polls again only on `poll()`.
 */
export async function startTestPublisher(
  dir: string,
  n: number,
  csv: string,
  o: { market?: string; backfillBars?: number; log?: Logger } = {},
): Promise<TestPublisher> {
  const key = await writeTestKeystore(join(dir, `publisher-${n}.key.json`), n);
  const cfg = parsePublisherConfig(
    {
      key: `publisher-${n}.key.json`,
      archive: `archive-${n}`,
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", port: 0 },
      markets: [
        {
          market: o.market ?? "BTC-USDT",
          intervalMs: TWO_HOURS,
          source: { csv },
          backfillBars: o.backfillBars ?? 1,
        },
      ],
    },
    join(dir, `publisher-${n}.json`),
    dir,
  );
  const publisher = await startPublisher(cfg, o.log ?? pino({ level: "silent" }), { env: PASSWORD_ENV });
  await publisher.poll();
  return { publisher, key, url: publisher.url };
}

/**
 * A clock keeping pace with a 2-hour candle CSV file `csv`: one minute past the close of its newest bar, read at
 * each call, ms. A publisher over a file the test appends to then has every bar closed and is never behind the
 * clock (signer.ts `BEHIND_BARS`), whatever the bars' years.
 */
export function csvClock(csv: string): () => number {
  return () => {
    const newest = readFileSync(csv, "utf8").trimEnd().split("\n").at(-1)!;
    return Date.parse(`${newest.split(",")[0].replace(" ", "T")}Z`) + TWO_HOURS + 60_000;
  };
}
