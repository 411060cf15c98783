/**
 * The benchmark suite (`npm run bench`, `zkrisk bench`): for a quantised model in each weight mode, side by side,
 * the circuit's size, witness generation, Groth16 proving (in a fresh CLI process and in a loaded prover), local
 * verification, proof and calldata sizes, and the gas of `RiskOracle.submitUpdate` on the in-process Hardhat network.
 *
 * Artifacts are those of `npm run demo` (its `provingArtifacts`): compiled and set up (development ptau) once per
 * generated circuit under `.zkrisk-cache/demo/<source sha256[0:16]>-<mode>`, reused while they match their
 * manifest. Setup time is reported on its own and never enters a proving figure. Library code: progress goes to
 * the caller's log.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, platform, arch, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root";
import { AbiCoder, type Contract } from "ethers";
import { BUILD_SUBDIR, CIRCUIT_NAME } from "../circuits/compile-model";
import type { WeightMode } from "../circuits/generate-circuit";
import { ZkriskError } from "../models/errors";
import { sha256File } from "../models/io";
import { loadCandles } from "../models/load-data";
import { inferBar } from "../models/predict";
import type { CandleSeries } from "../models/types";
import { loadArtifacts, readManifest } from "../prover/artifacts";
import { circuitInput } from "../prover/circuit-input";
import { marketIdOf } from "../candles/market-id";
import { oracleDomain } from "../prover/domain";
import { inProcessChain, type Chain } from "../prover/onchain/chain";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  submitUpdate,
} from "../prover/onchain/oracle";
import { UpdateProver, type ProvedUpdate } from "../prover/prove-update";
import { readR1csHeader } from "../prover/setup/binfile";
import type { SetupLog } from "../prover/setup/log";
import { releaseCurves, snarkjs } from "../prover/setup/snarkjs";
import { provingArtifacts } from "./demo";

const ROOT = PACKAGE_ROOT;
/** The `zkrisk` executable a cold run starts. */
const ZKRISK_BIN = join(ROOT, "bin/zkrisk.cjs");
/** Seconds after a bar's close at which its update is sent (the oracle refuses data from the future). */
const SEND_DELAY_S = 60;

