/**
 * `zkrisk publisher sign --key KEYFILE --market ID --data CANDLES.csv --at TIMESTAMP --out window.json
 * [--bars N] [--json]`: the window of N integer candles ending at the bar that opens at --at, its digest,
 * and the publisher's signature, written as a signed window file (publisher/signed-window.ts).
 */
import { resolve } from "node:path";
import { buildWindow, MAX_WINDOW_BARS } from "../../candles";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import {
  publisherPassword,
  signWindow,
  unlockKeystore,
  writeSignedWindow,
  type PublicKey,
  type Signature,
} from "../../publisher";
import { UsageError } from "../../core/errors";
import { progressLine } from "../progress";
import { fileOptions, outFileOption, parseDateOption, parseIntOption, refuseOverwrites } from "../options";
import { barIndexAt } from "./infer";

/** Bars in a window by default: the window the features of its last bar read (WINDOW_BARS, 85). */
export const DEFAULT_WINDOW_BARS = WINDOW_BARS;

/** The options of `zkrisk publisher sign`, as commander gives them. */
export interface PublisherSignFlags {
  /** Keystore file (password from ZKRISK_PUBLISHER_PASSWORD). */
  key: string;
  /** Market label or decimal id (as for `zkrisk prove --market`); required (the batch form has --batch). */
  market?: string;
  /** Candle CSV file; required (the batch form has --batch). */
  data?: string;
  /** Open time (UTC) of the window's last bar. */
  at: string;
  /** Signed window file to write. */
  out: string;
  /** Bars in the window (default DEFAULT_WINDOW_BARS). */
  bars?: string;
  json?: boolean;
}

/**
 * Refuses a window whose last bar has not closed by `nowMs`: a bar still forming changes afterwards, and one key
 * must never sign two values for one bar (an auditor comparing windows takes that for equivocation).
 * @param at open time of the window's last bar, ms; `intervalMs` the bar interval, ms.
 * @throws UsageError naming --at, the bar's close and the time now.
 */
export function assertBarClosed(at: number, intervalMs: number, nowMs: number): void {
  if (at + intervalMs <= nowMs) return;
  const iso = (ms: number) => new Date(ms).toISOString();
  throw new UsageError(
    `--at: the bar opening ${iso(at)} closes at ${iso(at + intervalMs)}, after now (${iso(nowMs)}): a bar still ` +
      `forming is never signed`,
  );
}

/** What `sign` wrote. */
export interface PublisherSignResult {
  /** Absolute path of the signed window file. */
  window: string;
  market: string;
  marketId: bigint;
  /** Bar interval, ms. */
  intervalMs: number;
  /** Open time of the last bar, ISO-8601 UTC. */
  endTime: string;
  bars: number;
  missingBars: number;
  digest: bigint;
  publicKey: PublicKey;
  signature: Signature;
}

/**
 * Builds, signs and writes the window. Options and the candle file are checked before the keystore is
 * unlocked.
 * @param now the clock that says whether the bar at --at has closed, ms.
 * @throws UsageError for a bad option, an unset password, an --at with no bar or whose bar has not closed
 *   (`assertBarClosed`); DataError or InsufficientDataError for the candles; PublisherFileError for the keystore
 *   (or a wrong password).
 */
export async function runPublisherSign(
  f: PublisherSignFlags,
  env: NodeJS.ProcessEnv = process.env,
  now: () => number = Date.now,
): Promise<PublisherSignResult> {
  const password = publisherPassword(env);
  if (f.market === undefined) throw new UsageError("--market is required (or --batch MARKET=CANDLES.csv)");
  if (f.data === undefined) throw new UsageError("--data is required (or --batch MARKET=CANDLES.csv)");
  outFileOption("--out", f.out);
  refuseOverwrites({
    reads: [...fileOptions("--key", f.key), ...fileOptions("--data", f.data)],
    writes: fileOptions("--out", f.out),
  });
  const market = f.market;
  const marketId = marketIdOf(market);
  const n = f.bars === undefined ? DEFAULT_WINDOW_BARS : parseIntOption("--bars", f.bars, 1, MAX_WINDOW_BARS);
  const at = parseDateOption("--at", f.at);
  const series = loadCandles(f.data);
  const window = buildWindow(series, marketId, barIndexAt(series, at), n);
  assertBarClosed(window.endTime, window.intervalMs, now());
  const key = await unlockKeystore(f.key, password, () =>
    progressLine(`unlocking ${f.key} (scrypt, a few seconds)`, f.json),
  );
  const signed = await signWindow(key, market, window);
  const out = resolve(f.out);
  writeSignedWindow(out, signed);
  return {
    window: out,
    market,
    marketId,
    intervalMs: window.intervalMs,
    endTime: new Date(window.endTime).toISOString(),
    bars: window.bars.length,
    missingBars: window.bars.filter((b) => b.missing).length,
    digest: signed.digest,
    publicKey: signed.publicKey,
    signature: signed.signature,
  };
}

/** The text report: the window, its digest and the signing key. */
export function formatPublisherSign(r: PublisherSignResult): string {
  return (
    `signed window of ${r.bars} bars (${r.missingBars} missing) of ${r.market}, ${r.intervalMs / 60_000} min ` +
    `bars, ending at the bar opening ${r.endTime}\n` +
    `  digest     ${r.digest}\n  public key Ax ${r.publicKey.Ax}\n             Ay ${r.publicKey.Ay}\n` +
    `  written to ${r.window}\n`
  );
}
