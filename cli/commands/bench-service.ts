/** `zkrisk bench-service` (npm run bench:service): throughput and latency of the prover service's API. */
import { UsageError } from "../../core/errors";
import { writeJsonAtomic } from "../../core/io";
import { runServiceBench, type ServiceBenchReport } from "../../bench/service-bench";
import {
  fileOptions,
  markdownTable,
  outFileOption,
  output,
  parseIntListOption,
  parseIntOption,
  refuseOverwrites,
} from "../options";
import { stderrLog } from "../../setup/log";

/** The options of `zkrisk bench-service`, as commander gives them (cli/register/bench-service.ts). */
export interface BenchServiceFlags {
  model: string;
  concurrency: string;
  requests: string;
  parallel: string;
  bars: string;
  json?: boolean;
  out?: string;
}

/** The text output of `zkrisk bench-service`: the report as a table, then how it was measured. */
export function formatBenchService(r: ServiceBenchReport): string {
  return (
    `Prover service under load (${r.machine.cpus} cores, ${r.machine.cpuModel}, Node ${r.machine.node}):\n\n` +
    markdownTable([
      [
        "proving threads",
        "bar close to on chain",
        "requests (parallel)",
        "jobs",
        "final",
        "proofs/min",
        "p50",
        "p95",
      ],
      ...r.runs.map((x) => [
        String(x.poolThreads),
        `${(x.closeToConfirmedMs / 1000).toFixed(1)} s`,
        `${x.requests} (${x.concurrency})`,
        String(x.jobs),
        Object.entries(x.final)
          .map(([k, v]) => `${v} ${k}`)
          .join(", "),
        x.proofsPerMinute.toFixed(0),
        `${(x.latencyMs.p50 / 1000).toFixed(1)} s`,
        `${(x.latencyMs.p95 / 1000).toFixed(1)} s`,
      ]),
    ]) +
    `\n\n${r.method}\n`
  );
}

/** Measure the prover service under load (progress on stderr, none with --json); write the report to --out. */
export async function runBenchService(f: BenchServiceFlags): Promise<ServiceBenchReport> {
  if (f.out !== undefined) outFileOption("--out", f.out);
  refuseOverwrites({ reads: fileOptions("--model", f.model), writes: fileOptions("--out", f.out) });
  const requests = parseIntOption("--requests", f.requests, 1, 100_000);
  // The publisher signs these bars at its start (one window each).
  const bars = parseIntOption("--bars", f.bars, 1, 1_000);
  if (bars > requests) throw new UsageError(`--bars: ${bars} is more than --requests ${requests}`);
  const report = await runServiceBench({
    model: f.model,
    concurrency: parseIntListOption("--concurrency", f.concurrency, 1, 64),
    requests,
    parallel: parseIntOption("--parallel", f.parallel, 1, 1_000),
    bars,
    log: stderrLog(f.json === true),
  });
  if (f.out) writeJsonAtomic(f.out, report);
  return report;
}

/** `zkrisk bench-service`: measure the prover service under load. */
export async function benchServiceAction(f: BenchServiceFlags): Promise<void> {
  output(await runBenchService(f), f.json, formatBenchService);
}
