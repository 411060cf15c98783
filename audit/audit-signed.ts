/**
 * Auditing signed updates: re-checking a `SignedParametersUpdated` event (market, MM, IM, data timestamp, window
 * digest) from public data, since only the digest is on chain.
 *
 * For each signed update, against the publisher set in force at its block (`PublisherSetChanged` history, so a
 * key rotation is followed):
 *  1. the registered statement key is the Poseidon key of (market, model, publisher set, this oracle's domain)
 *     (circuits/statement.ts), and the registered quorum is the one the set file commits to;
 *  2. the windows of (market, data timestamp) are fetched from the publishers' archives and window directories;
 *     each must check (digest of its bars, signature) and its digest must be the event's (`digestMatches`, the
 *     one place the digest comparison lives);
 *  3. k distinct keys of the set in force signed it (the set file, given by the auditor, must commit to the
 *     registered set);
 *  4. the integer features of the signed candles (features/window-features.ts), the integer engine and the policy
 *     (models/) give the event's MM and IM, and the update was accepted after the window's last bar closed;
 *  5. with an independent candle file of the update's market, the signed candles are the file's, bar by bar and
 *     field by field (another market's updates are not compared with it).
 * Each update ends ok, flagged (evidence that something is wrong: the reasons) or unverifiable (evidence missing:
 * no window found, no set file for the set in force, no model file).
 *
 * The market of a signed batch is audited the same way from the signed batches that hold its window
 * (audit-signed-batch.ts): checks 2 to 5 are `auditSignedDocuments` below, for windows and batches alike.
 */
import {
  fieldDecimals,
  integerCandlesOf,
  windowBarFields,
  type IntegerCandle,
  type Window,
} from "../candles";
import {
  ADAPTIVE_UPDATE_PACKING,
  adaptiveDigestSignal,
  digestSignal,
  statementKey,
  UPDATE_PACKING,
} from "../circuits/statement";
import { isoFromMs, isoFromSeconds } from "../core/time";
import { windowFeatures } from "../features/window-features";
import { fixedPointText } from "../candles/integer-candle";
import { ZkriskError } from "../core/errors";
import { inferInteger, integerPolicy } from "../models/integer-engine";
import type { QuantizedModel } from "../models/quantized-model";
import type { CandleSeries } from "../candles/types";
import {
  comparePublicKeys,
  firstDisagreement,
  type PublicKey,
  type PublisherSet,
  type SignedWindow,
} from "../publisher";
import type { BatchSource, NotFound, WindowSource } from "../publisher/window-sources";
import type { PublisherSetConfig } from "../onchain/oracle";

/**
 * Whether a window's digest (candles/digest.ts, recomputed from its bars) is the digest a signed-update event
 * carries. Every comparison of a window with an event goes through here, so a change of what the event carries
 * (a signed update's event carries the digest's low 180 bits, `digestSignal`; an adaptive update's packed signal
 * its low 87 bits, `adaptiveDigestSignal`) is a change of this one function.
 */
export function digestMatches(windowDigest: bigint, eventDigest: bigint, adaptive = false): boolean {
  return (adaptive ? adaptiveDigestSignal(windowDigest) : digestSignal(windowDigest)) === eventDigest;
}

/** A model given to the audit (`--model`), with its path (for messages) and commitment. */
export interface AuditModel {
  model: QuantizedModel;
  path: string;
  commitment: bigint;
}

/** The model of `models` that commits to `commitment`, if any. */
export function modelInForce(models: readonly AuditModel[], commitment: bigint): AuditModel | undefined {
  return models.find((m) => m.commitment === commitment);
}

/** The models given, for a message: "FILE (commitment C)", joined. */
export function describeModels(models: readonly AuditModel[]): string {
  return models.map((m) => `${m.path} (commitment ${String(m.commitment)})`).join(", ");
}

/** A publisher set file given to the audit, with the commitment governance would register for it. */
export interface AuditPublisherSet {
  file: string;
  set: PublisherSet;
  commitment: bigint;
}

