/**
 * Signed windows: a window (candles/window.ts), its digest (candles/digest.ts) and one publisher's
 * EdDSA-Poseidon signature of that digest, as the file `zkrisk publisher sign` writes.
 *
 * File (JSON, version 3; every field required, unknown keys refused; integers that may exceed 2^53 are
 * decimal strings). It holds exactly what is signed (candles/window.ts, digest layout v3): no opens, and high
 * and low only in the range part (the last WINDOW_RANGE_BARS = 24 bars):
 *
 *   { "version": 3,
 *     "market": "BTC-USDT",             the label; its field element is the prover's `marketIdOf(market)`
 *     "intervalMs": 7200000,            bar interval, ms
 *     "endTime": 1719784800000,         open time of the last bar, ms
 *     "bars": [ { "time": <ms>, "missing": false, "close": "<1e-8 units>", "volume": "<1e-8 base units>" },
 *               ...,
 *               { "time": <ms>, "missing": false, "close": "...", "volume": "...", "high": "...", "low": "..." }
 *             ],                                                                 N bars, oldest first
 *     "digest": "<decimal>",            the window digest
 *     "publicKey": { "Ax": "<decimal>", "Ay": "<decimal>" },
 *     "signature": { "R8x": "<decimal>", "R8y": "<decimal>", "S": "<decimal>" } }
 *
 * Reading checks every field, recomputes the digest from the bars and verifies the signature, so a window
 * that reads is one the key's holder signed. Whether that key belongs to the market's publisher set is the
 * caller's question.
 *
 * Version 2 files (digest layout v2: high and low of the last 12 bars only, tag "zkrisk.window.v2") are refused
 * with a message naming the file and the version: their digest is not the one a proof recomputes, and their
 * 12-bar range part lacks the highs and lows the adaptive rule's lagged outcomes read. A publisher signs the bar
 * again with this version (a new archive directory for `zkrisk publisher serve`).
 */
import {
  windowBarFields,
  windowDigest,
  windowViolation,
  MAX_WINDOW_BARS,
  type WindowBarField,
  type Window,
  type WindowBar,
} from "../candles";
import { readJsonFile, writeJsonAtomic } from "../core/io";
import { JsonReader } from "../core/validate";
// The market id has one owner (candles/market-id.ts), shared with the proof.
import { marketIdOf, marketLabelProblem } from "../candles/market-id";
import { assertSignature, signDigest, type PublicKey, type Signature } from "./eddsa";
import { PublisherFileError, UnsupportedVersionError } from "./errors";
import { refuseOtherPublisherFile } from "./file-kind";
import type { PublisherKey } from "./keystore";

/** Version of the signed-window file format above. */
export const SIGNED_WINDOW_VERSION = 3;

/**
 * Why a signed file of version `version` is not read: `format` names it and gives the version read (`current`)
 * and the last one whose windows are of digest layout v2 (`layoutV2`), which is refused with what changed and
 * what to do. Shared with signed-batch.ts.
 */
export function unsupportedVersionReason(
  version: number,
  format: { what: string; current: number; layoutV2: number },
): string {
  const { what, current, layoutV2 } = format;
  if (version === layoutV2) {
    return (
      `${what} version ${version} is no longer read (expected ${current}): its windows sign the highs and lows ` +
      `of their last 12 bars only (digest layout v2), version ${current} those of the last 24 (layout v3, which ` +
      "the adaptive rule's lagged outcomes read); sign the bar again"
    );
  }
  return `unsupported version ${version} (expected ${current})`;
}

/** A window with its digest and one publisher's signature of it. */
export interface SignedWindow {
  /** The market's label as given (`marketIdOf(market)` is `window.marketId`). */
  market: string;
  window: Window;
  /** The window digest (candles/digest.ts). */
  digest: bigint;
  publicKey: PublicKey;
  signature: Signature;
}

const ROOT_KEYS = ["version", "market", "intervalMs", "endTime", "bars", "digest", "publicKey", "signature"];
/** The keys of bar `i` of a window of `n` bars in the file. */
function barKeys(n: number, i: number): string[] {
  return ["time", "missing", ...windowBarFields(n, i)];
}

