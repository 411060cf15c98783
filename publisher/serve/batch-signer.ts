/**
 * The publisher's batch signer: after each poll has signed the windows (signer.ts), it signs each configured
 * batch (config.ts `batches`) once at every bar close where all the batch's markets have an archived window,
 * one EdDSA signature over the batch digest of their windows (publisher/signed-batch.ts `signBatch`), and
 * archives it (`ARCHIVE/_batches/<batch>/<endTime ms>.json`, archive.ts).
 *
 * Which bars: every end time E (the open time of the windows' last bar) at which each market of the batch
 * has an archived window and the batch has none, after the batch's newest archived one, oldest first, so a
 * restart after downtime signs the batches it missed. With no batch archived yet, the newest such end times,
 * at most the smallest `backfillBars` of the batch's markets.
 *
 * Never twice, never differently: the batch holds exactly the archived windows, read back from the archive
 * (digests and signatures checked), so each market's window in it is the one `GET /v1/windows/:market?at=E`
 * serves; an end time with an archived batch is never signed again, and the archive never replaces a file.
 * So a batch never signs a value for a bar that differs from what a window signed: while a market's signing
 * is held (its source contradicts a signed bar, signer.ts), that market has no window at the held bars, and no
 * batch holding it is due there; a restart reads the same archive, so it holds the same batches.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import { isoFromMs } from "../../core/time";
import type { PublisherKey } from "../keystore";
import { signBatch } from "../signed-batch";
import type { BatchArchive, WindowArchive } from "./archive";
import type { PublisherBatchConfig, PublisherMarketConfig } from "./config";
import type { PublisherMetrics } from "./metrics";

/** A batch signed during a poll. */
export interface SignedBatchBar {
  batch: string;
  /** Open time of the last bar of the batch's windows, ms. */
  endTime: number;
  /** The batch digest signed. */
  digest: bigint;
  file: string;
}

/** Options of a batch signer. */
export interface BatchSignerOptions {
  key: PublisherKey;
  /** The archived windows the batches are made of. */
  windows: WindowArchive;
  /** Where the batches are archived. */
  batches: BatchArchive;
  /** The batches to sign. */
  config: readonly PublisherBatchConfig[];
  /** The configured markets (for their `backfillBars`). */
  markets: readonly PublisherMarketConfig[];
  metrics: PublisherMetrics;
  log: Logger;
}

/** Signs each configured batch once per bar close its markets' windows are archived at (see the header). */
export class BatchSigner {
  /** Per batch: why its last signing failed, or undefined when it did not. */
  private readonly failures = new Map<string, string>();
  /** Per batch failing: how many signings in a row have failed. */
  private readonly failedSignings = new Map<string, number>();

  constructor(private readonly opts: BatchSignerOptions) {
    for (const b of opts.config) {
      opts.metrics.batchFailures.inc({ batch: b.batch }, 0);
      // From the archive at start, so a batch that is signed no more after a restart has a sample to alert on.
      const newest = opts.batches.latest(b.batch);
      if (newest !== undefined) opts.metrics.lastSignedBatch.set({ batch: b.batch }, newest / 1000);
    }
  }

  /** Why `batch`'s last signing failed (/health shows it, status `degraded`), or undefined when it did not. */
  lastError(batch: string): string | undefined {
    return this.failures.get(batch);
  }

  /**
   * The end times (ms) at which `batch` is due to be signed now, oldest first (see the file header).
   */
  due(batch: PublisherBatchConfig): number[] {
    const { windows, batches, markets } = this.opts;
    const [fewest, ...others] = batch.markets
      .map((market) => ({ market, times: windows.times(market) }))
      .sort((a, b) => a.times.length - b.times.length);
    const newest = batches.latest(batch.batch);
    // After the newest archived batch, so none is archived at these end times.
    const common = fewest.times.filter(
      (t) => (newest === undefined || t > newest) && others.every((o) => windows.has(o.market, t)),
    );
    if (newest !== undefined) return common;
    const backfill = Math.min(
      ...markets.filter((m) => batch.markets.includes(m.market)).map((m) => m.backfillBars),
    );
    return common.slice(-backfill);
  }

  /**
   * Signs and archives every batch that is due. A batch whose signing fails (another process archived it
   * meanwhile: ArchiveConflictError; it cannot be archived: a full disk, a read-only directory; an archived window
   * that does not check) is logged as an error, counted and shown by /health until a later signing of it
   * succeeds (logged at error level once per message, the repeats at debug), and the other batches are signed all
   * the same.
   * @param stopping checked between batches: when it returns true, signing ends early (shutdown).
   */
  async sign(stopping: () => boolean = () => false): Promise<SignedBatchBar[]> {
    const signed: SignedBatchBar[] = [];
    for (const batch of this.opts.config) {
      try {
        for (const endTime of this.due(batch)) {
          if (stopping()) return signed;
          signed.push(await this.signAt(batch, endTime));
          // Signing takes a fifth of a second of CPU: let the HTTP API answer between batches.
          await yieldToEventLoop();
        }
      } catch (err) {
        const message = (err as Error).message;
        const fields = { batch: batch.batch, err: message };
        // Logged at error level once per message (a full disk fails every poll alike), the repeats at debug.
        if (this.failures.get(batch.batch) === message) {
          this.opts.log.debug(fields, "batch signing failed as before; trying again at the next poll");
        } else {
          this.opts.log.error(fields, "batch signing failed; trying again at the next poll");
        }
        this.failures.set(batch.batch, message);
        this.failedSignings.set(batch.batch, (this.failedSignings.get(batch.batch) ?? 0) + 1);
        this.opts.metrics.batchFailures.inc({ batch: batch.batch });
        continue;
      }
      if (this.failures.delete(batch.batch)) {
        this.opts.log.info(
          { batch: batch.batch, failedSignings: this.failedSignings.get(batch.batch) },
          "batch signing succeeded again",
        );
      }
      this.failedSignings.delete(batch.batch);
    }
    return signed;
  }

  /** Signs `batch` from its markets' archived windows ending at `endTime`, and archives it. */
  private async signAt(batch: PublisherBatchConfig, endTime: number): Promise<SignedBatchBar> {
    const { key, windows, batches, metrics, log } = this.opts;
    const parts = [];
    for (const market of batch.markets) {
      const archived = (await windows.read(market, endTime))!;
      parts.push({ market, window: archived.signed.window });
    }
    const signed = await signBatch(key, parts);
    const { file } = batches.put(batch.batch, signed);
    metrics.batchesSigned.inc({ batch: batch.batch });
    metrics.lastSignedBatch.set({ batch: batch.batch }, endTime / 1000);
    log.info(
      {
        batch: batch.batch,
        bar: isoFromMs(endTime),
        markets: signed.markets.map((m) => m.market),
        digest: signed.digest.toString(),
        file,
      },
      "signed batch",
    );
    return { batch: batch.batch, endTime, digest: signed.digest, file };
  }
}
