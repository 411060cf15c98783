/**
 * The log destination of the long-running processes (`zkrisk serve`, `zkrisk publisher serve`): pino's JSON lines
 * written synchronously to stderr, by a write that never throws.
 *
 * pino's own synchronous destination (sonic-boom) retries a write that fails with EAGAIN or EBUSY, and throws every
 * other write error (ENOSPC once stderr's file system is full, EIO, EPIPE) from the log call itself. A log call in a
 * catch block then throws out of it, past what the block was there to handle, and the process dies of an unhandled
 * rejection at its next log line: a full disk under the logs stops the signing or the proving, which need no log.
 * Here EAGAIN and EBUSY are retried as pino retries them (every 100 ms), and a line that meets any other error is
 * dropped and counted (`dropped`), so the process goes on working and its metrics say how many lines were lost.
 */
import { writeSync } from "node:fs";

/** How long a write that failed with EAGAIN or EBUSY waits before it is tried again, ms (as pino's). */
const BUSY_WRITE_RETRY_MS = 100;

/** Writes `bytes` from `offset` on, returning the number of bytes written (`fs.writeSync`'s contract). */
export type WriteBytes = (bytes: Buffer, offset: number) => number;

/** A pino destination that never throws: a line it cannot write is dropped and counted (see the file header). */
export class LogDestination {
  /** Lines dropped by every destination of this process (it has one stderr), for its metrics. */
  static droppedInProcess = 0;
  /** Lines dropped (not written, or not wholly) since it was made. */
  dropped = 0;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  /** @param writeBytes where the bytes go (default: file descriptor 2, stderr). */
  constructor(private readonly writeBytes: WriteBytes = (bytes, offset) => writeSync(2, bytes, offset)) {}

  /** Writes one line (pino passes each log line, its newline included); never throws. */
  write(line: string): void {
    const bytes = Buffer.from(line, "utf8");
    let written = 0;
    while (written < bytes.length) {
      try {
        written += this.writeBytes(bytes, written);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" || code === "EBUSY") {
          Atomics.wait(this.sleeper, 0, 0, BUSY_WRITE_RETRY_MS);
          continue;
        }
        this.dropped++;
        LogDestination.droppedInProcess++;
        return;
      }
    }
  }
}
