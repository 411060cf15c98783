/**
 * What checking signed data costs in CPU: the work `zkrisk audit`, the publisher's archive and the prover
 * service repeat for every window they read. Real BTC windows of WINDOW_BARS bars ending at the latest bars of
 * --data, signed by seeded benchmark keys; each figure is CPU time (process.cpuUsage, user + system) per item
 * over all the windows, one sample per round, summarised over the rounds:
 *
 * - `poseidon16`: one Poseidon of 16 inputs, a chunk of the window digest's sponge;
 * - `windowDigest`: a window's digest (candles/digest.ts);
 * - `signatureNewKey`: a signature verified with a key not seen before in the process (the key's curve and
 *   subgroup checks, double-and-add);
 * - `signatureKnownKey`: a signature verified with a key seen before (its checks remembered, its multiples table
 *   built);
 * - `signedWindowRead`: a signed window's JSON document read as `zkrisk audit` and the archive read it (every
 *   field, the digest, the signature with a known key).
 *
 * and, in wall-clock time per document, the same documents (each window's CONCURRENT_COPIES times) handed over
 * all at once, as the audit's lookahead hands them over, and checked
 * - `checkedInMainThread`: in the main thread (publisher/document-checks.ts `IN_THREAD`), one after another;
 * - `checkedInThreads`: in `threads` worker threads (publisher/check-threads.ts, `zkrisk audit --threads`).
 */
import { loadCandles } from "../candles/load-data";
import { marketIdOf } from "../candles/market-id";
import { windowDigest, windowDigestInputs } from "../candles/digest";
import { poseidon } from "../crypto/poseidon";
import { publicKeyOf, verifySignature } from "../publisher/eddsa";
import type { PublisherKey } from "../publisher/keystore";
import {
  parseSignedWindow,
  signedWindowJson,
  signWindow,
  type SignedWindow,
} from "../publisher/signed-window";
import { CheckThreads, defaultCheckThreads } from "../publisher/check-threads";
import { IN_THREAD, type DocumentChecks } from "../publisher/document-checks";
import { BenchError, summarize, type Timing } from "./bench-common";
import { latestWindows } from "./signed-update-bench";

/** Options of {@link measureSignedDataChecks}. */
export interface SignedDataCheckOptions {
  /** Candles CSV the windows come from. */
  data: string;
  /** Market label of the windows. */
  market: string;
  /** Windows checked per round (>= 1). */
  windows: number;
  /** Rounds, one sample each (>= 1). */
  rounds: number;
  /** Worker threads of `checkedInThreads` (default: the cores available). */
  threads?: number;
}

/** How many times each window's document is handed over at once in the wall-clock figures. */
export const CONCURRENT_COPIES = 4;

/** CPU per item of each check, ms. */
export interface SignedDataChecks {
  windows: number;
  bars: number;
  poseidon16: Timing;
  windowDigest: Timing;
  signatureNewKey: Timing;
  signatureKnownKey: Timing;
  signedWindowRead: Timing;
  /** Worker threads of `checkedInThreads`. */
  threads: number;
  /** How many times each window's document is handed over in the wall-clock figures (CONCURRENT_COPIES). */
  copies: number;
  /** Wall ms per document, documents handed over at once and checked in the main thread. */
  checkedInMainThread: Timing;
  /** Wall ms per document, documents handed over at once and checked in `threads` worker threads. */
  checkedInThreads: Timing;
}

/** How the figures are taken (the report's `method.checks`). */
export const SIGNED_DATA_METHOD =
  "CPU time (process.cpuUsage, user + system) per item over the windows of WINDOW_BARS bars ending at the " +
  "latest bars of --data, signed by seeded benchmark keys, one sample per round (rounds: --runs): poseidon16, " +
  "one Poseidon of 16 inputs (the digest's first chunk); windowDigest; signatureNewKey, with a key new to the " +
  "process (a fresh one per window); signatureKnownKey, with one key already seen; signedWindowRead, " +
  "parseSignedWindow of the window's JSON document (fields, digest, signature with a known key). Then wall-clock " +
  "time per document, each window's document handed over CONCURRENT_COPIES times at once and checked: " +
  "checkedInMainThread, in the main thread; checkedInThreads, in `threads` worker threads (zkrisk audit --threads)";