/** One `PublisherSetChanged` event: a market's configuration before and after. */
export interface PublisherSetChange {
  marketId: bigint;
  block: number;
  logIndex: number;
  previous: PublisherSetConfig;
  config: PublisherSetConfig;
}

/** Position of a log in the chain. */
export interface LogPosition {
  block: number;
  logIndex: number;
}

const before = (a: LogPosition, b: LogPosition) =>
  a.block < b.block || (a.block === b.block && a.logIndex < b.logIndex);

/**
 * The publisher set configuration in force at `at` from a market's changes in the audited range (chain order):
 * the last change before it, else the `previous` of the first change after it; undefined when the range has
 * no change of this market (the configuration is then the one the oracle holds at the end of the range).
 */
export function setInForce(
  changes: readonly PublisherSetChange[],
  at: LogPosition,
): PublisherSetConfig | undefined {
  const earlier = changes.filter((c) => before(c, at));
  if (earlier.length > 0) return earlier[earlier.length - 1].config;
  const later = changes.find((c) => before(at, c));
  return later?.previous;
}

/** What the audit of signed updates needs besides the event. */
export interface SignedAuditContext {
  /** The oracle's domain (prover/domain.ts), part of every statement key. */
  domain: bigint;
  /** Where windows are looked up, in order. */
  sources: readonly WindowSource[];
  /** Where signed batches are looked up, in order (none: batch updates are unverifiable). */
  batchSources?: readonly BatchSource[];
  /** The set files given, by commitment. */
  sets: ReadonlyMap<bigint, AuditPublisherSet>;
  /**
   * The models the margins are recomputed with, each with its path and commitment: an update's is the one that
   * commits to its market's registered model (none given: no margins recomputed).
   */
  models?: readonly AuditModel[];
  /**
   * An independent candle file, its integer candles by open time (ms) and the market it holds (its id): only that
   * market's updates are compared with it.
   */
  data?: { series: CandleSeries; byTime: Map<number, IntegerCandle>; marketId: bigint };
}

/** The integer candles of an independent candle file, by open time (for `SignedAuditContext.data`). */
export function candlesByTime(series: CandleSeries): Map<number, IntegerCandle> {
  return new Map(integerCandlesOf(series).map((c) => [c.time, c]));
}

/** A signed update as its event gives it. */
export interface SignedUpdateFacts {
  marketId: bigint;
  /** The market's label (the publishers' name for it). */
  market: string;
  maintenanceMarginBps: bigint;
  initialMarginBps: bigint;
  /** Open time of the window's last bar, s. */
  dataTimestamp: bigint;
  windowDigest: bigint;
  /** Time of the block that accepted it, s. */
  blockTimestamp: number;
  /**
   * An adaptive market's update (`AdaptiveParametersUpdated`): `windowDigest` is the digest's low 87 bits, and
   * the margins are the policy's at the proven state's calibrationNum instead of the model file's.
   */
  adaptive?: { calibrationNum: bigint };
}

/** What was found for one signed update or batch market, beside the verdict. */
export interface SignedEvidence {
  /** The publisher set in force (its commitment) and its quorum as registered. */
  publisherSet: bigint;
  quorum: number;
  /** The set file that commits to it, or null when none was given. */
  setFile: string | null;
  /** Distinct keys of the set whose signature of the digest was found. */
  signatures: number;
  /**
   * Each window (or batch) looked at: where, and what it was (`other bar`: a document that checks but holds no
   * window of the update's market ending at its bar, e.g. a publisher serving another window than the one asked
   * for; not evidence about the update unless it has the update's digest, which is flagged).
   */
  windows: {
    source: string;
    result: "signed" | "unregistered key" | "other digest" | "other bar" | "invalid" | "absent";
  }[];
}

/** What was found for one signed update: its window digest (low 180 bits) and the evidence. */
export interface SignedUpdateDetail extends SignedEvidence {
  windowDigest: bigint;
}