/** The benchmark could not run (a cold prover process failed, the chain clock cannot be placed). */
export class BenchError extends ZkriskError {
  constructor(message: string) {
    super("BENCH_FAILED", message);
  }
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Quantised model file. */
  model: string;
  /** Candles CSV the proven bars come from. */
  data: string;
  /** Market label (e.g. BTC-USDT). */
  market: string;
  /** Weight modes, in the order they are measured and shown. */
  modes: WeightMode[];
  /** Proofs timed in one loaded prover; also the runs of witness generation and verification (>= 1). */
  warmRuns: number;
  /** Fresh `zkrisk prove` processes timed (>= 1). */
  coldRuns: number;
  /** Progress lines (info) and setup warnings. */
  log: SetupLog;
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

/** One hidden neuron's rescale and ReLU (a `RescaleRelu(N, S)` instance of the generated circuit). */
export interface RescaleReluCost {
  layer: number;
  neuron: number;
  /** Accumulator width N, bits. */
  bits: number;
  /** Shift S (floor division by 2^S). */
  shift: number;
  /** N + 1 constraints at --O2. */
  constraints: number;
}

/** How the artifacts of a mode were obtained. */
export interface ArtifactsInfo {
  dir: string;
  /** Reused from the cache (no setup in this run). */
  reused: boolean;
  devPtau: boolean;
  ptauPower: number;
  r1csBytes: number;
  wasmBytes: number;
  zkeyBytes: number;
  /**
   * Present when this run compiled and set up the circuit (never part of a proving figure): wall clock of
   * compile and setup, and how the keys were made.
   */
  setup?: { totalMs: number; method: "ceremony" | "direct" };
}

/** Figures of one weight mode. */
export interface ModeBench {
  artifacts: ArtifactsInfo;
  circuit: {
    constraints: number;
    /** Wires, including the constant one. */
    wires: number;
    publicSignals: number;
    privateInputs: number;
    rescaleRelu: {
      neurons: RescaleReluCost[];
      /** Constraints of each hidden neuron, in layer then neuron order. */
      perNeuron: number[];
      total: number;
      /** total / constraints. */
      share: number;
    };
  };
  /** `snarkjs.wtns.calculate` of the latest bar's input (wasm instantiation included, as in fullProve). */
  witness: Timing & { bytes: number };
  provingCold: {
    /** Wall clock of the whole `zkrisk prove` process. */
    wall: Timing;
    /** Its proving part: `provingMs` of the proof file (witness + Groth16 proof). */
    proving: Timing;
    bars: string[];
  };
  provingWarm: {
    /** `provingMs` of each proof (witness + Groth16 proof) in one loaded UpdateProver. */
    proving: Timing;
    /** The whole `proveBar` call: features, integer engine, proof, local verification, cross-check. */
    call: Timing;
    /** provingMs of the untimed warm-up proof (the first in the process: builds the curve). */
    firstProofMs: number;
    bars: string[];
  };
  /** `snarkjs.groth16.verify` with the verification key in memory. */
  verify: Timing;
  proofSize: {
    /** Compact JSON of the snarkjs proof object. */
    proofJsonBytes: number;
    /** Compact JSON of the public signals. */
    publicSignalsJsonBytes: number;
    /** ABI encoding of (a, b, c): 8 words. */
    proofCalldataBytes: number;
    /** ABI encoding of the public signals: one word each. */
    publicSignalsCalldataBytes: number;
    /** ABI encoding of verifyProof's arguments (a, b, c, input), selector excluded. */
    calldataBytes: number;
  };
}

/** Gas of accepted updates of one mode's verifier and oracle. */
export interface SubmitGas {
  /** A market's first update (no previous parameters). */
  firstUpdate: number;
  /** A later update (rate-of-change and interval guards run too). */
  laterUpdate: number;
  /** Bars proven for the two updates. */
  bars: [string, string];
  /** Bytes of the submitUpdate transaction's data (selector included), first update. */
  submitCalldataBytes: number;
  /** eth_estimateGas of a direct verifyProof call (21,000 intrinsic and calldata included). */
  verifyProofEstimate: number;
}

/** What {@link runBench} measured. */
export interface BenchReport {
  machine: {
    cores: number;
    cpu: string;
    node: string;
    totalMemoryBytes: number;
    platform: string;
    snarkjs: string;
  };
  /** When the run started (ISO-8601 UTC). */
  date: string;
  model: { file: string; sha256: string };
  market: string;
  runs: { warm: number; cold: number };
  modes: Partial<Record<WeightMode, ModeBench>>;
  gas: { network: string; chainId: string; byMode: Partial<Record<WeightMode, SubmitGas>> };
  /** How each figure was taken. */
  method: Record<string, string>;
  /** Wall clock of the whole run, setup included. */
  totalMs: number;
}

/** How each figure is taken (copied into every report). */
export const BENCH_METHOD: Record<string, string> = {
  artifacts:
    "the demo's cache (scripts/demo.ts provingArtifacts): .zkrisk-cache/demo/<sha256[0:16] of the generated " +
    "circuit source>-<mode>, checked against its manifest; compiled " +
    "(circom 2.2 --O2) and set up (INSECURE cached development ptau, one contribution and a beacon) when absent " +
    "or stale. Setup time is reported under artifacts.setup and never counted in a proving figure",
  constraints:
    "constraints, wires, public signals and private inputs from the r1cs header (equal to artifacts.json)",
  rescaleRelu:
    "every RescaleRelu(N, S) instance of the generated source DIR/build/zkrisk.circom; N + 1 constraints each " +
    "at --O2 (circuits/lib/fixed-point.circom: N bits, one product sign * quotient; the sum folds)",
  witness:
    "snarkjs.wtns.calculate of the latest bar's circuit input, wasm and output in memory (wasm instantiation " +
    "included, as in groth16.fullProve); one untimed warm-up, then median of --runs",
  provingCold:
    "a fresh `node bin/zkrisk.cjs prove --at BAR` child process per run, one bar each, run one after another: " +
    "wall = spawn to exit (tsx start-up, artifact hashing, candles, features, proof, local verification, " +
    "curve release); proving = provingMs in the proof file (witness + Groth16 proof, building the bn128 " +
    "curve and its worker threads included, as in any first proof of a process). Median of --cold-runs",
  provingWarm:
    "one UpdateProver.open, an untimed warm-up proof (firstProofMs: builds the curve), then one proof per " +
    "bar of the latest --runs bars: proving = each proof's provingMs (witness + Groth16 proof), call = the whole proveBar call " +
    "(features, integer engine, proof, local verification, cross-check); median and nearest-rank p90",
  verify: "snarkjs.groth16.verify of the warm proofs with the verification key in memory; median of --runs",
  proofSize:
    "bytes of the compact JSON of the proof object and of the public signals; calldata = ABI encoding " +
    "(ethers AbiCoder) of the actual verifyProof arguments (uint256[2], uint256[2][2], uint256[2], uint256[7])",
  gas:
    "receipts of submitUpdate on the in-process Hardhat network (hardhat.config.ts, initialDate 2024-06-01): a " +
    "fresh verifier and RiskOracle per mode, market registered with DEFAULT_LIMITS (min interval 1 h), two " +
    "updates of two consecutive bars of the end of the data (earlier modes on earlier bars), each sent 60 s " +
    "after its bar's close (an empty block 1 s before, then evm_setNextBlockTimestamp); " +
    "first = the market's first update, later = the next one",
  statistics: "median: middle value (mean of the two middle for an even count); p90: nearest rank",
};

/**
 * Artifacts for the model, through the demo's own `provingArtifacts`: the same cache directory (keyed by the
 * generated circuit's source and the mode), reused when it matches its manifest, else compiled and set up.
 */
async function benchArtifacts(
  modelPath: string,
  mode: WeightMode,
  log: SetupLog,
): Promise<{ dir: string; setup?: ArtifactsInfo["setup"] }> {
  const artifacts = await provingArtifacts({ model: modelPath, mode, log });
  if (artifacts.reused) return { dir: artifacts.dir };
  await releaseCurves();
  log.info(`[${mode}] artifacts built in ${(artifacts.ms / 1000).toFixed(1)} s (not counted as proving)`);
  return {
    dir: artifacts.dir,
    setup: {
      totalMs: round(artifacts.ms),
      method: readManifest(artifacts.dir).setup.method,
    },
  };
}

function round(ms: number): number {
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
    medianMs: round(median),
    p90Ms: round(p90),
    minMs: round(s[0]),
    maxMs: round(s[s.length - 1]),
    samplesMs: samples.map(round),
  };
}

