/**
 * Reads started ahead of need. The audit checks updates one after another, and each needs reads that wait on
 * someone else: its transaction and its block from the node, its windows or batches from every publisher and
 * directory. One after another, a year of eight markets (about 35,000 updates) waits about 35,000 round trips
 * to the node and as many to each publisher: an hour for each 100 ms of round trip. So the audit starts the reads
 * of the next updates while it checks one (`LOOKAHEAD_UPDATES` ahead, every source at once), and checking an
 * update takes what was started for it. What each read returns, and what the audit does with it, is unchanged.
 *
 * A read started ahead keeps its promise until it is taken, once; one that fails is not an unhandled rejection
 * while it waits (the update that takes it gets the failure, as it would have read it itself).
 */
import type { BatchLookup, BatchSource, WindowLookup, WindowSource } from "../publisher/window-sources";

/** Updates whose reads run ahead of the one being checked. */
export const LOOKAHEAD_UPDATES = 8;

/**
 * `map[key]`, started once by `load` and kept (every later call gets the same promise). A failure waits for its
 * reader instead of being an unhandled rejection.
 */
export function startedOnce<K, V>(map: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  let promise = map.get(key);
  if (promise === undefined) {
    promise = load();
    promise.catch(() => undefined);
    map.set(key, promise);
  }
  return promise;
}

/** Lookups of one source, by (market id, bar), started ahead and each taken once. */
class StartedLookups<L> {
  private readonly pending = new Map<string, Promise<L[]>>();

  /** Starts the lookup of (market, bar) unless it is already waiting to be taken. */
  start(marketId: bigint, endTimeMs: number, load: () => Promise<L[]>): void {
    void startedOnce(this.pending, `${marketId}@${endTimeMs}`, load);
  }

  /** The lookup of (market, bar): the one started ahead, taken (a later call looks up anew), else a new one. */
  take(marketId: bigint, endTimeMs: number, load: () => Promise<L[]>): Promise<L[]> {
    const key = `${marketId}@${endTimeMs}`;
    const started = this.pending.get(key);
    if (started === undefined) return load();
    this.pending.delete(key);
    return started;
  }

  /** Lookups started and not taken yet. */
  get waiting(): number {
    return this.pending.size;
  }
}

/** A window source whose lookups can be started ahead (`start`) and are then taken by `lookup`. */
export class LookaheadWindowSource implements WindowSource {
  readonly name: string;
  private readonly lookups = new StartedLookups<WindowLookup>();

  constructor(private readonly source: WindowSource) {
    this.name = source.name;
  }

  start(market: string, marketId: bigint, endTimeMs: number): void {
    this.lookups.start(marketId, endTimeMs, () => this.source.lookup(market, marketId, endTimeMs));
  }

  lookup(market: string, marketId: bigint, endTimeMs: number): Promise<WindowLookup[]> {
    return this.lookups.take(marketId, endTimeMs, () => this.source.lookup(market, marketId, endTimeMs));
  }

  /** Lookups started and not taken yet. */
  get waiting(): number {
    return this.lookups.waiting;
  }
}

/** A batch source whose lookups can be started ahead (`start`) and are then taken by `lookupBatches`. */
export class LookaheadBatchSource implements BatchSource {
  readonly name: string;
  private readonly lookups = new StartedLookups<BatchLookup>();

  constructor(private readonly source: BatchSource) {
    this.name = source.name;
  }

  start(market: string, marketId: bigint, endTimeMs: number): void {
    this.lookups.start(marketId, endTimeMs, () => this.source.lookupBatches(market, marketId, endTimeMs));
  }

  lookupBatches(market: string, marketId: bigint, endTimeMs: number): Promise<BatchLookup[]> {
    return this.lookups.take(marketId, endTimeMs, () =>
      this.source.lookupBatches(market, marketId, endTimeMs),
    );
  }

  /** Lookups started and not taken yet. */
  get waiting(): number {
    return this.lookups.waiting;
  }
}