/** The verdict on one signed update: flags (evidence of a fault) and gaps (evidence missing). */
export interface SignedUpdateAudit {
  flags: string[];
  gaps: string[];
  detail: SignedUpdateDetail;
  /** The window of a found document with the update's digest (the first), if any. */
  window?: Window;
  /**
   * That window's digest, as reading its signed file recomputed it from the bars (the digest the update was
   * matched with), so the adaptive replay need not compute it again.
   */
  windowDigest?: bigint;
}

/** Check 1: the registered statement key and quorum. */
async function checkConfig(
  ctx: SignedAuditContext,
  u: SignedUpdateFacts,
  config: PublisherSetConfig,
  setFile: AuditPublisherSet | undefined,
): Promise<string[]> {
  const flags: string[] = [];
  const recomputed = await statementKey({
    marketId: u.marketId,
    modelCommitment: config.modelCommitment,
    publisherSet: config.publisherSet,
    domain: ctx.domain,
  });
  if (recomputed !== config.statementKey) {
    flags.push(
      `the registered statement key ${String(config.statementKey)} is not the key of this market, its model ` +
        `${String(config.modelCommitment)}, its publisher set ${String(config.publisherSet)} and this oracle ` +
        `(${String(recomputed)})`,
    );
  }
  return [...flags, ...checkQuorum(config, setFile)];
}

/** The quorum registered with the set in force is the one its set file commits to. */
export function checkQuorum(config: PublisherSetConfig, setFile: AuditPublisherSet | undefined): string[] {
  if (setFile === undefined || setFile.set.quorum === config.quorum) return [];
  return [
    `the oracle registered quorum ${config.quorum} with publisher set ${String(config.publisherSet)}, which ` +
      `commits to quorum ${setFile.set.quorum} (${setFile.file})`,
  ];
}

/**
 * Check 5: the signed candles against an independent candle file, bar by bar and field by field (the caller checks
 * that the file is of the window's market).
 */
export function compareWithCandles(
  w: Window,
  data: Pick<NonNullable<SignedAuditContext["data"]>, "series" | "byTime">,
): { flags: string[]; gaps: string[] } {
  const { series, byTime } = data;
  const first = series.candles[0]?.time ?? Infinity;
  const last = series.candles.at(-1)?.time ?? -Infinity;
  const n = w.bars.length;
  const differences: string[] = [];
  let uncovered = 0;
  w.bars.forEach((bar, i) => {
    if (bar.time < first || bar.time > last) {
      uncovered++;
      return;
    }
    const at = isoFromMs(bar.time);
    const c = byTime.get(bar.time);
    const text = (field: "close" | "volume" | "high" | "low", v: bigint) =>
      fixedPointText(v, fieldDecimals(field));
    if (c === undefined || c.missing) {
      if (!bar.missing) {
        differences.push(
          `bar ${at}: signed with close ${text("close", bar.close)}, ${series.source} has no such bar`,
        );
      }
      return;
    }
    if (bar.missing) {
      differences.push(
        `bar ${at}: signed as missing, ${series.source} has it (close ${text("close", c.close)})`,
      );
      return;
    }
    for (const field of windowBarFields(n, i)) {
      if (bar[field] !== c[field]) {
        differences.push(
          `bar ${at} ${field}: signed ${text(field, bar[field])}, ${series.source} ${text(field, c[field])}`,
        );
      }
    }
  });
  const flags =
    differences.length === 0
      ? []
      : [
          `the signed candles are not ${series.source}'s: ${differences[0]}` +
            (differences.length > 1 ? `; ${differences.length - 1} more differ` : ""),
        ];
  const gaps =
    uncovered === 0
      ? []
      : [`${series.source} does not cover ${uncovered} of the window's ${n} bars: they were not compared`];
  return { flags, gaps };
}

/** A document one publisher signed: a window or a batch of windows. */
export interface SignedDocument {
  digest: bigint;
  publicKey: PublicKey;
}

/** A lookup of a signed document of type T (window-sources.ts, with the document under one name). */
export type DocumentLookup<T> = { source: string; kind: "found"; doc: T } | NotFound;

