/**
 * Proving time of the signed-update circuit (issue 11 part 3), for `npm run bench`: for each (quorum k, weight
 * mode), the circuit's size, witness generation, and Groth16 proving in a loaded SignedUpdateProver (warm) and in
 * a fresh `zkrisk prove --window` process (cold), from real BTC windows signed by k publisher keys from fixed
 * seeds (INSECURE, benchmark only). Artifacts: signed-update-artifacts.ts (compiled and set up once, cached);
 * setup time is reported apart and never enters a proving figure. Library code: progress goes to the log.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root";
import { buildWindow, type Window } from "../candles";
import { marketIdOf } from "../candles/market-id";
import type { WeightMode } from "../circuits/generate-circuit";
import { FEATURE_WINDOW_BARS, windowFeatures } from "../features/window-features";
import { loadCandles } from "../models/load-data";
import type { CandleSeries } from "../models/types";
import { loadArtifacts } from "../prover/artifacts";
import { SignedUpdateProver, type ProvedSignedUpdate } from "../prover/prove-signed-update";
import { readR1csHeader } from "../prover/setup/binfile";
import type { SetupLog } from "../prover/setup/log";
import { releaseCurves, snarkjs } from "../prover/setup/snarkjs";
import { signedUpdateInput } from "../prover/update-input";
import { publicKeyOf } from "../publisher/eddsa";
import type { PublisherKey } from "../publisher/keystore";
import { makePublisherSet, type PublisherSet } from "../publisher/publisher-set";
import { writePublisherSet } from "../publisher/publisher-set-file";
import { signWindow, writeSignedWindow, type SignedWindow } from "../publisher/signed-window";
import { BenchError, summarize, type Timing } from "./bench";
import { signedUpdateArtifacts } from "./signed-update-artifacts";

const ROOT = PACKAGE_ROOT;
const ZKRISK_BIN = join(ROOT, "bin/zkrisk.cjs");

/** One signed-update circuit to measure. */
export interface SignedCircuitSpec {
  /** Signatures the circuit checks (the publisher set's quorum). */
  quorum: number;
  mode: WeightMode;
}

/** Options of {@link benchSignedProving}. */
export interface SignedProvingOptions {
  model: string;
  /** Candles CSV the signed windows come from. */
  data: string;
  market: string;
  circuits: SignedCircuitSpec[];
  /** Warm proofs and witness runs (>= 1). */
  warmRuns: number;
  /** Fresh processes (>= 1). */
  coldRuns: number;
  log: SetupLog;
}

/** Figures of one signed-update circuit. */
export interface SignedProvingBench {
  quorum: number;
  mode: WeightMode;
  artifacts: {
    dir: string;
    reused: boolean;
    /** Compile + setup in this run (0 when reused), ms; never part of a proving figure. */
    setupMs: number;
    wasmBytes: number;
    zkeyBytes: number;
  };
  circuit: { constraints: number; wires: number; publicSignals: number; privateInputs: number };
  /** snarkjs.wtns.calculate of the latest window's input. */
  witness: Timing;
  provingCold: { wall: Timing; proving: Timing; bars: string[] };
  provingWarm: { proving: Timing; firstProofMs: number; bars: string[] };
}

/** How the figures are taken (copied into the report). */
export const SIGNED_PROVING_METHOD: Record<string, string> = {
  inputs:
    "the windows of FEATURE_WINDOW_BARS bars ending at the latest bars of --data (bars whose features exist), " +
    "signed by k publisher keys from fixed seeds 1..k (INSECURE, benchmark only), publisher set = those k keys " +
    "with quorum k, domain 0",
  artifacts:
    "scripts/signed-update-artifacts.ts: .zkrisk-cache/demo/<sha256[0:16] of the generated source>-signed-k<K>-" +
    "<mode>, compiled (compileSignedUpdateModel, circom --O2) and set up (direct development setup) when absent " +
    "or stale; constraints, wires, signals from the r1cs header",
  witness:
    "snarkjs.wtns.calculate of the latest window's input, wasm and output in memory (instantiation included, " +
    "as in fullProve); one untimed warm-up, then median of --runs",
  provingCold:
    "a fresh `node bin/zkrisk.cjs prove --window FILE... --publishers SET` process per run, one bar each, one " +
    "after another: wall = spawn to exit (tsx start-up, manifest hashing, signature and window checks, proof, " +
    "local verification); proving = provingMs of the proof file (witness + proof, curve build included). " +
    "Median of --cold-runs",
  provingWarm:
    "one SignedUpdateProver.open, an untimed warm-up proof (firstProofMs: builds the curve), then one proof per " +
    "bar of the latest --runs bars: provingMs (witness + Groth16 proof, fullProve with wasm and zkey in " +
    "memory); median and nearest-rank p90",
};

