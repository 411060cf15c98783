/**
 * Signed batches: the windows of several markets at one bar close, their batch digest
 * (candles/batch-digest.ts) and one publisher's EdDSA-Poseidon signature of it, as the file
 * `zkrisk publisher sign --batch` writes. A batch of N markets needs the quorum's k signatures, not k per
 * market: the signed batch circuit (circuits/generate-signed-batch-circuit.ts) proves all N from them.
 *
 * File (JSON, version 2; every field required, unknown keys refused; integers that may exceed 2^53 are
 * decimal strings). Each market holds its window exactly as a signed window file does (signed-window.ts:
 * `market`, `intervalMs`, `endTime`, `bars`, digest layout v3), and its window digest:
 *
 *   { "version": 2,
 *     "markets": [ { "market": "BTC-USDT", "intervalMs": 7200000, "endTime": <ms>, "bars": [...],
 *                    "digest": "<window digest>" },
 *                  ... ],                          1 to 32 markets, ids strictly increasing
 *     "digest": "<decimal>",                       the batch digest over (marketId, window digest) pairs
 *     "publicKey": { "Ax": "<decimal>", "Ay": "<decimal>" },
 *     "signature": { "R8x": "<decimal>", "R8y": "<decimal>", "S": "<decimal>" } }
 *
 * Reading checks every field, recomputes every window digest and the batch digest, refuses markets out of
 * order or twice, and verifies the signature, so a batch that reads is one the key's holder signed. Every check that
 * costs no hashing comes first (at most 32 markets, every field, the order), so a malformed document is refused
 * before any digest is computed.
 * Whether the key belongs to each market's publisher set is the caller's question.
 *
 * Version 1 files held windows of digest layout v2 (the highs and lows of 12 bars): they are refused with a
 * message naming the file and the version (the batch digest's own layout, candles/batch-digest.ts, is unchanged;
 * its window digests are not).
 */
import { batchDigest, batchViolation, windowDigest, MAX_BATCH_MARKETS, type Window } from "../candles";
import { readJsonFile, writeJsonAtomic } from "../core/io";
import { JsonReader } from "../core/validate";
import { assertSignature, signDigest, type PublicKey, type Signature } from "./eddsa";
import { PublisherFileError, UnsupportedVersionError } from "./errors";
import { refuseOtherPublisherFile } from "./file-kind";
import type { PublisherKey } from "./keystore";
import {
  comparableWindowFields,
  readWindowJson,
  unsupportedVersionReason,
  windowJson,
} from "./signed-window";

/** Version of the signed batch file format above. */
export const SIGNED_BATCH_VERSION = 2;

/** One market of a signed batch: its label, its window and the window's digest. */
export interface BatchMarket {
  /** The market's label as given (`marketIdOf(market)` is `window.marketId`). */
  market: string;
  window: Window;
  /** The window digest (candles/digest.ts). */
  digest: bigint;
}

/** The windows of N markets, their batch digest and one publisher's signature of it. */
export interface SignedBatch {
  /** The markets, ids strictly increasing. */
  markets: BatchMarket[];
  /** The batch digest (candles/batch-digest.ts). */
  digest: bigint;
  publicKey: PublicKey;
  signature: Signature;
}

const ROOT_KEYS = ["version", "markets", "digest", "publicKey", "signature"];
const MARKET_KEYS = ["market", "intervalMs", "endTime", "bars", "digest"];

/**
 * Signs the windows of several markets as one batch with an unlocked publisher key. The markets are put in
 * increasing id order (the batch digest's).
 * @throws RangeError for no market, more than 32, or one market twice.
 */
export async function signBatch(
  key: PublisherKey,
  windows: readonly { market: string; window: Window }[],
): Promise<SignedBatch> {
  const sorted = [...windows].sort((a, b) =>
    a.window.marketId < b.window.marketId ? -1 : a.window.marketId > b.window.marketId ? 1 : 0,
  );
  const markets: BatchMarket[] = [];
  for (const w of sorted) markets.push({ ...w, digest: await windowDigest(w.window) });
  const digest = await batchDigest(
    markets.map((m) => ({ marketId: m.window.marketId, windowDigest: m.digest })),
  );
  return { markets, digest, publicKey: key.publicKey, signature: await signDigest(key.privateKey, digest) };
}

/** The signed batch as its JSON document (bigints as decimal strings). */
export function signedBatchJson(sb: SignedBatch): Record<string, unknown> {
  const s = (v: bigint) => v.toString();
  const { publicKey: pk, signature: sig } = sb;
  return {
    version: SIGNED_BATCH_VERSION,
    markets: sb.markets.map((m) => ({ ...windowJson(m.market, m.window), digest: s(m.digest) })),
    digest: s(sb.digest),
    publicKey: { Ax: s(pk.Ax), Ay: s(pk.Ay) },
    signature: { R8x: s(sig.R8x), R8y: s(sig.R8y), S: s(sig.S) },
  };
}

/** Writes a signed batch file atomically. */
export function writeSignedBatch(path: string, sb: SignedBatch): void {
  writeJsonAtomic(path, signedBatchJson(sb));
}

/**
 * Reads a signed batch file: checks every field, recomputes every window digest and the batch digest,
 * refuses markets out of order, and verifies the signature.
 * @throws PublisherFileError `file: field: reason` for an unreadable or malformed file (unknown keys,
 *   wrong types, a malformed window, markets not strictly increasing, a digest the data does not give);
 *   SignatureError when the signature does not verify for the file's public key.
 */
export async function readSignedBatch(file: string): Promise<SignedBatch> {
  const value = readJsonFile(file);
  refuseOtherPublisherFile(file, value, ["a signed batch file"]);
  return parseSignedBatch(value, file);
}