/** How one kind of signed document (a window, a batch) is compared with an update. */
export interface SignedKind<T extends SignedDocument> {
  /** "window" or "signed batch", for messages. */
  what: string;
  /** Where documents of this kind are looked up, for the message when there is none (`--windows DIR`). */
  sourceOptions: string;
  /** What the event's digest is, for messages (`digest (low 180 bits)`). */
  digestName: string;
  /** The update's digest as the event carries it, for messages. */
  eventDigest: string;
  /** Whether a document's digest is the update's. */
  matches(doc: T): boolean;
  /** A document's digest as compared, for messages. */
  showDigest(doc: T): string;
  /**
   * What a document is for when it holds no window of the update's market ending at the update's bar (`a window
   * of ETH-USDT ending at ...`), else undefined. Its digest binds its markets and bars, so one with the update's
   * digest shows the update was proven from another market's or bar's candles.
   */
  otherBar(doc: T): string | undefined;
  /** Where `other` first differs from `matching` (documents named by their sources), if it does. */
  disagreement(matching: T, other: T, names: [string, string]): string | undefined;
  /** The window of the update's market in a matching document, or the flag when it does not hold it. */
  windowOf(doc: T): Window | string;
}

/**
 * Checks 2 and 3: every document found for the bar, sorted into signatures that count and faults. A document for
 * another market or bar is no evidence about the update (`absent`, naming it), unless it has the update's digest:
 * then the update was proven from other candles than its market's at its bar (flagged).
 */
function sortDocuments<T extends SignedDocument>(
  kind: SignedKind<T>,
  u: UpdateFacts,
  lookups: readonly DocumentLookup<T>[],
  setFile: AuditPublisherSet | undefined,
): {
  flags: string[];
  matching: T[];
  signers: Set<number>;
  windows: SignedEvidence["windows"];
  absent: string[];
} {
  const flags: string[] = [];
  const matching: { doc: T; source: string }[] = [];
  const others: { doc: T; source: string }[] = [];
  const signers = new Set<number>();
  const windows: SignedEvidence["windows"] = [];
  const absent: string[] = [];
  for (const l of lookups) {
    if (l.kind === "absent") {
      absent.push(l.reason);
      windows.push({ source: l.source, result: "absent" });
    } else if (l.kind === "invalid") {
      flags.push(`a ${kind.what} for this bar does not check: ${l.reason}`);
      windows.push({ source: l.source, result: "invalid" });
    } else if (kind.otherBar(l.doc) !== undefined) {
      const what = kind.otherBar(l.doc) as string;
      const update = `${u.market} at ${isoFromSeconds(u.dataTimestamp)}`;
      if (kind.matches(l.doc)) {
        flags.push(
          `${l.source}: the ${kind.what} with the update's ${kind.digestName} ${kind.eventDigest} is ${what}, ` +
            `the update is for ${update}: it was proven from another market's or bar's candles`,
        );
      } else {
        absent.push(`${l.source}: serves ${what} for this bar (${update})`);
      }
      windows.push({ source: l.source, result: "other bar" });
    } else if (!kind.matches(l.doc)) {
      others.push({ doc: l.doc, source: l.source });
      windows.push({ source: l.source, result: "other digest" });
    } else {
      matching.push({ doc: l.doc, source: l.source });
      const index =
        setFile === undefined
          ? -1
          : setFile.set.keys.findIndex((k) => comparePublicKeys(k, l.doc.publicKey) === 0);
      if (setFile !== undefined && index < 0) {
        flags.push(
          `${l.source}: signed by a key that is not in the publisher set in force (Ax ${String(l.doc.publicKey.Ax)})`,
        );
        windows.push({ source: l.source, result: "unregistered key" });
      } else {
        if (index >= 0) signers.add(index);
        windows.push({ source: l.source, result: "signed" });
      }
    }
  }
  for (const o of others) {
    const d =
      matching.length > 0
        ? kind.disagreement(matching[0].doc, o.doc, [matching[0].source, o.source])
        : undefined;
    flags.push(
      `${o.source}: its ${kind.what} for this bar has digest ${kind.showDigest(o.doc)}, the update's is ` +
        `${kind.eventDigest}: it holds other candles than the ones proven` +
        (d === undefined ? "" : ` (first difference: ${d})`),
    );
  }
  return { flags, matching: matching.map((m) => m.doc), signers, windows, absent };
}

