/**
 * What the commands that make or use circuit artifacts share (not a command): reading an artifact directory's
 * circuit.json, and the setup log on stderr.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CircuitInfo } from "../../circuits/compile-model";
import { UsageError } from "../../models/errors";
import { readJsonFile } from "../../models/io";
import type { SetupLog } from "../../prover/setup";

/** A setup log on stderr; info lines only when not in --json mode. */
export function stderrLog(json: boolean): SetupLog {
  return {
    info: (m) => {
      if (!json) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`WARNING: ${m}\n`),
  };
}

/** circuit.json of an artifact directory made by `zkrisk compile`. */
export function readCircuitInfo(dir: string): CircuitInfo {
  const file = join(dir, "circuit.json");
  if (!existsSync(file))
    throw new UsageError(
      `--artifacts: ${dir} has no circuit.json: run \`zkrisk compile --out ${dir}\` first`,
    );
  return readJsonFile(file, "ARTIFACTS_INVALID") as CircuitInfo;
}