/**
 * A signed batch from its parsed JSON document (`file` names it in errors), checked as `readSignedBatch` checks
 * a file.
 * @throws PublisherFileError, SignatureError as `readSignedBatch`.
 */
export async function parseSignedBatch(value: unknown, file: string): Promise<SignedBatch> {
  const doc = new JsonReader(file, value, "", (f, field, reason) => {
    return new PublisherFileError(f, field, reason);
  });
  doc.onlyKeys(ROOT_KEYS);
  const version = doc.at("version").integer();
  if (version !== SIGNED_BATCH_VERSION) {
    const format = { what: "signed batch", current: SIGNED_BATCH_VERSION, layoutV2: 1 };
    throw new UnsupportedVersionError(file, version, unsupportedVersionReason(version, format));
  }
  // Every field that costs no hashing is read first, and the number of markets bounded, so that a malformed document
  // (thousands of markets, a broken key) is refused before any window digest is computed.
  const count = doc.at("markets").array().length;
  if (count < 1 || count > MAX_BATCH_MARKETS) {
    doc.at("markets").error(`${count} markets, expected 1 to ${MAX_BATCH_MARKETS}`);
  }
  const pk = doc.at("publicKey").onlyKeys(["Ax", "Ay"]);
  const sig = doc.at("signature").onlyKeys(["R8x", "R8y", "S"]);
  const signedDigest = doc.at("digest").bigint();
  const publicKey = { Ax: pk.at("Ax").bigint(), Ay: pk.at("Ay").bigint() };
  const signature = { R8x: sig.at("R8x").bigint(), R8y: sig.at("R8y").bigint(), S: sig.at("S").bigint() };
  const items = doc.at("markets").items();
  const read = items.map((item, i) => {
    item.onlyKeys(MARKET_KEYS);
    return { ...readWindowJson(file, item, `markets[${i}].`), digest: item.at("digest").bigint() };
  });
  // the order of the markets, with the window digests as stated (each is then checked against its bars)
  const entries = read.map((m) => ({ marketId: m.window.marketId, windowDigest: m.digest }));
  const violation = batchViolation(entries);
  if (violation !== undefined) throw new PublisherFileError(file, violation.field, violation.reason);
  const markets: BatchMarket[] = [];
  for (const [i, { market, window, digest }] of read.entries()) {
    const computed = await windowDigest(window);
    if (digest !== computed)
      items[i].at("digest").error(`${digest} is not the digest of the bars (${computed})`);
    markets.push({ market, window, digest });
  }
  const signed: SignedBatch = { markets, digest: signedDigest, publicKey, signature };
  const digest = await batchDigest(entries);
  if (digest !== signed.digest)
    doc.at("digest").error(`${signed.digest} is not the batch digest of the markets (${digest})`);
  await assertSignature(signed.publicKey, digest, signed.signature, `${file}: signature`);
  return signed;
}

/** Where two signed batches first differ. */
export interface BatchDisagreement {
  /** Index (in the list given) of the batch that differs from batch 0. */
  index: number;
  /** The market (label in batch 0) and its position, when the difference is inside a market. */
  market?: { index: number; label: string };
  /** The differing field, named as in the file (`markets`, `markets[1].bars[84].close`). */
  field: string;
  /** The bar's index and open time (ms), when the field is a bar's. */
  bar?: { index: number; time: number };
  /** The two values, as written in the files. */
  values: [string, string];
  /** One line naming both batches, the market, the bar and the field. */
  message: string;
}

/**
 * The first place where signed batches (k publishers' batches of one bar close) do not hold identical
 * candles, comparing each with the first: the number of markets, then market by market in order its label,
 * interval, end, length and bars (signed-window.ts `comparableWindowFields`). Undefined when they agree.
 * @param names names of the batches for the message (e.g. their files); default `batch i`.
 */
export function firstBatchDisagreement(
  batches: readonly SignedBatch[],
  names: readonly string[] = batches.map((_, i) => `batch ${i}`),
): BatchDisagreement | undefined {
  if (batches.length === 0) return undefined;
  const reference = batches[0];
  for (let index = 1; index < batches.length; index++) {
    const other = batches[index];
    const count = Math.min(reference.markets.length, other.markets.length);
    for (let m = 0; m < count; m++) {
      const a = comparableWindowFields(reference.markets[m].market, reference.markets[m].window);
      const b = comparableWindowFields(other.markets[m].market, other.markets[m].window);
      const at = a.findIndex(([field, value], j) => b[j]?.[0] !== field || b[j][1] !== value);
      if (at === -1) continue;
      const field = `markets[${m}].${a[at][0]}`;
      const barIndex = /^bars\[(\d+)\]/.exec(a[at][0]);
      const label = reference.markets[m].market;
      const bar =
        barIndex === null
          ? undefined
          : { index: Number(barIndex[1]), time: reference.markets[m].window.bars[Number(barIndex[1])].time };
      const where = bar === undefined ? "" : `bar ${bar.index} (${new Date(bar.time).toISOString()}) `;
      const values: [string, string] = [a[at][1], b[at]?.[1] ?? "(none)"];
      return {
        index,
        market: { index: m, label },
        field,
        bar,
        values,
        message:
          `${names[index]} differs from ${names[0]} at market ${label} (markets[${m}]) ${where}${field}: ` +
          `${values[1]} vs ${values[0]}`,
      };
    }
    if (reference.markets.length !== other.markets.length) {
      const values: [string, string] = [String(reference.markets.length), String(other.markets.length)];
      return {
        index,
        field: "markets.length",
        values,
        message: `${names[index]} differs from ${names[0]} at markets.length: ${values[1]} vs ${values[0]}`,
      };
    }
  }
  return undefined;
}