/** Benchmark key number n: a private key of its own, unlike every other number's (0 is the known key). */
async function numberedKey(n: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(0xa5);
  new DataView(privateKey.buffer).setUint32(0, n);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** CPU ms per item of `run` over `items`. */
async function cpuPerItem<T>(items: readonly T[], run: (item: T) => unknown): Promise<number> {
  const start = process.cpuUsage();
  for (const item of items) await run(item);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / items.length;
}

/** Wall ms per document of `documents` handed to `checks` all at once. */
async function wallPerDocument(checks: DocumentChecks, documents: readonly unknown[]): Promise<number> {
  const start = performance.now();
  const lookups = await Promise.all(documents.map((d) => checks.window(d, "benchmark window")));
  const ms = performance.now() - start;
  const failed = lookups.find((l) => l.kind !== "found");
  if (failed !== undefined) throw new BenchError(`a benchmark window does not check: ${failed.reason}`);
  return ms / documents.length;
}

/** Measure the checks (see the module's comment). */
export async function measureSignedDataChecks(opts: SignedDataCheckOptions): Promise<SignedDataChecks> {
  if (!(opts.windows >= 1 && opts.rounds >= 1)) throw new BenchError("windows and rounds must be at least 1");
  const windows = latestWindows(loadCandles(opts.data), marketIdOf(opts.market), opts.windows);
  const known = await numberedKey(0);
  const signed = await Promise.all(windows.map((w) => signWindow(known, opts.market, w)));
  const documents = signed.map((sw) => JSON.parse(JSON.stringify(signedWindowJson(sw))) as unknown);
  // Every round verifies with keys new to the process: one per window and round, numbered.
  const newKeySigned: SignedWindow[][] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const round: SignedWindow[] = [];
    for (const [i, w] of windows.entries())
      round.push(await signWindow(await numberedKey(1 + r * opts.windows + i), opts.market, w));
    newKeySigned.push(round);
  }
  const verify = (sw: SignedWindow) => verifySignature(sw.publicKey, sw.digest, sw.signature);
  const firstChunks = windows.map((w) => windowDigestInputs(w).slice(0, 16));
  // Warm-up, outside every sample: the Poseidon parameters, the known key's table, the JIT.
  await Promise.all(signed.map(verify));
  await parseSignedWindow(documents[0], "benchmark window");
  const samples: Record<"poseidon16" | "windowDigest" | "newKey" | "knownKey" | "read", number[]> = {
    poseidon16: [],
    windowDigest: [],
    newKey: [],
    knownKey: [],
    read: [],
  };
  const threads = opts.threads ?? defaultCheckThreads();
  const pool = new CheckThreads(threads);
  const handedOver = documents.flatMap((d) => Array.from({ length: CONCURRENT_COPIES }, () => d));
  const wall: Record<"main" | "threads", number[]> = { main: [], threads: [] };
  try {
    // The threads' start and warm-up, outside every sample.
    await wallPerDocument(pool, handedOver);
    for (let r = 0; r < opts.rounds; r++) {
      wall.main.push(await wallPerDocument(IN_THREAD, handedOver));
      wall.threads.push(await wallPerDocument(pool, handedOver));
    }
  } finally {
    await pool.close();
  }
  for (let r = 0; r < opts.rounds; r++) {
    samples.poseidon16.push(await cpuPerItem(firstChunks, poseidon));
    samples.windowDigest.push(await cpuPerItem(windows, windowDigest));
    samples.newKey.push(await cpuPerItem(newKeySigned[r], verify));
    samples.knownKey.push(await cpuPerItem(signed, verify));
    samples.read.push(await cpuPerItem(documents, (d) => parseSignedWindow(d, "benchmark window")));
  }
  return {
    windows: windows.length,
    bars: windows[0].bars.length,
    poseidon16: summarize(samples.poseidon16),
    windowDigest: summarize(samples.windowDigest),
    signatureNewKey: summarize(samples.newKey),
    signatureKnownKey: summarize(samples.knownKey),
    signedWindowRead: summarize(samples.read),
    threads,
    copies: CONCURRENT_COPIES,
    checkedInMainThread: summarize(wall.main),
    checkedInThreads: summarize(wall.threads),
  };
}