interface WtnsApi {
  wtns: {
    calculate(
      input: unknown,
      wasm: { type: "mem"; data: Uint8Array },
      out: { type: "mem"; data?: Uint8Array },
    ): Promise<void>;
  };
}

/** A benchmark publisher key from a fixed seed byte. */
async function seededKey(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** The windows ending at the latest `count` bars that have features, newest first. */
function latestWindows(series: CandleSeries, marketId: bigint, count: number): Window[] {
  const out: Window[] = [];
  for (let i = series.candles.length - 1; i >= 0 && out.length < count; i--) {
    try {
      const window = buildWindow(series, marketId, i, FEATURE_WINDOW_BARS);
      windowFeatures(window);
      out.push(window);
    } catch {
      // No features for this window (a gap, or too early): take the one before.
    }
  }
  if (out.length < count) {
    throw new BenchError(
      `${series.source}: only ${out.length} signed windows have features, ${count} needed`,
    );
  }
  return out;
}

const barLabel = (w: Window) => new Date(w.endTime).toISOString();

/** One `zkrisk prove --window` process: its wall clock and the proof file's provingMs. */
function coldProve(args: {
  dir: string;
  model: string;
  market: string;
  windows: string[];
  set: string;
  out: string;
}): Promise<{ wallMs: number; provingMs: number }> {
  const argv = [ZKRISK_BIN, "prove", "--artifacts", args.dir, "--model", args.model, "--market", args.market];
  for (const w of args.windows) argv.push("--window", w);
  argv.push("--publishers", args.set, "--out", args.out, "--json");
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.resume();
    child.on("error", (err) => fail(new BenchError(`cannot start ${ZKRISK_BIN}: ${err.message}`)));
    child.on("close", (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) {
        fail(new BenchError(`zkrisk prove --window exited with ${code}: ${stderr.trim()}`));
        return;
      }
      const proof = JSON.parse(readFileSync(args.out, "utf8")) as ProvedSignedUpdate;
      done({ wallMs, provingMs: proof.provingMs });
    });
  });
}

