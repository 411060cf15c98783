/** A progress bar on stderr, shown only on a terminal and never in --json mode. */
import { SingleBar, Presets } from "cli-progress";

/**
 * Progress reporting for long work: a bar on a terminal; off a terminal (a log, a pipe) a line at most every
 * {@link PROGRESS_LINE_MS} once the work has run that long, so short runs print nothing; nothing in --json mode.
 */
export interface Progress {
  start(total: number, label: string): void;
  update(value: number, info?: string): void;
  stop(): void;
}

/** Off a terminal, the least time between two progress lines (and before the first). */
export const PROGRESS_LINE_MS = 10_000;

/** Progress as `zkrisk: LABEL VALUE/TOTAL INFO` lines on `write`, at most one per {@link PROGRESS_LINE_MS}. */
export function progressLines(write: (line: string) => void, now: () => number = Date.now): Progress {
  let label = "";
  let total = 0;
  let last = 0;
  return {
    start: (t, l) => {
      total = t;
      label = l;
      last = now();
    },
    update: (value, info = "") => {
      if (now() - last < PROGRESS_LINE_MS) return;
      last = now();
      write(`zkrisk: ${label} ${value}/${total}${info === "" ? "" : ` ${info}`}\n`);
    },
    stop: () => undefined,
  };
}

export function progressBar(enabled: boolean): Progress {
  if (!enabled) return { start() {}, update() {}, stop() {} };
  if (!process.stderr.isTTY) return progressLines((line) => process.stderr.write(line));
  const bar = new SingleBar(
    { format: "{label} [{bar}] {value}/{total} {info}", stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  return {
    start: (total, label) => bar.start(total, 0, { label, info: "" }),
    update: (value, info = "") => bar.update(value, { info }),
    stop: () => bar.stop(),
  };
}

/**
 * One line on stderr saying what long work (seconds, with nothing else to show) is under way, so a silent
 * terminal does not look hung; none with `--json` (`json`), as every command's progress.
 */
export function progressLine(message: string, json = false): void {
  if (!json) process.stderr.write(`zkrisk: ${message}\n`);
}