/** Signs a window with an unlocked publisher key. `market` is the label `window.marketId` was made from. */
export async function signWindow(key: PublisherKey, market: string, window: Window): Promise<SignedWindow> {
  const digest = await windowDigest(window);
  return {
    market,
    window,
    digest,
    publicKey: key.publicKey,
    signature: await signDigest(key.privateKey, digest),
  };
}

/**
 * A window's fields as signed files hold them (bigints as decimal strings): `market`, `intervalMs`,
 * `endTime` and `bars` (the layout above). Shared with signed batch files (signed-batch.ts).
 */
export function windowJson(market: string, w: Window): Record<string, unknown> {
  const s = (v: bigint) => v.toString();
  return {
    market,
    intervalMs: w.intervalMs,
    endTime: w.endTime,
    bars: w.bars.map((b, i) => ({
      time: b.time,
      missing: b.missing,
      ...Object.fromEntries(windowBarFields(w.bars.length, i).map((f) => [f, s(b[f])])),
    })),
  };
}

/** The signed window as its JSON document (bigints as decimal strings). */
export function signedWindowJson(sw: SignedWindow): Record<string, unknown> {
  const s = (v: bigint) => v.toString();
  const { publicKey: pk, signature: sig } = sw;
  return {
    version: SIGNED_WINDOW_VERSION,
    ...windowJson(sw.market, sw.window),
    digest: s(sw.digest),
    publicKey: { Ax: s(pk.Ax), Ay: s(pk.Ay) },
    signature: { R8x: s(sig.R8x), R8y: s(sig.R8y), S: s(sig.S) },
  };
}

/** Writes a signed window file atomically. */
export function writeSignedWindow(path: string, sw: SignedWindow): void {
  writeJsonAtomic(path, signedWindowJson(sw));
}

/**
 * Reads a signed window file: checks every field, recomputes the digest and verifies the signature.
 * @throws PublisherFileError `file: field: reason` for an unreadable or malformed file (unknown keys,
 *   wrong types, a malformed window, a digest the bars do not give); SignatureError when the signature
 *   does not verify for the file's public key.
 */
export async function readSignedWindow(file: string): Promise<SignedWindow> {
  const value = readJsonFile(file);
  refuseOtherPublisherFile(file, value, ["a signed window file"]);
  return parseSignedWindow(value, file);
}

/**
 * Checks a parsed signed window document (e.g. a publisher's HTTP answer) as `readSignedWindow` checks a file.
 * @param file names the document in messages (a file or a URL).
 * @throws PublisherFileError `file: field: reason` (UnsupportedVersionError for another file version); SignatureError
 *   when the signature does not verify.
 */
export async function parseSignedWindow(value: unknown, file: string): Promise<SignedWindow> {
  const doc = new JsonReader(file, value, "", (f, field, reason) => {
    return new PublisherFileError(f, field, reason);
  });
  doc.onlyKeys(ROOT_KEYS);
  const version = doc.at("version").integer();
  if (version !== SIGNED_WINDOW_VERSION) {
    const format = { what: "signed window", current: SIGNED_WINDOW_VERSION, layoutV2: 2 };
    throw new UnsupportedVersionError(file, version, unsupportedVersionReason(version, format));
  }
  const { market, window } = readWindowJson(file, doc);

  const pk = doc.at("publicKey").onlyKeys(["Ax", "Ay"]);
  const sig = doc.at("signature").onlyKeys(["R8x", "R8y", "S"]);
  const signed: SignedWindow = {
    market,
    window,
    digest: doc.at("digest").bigint(),
    publicKey: { Ax: pk.at("Ax").bigint(), Ay: pk.at("Ay").bigint() },
    signature: { R8x: sig.at("R8x").bigint(), R8y: sig.at("R8y").bigint(), S: sig.at("S").bigint() },
  };
  const digest = await windowDigest(window);
  if (digest !== signed.digest)
    doc.at("digest").error(`${signed.digest} is not the digest of the bars (${digest})`);
  await assertSignature(signed.publicKey, digest, signed.signature, `${file}: signature`);
  return signed;
}

/**
 * Reads the window fields (`market`, `intervalMs`, `endTime`, `bars`; windowJson's layout) of the object
 * `doc` in `file`, checking every field and the window's well-formedness. The caller checks the object's
 * keys. Shared with signed batch files (signed-batch.ts).
 * @param prefix the object's path in the file, put before the field a window rule names (`markets[1].`).
 * @throws PublisherFileError `file: field: reason`.
 */
