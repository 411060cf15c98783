/** `zkrisk bench-service` (npm run bench:service): throughput and latency of the prover service's API. */
import type { Command } from "commander";
import { UsageError } from "../../models/errors";
import { writeJsonAtomic } from "../../models/io";
import { runServiceBench, type ServiceBenchReport } from "../../scripts/service-bench";
import { DEFAULT_MODEL } from "../paths";
import { outFileOption, parseIntListOption, parseIntOption, printJson } from "../options";
import { markdownTable } from "./bench";
import { stderrLog } from "./circuit";

/** The report as a table. */
export function formatServiceBench(r: ServiceBenchReport): string {
  return (
    `Prover service under load (${r.machine.cpus} cores, ${r.machine.cpuModel}, Node ${r.machine.node}):\n\n` +
    markdownTable([
      ["proving threads", "requests (parallel)", "jobs", "final", "proofs/min", "p50", "p95"],
      ...r.runs.map((x) => [
        String(x.poolThreads),
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

export function registerBenchService(program: Command): void {
  program
    .command("bench-service")
    .description("measure the prover service: proofs per minute and request-to-proof latency under load")
    .option("--model <file>", "quantised model", DEFAULT_MODEL)
    .option(
      "--concurrency <list>",
      "proving threads to measure, comma-separated (one service run each)",
      "1,2",
    )
    .option("--requests <n>", "POST /v1/proofs requests per run", "200")
    .option("--parallel <n>", "requests in flight at once", "20")
    .option("--bars <n>", "distinct bars asked for (each asked requests/bars times)", "100")
    .option("--json", "print the report as JSON")
    .option("--out <file>", "also write the JSON report to this file")
    .action(
      async (f: {
        model: string;
        concurrency: string;
        requests: string;
        parallel: string;
        bars: string;
        json?: boolean;
        out?: string;
      }) => {
        if (f.out !== undefined) outFileOption("--out", f.out);
        const requests = parseIntOption("--requests", f.requests, 1, 100_000);
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
        if (f.json) printJson(report);
        else process.stdout.write(formatServiceBench(report));
      },
    );
}