/** What checks 4 and 5 read of an update: its market's bar, its margins and when it was accepted. */
export type UpdateFacts = Pick<
  SignedUpdateFacts,
  "marketId" | "market" | "maintenanceMarginBps" | "initialMarginBps" | "dataTimestamp" | "blockTimestamp"
> &
  Pick<SignedUpdateFacts, "adaptive">;

/** Check 4: features, engine and policy on the signed candles; the timing. */
function checkMargins(ctx: SignedAuditContext, u: UpdateFacts, config: PublisherSetConfig, w: Window) {
  const flags: string[] = [];
  const gaps: string[] = [];
  const closes = Number(u.dataTimestamp) + w.intervalMs / 1000;
  if (u.blockTimestamp < closes) {
    flags.push(
      `accepted at ${isoFromSeconds(u.blockTimestamp)}, before its last bar closed at ${isoFromSeconds(closes)}`,
    );
  }
  let features: bigint[];
  try {
    features = windowFeatures(w);
  } catch (err) {
    if (!(err instanceof ZkriskError || err instanceof RangeError)) throw err;
    flags.push(`the signed window gives no features: ${err.message}`);
    return { flags, gaps };
  }
  const models = ctx.models ?? [];
  const inForce = modelInForce(models, config.modelCommitment);
  if (models.length === 0) {
    gaps.push("no model (--model): the margins were not recomputed");
  } else if (inForce === undefined) {
    gaps.push(
      `the model in force commits to ${String(config.modelCommitment)}, none of the models given does ` +
        `(${describeModels(models)}): the margins were not recomputed (give the model in force with --model)`,
    );
  } else {
    try {
      const plain = inferInteger(inForce.model, features);
      // an adaptive update's margins: the policy at the proven state's calibration
      const trace =
        u.adaptive === undefined
          ? plain
          : integerPolicy(
              { ...inForce.model.policy, calibrationNum: Number(u.adaptive.calibrationNum) },
              plain.output,
            );
      if (
        trace.maintenanceMarginBps !== u.maintenanceMarginBps ||
        trace.initialMarginBps !== u.initialMarginBps
      ) {
        flags.push(
          `the integer engine and policy give MM ${trace.maintenanceMarginBps} / IM ${trace.initialMarginBps} ` +
            `bps on the signed candles, the update says ${u.maintenanceMarginBps} / ${u.initialMarginBps}`,
        );
      }
    } catch (err) {
      if (!(err instanceof ZkriskError)) throw err;
      flags.push(`the signed window's features do not run through the model: ${err.message}`);
    }
  }
  return { flags, gaps };
}

/**
 * Checks 2 to 5 of one update from the documents its sources hold for its bar (windows, or batches holding the
 * market's window), against the set in force and its file (`setFile`; without it the signatures are not counted).
 * Returns the flags and gaps, and the evidence found.
 */
