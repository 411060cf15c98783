/**
 * Proving time of the signed-update circuit (issue 11 part 3), for `npm run bench`: for each (quorum k, weight
 * mode), the circuit's size, witness generation, and Groth16 proving in a loaded SignedUpdateProver (warm) and in
 * a fresh `zkrisk prove --window` process (cold), from real BTC windows signed by k publisher keys from fixed
 * seeds (INSECURE, benchmark only). An adaptive circuit (`k<K>-adaptive`: constant weights with the adaptive
 * rule, as `zkrisk compile --adaptive` makes it) is proved from a prior built as the oracle would hold it. Artifacts: signed-update-artifacts.ts (compiled and set up once, cached);
 * setup time is reported apart and never enters a proving figure. One function per measurement (size, cold,
 * warm, witness). Library code: progress goes to the log.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root";
import { buildWindow, type Window } from "../candles";
import { marketIdOf } from "../candles/market-id";
import type { WeightMode } from "../circuits/generate-circuit";
import { windowFeatures } from "../features/window-features";
import { WINDOW_BARS } from "../candles/window";
import { loadCandles } from "../candles/load-data";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import { inferInteger } from "../models/integer-engine";
import { initialState, type AdaptiveRule } from "../models/adaptive";
import { TARGET_HORIZON_BARS } from "../models/target";
import type { CandleSeries } from "../candles/types";
import { loadArtifacts, type LoadedArtifacts } from "../setup/artifacts";
import {
  SignedUpdateProver,
  type AdaptivePriorState,
  type ProvedSignedUpdate,
} from "../prover/prove-signed-update";
import { readR1csHeader } from "../circuits/binfile";
import type { SetupLog } from "../setup/log";
import { Groth16Prover } from "../prover/groth16-prover";
import { Groth16Verifier } from "../prover/groth16-verifier";
import { nativeMsm } from "../prover/native-msm";
import { readProvingFiles } from "../prover/proving-files";
import { releaseCurves, snarkjs, type VerificationKey } from "../setup/snarkjs";
import { signedUpdateInput } from "../prover/update-input";
import { publicKeyOf } from "../publisher/eddsa";
import type { PublisherKey } from "../publisher/keystore";
import { makePublisherSet, type PublisherSet } from "../publisher/publisher-set";
import { writePublisherSet } from "../publisher/publisher-set-file";
import { signWindow, writeSignedWindow, type SignedWindow } from "../publisher/signed-window";
import { BenchError, roundMs, summarize, type Timing } from "./bench-common";
import {
  adaptiveUpdateArtifacts,
  signedUpdateArtifacts,
  type SignedUpdateArtifacts,
} from "../setup/cached-artifacts";

const ROOT = PACKAGE_ROOT;
const ZKRISK_BIN = join(ROOT, "bin/zkrisk.cjs");

/** One signed-update circuit to measure. */
export interface SignedCircuitSpec {
  /** Signatures the circuit checks (the publisher set's quorum). */
  quorum: number;
  mode: WeightMode;
  /** The circuit with the adaptive rule of the options' calibrations file (constant weights only). */
  adaptive?: boolean;
}

/** A circuit's name on the command line and in progress lines: `k1-constant`, `k1-adaptive`. */
export function circuitName(spec: SignedCircuitSpec): string {
  return `k${spec.quorum}-${spec.adaptive ? "adaptive" : spec.mode}`;
}

