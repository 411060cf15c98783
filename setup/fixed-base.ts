/**
 * Fixed-base multiplication on bn128 at scale: `s_i * G` for many scalars `s_i` and the generator `G` of G1 or G2, on
 * a pool of worker threads (fixed-base-worker.cjs explains the windowed-table method). This is what makes a
 * development trusted setup cheap: when the setup's secrets are known, every point of a ptau or zkey is one such
 * product, with no elliptic-curve FFT.
 *
 * Measured here (2 cores, one thread): about 37 us per G1 point and 140 us per G2 point with 12-bit windows.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { SetupError } from "../core/errors";

/** The two source groups of bn128. */
export type Group = "g1" | "g2";

/** Bytes of an affine point as .ptau/.zkey files store it (x, y little-endian Montgomery; G2 over Fq2). */
export const AFFINE_BYTES: Record<Group, number> = { g1: 64, g2: 128 };

/** Bytes of a scalar as the workers take it: 32, little-endian. */
const SCALAR_BYTES = 32;

/** Points per job that {@link FixedBaseMultiplier.multiplyMany} hands to a thread. */
export const JOB_POINTS = 8192;

/** Window width (bits) of the tables: 12 bits costs 22 additions a point, after a table of 22 * 4095 points. */
const WIDE_WINDOW = 12;
/** For small jobs a smaller table is cheaper to build: 8 bits, 32 additions a point, 32 * 255 points. */
const NARROW_WINDOW = 8;
/** Points per thread above which the wide table pays for itself (its build costs ~0.3 s in G1, ~1.2 s in G2). */
const WIDE_ABOVE = 16_384;

interface WasmCurveCode {
  code: Uint8Array;
  pointers: Record<Group, number>;
}

let curveCode: WasmCurveCode | undefined;

/** The wasm module of ffjavascript's bn128 (built once per process, ~0.2 s) and where it keeps the generators. */
function wasmCurve(): WasmCurveCode {
  if (curveCode) return curveCode;
  // Loaded here, not at the top: only a setup needs them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildBn128 } = require("wasmcurves") as { buildBn128: (builder: unknown) => void };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ModuleBuilder } = require("wasmbuilder") as {
    ModuleBuilder: new () => {
      setMemory(pages: number): void;
      build(): Uint8Array;
      modules: { bn128: { pG1gen: number; pG2gen: number } };
    };
  };
  const builder = new ModuleBuilder();
  builder.setMemory(25);
  buildBn128(builder);
  const code = builder.build();
  curveCode = { code, pointers: { g1: builder.modules.bn128.pG1gen, g2: builder.modules.bn128.pG2gen } };
  return curveCode;
}

/** Write `value` (0 <= value < 2^256) little-endian into `out` at `offset`. */
export function writeScalarLE(out: Uint8Array, offset: number, value: bigint): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, SCALAR_BYTES);
  for (let i = 0; i < SCALAR_BYTES / 8; i++)
    view.setBigUint64(8 * i, BigInt.asUintN(64, value >> BigInt(64 * i)), true);
}

/** Options of {@link FixedBaseMultiplier}. */
export interface FixedBaseOptions {
  /** Worker threads (default: the machine's available parallelism). */
  threads?: number;
  /** Expected number of G1 and G2 products, to choose the table size (default: large). */
  expected?: Partial<Record<Group, number>>;
}

/** Points from {@link FixedBaseMultiplier.multiply}. */
export interface Products {
  /** Affine points in file form (little-endian Montgomery), one after the other. */
  points: Uint8Array;
  /** The same points in snarkjs's hashing form (`toRprUncompressed`), when asked for. */
  uncompressed?: Uint8Array;
}

interface Pending {
  resolve: (products: Products) => void;
  reject: (err: Error) => void;
}

/**
 * A pool of threads that compute `s * G`. Jobs are handed to threads round-robin and answered in any order; each
 * {@link multiply} call resolves with its own points. {@link close} stops the threads.
 */
export class FixedBaseMultiplier {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(options: FixedBaseOptions = {}) {
    const threads = Math.max(1, options.threads ?? availableParallelism());
    const { code, pointers } = wasmCurve();
    const window = (g: Group) =>
      (options.expected?.[g] ?? Infinity) / threads > WIDE_ABOVE ? WIDE_WINDOW : NARROW_WINDOW;
    const windows = { g1: window("g1"), g2: window("g2") };
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(join(__dirname, "fixed-base-worker.cjs"), {
        workerData: { code, pointers, windows },
      });
      worker.on(
        "message",
        (msg: { id: number; points?: Uint8Array; uncompressed?: Uint8Array; error?: string }) => {
          const job = this.pending.get(msg.id);
          if (!job) return;
          this.pending.delete(msg.id);
          if (msg.error !== undefined) job.reject(new SetupError(`fixed-base multiplication: ${msg.error}`));
          else job.resolve({ points: msg.points!, uncompressed: msg.uncompressed });
        },
      );
      worker.on("error", (err) => this.fail(err));
      worker.on("exit", (code) => {
        if (code !== 0) this.fail(new SetupError(`fixed-base worker exited with code ${code}`));
      });
      return worker;
    });
  }

  /** Number of threads. */
  get threads(): number {
    return this.workers.length;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
  }

  /**
   * `scalars[i] * G` for the generator of `group` (a zero scalar gives the point at infinity).
   * @param scalars little-endian 32-byte scalars below the group order; the array is handed to the thread (its
   *   buffer is detached here), so it must own its whole buffer
   * @param uncompressed also return the points in snarkjs's hashing form
   */
  multiply(group: Group, scalars: Uint8Array, uncompressed = false): Promise<Products> {
    if (this.failure) return Promise.reject(this.failure);
    if (scalars.byteOffset !== 0 || scalars.byteLength !== scalars.buffer.byteLength) {
      throw new SetupError("fixed-base multiplication: the scalars must own their buffer");
    }
    const id = this.nextId++;
    const worker = this.workers[id % this.workers.length]!;
    return new Promise<Products>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, group, scalars, uncompressed }, [scalars.buffer as ArrayBuffer]);
    });
  }

  /** {@link multiply} for bigint scalars. */
  multiplyScalars(group: Group, scalars: readonly bigint[], uncompressed = false): Promise<Products> {
    const bytes = new Uint8Array(scalars.length * SCALAR_BYTES);
    scalars.forEach((s, i) => writeScalarLE(bytes, i * SCALAR_BYTES, s));
    return this.multiply(group, bytes, uncompressed);
  }

  /**
   * {@link multiplyScalars} for any number of scalars, cut into jobs of {@link JOB_POINTS} that run on every thread;
   * the products come back joined, in order.
   */
  async multiplyMany(group: Group, scalars: readonly bigint[], uncompressed = false): Promise<Products> {
    const jobs: Promise<Products>[] = [];
    for (let start = 0; start < scalars.length; start += JOB_POINTS) {
      jobs.push(this.multiplyScalars(group, scalars.slice(start, start + JOB_POINTS), uncompressed));
    }
    const parts = await Promise.all(jobs);
    const join = (pick: (p: Products) => Uint8Array) => Buffer.concat(parts.map(pick));
    return {
      points: join((p) => p.points),
      ...(uncompressed ? { uncompressed: join((p) => p.uncompressed!) } : {}),
    };
  }

  /** Stop the threads. Jobs still running are rejected. */
  async close(): Promise<void> {
    this.fail(new SetupError("fixed-base multiplier closed"));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