/** Indices of the latest `count` bars that have features, newest first. */
function recentBars(model: UpdateProver["model"], series: CandleSeries, count: number): number[] {
  const out: number[] = [];
  for (let i = series.candles.length - 1; i >= 0 && out.length < count; i--) {
    try {
      inferBar(model, series, i);
      out.push(i);
    } catch {
      // No features at this bar (a gap in its windows): take the one before.
    }
  }
  if (out.length < count) {
    throw new BenchError(`${series.source}: only ${out.length} bars have features, ${count} are needed`);
  }
  return out;
}

/** `2024-06-30 22:00` for a bar open time (ms), as `zkrisk prove --at` takes it. */
function atOption(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** The verifier's ABI encoding of (a, b, c) and of the public signals. */
function calldataSizes(update: ProvedUpdate): ModeBench["proofSize"] {
  const c = update.calldata;
  const coder = AbiCoder.defaultAbiCoder();
  const points = coder.encode(["uint256[2]", "uint256[2][2]", "uint256[2]"], [c.a, c.b, c.c]);
  const inputs = coder.encode([`uint256[${c.input.length}]`], [c.input]);
  const all = coder.encode(
    ["uint256[2]", "uint256[2][2]", "uint256[2]", `uint256[${c.input.length}]`],
    [c.a, c.b, c.c, c.input],
  );
  const bytes = (hex: string) => (hex.length - 2) / 2;
  return {
    proofJsonBytes: Buffer.byteLength(JSON.stringify(update.proof)),
    publicSignalsJsonBytes: Buffer.byteLength(JSON.stringify(update.publicSignals)),
    proofCalldataBytes: bytes(points),
    publicSignalsCalldataBytes: bytes(inputs),
    calldataBytes: bytes(all),
  };
}

/** The RescaleRelu instances of a generated circuit source. */
export function rescaleReluCosts(source: string): RescaleReluCost[] {
  const re = /^\s*layer(\d+)\[(\d+)\]\s*=\s*RescaleRelu\((\d+),\s*(\d+)\);/gm;
  return [...source.matchAll(re)].map((m) => ({
    layer: Number(m[1]),
    neuron: Number(m[2]),
    bits: Number(m[3]),
    shift: Number(m[4]),
    constraints: Number(m[3]) + 1,
  }));
}

interface WtnsApi {
  wtns: {
    calculate(
      input: unknown,
      wasm: { type: "mem"; data: Uint8Array },
      out: { type: "mem"; data?: Uint8Array },
    ): Promise<void>;
  };
}

/** One `zkrisk prove` process: its wall clock and the proof file's provingMs. */
function coldProve(
  opts: BenchOptions,
  dir: string,
  at: string,
  out: string,
): Promise<{ wallMs: number; provingMs: number }> {
  const args = [ZKRISK_BIN, "prove", "--artifacts", dir, "--model", opts.model, "--data", opts.data];
  args.push("--market", opts.market, "--at", at, "--out", out, "--json");
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.resume();
    child.on("error", (err) => fail(new BenchError(`cannot start ${ZKRISK_BIN}: ${err.message}`)));
    child.on("close", (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) {
        fail(new BenchError(`zkrisk prove --at '${at}' exited with ${code}: ${stderr.trim()}`));
        return;
      }
      const proof = JSON.parse(readFileSync(out, "utf8")) as ProvedUpdate;
      done({ wallMs, provingMs: proof.provingMs });
    });
  });
}