/** Options of {@link benchSignedProving}. */
export interface SignedProvingOptions {
  model: string;
  /** Candles CSV the signed windows come from. */
  data: string;
  market: string;
  circuits: SignedCircuitSpec[];
  /** The calibrations file whose `adaptive` block an adaptive circuit is compiled with (needed only then). */
  calibrations?: string;
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
  /** An adaptive circuit: the calibrations file its rule came from (the manifest's record). */
  adaptive?: { calibrations: { file: string; sha256: string } };
  artifacts: {
    dir: string;
    reused: boolean;
    /** Compile + setup in this run (0 when reused), ms; never part of a proving figure. */
    setupMs: number;
    wasmBytes: number;
    zkeyBytes: number;
  };
  circuit: { constraints: number; wires: number; publicSignals: number; privateInputs: number };
  /** snarkjs.wtns.calculate of the latest window's input (the calculator instantiated each time). */
  witness: Timing;
  /** The warm prover's witness of the same input (its calculator kept instantiated). */
  witnessWarm: Timing;
  provingCold: { wall: Timing; proving: Timing; bars: string[] };
  provingWarm: {
    proving: Timing;
    firstProofMs: number;
    bars: string[];
    /** Whose multi-exponentiations the kept prover ran (native when the addon is built). */
    msm: "native" | "wasm";
  };
  /** Warm proving of the same windows, interleaved with provingWarm, by the ways the prover did not keep. */
  provingLevers: {
    /** snarkjs.groth16.fullProve with the wasm and zkey in memory (the prover before Groth16Prover). */
    snarkjsFullProve: Timing;
    /** Groth16Prover on a curve of its own in the main thread (ffjavascript's singleThread), wasm MSMs. */
    singleThread: Timing;
    /** Groth16Prover with worker threads and ffjavascript's wasm multi-exponentiations (the kept prover before the native addon). */
    wasmMsm: Timing;
    /** Groth16Prover with worker threads and the native multi-exponentiations; absent when the addon is not built. */
    nativeMsm?: Timing;
    /** CPU time (process.cpuUsage: all threads of the process) of the same proofs, ms. */
    cpu: { snarkjsFullProve: Timing; singleThread: Timing; wasmMsm: Timing; nativeMsm?: Timing };
  };
  /** Verifying each of the levers' proofs again: by snarkjs, and by the audit's verifier (wall time, ms). */
  verification: { snarkjs: Timing; groth16Verifier: Timing };
}

/** How the figures are taken (copied into the report). */
export const SIGNED_PROVING_METHOD: Record<string, string> = {
  inputs:
    "the windows of WINDOW_BARS bars ending at the latest bars of --data (bars whose features exist), " +
    "signed by k publisher keys from fixed seeds 1..k (INSECURE, benchmark only), publisher set = those k keys " +
    "with quorum k, domain 0",
  artifacts:
    "setup/signed-update-artifacts.ts: .zkrisk-cache/demo/<sha256[0:16] of the generated source>-signed-k<K>-" +
    "<mode>, compiled (compileSignedUpdateModel, circom --O2) and set up (direct development setup) when absent " +
    "or stale; setupMs is that compile and setup (0 when reused), never part of a proving figure; wasm and zkey " +
    "sizes from the manifest",
  circuit:
    "constraints, wires, public signals (outputs + public inputs) and private inputs from the r1cs header",
  witness:
    "snarkjs.wtns.calculate of the latest window's input, wasm and output in memory (instantiation included, " +
    "as in snarkjs's fullProve); one untimed warm-up, then median of --runs",
  witnessWarm:
    "Groth16Prover.witness (prover/groth16-prover.ts) of the same input: circom's calculator instantiated once " +
    "and kept, as the warm prover runs it; one untimed warm-up, then median of --runs",
  provingCold:
    "a fresh `node bin/zkrisk.cjs prove --window FILE... --publishers SET` process per run, one bar each, one " +
    "after another: wall = spawn to exit (tsx start-up, manifest hashing, signature and window checks, proof, " +
    "local verification); proving = provingMs of the proof file (witness + proof, curve build included). " +
    "Median of --cold-runs",
  provingWarm:
    "one SignedUpdateProver.open, an untimed warm-up proof (firstProofMs: instantiates the witness calculator, " +
    "parses the zkey, builds the curve), then one proof per bar of the latest --runs bars: provingMs (witness + " +
    "Groth16 proof by Groth16Prover, snarkjs's curve with its worker threads, one per core, and the native " +
    "multi-exponentiations and FFTs when the addon is built: msm says which); median and nearest-rank p90",
  provingLevers:
    "the same bars' inputs proven right after each provingWarm proof (interleaved, so both see the same load), " +
    "each way after one untimed warm-up, each proof verified: snarkjsFullProve = snarkjs.groth16.fullProve with " +
    "wasm and zkey in memory (the prover before Groth16Prover); singleThread = Groth16Prover on a curve of its " +
    "own without worker threads, wasm multi-exponentiations; wasmMsm = Groth16Prover with worker threads and " +
    "ffjavascript's wasm multi-exponentiations (the kept prover before the native addon); nativeMsm = the same " +
    "with the native addon's (prover/native-msm.ts; absent when it is not built); witness + proof, median and " +
    "nearest-rank p90 of the wall time, and of the CPU time (cpu: process.cpuUsage, all threads of the process)",
  verification:
    "each proof of provingLevers verified again, one right after the other: snarkjs = snarkjs.groth16.verify " +
    "(the key read each time, its multi-exponentiation and Miller loops on the curve's worker threads); " +
    "groth16Verifier = prover/groth16-verifier.ts (zkrisk audit's: the key read once, e(-alpha, beta) and the " +
    "Miller-loop lines of gamma and delta computed once, all in the main thread), its verdict checked equal; " +
    "median and nearest-rank p90 of the wall time",
  statistics: "median: middle value (mean of the two middle for an even count); p90: nearest rank",
};

