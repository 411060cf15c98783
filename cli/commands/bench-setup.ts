/** `zkrisk bench-setup` (npm run bench:setup): the time of an INSECURE development trusted setup. */
import type { WeightMode } from "../../circuits/generate-circuit";
import { existsSync } from "node:fs";
import { UsageError } from "../../core/errors";
import { loadQuantizedModel } from "../../models/quantized-model";
import { writeJsonAtomic } from "../../core/io";
import { runSetupBench, type SetupBenchReport } from "../../bench/bench-setup";
import {
  fileOptions,
  markdownTable,
  outFileOption,
  output,
  parseIntListOption,
  refuseOverwrites,
} from "../options";
import { stderrLog } from "../../setup/log";

/** Typed flags of the command. */
export interface BenchSetupFlags {
  powers: string;
  modes: string;
  model: string;
  json?: boolean;
  out?: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The report as two tables. */
export function formatSetupBench(r: SetupBenchReport): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return (
    `Development setup (${r.machine.cores} cores, ${r.machine.cpu}, Node ${r.machine.node}):\n\n` +
    markdownTable([
      ["ptau power", "time", "size"],
      ...r.ptau.map((p) => [String(p.power), seconds(p.ms), mib(p.bytes)]),
    ]) +
    "\n\n" +
    markdownTable([
      ["circuit", "constraints", "power", "ptau", "zkey", "whole setup"],
      ...r.circuits.map((c) => [
        `signed update, k = ${c.quorum}, ${c.mode} weights`,
        c.constraints.toLocaleString("en-US"),
        String(c.power),
        seconds(c.ptauMs),
        seconds(c.zkeyMs),
        seconds(c.totalMs),
      ]),
    ]) +
    `\n\n${r.method}\n`
  );
}

/** Parse the flags and check --model (before any ptau is timed), then run the benchmark. */
export function runBenchSetup(f: BenchSetupFlags): Promise<SetupBenchReport> {
  const modes = f.modes === "" ? [] : f.modes.split(",");
  for (const m of modes) {
    if (m !== "constant" && m !== "committed") {
      throw new UsageError(`--modes: '${m}' must be 'constant' or 'committed'`);
    }
  }
  const powers = f.powers === "" ? [] : parseIntListOption("--powers", f.powers, 1, 22);
  if (powers.length === 0 && modes.length === 0) {
    throw new UsageError("nothing to measure: --powers '' and --modes '' leave no figure");
  }
  if (!existsSync(f.model)) throw new UsageError(`--model: ${f.model}: file not found`);
  loadQuantizedModel(f.model);
  return runSetupBench({
    powers,
    modes: modes as WeightMode[],
    model: f.model,
    log: stderrLog(f.json === true),
  });
}

/** `zkrisk bench-setup`: run the benchmark and print or write its report. */
export async function benchSetupAction(f: BenchSetupFlags): Promise<void> {
  if (f.out !== undefined) outFileOption("--out", f.out);
  refuseOverwrites({ reads: fileOptions("--model", f.model), writes: fileOptions("--out", f.out) });
  const report = await runBenchSetup(f);
  if (f.out) writeJsonAtomic(f.out, report);
  output(report, f.json, formatSetupBench);
}