/**
 * Move the chain's clock to `SEND_DELAY_S` after the close of the bar opened at `openMs`: an empty block one
 * second before (so submitUpdate's preliminary static call already runs after the bar), the update's at it.
 */
async function sendAfterClose(chain: Chain, openMs: number, intervalMs: number): Promise<void> {
  const target = (openMs + intervalMs) / 1000 + SEND_DELAY_S;
  const now = await chain.now();
  const rpc = chain.provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> };
  if (now >= target - 1 || typeof rpc.send !== "function") {
    throw new BenchError(
      `cannot place the chain clock (now ${now}) just after the close of bar ${atOption(openMs)} (${target})`,
    );
  }
  await rpc.send("evm_mine", [target - 1]);
  if (!(await chain.setNextBlockTime(target))) {
    throw new BenchError(`the chain refused evm_setNextBlockTimestamp(${target})`);
  }
}

/** Deploy a verifier and an oracle for this mode, register the market, submit two updates; their gas. */
async function measureGas(
  chain: Chain,
  prover: UpdateProver,
  opts: BenchOptions,
  series: CandleSeries,
  dir: string,
  bars: [number, number],
): Promise<SubmitGas> {
  const me = await chain.signer.getAddress();
  const marketId = marketIdOf(opts.market);
  const verifier = await deployVerifier(chain.signer, dir);
  const oracle: Contract = await deployOracle(chain.signer, me);
  const oracleAddress = await oracle.getAddress();
  await registerMarket(oracle, marketId, {
    verifier: await verifier.getAddress(),
    modelCommitment: prover.modelCommitment,
    guardian: me,
    limits: DEFAULT_LIMITS,
  });
  const domain = oracleDomain(chain.chainId, oracleAddress);
  const updates: ProvedUpdate[] = [];
  for (const index of bars) {
    updates.push(await prover.proveBar(series, { market: opts.market, marketId, domain, index }));
  }
  const gas: number[] = [];
  let submitCalldataBytes = 0;
  for (const [k, update] of updates.entries()) {
    await sendAfterClose(chain, series.candles[bars[k]].time, series.intervalMs);
    const receipt = await submitUpdate(oracle, update);
    gas.push(Number(receipt.gasUsed));
    if (k === 0) {
      const tx = await chain.provider.getTransaction(receipt.hash);
      submitCalldataBytes = tx ? (tx.data.length - 2) / 2 : 0;
    }
  }
  const c = updates[0].calldata;
  const verifyProofEstimate = Number(await verifier.verifyProof.estimateGas(c.a, c.b, c.c, c.input));
  return {
    firstUpdate: gas[0],
    laterUpdate: gas[1],
    bars: [updates[0].bar, updates[1].bar],
    submitCalldataBytes,
    verifyProofEstimate,
  };
}

