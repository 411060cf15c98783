/**
 * `zkrisk setup`: the Groth16 trusted setup of a compiled circuit (a fast INSECURE development setup, or phase 2 on
 * a public ceremony's ptau), the verifier export and the manifest.
 */
import { CIRCUIT_NAME } from "../../circuits/compile-model";
import { UsageError } from "../../core/errors";
import { sha256File } from "../../core/io";
import type { ArtifactManifest } from "../../setup/artifacts";
import {
  checkSetupFlags,
  compiledCircuitFiles,
  DEV_PTAU_FLAG,
  runSetup as runGroth16Setup,
  type RunSetupResult,
} from "../../setup";
import { fileOptions, inFileOption, output, parseIntOption, refuseOverwrites } from "../options";
import { isSetupFile } from "./compile";
import { progressBar } from "../progress";
import { stderrLog } from "../../setup/log";
import { readCircuitInfo } from "../../circuits/compile-model";

/** The options of `zkrisk setup`, as commander gives them (cli/register/circuit.ts). */
export interface SetupFlags {
  artifacts: string;
  model: string;
  ptau?: string;
  verifyPtau?: boolean;
  force?: boolean;
  beacon?: string;
  beaconIterations: string;
  json?: boolean;
}

/** The artifact directory set up. */
export interface SetupResult {
  /** `--artifacts` as given. */
  artifacts: string;
  /** Absolute artifact directory. */
  dir: string;
  constraints: number;
  /** The manifest's setup entry (method, INSECURE or not, ceremony). */
  setup: ArtifactManifest["setup"];
  /** The ptau used, with its sha256. */
  ptau: RunSetupResult["ptau"] & { sha256: string };
  /** Absolute path of every artifact. */
  files: RunSetupResult["paths"];
  /** Wall-clock durations, ms. */
  timingsMs: RunSetupResult["timings"];
}

/**
 * Set up the circuit of `--artifacts` (made by `zkrisk compile` from `--model`, which is checked first); a progress
 * bar and the setup log on stderr.
 */
export async function runSetup(f: SetupFlags): Promise<SetupResult> {
  inFileOption("--model", f.model);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--ptau", f.ptau === DEV_PTAU_FLAG ? undefined : f.ptau),
    ],
    // the ptau of a direct setup (no --ptau) is written into the directory; a --ptau file is only read
    writes: [
      {
        option: "--artifacts",
        path: f.artifacts,
        entries: (e) => isSetupFile(e) && (f.ptau === undefined || !e.endsWith(".ptau")),
      },
    ],
  });
  checkSetupFlags({ ptau: f.ptau, beaconHash: f.beacon, verifyPtau: f.verifyPtau });
  const beaconIterationsExp = parseIntOption("--beacon-iterations", f.beaconIterations, 10, 63);
  const info = readCircuitInfo(f.artifacts);
  const compiled = compiledCircuitFiles(f.artifacts);
  if (sha256File(f.model) !== info.model.sha256) {
    throw new UsageError(
      `--model: ${f.model} is not the model the circuit in ${f.artifacts} was compiled from (${info.model.file})`,
    );
  }
  const bar = progressBar(!f.json);
  let started = false;
  const result = await runGroth16Setup(
    {
      ...compiled,
      model: f.model,
      out: f.artifacts,
      ptau: f.ptau,
      verifyPtau: f.verifyPtau,
      force: f.force,
      name: CIRCUIT_NAME,
      beaconHash: f.beacon,
      beaconIterationsExp,
      onProgress: (p) => {
        if (!started) bar.start(p.steps, "development ptau");
        started = true;
        bar.update(p.step, p.stage);
      },
    },
    stderrLog(Boolean(f.json)),
  );
  bar.stop();
  return {
    artifacts: f.artifacts,
    dir: result.dir,
    constraints: result.manifest.circuit.constraints,
    setup: result.manifest.setup,
    ptau: { ...result.ptau, sha256: result.manifest.ptau.sha256 },
    files: result.paths,
    timingsMs: result.timings,
  };
}

/** The `--json` document of `zkrisk setup`: everything but `--artifacts` as given. */
export function setupJson(r: SetupResult): unknown {
  return {
    dir: r.dir,
    constraints: r.constraints,
    setup: r.setup,
    ptau: r.ptau,
    files: r.files,
    timingsMs: r.timingsMs,
  };
}

/** The text output of `zkrisk setup`: the ptau, INSECURE if so, and the files written. */
export function formatSetup(r: SetupResult): string {
  const insecure = r.setup.insecure
    ? ` — INSECURE ${r.setup.method === "direct" ? "direct development setup" : "development ptau"}`
    : "";
  return (
    `setup done in ${r.artifacts}: ${r.constraints} constraints, ptau power ${r.ptau.power} ` +
    `(needed ${r.ptau.requiredPower})${insecure}\n` +
    `  ptau sha256 ${r.ptau.sha256}\n` +
    `  zkey ${r.files.zkey}\n  verification key ${r.files.vkey}\n  verifier ${r.files.verifier}\n`
  );
}

/** `zkrisk setup`: set up, then print what was made. */
export async function setupAction(f: SetupFlags): Promise<void> {
  output(await runSetup(f), f.json, formatSetup, setupJson);
}
