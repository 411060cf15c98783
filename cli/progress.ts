/** A progress bar on stderr, shown only on a terminal and never in --json mode. */
import { SingleBar, Presets } from "cli-progress";

/** Progress reporting for long work; a no-op when stderr is not a terminal or output is JSON. */
export interface Progress {
  start(total: number, label: string): void;
  update(value: number, info?: string): void;
  stop(): void;
}

export function progressBar(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) {
    return { start() {}, update() {}, stop() {} };
  }
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