export function readWindowJson(
  file: string,
  doc: JsonReader,
  prefix = "",
): { market: string; window: Window } {
  const market = doc.at("market").string();
  const marketId = marketIdIn(doc.at("market"), market);
  const items = doc.at("bars").items();
  const window: Window = {
    marketId,
    intervalMs: doc.at("intervalMs").integer(1),
    endTime: doc.at("endTime").integer(0),
    bars: items.map((bar, i): WindowBar => {
      const fields = windowBarFields(items.length, i);
      bar.onlyKeys(barKeys(items.length, i));
      const value = (f: WindowBarField) => (fields.includes(f) ? bar.at(f).bigint() : 0n);
      return {
        time: bar.at("time").integer(0),
        missing: bar.at("missing").boolean(),
        close: value("close"),
        volume: value("volume"),
        high: value("high"),
        low: value("low"),
      };
    }),
  };
  if (window.bars.length < 1 || window.bars.length > MAX_WINDOW_BARS) {
    doc.at("bars").error(`${window.bars.length} bars, expected 1 to ${MAX_WINDOW_BARS}`);
  }
  const violation = windowViolation(window);
  if (violation !== undefined) throw new PublisherFileError(file, prefix + violation.field, violation.reason);
  return { market, window };
}

/** The field element of a market label (the prover's `marketIdOf`), or an error naming the field. */
function marketIdIn(field: JsonReader, market: string): bigint {
  const problem = marketLabelProblem(market);
  return problem === undefined ? marketIdOf(market) : field.error(problem);
}

/** Where two signed windows first differ. */
export interface WindowDisagreement {
  /** Index (in the list given) of the window that differs from window 0. */
  index: number;
  /** The differing field, named as in the file (`endTime`, `bars[95].close`). */
  field: string;
  /** The bar's index and open time (ms), when the field is a bar's. */
  bar?: { index: number; time: number };
  /** The two values, as written in the files. */
  values: [string, string];
  /** One line naming both windows, the bar and the field. */
  message: string;
}

/**
 * A window's comparable fields, in file order: [field, value as written] (shared with signed batches).
 */
export function comparableWindowFields(market: string, w: Window): [string, string][] {
  const entries: [string, string][] = [
    ["market", market],
    ["intervalMs", String(w.intervalMs)],
    ["endTime", String(w.endTime)],
    ["bars.length", String(w.bars.length)],
  ];
  w.bars.forEach((b, i) => {
    entries.push([`bars[${i}].missing`, String(b.missing)]);
    for (const f of windowBarFields(w.bars.length, i)) entries.push([`bars[${i}].${f}`, b[f].toString()]);
  });
  return entries;
}

/**
 * The first place where the signed windows (e.g. k publishers' windows for one bar) do not hold identical
 * candles, comparing each with the first: market, interval, end time, length, then bar by bar, oldest
 * first, the missing flag and each signed field. Undefined when they all agree.
 * @param names names of the windows for the message (e.g. their files); default `window i`.
 */
export function firstDisagreement(
  windows: readonly SignedWindow[],
  names: readonly string[] = windows.map((_, i) => `window ${i}`),
): WindowDisagreement | undefined {
  if (windows.length === 0) return undefined;
  const reference = comparableWindowFields(windows[0].market, windows[0].window);
  for (let index = 1; index < windows.length; index++) {
    const other = comparableWindowFields(windows[index].market, windows[index].window);
    const at = reference.findIndex(([field, value], j) => other[j][0] !== field || other[j][1] !== value);
    if (at === -1) continue;
    const [field, a] = reference[at];
    const b = other[at][1];
    const barIndex = /^bars\[(\d+)\]/.exec(field);
    const bar =
      barIndex === null
        ? undefined
        : { index: Number(barIndex[1]), time: windows[0].window.bars[Number(barIndex[1])].time };
    const where = bar === undefined ? "" : `bar ${bar.index} (${new Date(bar.time).toISOString()}) `;
    return {
      index,
      field,
      bar,
      values: [a, b],
      message: `${names[index]} differs from ${names[0]} at ${where}${field}: ${b} vs ${a}`,
    };
  }
  return undefined;
}