/** The machine a benchmark ran on (cores, CPU, Node, memory, platform, snarkjs version). */
export function machine(): BenchReport["machine"] {
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

/** Measure one weight mode (artifacts set up first if needed); `gasBars` are the two bars of the gas run. */
async function benchMode(
  opts: BenchOptions,
  mode: WeightMode,
  series: CandleSeries,
  chain: () => Promise<Chain>,
  gasBars: (prover: UpdateProver) => [number, number],
): Promise<{ bench: ModeBench; gas: SubmitGas }> {
  const { log } = opts;
  const { dir, setup } = await benchArtifacts(opts.model, mode, log);
  const loaded = loadArtifacts(dir, { modelPath: opts.model });
  const header = readR1csHeader(loaded.paths.r1cs);
  const sourcePath = join(dir, BUILD_SUBDIR, `${CIRCUIT_NAME}.circom`);
  if (!existsSync(sourcePath)) throw new BenchError(`${sourcePath}: the generated circuit source is missing`);
  const neurons = rescaleReluCosts(readFileSync(sourcePath, "utf8"));
  const reluTotal = neurons.reduce((n, x) => n + x.constraints, 0);
  const files = loaded.manifest.files;

  const prover = await UpdateProver.open(dir, { modelPath: opts.model });
  const tmp = mkdtempSync(join(tmpdir(), "zkrisk-bench-"));
  try {
    const bars = recentBars(prover.model, series, Math.max(opts.warmRuns, opts.coldRuns) + 1);
    const barLabel = (i: number) => new Date(series.candles[i].time).toISOString();
    const ctx = { market: opts.market, marketId: marketIdOf(opts.market), domain: 0n };

    // Cold: fresh processes first, while this process holds no curve workers busy.
    await releaseCurves();
    const coldWall: number[] = [];
    const coldProving: number[] = [];
    const coldBars = bars.slice(0, opts.coldRuns);
    for (const [k, index] of coldBars.entries()) {
      const r = await coldProve(opts, dir, atOption(series.candles[index].time), join(tmp, `cold-${k}.json`));
      coldWall.push(r.wallMs);
      coldProving.push(r.provingMs);
      log.info(
        `[${mode}] cold prove ${k + 1}/${coldBars.length}: process ${(r.wallMs / 1000).toFixed(2)} s, ` +
          `proving ${(r.provingMs / 1000).toFixed(2)} s`,
      );
    }

    // Warm: one loaded prover, a warm-up proof, then one proof per bar.
    const warmBars = bars.slice(0, opts.warmRuns);
    const firstProof = await prover.proveBar(series, { ...ctx, index: bars[opts.warmRuns] });
    const proofs: ProvedUpdate[] = [];
    const calls: number[] = [];
    for (const [k, index] of warmBars.entries()) {
      const t0 = performance.now();
      proofs.push(await prover.proveBar(series, { ...ctx, index }));
      calls.push(performance.now() - t0);
      log.info(`[${mode}] warm prove ${k + 1}/${warmBars.length}: ${proofs[k].provingMs.toFixed(0)} ms`);
    }

    // Witness generation, as fullProve runs it.
    const latest = inferBar(prover.model, series, bars[0]);
    const input = circuitInput(prover.model, mode, latest.featuresInt, {
      marketId: ctx.marketId,
      dataTimestamp: BigInt(latest.time / 1000),
      domain: 0n,
    });
    const wasm = readFileSync(loaded.paths.wasm);
    const { wtns } = snarkjs as unknown as WtnsApi;
    const witnessOnce = async (): Promise<{ ms: number; bytes: number }> => {
      const out: { type: "mem"; data?: Uint8Array } = { type: "mem" };
      const t0 = performance.now();
      await wtns.calculate(input, { type: "mem", data: wasm }, out);
      return { ms: performance.now() - t0, bytes: out.data?.length ?? 0 };
    };
    await witnessOnce();
    const witness: number[] = [];
    let witnessBytes = 0;
    for (let k = 0; k < opts.warmRuns; k++) {
      const w = await witnessOnce();
      witness.push(w.ms);
      witnessBytes = w.bytes;
    }

    // Local verification of the warm proofs.
    const verify: number[] = [];
    for (let k = 0; k < opts.warmRuns; k++) {
      const p = proofs[k % proofs.length];
      const t0 = performance.now();
      const ok = await prover.verify(p.proof, p.publicSignals);
      verify.push(performance.now() - t0);
      if (!ok) throw new BenchError(`the proof of bar ${p.bar} does not verify`);
    }
    log.info(
      `[${mode}] witness ${summarize(witness).medianMs} ms, verify ${summarize(verify).medianMs} ms (medians)`,
    );

    log.info(`[${mode}] gas: deploying a verifier and an oracle on the in-process Hardhat network`);
    const gas = await measureGas(await chain(), prover, opts, series, dir, gasBars(prover));
    log.info(`[${mode}] gas of submitUpdate: first ${gas.firstUpdate}, later ${gas.laterUpdate}`);

    return {
      gas,
      bench: {
        artifacts: {
          dir,
          reused: setup === undefined,
          devPtau: loaded.manifest.ptau.dev,
          ptauPower: loaded.manifest.ptau.power,
          r1csBytes: files.r1cs.bytes,
          wasmBytes: files.wasm.bytes,
          zkeyBytes: files.zkey.bytes,
          ...(setup ? { setup } : {}),
        },
        circuit: {
          constraints: header.constraints,
          wires: header.wires,
          publicSignals: header.outputs + header.publicInputs,
          privateInputs: header.privateInputs,
          rescaleRelu: {
            neurons,
            perNeuron: neurons.map((n) => n.constraints),
            total: reluTotal,
            share: Math.round((reluTotal / header.constraints) * 10000) / 10000,
          },
        },
        witness: { ...summarize(witness), bytes: witnessBytes },
        provingCold: {
          wall: summarize(coldWall),
          proving: summarize(coldProving),
          bars: coldBars.map(barLabel),
        },
        provingWarm: {
          proving: summarize(proofs.map((p) => p.provingMs)),
          call: summarize(calls),
          firstProofMs: round(firstProof.provingMs),
          bars: warmBars.map(barLabel),
        },
        verify: summarize(verify),
        proofSize: calldataSizes(proofs[0]),
      },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await prover.close();
  }
}

/** Run the benchmark for every mode of `opts.modes`, one after another, and return the report. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  if (opts.modes.length === 0) throw new BenchError("no weight mode to measure");
  if (!(opts.warmRuns >= 1 && opts.coldRuns >= 1)) throw new BenchError("runs must be at least 1");
  const t0 = performance.now();
  const date = new Date().toISOString();
  const series = loadCandles(opts.data);
  let chain: Chain | undefined;
  const openChain = async (): Promise<Chain> => (chain ??= await inProcessChain());
  const report: BenchReport = {
    machine: machine(),
    date,
    model: { file: resolve(opts.model), sha256: sha256File(opts.model) },
    market: opts.market,
    runs: { warm: opts.warmRuns, cold: opts.coldRuns },
    modes: {},
    gas: { network: "in-process Hardhat network", chainId: "", byMode: {} },
    method: BENCH_METHOD,
    totalMs: 0,
  };
  try {
    for (const [k, mode] of opts.modes.entries()) {
      // Gas bars: two per mode from the end of the data, earlier modes on earlier bars, so the chain's clock
      // only moves forward.
      const gasBars = (prover: UpdateProver): [number, number] => {
        const recent = recentBars(prover.model, series, 2 * opts.modes.length).reverse();
        return [recent[2 * k], recent[2 * k + 1]];
      };
      const { bench, gas } = await benchMode(opts, mode, series, openChain, gasBars);
      report.modes[mode] = bench;
      report.gas.byMode[mode] = gas;
    }
    if (chain) report.gas.chainId = chain.chainId.toString();
  } finally {
    await chain?.close();
    await releaseCurves();
  }
  report.totalMs = round(performance.now() - t0);
  return report;
}