/** How an adaptive circuit's figures differ (copied into the report when one is measured). */
export const ADAPTIVE_PROVING_METHOD =
  "k<K>-adaptive: the signed-update circuit with the adaptive rule of --calibrations (its `adaptive` block), " +
  "constant weights, compiled as `zkrisk compile --adaptive` does (setup/cached-artifacts.ts " +
  "adaptiveUpdateArtifacts, cached under .zkrisk-cache/demo/<sha256[0:16]>-signed-adaptive-k<K>-constant-compiled); " +
  "every proof (cold: `zkrisk prove --prior num,outcomes,mmS,lag`) starts from the prior an oracle holds after " +
  "setAdaptiveCalibration with the model's calibration (num = calibrationNum * 2^8, outcomes 0) and bar s = t - 12 " +
  "accepted at the integer engine's MM of the window ending at s (0, no outcome, when that window has no " +
  "features), its only pending outcome (lag 0), so the proof also carries bar s's outcome; the circuit's cost does " +
  "not depend on the lag; the other figures are taken as for the plain circuits";

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
export function latestWindows(series: CandleSeries, marketId: bigint, count: number): Window[] {
  const out: Window[] = [];
  for (let i = series.candles.length - 1; i >= 0 && out.length < count; i--) {
    try {
      const window = buildWindow(series, marketId, i, WINDOW_BARS);
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
  prior?: AdaptivePriorState;
}): Promise<{ wallMs: number; provingMs: number }> {
  const argv = [ZKRISK_BIN, "prove", "--artifacts", args.dir, "--model", args.model, "--market", args.market];
  for (const w of args.windows) argv.push("--window", w);
  const p = args.prior;
  if (p) argv.push("--prior", `${p.state.num},${p.state.outcomes},${p.marginS},${p.lag}`);
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

/** What every measurement of one circuit shares: its artifacts, the k publisher keys and their set. */
interface CircuitUnderTest {
  spec: SignedCircuitSpec;
  /** The prior a window's update is proved from (adaptive circuits; undefined for plain ones). */
  priorOf(window: Window): AdaptivePriorState | undefined;
  /** The `adaptive` part of a window's circuit input (the rule and the prior), nothing for plain circuits. */
  adaptiveInput(window: Window): { adaptive?: { rule: AdaptiveRule } & AdaptivePriorState };
  /** Prefix of the progress lines. */
  name: string;
  artifacts: SignedUpdateArtifacts;
  loaded: LoadedArtifacts;
  publishers: PublisherSet;
  /** The window signed by each of the k keys, in key order. */
  sign(window: Window): Promise<SignedWindow[]>;
}

/** The circuit's artifacts (compiled and set up now when the cache has none) and k keys from fixed seeds. */
async function prepareCircuit(
  opts: SignedProvingOptions,
  spec: SignedCircuitSpec,
  series: CandleSeries,
): Promise<CircuitUnderTest> {
  let artifacts: SignedUpdateArtifacts;
  if (spec.adaptive) {
    if (spec.mode !== "constant")
      throw new BenchError(`${circuitName(spec)}: adaptive circuits have constant weights`);
    if (opts.calibrations === undefined)
      throw new BenchError(`${circuitName(spec)}: no calibrations file given`);
    artifacts = await adaptiveUpdateArtifacts(opts.model, opts.calibrations, spec.quorum, opts.log);
  } else {
    artifacts = await signedUpdateArtifacts(opts.model, spec.mode, spec.quorum, opts.log);
  }
  const keys = await Promise.all(Array.from({ length: spec.quorum }, (_, j) => seededKey(j + 1)));
  const model = loadQuantizedModel(opts.model);
  const loaded = loadArtifacts(artifacts.dir, { modelPath: opts.model });
  const rule = loaded.manifest.adaptive?.rule;
  const priorOf = (w: Window) => (spec.adaptive ? benchPrior(model, series, w) : undefined);
  return {
    spec,
    priorOf,
    adaptiveInput: (w) => {
      const prior = priorOf(w);
      return prior && rule ? { adaptive: { rule, ...prior } } : {};
    },
    name: `signed ${circuitName(spec)}`,
    artifacts,
    loaded,
    publishers: await makePublisherSet(
      keys.map((k) => k.publicKey),
      spec.quorum,
    ),
    sign: (window) => Promise.all(keys.map((k) => signWindow(k, opts.market, window))),
  };
}

/**
 * The prior of `window`'s adaptive update as an oracle holds it right after governance made the market adaptive
 * with the model's calibration and accepted bar s = t - 12 at the integer engine's MM: the initial state and that
 * MM, its only pending outcome, at lag 0 (MM 0, no outcome, when the window ending at s has no features).
 */
function benchPrior(model: QuantizedModel, series: CandleSeries, window: Window): AdaptivePriorState {
  const sTime = window.endTime - TARGET_HORIZON_BARS * series.intervalMs;
  const s = series.candles.findIndex((c) => c.time === sTime);
  let marginS = 0n;
  if (s >= 0) {
    try {
      const atS = buildWindow(series, window.marketId, s, WINDOW_BARS);
      marginS = BigInt(inferInteger(model, windowFeatures(atS)).maintenanceMarginBps);
    } catch {
      // no features for bar s's window: no margin, so no outcome
    }
  }
  return { state: initialState(model.policy.calibrationNum), marginS, lag: 0 };
}

/** The circuit's size, from its r1cs header, and its artifacts' sizes, from the manifest. */
function circuitSize(c: CircuitUnderTest): Pick<SignedProvingBench, "artifacts" | "circuit"> {
  const header = readR1csHeader(c.loaded.paths.r1cs);
  const files = c.loaded.manifest.files;
  const adaptive = c.loaded.manifest.adaptive;
  return {
    ...(adaptive && { adaptive: { calibrations: adaptive.calibrations } }),
    artifacts: {
      dir: c.artifacts.dir,
      reused: c.artifacts.reused,
      setupMs: Math.round(c.artifacts.setupMs),
      wasmBytes: files.wasm.bytes,
      zkeyBytes: files.zkey.bytes,
    },
    circuit: {
      constraints: header.constraints,
      wires: header.wires,
      publicSignals: header.outputs + header.publicInputs,
      privateInputs: header.privateInputs,
    },
  };
}

/**
 * Cold proving: one fresh `zkrisk prove --window` process per window, one after another, with this process
 * holding no curve workers (they would compete for the cores).
 */
async function measureCold(
  opts: SignedProvingOptions,
  c: CircuitUnderTest,
  windows: readonly Window[],
): Promise<SignedProvingBench["provingCold"]> {
  await releaseCurves();
  const tmp = mkdtempSync(join(tmpdir(), "zkrisk-bench-signed-"));
  try {
    const set = join(tmp, "publishers.json");
    writePublisherSet(set, c.publishers);
    const wall: number[] = [];
    const proving: number[] = [];
    for (const [r, w] of windows.entries()) {
      const files = (await c.sign(w)).map((sw, j) => {
        const file = join(tmp, `cold-${r}-${j}.window.json`);
        writeSignedWindow(file, sw);
        return file;
      });
      const run = await coldProve({
        dir: c.artifacts.dir,
        model: opts.model,
        market: opts.market,
        windows: files,
        set,
        out: join(tmp, `cold-${r}.proof.json`),
        prior: c.priorOf(w),
      });
      wall.push(run.wallMs);
      proving.push(run.provingMs);
      opts.log.info(
        `[${c.name}] cold prove ${r + 1}/${windows.length}: process ${(run.wallMs / 1000).toFixed(2)} s, ` +
          `proving ${(run.provingMs / 1000).toFixed(2)} s`,
      );
    }
    return { wall: summarize(wall), proving: summarize(proving), bars: windows.map(barLabel) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The circuit's wasm, zkey and verification key, read as the provers read them. */
function provingKit(c: CircuitUnderTest): { wasm: Uint8Array; zkey: Uint8Array; vkey: VerificationKey } {
  const { wasm, zkey } = readProvingFiles(c.loaded);
  return { wasm, zkey, vkey: JSON.parse(readFileSync(c.loaded.paths.vkey, "utf8")) as VerificationKey };
}

/**
 * Warm proving: one loaded prover, an untimed warm-up proof of `warmUp`, then one proof per window; after each,
 * the same window's input proven by each lever the prover did not keep (snarkjs's fullProve, a single-thread
 * curve), each verified.
 */
async function measureWarm(
  opts: SignedProvingOptions,
  c: CircuitUnderTest,
  warmUp: Window,
  windows: readonly Window[],
): Promise<Pick<SignedProvingBench, "provingWarm" | "provingLevers" | "verification">> {
  const prover = SignedUpdateProver.open(
    c.artifacts.dir,
    { mode: c.spec.mode, quorum: c.spec.quorum },
    { modelPath: opts.model },
  );
  const meta = (w: Window) => {
    const prior = c.priorOf(w);
    return { market: opts.market, ...(prior && { prior }) };
  };
  const kit = provingKit(c);
  const verifier = new Groth16Verifier(kit.vkey);
  const verifyMs = { snarkjs: [] as number[], groth16Verifier: [] as number[] };
  const single = await Groth16Prover.open(kit.wasm, kit.zkey, { singleThread: true, msm: "wasm" });
  const wasmMsm = await Groth16Prover.open(kit.wasm, kit.zkey, { msm: "wasm" });
  const native = nativeMsm().loaded
    ? await Groth16Prover.open(kit.wasm, kit.zkey, { msm: "native" })
    : undefined;
  try {
    const model = loadQuantizedModel(c.loaded.modelPath);
    const source = async (w: Window) => ({ windows: await c.sign(w), publishers: c.publishers, domain: 0n });
    const levers = {
      snarkjsFullProve: (input: Record<string, unknown>) =>
        snarkjs.groth16.fullProve(
          input,
          { type: "mem", data: kit.wasm } as never,
          { type: "mem", data: kit.zkey } as never,
        ),
      singleThread: (input: Record<string, unknown>) => single.prove(input),
      wasmMsm: (input: Record<string, unknown>) => wasmMsm.prove(input),
      nativeMsm: (input: Record<string, unknown>) => native!.prove(input),
    };
    const names = [
      "snarkjsFullProve",
      "singleThread",
      "wasmMsm",
      ...(native ? ["nativeMsm" as const] : []),
    ] as const;
    const leverMs = {
      snarkjsFullProve: [] as number[],
      singleThread: [] as number[],
      wasmMsm: [] as number[],
      nativeMsm: [] as number[],
    };
    const leverCpuMs = {
      snarkjsFullProve: [] as number[],
      singleThread: [] as number[],
      wasmMsm: [] as number[],
      nativeMsm: [] as number[],
    };
    const timeLevers = async (w: Window, timed: boolean) => {
      const { input } = await signedUpdateInput(model, c.spec.mode, {
        ...(await source(w)),
        ...c.adaptiveInput(w),
      });
      for (const name of names) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const { proof, publicSignals } = await levers[name](input);
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const v0 = performance.now();
        const verified = await snarkjs.groth16.verify(kit.vkey, publicSignals, proof);
        const v1 = performance.now();
        const again = await verifier.verify(publicSignals, proof);
        const v2 = performance.now();
        if (!verified || !again) {
          throw new BenchError(
            `[${c.name}] ${name}: the proof does not verify (snarkjs ${verified}, Groth16Verifier ${again})`,
          );
        }
        if (timed) {
          verifyMs.snarkjs.push(v1 - v0);
          verifyMs.groth16Verifier.push(v2 - v1);
          leverMs[name].push(ms);
          leverCpuMs[name].push((cpu.user + cpu.system) / 1000);
        }
      }
    };
    const first = await prover.prove(await source(warmUp), meta(warmUp));
    await timeLevers(warmUp, false);
    const proving: number[] = [];
    for (const [r, w] of windows.entries()) {
      proving.push((await prover.prove(await source(w), meta(w))).provingMs);
      await timeLevers(w, true);
      opts.log.info(
        `[${c.name}] warm prove ${r + 1}/${windows.length}: ${proving[r].toFixed(0)} ms ` +
          `(snarkjs fullProve ${leverMs.snarkjsFullProve[r].toFixed(0)} ms, single thread ` +
          `${leverMs.singleThread[r].toFixed(0)} ms, wasm msm ${leverMs.wasmMsm[r].toFixed(0)} ms` +
          (native ? `, native msm ${leverMs.nativeMsm[r].toFixed(0)} ms` : "") +
          ")",
      );
    }
    return {
      provingWarm: {
        proving: summarize(proving),
        firstProofMs: roundMs(first.provingMs),
        bars: windows.map(barLabel),
        msm: nativeMsm().loaded ? "native" : "wasm",
      },
      provingLevers: {
        snarkjsFullProve: summarize(leverMs.snarkjsFullProve),
        singleThread: summarize(leverMs.singleThread),
        wasmMsm: summarize(leverMs.wasmMsm),
        ...(native && { nativeMsm: summarize(leverMs.nativeMsm) }),
        cpu: {
          snarkjsFullProve: summarize(leverCpuMs.snarkjsFullProve),
          singleThread: summarize(leverCpuMs.singleThread),
          wasmMsm: summarize(leverCpuMs.wasmMsm),
          ...(native && { nativeMsm: summarize(leverCpuMs.nativeMsm) }),
        },
      },
      verification: {
        snarkjs: summarize(verifyMs.snarkjs),
        groth16Verifier: summarize(verifyMs.groth16Verifier),
      },
    };
  } finally {
    await single.close();
    await wasmMsm.close();
    await native?.close();
    await prover.close();
  }
}

/**
 * Witness generation of `window`'s input, by snarkjs (the calculator instantiated each time) and by the warm
 * prover's kept calculator: one untimed run of each, then `runs` of each, alternating.
 */
async function measureWitness(
  c: CircuitUnderTest,
  window: Window,
  runs: number,
): Promise<Pick<SignedProvingBench, "witness" | "witnessWarm">> {
  const model = loadQuantizedModel(c.loaded.modelPath);
  const { input } = await signedUpdateInput(model, c.spec.mode, {
    windows: await c.sign(window),
    publishers: c.publishers,
    domain: 0n,
    ...c.adaptiveInput(window),
  });
  const kit = provingKit(c);
  const kept = await Groth16Prover.open(kit.wasm, kit.zkey, { singleThread: true });
  try {
    const { wtns } = snarkjs as unknown as WtnsApi;
    const ways = {
      witness: () => wtns.calculate(input, { type: "mem", data: kit.wasm }, { type: "mem" }),
      witnessWarm: () => kept.witness(input),
    };
    const samples = { witness: [] as number[], witnessWarm: [] as number[] };
    for (let r = 0; r <= runs; r++) {
      for (const name of ["witness", "witnessWarm"] as const) {
        const t0 = performance.now();
        await ways[name]();
        if (r > 0) samples[name].push(performance.now() - t0);
      }
    }
    return { witness: summarize(samples.witness), witnessWarm: summarize(samples.witnessWarm) };
  } finally {
    await kept.close();
  }
}

/** Measure one circuit: cold processes first, then the warm prover, then the witness. */
async function benchOne(
  opts: SignedProvingOptions,
  spec: SignedCircuitSpec,
  windows: Window[],
  series: CandleSeries,
): Promise<SignedProvingBench> {
  const c = await prepareCircuit(opts, spec, series);
  const provingCold = await measureCold(opts, c, windows.slice(0, opts.coldRuns));
  const warm = await measureWarm(opts, c, windows[opts.warmRuns], windows.slice(0, opts.warmRuns));
  const witness = await measureWitness(c, windows[0], opts.warmRuns);
  opts.log.info(
    `[${c.name}] witness ${witness.witness.medianMs} ms by snarkjs, ${witness.witnessWarm.medianMs} ms kept ` +
      "(medians)",
  );
  return { quorum: spec.quorum, mode: spec.mode, ...circuitSize(c), ...witness, provingCold, ...warm };
}

/** Measure every circuit of `opts.circuits`, one after another. */
export async function benchSignedProving(opts: SignedProvingOptions): Promise<SignedProvingBench[]> {
  if (!(opts.warmRuns >= 1 && opts.coldRuns >= 1)) throw new BenchError("runs must be at least 1");
  const series = loadCandles(opts.data);
  const windows = latestWindows(series, marketIdOf(opts.market), Math.max(opts.warmRuns + 1, opts.coldRuns));
  const out: SignedProvingBench[] = [];
  try {
    for (const spec of opts.circuits) out.push(await benchOne(opts, spec, windows, series));
  } finally {
    await releaseCurves();
  }
  return out;
}
