/**
 * `zkrisk publisher sign --batch MARKET=CANDLES.csv [--batch MARKET=CANDLES.csv ...] --key KEYFILE --at
 * TIMESTAMP --out batch.json [--bars N] [--json]`: the windows of several markets ending at the bar that
 * opens at --at, their batch digest (candles/batch-digest.ts) and the publisher's one signature of it,
 * written as a signed batch file (publisher/signed-batch.ts). The markets go in increasing id order.
 */
import { resolve } from "node:path";
import { buildWindow, MAX_BATCH_MARKETS, MAX_WINDOW_BARS } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { UsageError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";
import {
  publisherPassword,
  signBatch,
  unlockKeystore,
  writeSignedBatch,
  type PublicKey,
  type Signature,
} from "../../publisher";
import { progressLine } from "../progress";
import { fileOptions, outFileOption, parseDateOption, parseIntOption, refuseOverwrites } from "../options";
import { barIndexAt } from "./infer";
import { assertBarClosed, DEFAULT_WINDOW_BARS } from "./publisher-sign";

/** The options of `zkrisk publisher sign --batch`. */
export interface PublisherSignBatchFlags {
  key: string;
  /** `MARKET=CANDLES.csv`, one per market (repeatable). */
  batch: string[];
  at: string;
  out: string;
  bars?: string;
  json?: boolean;
}

/** What `sign --batch` wrote. */
export interface PublisherSignBatchResult {
  /** Absolute path of the signed batch file. */
  batch: string;
  /** Open time of the windows' last bar, ISO-8601 UTC. */
  endTime: string;
  bars: number;
  /** Each market in the batch's order (ids increasing), with its window digest. */
  markets: { market: string; marketId: bigint; missingBars: number; digest: bigint }[];
  digest: bigint;
  publicKey: PublicKey;
  signature: Signature;
}

/** `MARKET=FILE` of one --batch value, or a UsageError naming it. */
function parseBatchEntry(value: string): { market: string; data: string } {
  const at = value.indexOf("=");
  if (at <= 0 || at === value.length - 1) {
    throw new UsageError(`--batch: '${value}' is not MARKET=CANDLES.csv`);
  }
  return { market: value.slice(0, at), data: value.slice(at + 1) };
}

/**
 * Builds every market's window, signs the batch and writes it. Options and candle files are checked before
 * the keystore is unlocked.
 * @param now the clock that says whether the bar at --at has closed, ms.
 * @throws UsageError for a bad option, a market twice, an unset password, an --at that a file has no bar
 *   at or whose bar has not closed (`assertBarClosed`); DataError or InsufficientDataError for the candles;
 *   PublisherFileError for the keystore.
 */
export async function runPublisherSignBatch(
  f: PublisherSignBatchFlags,
  env: NodeJS.ProcessEnv = process.env,
  now: () => number = Date.now,
): Promise<PublisherSignBatchResult> {
  const password = publisherPassword(env);
  if (f.batch.length < 1 || f.batch.length > MAX_BATCH_MARKETS) {
    throw new UsageError(`--batch: ${f.batch.length} markets, expected 1 to ${MAX_BATCH_MARKETS}`);
  }
  const entries = f.batch.map(parseBatchEntry);
  outFileOption("--out", f.out);
  refuseOverwrites({
    reads: [
      ...fileOptions("--key", f.key),
      ...fileOptions(
        "--batch",
        entries.map((e) => e.data),
      ),
    ],
    writes: fileOptions("--out", f.out),
  });
  const ids = new Map<bigint, string>();
  for (const e of entries) {
    const id = marketIdOf(e.market);
    const twice = ids.get(id);
    if (twice !== undefined)
      throw new UsageError(`--batch: market '${e.market}' is given twice ('${twice}')`);
    ids.set(id, e.market);
  }
  const n = f.bars === undefined ? DEFAULT_WINDOW_BARS : parseIntOption("--bars", f.bars, 1, MAX_WINDOW_BARS);
  const at = parseDateOption("--at", f.at);
  const windows = entries.map((e) => {
    const series = loadCandles(e.data);
    return { market: e.market, window: buildWindow(series, marketIdOf(e.market), barIndexAt(series, at), n) };
  });
  for (const { window } of windows) assertBarClosed(window.endTime, window.intervalMs, now());
  const key = await unlockKeystore(f.key, password, () =>
    progressLine(`unlocking ${f.key} (scrypt, a few seconds)`, f.json),
  );
  const signed = await signBatch(key, windows);
  const out = resolve(f.out);
  writeSignedBatch(out, signed);
  return {
    batch: out,
    endTime: new Date(at).toISOString(),
    bars: n,
    markets: signed.markets.map((m) => ({
      market: m.market,
      marketId: m.window.marketId,
      missingBars: m.window.bars.filter((b) => b.missing).length,
      digest: m.digest,
    })),
    digest: signed.digest,
    publicKey: signed.publicKey,
    signature: signed.signature,
  };
}

/** The text report: the markets, the batch digest and the signing key. */
export function formatPublisherSignBatch(r: PublisherSignBatchResult): string {
  return (
    `signed a batch of ${r.markets.length} market(s), windows of ${r.bars} bars ending at the bar opening ` +
    `${r.endTime}\n` +
    r.markets.map((m) => `  ${m.market}: ${m.missingBars} missing, window digest ${m.digest}\n`).join("") +
    `  batch digest ${r.digest}\n  public key Ax ${r.publicKey.Ax}\n             Ay ${r.publicKey.Ay}\n` +
    `  written to ${r.batch}\n`
  );
}