export function auditSignedDocuments<T extends SignedDocument>(
  ctx: SignedAuditContext,
  u: UpdateFacts,
  config: PublisherSetConfig,
  setFile: AuditPublisherSet | undefined,
  kind: SignedKind<T>,
  lookups: readonly DocumentLookup<T>[],
): { flags: string[]; gaps: string[]; evidence: SignedEvidence; window?: Window; document?: T } {
  const gaps: string[] = [];
  if (setFile === undefined) {
    gaps.push(
      `no --publishers file commits to the publisher set in force ${String(config.publisherSet)}: the ` +
        `signatures were not checked against its keys`,
    );
  }
  const found = sortDocuments(kind, u, lookups, setFile);
  const flags = [...found.flags];
  const absent = found.absent.length > 0 ? ` (${found.absent.join("; ")})` : "";
  if (lookups.length === 0) {
    gaps.push(`no ${kind.what} source (${kind.sourceOptions}): the ${kind.what} was not looked up`);
  } else if (found.matching.length === 0) {
    gaps.push(
      `no ${kind.what} with the update's ${kind.digestName} ${kind.eventDigest} was found for the bar ` +
        `${isoFromSeconds(u.dataTimestamp)}${absent}`,
    );
  } else if (setFile !== undefined && found.signers.size < setFile.set.quorum) {
    gaps.push(
      `found signatures by ${found.signers.size} of the ${setFile.set.quorum} distinct publishers of the set the ` +
        `quorum needs${absent}`,
    );
  }
  let window: Window | undefined;
  let document: T | undefined;
  if (found.matching.length > 0) {
    const w = kind.windowOf(found.matching[0]);
    if (typeof w === "string") {
      flags.push(w);
    } else {
      window = w;
      document = found.matching[0];
      const margins = checkMargins(ctx, u, config, w);
      flags.push(...margins.flags);
      gaps.push(...margins.gaps);
      // a candle file holds one market's candles: other markets' updates are not compared with it
      if (ctx.data !== undefined && ctx.data.marketId === u.marketId) {
        const data = compareWithCandles(w, ctx.data);
        flags.push(...data.flags);
        gaps.push(...data.gaps);
      }
    }
  }
  return {
    flags,
    gaps,
    evidence: {
      publisherSet: config.publisherSet,
      quorum: config.quorum,
      setFile: setFile?.file ?? null,
      signatures: found.signers.size,
      windows: found.windows,
    },
    ...(window && { window, document }),
  };
}

/**
 * How signed windows are compared with a signed update: by the low 180 bits of their digest (an adaptive
 * update's: the low 87 bits, `ADAPTIVE_UPDATE_PACKING.digestBits`).
 */
function windowKind(u: SignedUpdateFacts): SignedKind<SignedWindow> {
  const adaptive = u.adaptive !== undefined;
  const bits = adaptive ? ADAPTIVE_UPDATE_PACKING.digestBits : UPDATE_PACKING.digestBits;
  const low = adaptive ? adaptiveDigestSignal : digestSignal;
  return {
    what: "window",
    sourceOptions: "--publisher URL or --windows DIR",
    digestName: `digest (low ${bits} bits)`,
    eventDigest: String(u.windowDigest),
    matches: (sw) => digestMatches(sw.digest, u.windowDigest, adaptive),
    otherBar: (sw) =>
      sw.window.marketId === u.marketId && sw.window.endTime === Number(u.dataTimestamp) * 1000
        ? undefined
        : `a window of ${sw.market} ending at ${isoFromMs(sw.window.endTime)}`,
    showDigest: (sw) => `${String(sw.digest)} (low ${bits} bits ${String(low(sw.digest))})`,
    disagreement: (a, b, names) => firstDisagreement([a, b], names)?.message,
    windowOf: (sw) => sw.window,
  };
}

/**
 * Audit one signed update against the publisher set configuration in force at its block. Never throws for
 * what it finds (those are flags and gaps); throws only for programming errors.
 */
export async function auditSignedUpdate(
  ctx: SignedAuditContext,
  u: SignedUpdateFacts,
  config: PublisherSetConfig,
): Promise<SignedUpdateAudit> {
  const setFile = ctx.sets.get(config.publisherSet);
  const flags = await checkConfig(ctx, u, config, setFile);
  const lookups: DocumentLookup<SignedWindow>[] = [];
  for (const source of ctx.sources) {
    for (const l of await source.lookup(u.market, u.marketId, Number(u.dataTimestamp) * 1000)) {
      lookups.push(l.kind === "found" ? { source: l.source, kind: "found", doc: l.window } : l);
    }
  }
  const audit = auditSignedDocuments(ctx, u, config, setFile, windowKind(u), lookups);
  return {
    flags: [...flags, ...audit.flags],
    gaps: audit.gaps,
    detail: { windowDigest: u.windowDigest, ...audit.evidence },
    ...(audit.window && { window: audit.window, windowDigest: audit.document!.digest }),
  };
}
