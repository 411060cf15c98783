/**
 * What every benchmark shares: its error, the summary of repeated timings (median, nearest-rank p90) and the
 * description of the machine a run took place on. `npm run bench`, `bench:setup` and `bench:service` use them.
 */
import { readFileSync } from "node:fs";
import { arch, cpus, platform, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { ZkriskError } from "../core/errors";

/** The benchmark could not run (a cold prover process failed, too few bars, the chain clock cannot be placed). */
export class BenchError extends ZkriskError {
  constructor(message: string) {
    super("BENCH_FAILED", message);
  }
}

/** Summary of repeated timings, milliseconds (rounded to 0.01 ms). */
export interface Timing {
  runs: number;
  /** Middle value (mean of the two middle values for an even count). */
  medianMs: number;
  /** Nearest-rank 90th percentile (the largest sample when runs < 10). */
  p90Ms: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

/** The machine a benchmark ran on. */
export interface BenchMachine {
  cores: number;
  cpu: string;
  node: string;
  totalMemoryBytes: number;
  platform: string;
  /** Version of the snarkjs package that proves. */
  snarkjs: string;
}

/** `ms` rounded to 0.01 ms. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Median, nearest-rank p90, min and max of samples (ms). */
export function summarize(samples: readonly number[]): Timing {
  if (samples.length === 0) throw new BenchError("no samples to summarise");
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const p90 = s[Math.ceil(0.9 * s.length) - 1];
  return {
    runs: s.length,
    medianMs: roundMs(median),
    p90Ms: roundMs(p90),
    minMs: roundMs(s[0]),
    maxMs: roundMs(s[s.length - 1]),
    samplesMs: samples.map(roundMs),
  };
}

/** The machine a benchmark runs on (cores, CPU, Node, memory, platform, snarkjs version). */
export function machine(): BenchMachine {
  const snarkjsPackage = join(dirname(dirname(require.resolve("snarkjs"))), "package.json");
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpu: cpuList[0]?.model.trim() ?? "unknown",
    node: process.version,
    totalMemoryBytes: totalmem(),
    platform: `${platform()} ${arch()}`,
    snarkjs: (JSON.parse(readFileSync(snarkjsPackage, "utf8")) as { version: string }).version,
  };
}