/** Measure one circuit. */
async function benchOne(
  opts: SignedProvingOptions,
  spec: SignedCircuitSpec,
  windows: Window[],
): Promise<SignedProvingBench> {
  const { log } = opts;
  const name = `signed k=${spec.quorum} ${spec.mode}`;
  const art = await signedUpdateArtifacts(opts.model, spec.mode, spec.quorum, log);
  const loaded = loadArtifacts(art.dir, { modelPath: opts.model });
  const header = readR1csHeader(loaded.paths.r1cs);
  const keys = await Promise.all(Array.from({ length: spec.quorum }, (_, j) => seededKey(j + 1)));
  const publishers: PublisherSet = await makePublisherSet(
    keys.map((k) => k.publicKey),
    spec.quorum,
  );
  const sign = async (w: Window): Promise<SignedWindow[]> =>
    Promise.all(keys.map((k) => signWindow(k, opts.market, w)));
  const tmp = mkdtempSync(join(tmpdir(), "zkrisk-bench-signed-"));
  try {
    // Cold: fresh processes first, while this process holds no curve workers busy.
    await releaseCurves();
    const setFile = join(tmp, "publishers.json");
    writePublisherSet(setFile, publishers);
    const coldWall: number[] = [];
    const coldProving: number[] = [];
    const coldWindows = windows.slice(0, opts.coldRuns);
    for (const [r, w] of coldWindows.entries()) {
      const files = (await sign(w)).map((sw, j) => {
        const file = join(tmp, `cold-${r}-${j}.window.json`);
        writeSignedWindow(file, sw);
        return file;
      });
      const c = await coldProve({
        dir: art.dir,
        model: opts.model,
        market: opts.market,
        windows: files,
        set: setFile,
        out: join(tmp, `cold-${r}.proof.json`),
      });
      coldWall.push(c.wallMs);
      coldProving.push(c.provingMs);
      log.info(
        `[${name}] cold prove ${r + 1}/${coldWindows.length}: process ${(c.wallMs / 1000).toFixed(2)} s, ` +
          `proving ${(c.provingMs / 1000).toFixed(2)} s`,
      );
    }

    // Warm: one loaded prover, a warm-up proof, then one proof per bar.
    const prover = SignedUpdateProver.open(art.dir, spec, { modelPath: opts.model });
    const warmWindows = windows.slice(0, opts.warmRuns);
    const proveWindow = async (w: Window) =>
      prover.prove({ windows: await sign(w), publishers, domain: 0n }, { market: opts.market });
    const first = await proveWindow(windows[opts.warmRuns]);
    const warm: number[] = [];
    for (const [r, w] of warmWindows.entries()) {
      const p = await proveWindow(w);
      warm.push(p.provingMs);
      log.info(`[${name}] warm prove ${r + 1}/${warmWindows.length}: ${p.provingMs.toFixed(0)} ms`);
    }

    // Witness generation, as fullProve runs it.
    const built = await signedUpdateInput(prover.model, spec.mode, {
      windows: await sign(windows[0]),
      publishers,
      domain: 0n,
    });
    const wasm = readFileSync(loaded.paths.wasm);
    const { wtns } = snarkjs as unknown as WtnsApi;
    const witnessOnce = async (): Promise<number> => {
      const t0 = performance.now();
      await wtns.calculate(built.input, { type: "mem", data: wasm }, { type: "mem" });
      return performance.now() - t0;
    };
    await witnessOnce();
    const witness: number[] = [];
    for (let r = 0; r < opts.warmRuns; r++) witness.push(await witnessOnce());
    await prover.close();
    log.info(`[${name}] witness ${summarize(witness).medianMs} ms (median)`);

    const files = loaded.manifest.files;
    return {
      quorum: spec.quorum,
      mode: spec.mode,
      artifacts: {
        dir: art.dir,
        reused: art.reused,
        setupMs: Math.round(art.setupMs),
        wasmBytes: files.wasm.bytes,
        zkeyBytes: files.zkey.bytes,
      },
      circuit: {
        constraints: header.constraints,
        wires: header.wires,
        publicSignals: header.outputs + header.publicInputs,
        privateInputs: header.privateInputs,
      },
      witness: summarize(witness),
      provingCold: {
        wall: summarize(coldWall),
        proving: summarize(coldProving),
        bars: coldWindows.map(barLabel),
      },
      provingWarm: {
        proving: summarize(warm),
        firstProofMs: Math.round(first.provingMs * 100) / 100,
        bars: warmWindows.map(barLabel),
      },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Measure every circuit of `opts.circuits`, one after another. */
export async function benchSignedProving(opts: SignedProvingOptions): Promise<SignedProvingBench[]> {
  if (!(opts.warmRuns >= 1 && opts.coldRuns >= 1)) throw new BenchError("runs must be at least 1");
  const series = loadCandles(opts.data);
  const windows = latestWindows(series, marketIdOf(opts.market), Math.max(opts.warmRuns + 1, opts.coldRuns));
  const out: SignedProvingBench[] = [];
  try {
    for (const spec of opts.circuits) out.push(await benchOne(opts, spec, windows));
  } finally {
    await releaseCurves();
  }
  return out;
}
