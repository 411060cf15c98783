/**
 * `zkrisk compile`: generate and compile (circom 2.2, --O2) the signed-update circuit of a quantised model, or
 * with `--batch N` the signed batch circuit of N markets.
 */
import { join } from "node:path";
import {
  BUILD_SUBDIR,
  compileSignedBatchModel,
  compileSignedUpdateModel,
  type CircuitInfo,
} from "../../circuits/compile-model";
import type { WeightMode } from "../../circuits/generate-circuit";
import { UsageError } from "../../core/errors";
import { outDirOption, output, parseIntOption } from "../options";

/** The options of `zkrisk compile`, as commander gives them (cli/register/circuit.ts). */
export interface CompileFlags {
  model: string;
  out: string;
  weights: string;
  /** Compile the signed batch circuit of N markets (one quorum's signatures of a batch digest). */
  batch?: string;
  /** Signatures the signed circuit checks (the publisher set's quorum). */
  quorum?: string;
  json?: boolean;
}

/** The compiled circuit (`circuit` is its circuit.json and the `--json` document). */
export interface CompileResult {
  /** `--model` as given. */
  model: string;
  /** `--out` as given. */
  out: string;
  mode: WeightMode;
  circuit: CircuitInfo;
}

function parseMode(value: string): WeightMode {
  if (value !== "committed" && value !== "constant") {
    throw new UsageError(`--weights: '${value}' must be 'committed' or 'constant'`);
  }
  return value;
}

/** Generate and compile the circuit into `--out`/build and write `--out`/circuit.json. */
export async function runCompile(f: CompileFlags): Promise<CompileResult> {
  outDirOption("--out", f.out);
  const mode = parseMode(f.weights);
  const quorum = () => parseIntOption("--quorum", f.quorum ?? "1", 1, 8);
  const circuit =
    f.batch !== undefined
      ? await compileSignedBatchModel(
          f.model,
          f.out,
          mode,
          parseIntOption("--batch", f.batch, 1, 32),
          quorum(),
        )
      : await compileSignedUpdateModel(f.model, f.out, mode, quorum());
  return { model: f.model, out: f.out, mode, circuit };
}

/** The text output of `zkrisk compile`: what was compiled and the circuit's size. */
export function formatCompile(r: CompileResult): string {
  const info = r.circuit;
  const kind =
    info.quorum === undefined
      ? ""
      : info.batchSize === undefined
        ? `, signed update, quorum ${info.quorum}`
        : `, signed batch of ${info.batchSize} markets, quorum ${info.quorum}`;
  return (
    `compiled ${r.model} (${r.mode} weights${kind}) into ${join(r.out, BUILD_SUBDIR)}\n` +
    `  constraints    ${info.constraints}\n` +
    `  wires          ${info.wires}\n` +
    `  public signals ${info.outputs + info.publicInputs}: ${info.publicSignals.join(", ")}\n` +
    `  private inputs ${info.privateInputs}\n` +
    `  model commitment ${info.modelCommitment}\n`
  );
}

/** The `--json` document of `zkrisk compile`: the circuit.json written. */
export function compileJson(r: CompileResult): CircuitInfo {
  return r.circuit;
}

/** `zkrisk compile`: compile, then print the circuit's size. */
export async function compileAction(f: CompileFlags): Promise<void> {
  output(await runCompile(f), f.json, formatCompile, compileJson);
}
