/**
 * Checking signed windows and batches in worker threads: a pool of `threads` threads (piscina), each running the
 * checks of document-checks.ts on the documents it is given (check-task.ts). An audit looks up the windows of
 * several updates at once (audit/lookahead.ts); checked here, they are checked on as many cores, where in the main
 * thread they would wait for one another. The lookups are the same as `IN_THREAD`'s.
 *
 * The threads start when the first document comes (each loads the checking code once: about 1 s from the sources,
 * less from the build) and end after `IDLE_MS` without work, or at `close`.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Piscina } from "piscina";
import type { CheckTask } from "./check-task";
import type { BatchLookup, DocumentChecks, WindowLookup } from "./document-checks";

/** How long a checking thread without work is kept, ms. */
const IDLE_MS = 30_000;

/** The default number of checking threads: the cores this process may use. */
export function defaultCheckThreads(): number {
  return availableParallelism();
}

/** The checks of document-checks.ts, run in a pool of worker threads. */
export class CheckThreads implements DocumentChecks {
  private readonly pool: Piscina;

  /** @param threads how many documents are checked at once (>= 1). */
  constructor(readonly threads: number) {
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new RangeError(`threads: ${threads} is not >= 1`);
    this.pool = new Piscina({
      filename: join(__dirname, "check-thread.cjs"),
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: IDLE_MS,
    });
  }

  window(value: unknown, name: string): Promise<WindowLookup> {
    return this.pool.run({ value, name } satisfies CheckTask, { name: "window" }) as Promise<WindowLookup>;
  }

  batch(value: unknown, name: string): Promise<BatchLookup> {
    return this.pool.run({ value, name } satisfies CheckTask, { name: "batch" }) as Promise<BatchLookup>;
  }

  /** Ends the threads; documents still being checked are refused. */
  close(): Promise<void> {
    return this.pool.destroy();
  }
}
