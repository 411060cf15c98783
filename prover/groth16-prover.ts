/**
 * A Groth16 prover that keeps one circuit loaded between proofs: circom's witness calculator (the circuit's wasm,
 * compiled and instantiated once), the proving key split into its sections once, and ffjavascript's bn128 curve.
 *
 * The proof is snarkjs 0.7's `groth16.prove`, step for step with the same ffjavascript calls and the same zkey
 * and wtns layouts, with two differences that change its time, not its bytes:
 *
 * - the QAP evaluation (A·w and B·w on the domain, and their product) is one call of `qap_buildABC`, which the
 *   curve's own wasm (wasmcurves) exports, instead of snarkjs's JavaScript loop over every coefficient: the same
 *   `frm_mul` and `frm_add` on the same bytes, 70 to 110 ms instead of 1.2 to 1.3 s for the 317,522 coefficients
 *   of the signed-update circuit (measured, docs/benchmarks.md, "Proving levers");
 * - the four multi-exponentiations of the witness (A, B1, B2, C) do not wait for the QAP and its six FFTs, so
 *   the curve's workers always have work queued; the H multi-exponentiation follows the FFTs, as it must.
 * - when the native addon is built (prover/native-msm.ts, `Groth16ProverOptions.msm`), the five
 *   multi-exponentiations and the six FFTs with the join run in C on libuv's thread pool instead of
 *   ffjavascript's wasm: the zkey's bases are copied into the addon once, when the prover opens; per proof only
 *   the scalars (the witness, 32-byte little-endian standard form), A, B, C on the domain (Montgomery form,
 *   from `qap_buildABC`) go in, and H's scalars and five Jacobian points in ffjavascript's layout come back.
 *
 * Nothing here is a cryptographic choice: the proof is the same function of the witness, the key and the two
 * random scalars r and s as snarkjs's, and `proveChecked` verifies every proof before it is used.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { ZkriskError } from "../core/errors";
import { nativeMsm, type NativeBases, type NativeMsm } from "./native-msm";
import type { Groth16Proof } from "../setup/snarkjs";

/** A point, field element or buffer of ffjavascript (opaque bytes in its wasm's layout). */
type Bytes = Uint8Array;

interface Group {
  zero: Bytes;
  F: { n8: number };
  fromRprLEM(buff: Bytes, offset: number): Bytes;
  add(a: Bytes, b: Bytes): Bytes;
  timesFr(a: Bytes, s: Bytes): Bytes;
  toAffine(a: Bytes): Bytes;
  toObject(a: Bytes): bigint[] | bigint[][];
  multiExpAffine(bases: Bytes, scalars: Bytes, logger?: unknown, name?: string): Promise<Bytes>;
}

interface ScalarField {
  n8: number;
  s: number;
  shift: Bytes;
  w: Bytes[];
  e(x: number): Bytes;
  random(): Bytes;
  mul(a: Bytes, b: Bytes): Bytes;
  neg(a: Bytes): Bytes;
  fft(buff: Bytes, inType: string, outType: string): Promise<Bytes>;
  ifft(buff: Bytes, inType: string, outType: string): Promise<Bytes>;
  batchApplyKey(buff: Bytes, first: Bytes, inc: Bytes): Promise<Bytes>;
}

/** One command of ffjavascript's thread manager (the wasm calls a worker runs in order). */
type Task =
  | { cmd: "ALLOCSET"; var: number; buff: Bytes }
  | { cmd: "ALLOC"; var: number; len: number }
  | { cmd: "CALL"; fnName: string; params: ({ var: number } | { val: number })[] }
  | { cmd: "GET"; out: number; var: number; len: number };

/** The bn128 curve of ffjavascript, as far as the prover calls it. */
interface Bn128 {
  name: string;
  r: bigint;
  q: bigint;
  Fr: ScalarField;
  G1: Group;
  G2: Group;
  tm: { concurrency: number; queueAction(task: Task[]): Promise<Bytes[]> };
  terminate(): Promise<void>;
}

interface WitnessCalculator {
  calculateWTNSBin(input: unknown, sanityCheck?: boolean): Promise<Uint8Array>;
}

const requireHere = createRequire(__filename);
const ffjavascript = requireHere("ffjavascript") as {
  buildBn128(singleThread?: boolean): Promise<Bn128>;
  Scalar: { fromRprLE(buff: Bytes, offset?: number, n8?: number): bigint };
  utils: {
    unstringifyBigInts(x: unknown): unknown;
    stringifyBigInts(x: unknown): unknown;
  };
};
// circom's witness runtime, as snarkjs (which depends on it) loads it.
const { WitnessCalculatorBuilder } = createRequire(requireHere.resolve("snarkjs"))("circom_runtime") as {
  WitnessCalculatorBuilder(code: Uint8Array): Promise<WitnessCalculator>;
};

/** The proving key or the witness is not what the prover expects (a bug or a mismatched artifact). */
export class Groth16ProverError extends ZkriskError {
  constructor(message: string) {
    super("PROOF_FAILED", message);
  }
}

/** The sections of a snarkjs binary file (`zkey`, `wtns`): 4-byte magic, u32 version, u32 count, sections. */
function readSections(bytes: Uint8Array, magic: string): Map<number, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== magic) {
    throw new Groth16ProverError(`not a ${magic} file`);
  }
  const out = new Map<number, Uint8Array>();
  let pos = 12;
  for (let i = view.getUint32(8, true); i > 0; i--) {
    const type = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    if (out.has(type)) throw new Groth16ProverError(`${magic} file: section ${type} twice`);
    out.set(type, bytes.subarray(pos + 12, pos + 12 + size));
    pos += 12 + size;
  }
  return out;
}

function section(sections: Map<number, Uint8Array>, type: number, what: string): Uint8Array {
  const s = sections.get(type);
  if (!s) throw new Groth16ProverError(`zkey file: no section ${type} (${what})`);
  return s;
}

const u32 = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/** Little-endian bytes as an unsigned integer. */
function leInteger(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/**
 * A copy of `b` in an ArrayBuffer of its own. A view (a Node Buffer's `slice` or `subarray`, a section of a
 * file) would be posted to the curve's worker threads with its whole underlying buffer: the 22 MiB zkey once per
 * task, about 120 tasks per proof.
 */
const own = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** The parts of a Groth16 zkey (snarkjs layout) one proof reads, each copied out of the file once. */
interface ProvingKey {
  nVars: number;
  nPublic: number;
  domainSize: number;
  power: number;
  alpha1: Bytes;
  beta1: Bytes;
  beta2: Bytes;
  delta1: Bytes;
  delta2: Bytes;
  /** Section 4 without its count: (matrix u32, constraint u32, signal u32, coefficient) entries. */
  coefs: Bytes;
  nCoefs: number;
  pointsA: Bytes;
  pointsB1: Bytes;
  pointsB2: Bytes;
  pointsC: Bytes;
  pointsH: Bytes;
}

function readProvingKey(zkey: Uint8Array, curve: Bn128): ProvingKey {
  const s = readSections(zkey, "zkey");
  if (u32(section(s, 1, "protocol"), 0) !== 1) throw new Groth16ProverError("zkey file is not Groth16");
  const h = section(s, 2, "Groth16 header");
  const n8q = u32(h, 0);
  const q = leInteger(h.subarray(4, 4 + n8q));
  const n8r = u32(h, 4 + n8q);
  const r = leInteger(h.subarray(8 + n8q, 8 + n8q + n8r));
  if (q !== curve.q || r !== curve.r) throw new Groth16ProverError("zkey file is not over bn128");
  let at = 8 + n8q + n8r;
  const nVars = u32(h, at);
  const nPublic = u32(h, at + 4);
  const domainSize = u32(h, at + 8);
  at += 12;
  const g1 = () => {
    const p = curve.G1.fromRprLEM(h, at);
    at += 2 * n8q;
    return p;
  };
  const g2 = () => {
    const p = curve.G2.fromRprLEM(h, at);
    at += 4 * n8q;
    return p;
  };
  const alpha1 = g1();
  const beta1 = g1();
  const beta2 = g2();
  g2(); // gamma2: only the verifier reads it
  const delta1 = g1();
  const delta2 = g2();
  const coefSection = section(s, 4, "coefficients");
  const power = Math.log2(domainSize);
  if (!Number.isInteger(power)) throw new Groth16ProverError(`zkey domain ${domainSize} is not a power of 2`);
  return {
    nVars,
    nPublic,
    domainSize,
    power,
    alpha1,
    beta1,
    beta2,
    delta1,
    delta2,
    coefs: own(coefSection.subarray(4)),
    nCoefs: u32(coefSection, 0),
    pointsA: own(section(s, 5, "A points")),
    pointsB1: own(section(s, 6, "B1 points")),
    pointsB2: own(section(s, 7, "B2 points")),
    pointsC: own(section(s, 8, "C points")),
    pointsH: own(section(s, 9, "H points")),
  };
}

/** Options of {@link Groth16Prover.open}. */
export interface Groth16ProverOptions {
  /**
   * Build a curve of its own that runs in this thread (ffjavascript's `singleThread`) instead of sharing
   * snarkjs's curve with one worker thread per core. Default false: the workers split the multi-exponentiations
   * over the cores for about the same CPU time; only under heavy load from other processes did one thread do
   * better (docs/benchmarks.md, "Proving levers").
   */
  singleThread?: boolean;
  /**
   * Whose multi-exponentiations (and the FFTs of H's scalars): `native` = the C addon
   * (prover/native-msm.ts; an error when it is not built), `wasm` = ffjavascript's, `auto` (default) = native
   * when the addon loaded, else wasm. The proof is the same function of the witness and r, s either way.
   */
  msm?: "native" | "wasm" | "auto";
  /**
   * The file the wasm was read from (in its artifact directory), named when the circuit refuses the input's
   * shape (see {@link Groth16Prover.witness}); default "the circuit's wasm".
   */
  wasmFile?: string;
}

/**
 * circom's witness calculator (circom_runtime) refusing an input by its shape, not its values: a signal the circuit
 * does not have, an array of another length, a signal missing.
 */
const INPUT_SHAPE_ERROR =
  /Too many values for input signal|Not enough values for input signal|Not all inputs have been set|Signal \S+ not found|is not an input of the circuit/;

/**
 * The error for an input the circuit does not take, by its shape: the circuit was compiled for another input
 * layout (by an older zkrisk, whose windows had fewer private inputs, or for another weight mode or quorum).
 * Code ARTIFACTS_INVALID (exit code 2), naming the wasm and circom's own words.
 */
export function inputLayoutError(wasmFile: string | undefined, circomMessage: string): ZkriskError {
  return new ZkriskError(
    "ARTIFACTS_INVALID",
    `${wasmFile ?? "the circuit's wasm"}: the circuit does not take this input (${circomMessage.trim()}): it ` +
      "was compiled for another input layout (e.g. by an older zkrisk); recompile its artifact directory with " +
      "`zkrisk compile` and set it up again with `zkrisk setup`",
  );
}

/** The five multi-exponentiations' bases in the native addon's memory, converted once when the prover opens. */
interface NativeKey {
  addon: NativeMsm;
  a: NativeBases;
  b1: NativeBases;
  b2: NativeBases;
  c: NativeBases;
  h: NativeBases;
  /** Threads of each multi-exponentiation (the four of the witness run at once, then H alone). */
  threads: number;
}

/** The native addon's copy of the key's bases, when `options.msm` asks for it (or allows it and it loaded). */
function nativeKey(key: ProvingKey, options: Groth16ProverOptions): NativeKey | undefined {
  const choice = options.msm ?? "auto";
  if (choice !== "native" && choice !== "wasm" && choice !== "auto") {
    throw new Groth16ProverError(`msm must be native, wasm or auto, not ${String(choice)}`);
  }
  if (choice === "wasm") return undefined;
  const status = nativeMsm();
  if (!status.loaded) {
    if (choice === "native") throw new Groth16ProverError(`msm: native: ${status.reason}`);
    return undefined;
  }
  const { addon } = status;
  return {
    addon,
    a: addon.prepareG1(key.pointsA),
    b1: addon.prepareG1(key.pointsB1),
    b2: addon.prepareG2(key.pointsB2),
    c: addon.prepareG1(key.pointsC),
    h: addon.prepareG1(key.pointsH),
    threads: Math.max(1, Math.min(availableParallelism(), 8)),
  };
}

/** A proof, its public signals as decimal strings (snarkjs's shapes), and where its time went (ms). */
export interface Groth16Result {
  proof: Groth16Proof;
  publicSignals: string[];
  /** Witness generation. */
  witnessMs: number;
  /** From the witness to the proof. */
  proofMs: number;
}

/** A loaded circuit: prove inputs of it, many times. */
export class Groth16Prover {
  private constructor(
    private readonly curve: Bn128,
    private readonly ownCurve: boolean,
    private readonly key: ProvingKey,
    private readonly calculator: WitnessCalculator,
    private readonly native: NativeKey | undefined,
    /** Where the wasm was read from, for errors ({@link Groth16ProverOptions.wasmFile}). */
    private readonly wasmFile: string | undefined,
  ) {}

  /** Whose multi-exponentiations this prover runs (see {@link Groth16ProverOptions.msm}). */
  get msm(): "native" | "wasm" {
    return this.native ? "native" : "wasm";
  }

  /**
   * Build the curve (or take snarkjs's, already built), parse the proving key and instantiate the witness
   * calculator: about 0.5 s for the signed-update circuit.
   * @param wasm circom's witness generator of the circuit
   * @param zkey its Groth16 proving key (snarkjs layout)
   */
  static async open(
    wasm: Uint8Array,
    zkey: Uint8Array,
    options: Groth16ProverOptions = {},
  ): Promise<Groth16Prover> {
    const single = options.singleThread === true;
    const curve = await ffjavascript.buildBn128(single);
    const key = readProvingKey(zkey, curve);
    return new Groth16Prover(
      curve,
      single,
      key,
      await WitnessCalculatorBuilder(wasm),
      nativeKey(key, options),
      options.wasmFile,
    );
  }

  /**
   * The witness of `input` (signals by name, as circom's generator takes them): nVars elements, 32 bytes LE.
   * An input the circuit does not take by its shape (a signal it does not have, an array of another length, a
   * signal missing: the circuit was compiled for another input layout) is an ARTIFACTS_INVALID ZkriskError naming
   * the wasm ({@link inputLayoutError}); a constraint that fails on the input's values is circom's error as is.
   */
  async witness(input: Record<string, unknown>): Promise<Uint8Array> {
    let bin: Uint8Array;
    try {
      bin = await this.calculator.calculateWTNSBin(ffjavascript.utils.unstringifyBigInts(input));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (INPUT_SHAPE_ERROR.test(message)) throw inputLayoutError(this.wasmFile, message);
      throw err;
    }
    const wtns = readSections(bin, "wtns");
    const header = section(wtns, 1, "witness header");
    const n8 = u32(header, 0);
    const nWitness = u32(header, 4 + n8);
    if (n8 !== this.curve.Fr.n8 || leInteger(header.subarray(4, 4 + n8)) !== this.curve.r) {
      throw new Groth16ProverError("the witness is not over the scalar field of bn128");
    }
    if (nWitness !== this.key.nVars) {
      throw new Groth16ProverError(`witness of ${nWitness} signals, the proving key has ${this.key.nVars}`);
    }
    return own(section(wtns, 2, "witness"));
  }

  /** Witness and Groth16 proof of `input`. */
  async prove(input: Record<string, unknown>): Promise<Groth16Result> {
    const t0 = performance.now();
    const witness = await this.witness(input);
    const t1 = performance.now();
    const proved = await this.proveWitness(witness);
    return { ...proved, witnessMs: t1 - t0, proofMs: performance.now() - t1 };
  }

  /** The Groth16 proof of a witness (snarkjs's groth16Prove, see the file header for what differs). */
  async proveWitness(input: Uint8Array): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
    const { curve, key } = this;
    if (input.byteLength !== key.nVars * curve.Fr.n8) {
      throw new Groth16ProverError(
        `witness of ${input.byteLength} bytes, the proving key needs ${key.nVars} signals of ${curve.Fr.n8}`,
      );
    }
    const witness = own(input);
    const { Fr, G1, G2 } = curve;
    const n8 = Fr.n8;
    // The QAP is queued first, the witness's multi-exponentiations beside it; H follows the QAP's FFTs.
    const witnessC = witness.slice((key.nPublic + 1) * n8);
    const native = this.native;
    let msmA, msmB1, msmB2, msmC, msmH: Promise<Bytes>;
    if (native) {
      const { addon, threads } = native;
      msmH = this.quotientEvaluations(witness).then((p) => addon.msm(native.h, p, threads));
      msmB2 = addon.msm(native.b2, witness, threads);
      msmA = addon.msm(native.a, witness, threads);
      msmB1 = addon.msm(native.b1, witness, threads);
      msmC = addon.msm(native.c, witnessC, threads);
    } else {
      msmH = this.quotientEvaluations(witness).then((p) => G1.multiExpAffine(key.pointsH, p));
      msmA = G1.multiExpAffine(key.pointsA, witness);
      msmB1 = G1.multiExpAffine(key.pointsB1, witness);
      msmB2 = G2.multiExpAffine(key.pointsB2, witness);
      msmC = G1.multiExpAffine(key.pointsC, witnessC);
    }
    const [a, b1, b2, c, h] = await Promise.all([msmA, msmB1, msmB2, msmC, msmH]);

    const r = Fr.random();
    const s = Fr.random();
    let piA = G1.add(a, key.alpha1);
    piA = G1.add(piA, G1.timesFr(key.delta1, r));
    let piB = G2.add(b2, key.beta2);
    piB = G2.add(piB, G2.timesFr(key.delta2, s));
    let pib1 = G1.add(b1, key.beta1);
    pib1 = G1.add(pib1, G1.timesFr(key.delta1, s));
    let piC = G1.add(c, h);
    piC = G1.add(piC, G1.timesFr(piA, s));
    piC = G1.add(piC, G1.timesFr(pib1, r));
    piC = G1.add(piC, G1.timesFr(key.delta1, Fr.neg(Fr.mul(r, s))));

    const publicSignals: bigint[] = [];
    for (let i = 1; i <= key.nPublic; i++) {
      publicSignals.push(ffjavascript.Scalar.fromRprLE(witness.slice(i * n8, (i + 1) * n8)));
    }
    const proof = {
      pi_a: G1.toObject(G1.toAffine(piA)),
      pi_b: G2.toObject(G2.toAffine(piB)),
      pi_c: G1.toObject(G1.toAffine(piC)),
      protocol: "groth16",
      curve: curve.name,
    };
    return {
      proof: ffjavascript.utils.stringifyBigInts(proof) as Groth16Proof,
      publicSignals: ffjavascript.utils.stringifyBigInts(publicSignals) as string[],
    };
  }

  /**
   * The scalars of the H multi-exponentiation: A·w, B·w and C = (A·w)(B·w) on the domain (one `qap_buildABC`
   * call), each moved to the odd coset (iFFT, times the shift's powers, FFT), then (A B - C) / Z there
   * (`qap_joinABC`) out of Montgomery form, as snarkjs's buildABC1, the six FFTs and joinABC compute it.
   */
  private async quotientEvaluations(witness: Uint8Array): Promise<Uint8Array> {
    const { curve, key } = this;
    const { Fr } = curve;
    const n = key.domainSize;
    const len = n * Fr.n8;
    const [evalA, evalB, evalC] = await curve.tm.queueAction([
      { cmd: "ALLOCSET", var: 0, buff: key.coefs },
      { cmd: "ALLOCSET", var: 1, buff: witness },
      { cmd: "ALLOC", var: 2, len },
      { cmd: "ALLOC", var: 3, len },
      { cmd: "ALLOC", var: 4, len },
      {
        cmd: "CALL",
        fnName: "qap_buildABC",
        params: [
          { var: 0 },
          { val: key.nCoefs },
          { var: 1 },
          { var: 2 },
          { var: 3 },
          { var: 4 },
          { val: 0 },
          { val: n },
          { val: 0 },
          { val: key.nVars },
        ],
      },
      { cmd: "GET", out: 0, var: 2, len },
      { cmd: "GET", out: 1, var: 3, len },
      { cmd: "GET", out: 2, var: 4, len },
    ]);
    const inc = key.power === Fr.s ? Fr.shift : Fr.w[key.power + 1];
    if (this.native) {
      const abc = new Uint8Array(3 * len);
      abc.set(evalA, 0);
      abc.set(evalB, len);
      abc.set(evalC, 2 * len);
      return this.native.addon.quotient(abc, Fr.w[key.power], inc);
    }
    const toCoset = async (evals: Uint8Array) =>
      Fr.fft(await Fr.batchApplyKey(await Fr.ifft(evals, "", ""), Fr.e(1), inc), "", "");
    const [oddA, oddB, oddC] = await Promise.all([toCoset(evalA), toCoset(evalB), toCoset(evalC)]);
    const [joined] = await curve.tm.queueAction([
      { cmd: "ALLOCSET", var: 0, buff: oddA },
      { cmd: "ALLOCSET", var: 1, buff: oddB },
      { cmd: "ALLOCSET", var: 2, buff: oddC },
      { cmd: "ALLOC", var: 3, len },
      {
        cmd: "CALL",
        fnName: "qap_joinABC",
        params: [{ var: 0 }, { var: 1 }, { var: 2 }, { val: n }, { var: 3 }],
      },
      { cmd: "CALL", fnName: "frm_batchFromMontgomery", params: [{ var: 3 }, { val: n }, { var: 3 }] },
      { cmd: "GET", out: 0, var: 3, len },
    ]);
    return joined;
  }

  /** Release this prover's curve when it built its own (a shared curve is released by releaseCurves). */
  async close(): Promise<void> {
    if (this.ownCurve) await this.curve.terminate();
  }
}

/** A {@link Groth16Prover} of a wasm and zkey in memory, opened by its first proof. */
export class LazyGroth16Prover {
  private opened?: Promise<Groth16Prover>;

  constructor(
    private readonly wasm: Uint8Array,
    private readonly zkey: Uint8Array,
    private readonly options: Groth16ProverOptions = {},
  ) {}

  /** The prover, opened now if this is the first call (a failed open is retried by the next call). */
  get(): Promise<Groth16Prover> {
    if (!this.opened) {
      this.opened = Groth16Prover.open(this.wasm, this.zkey, this.options);
      this.opened.catch(() => (this.opened = undefined));
    }
    return this.opened;
  }

  /** Witness and Groth16 proof of `input` (see {@link Groth16Prover.prove}). */
  async prove(input: Record<string, unknown>): Promise<Groth16Result> {
    return (await this.get()).prove(input);
  }

  /** Close the prover if it was opened. */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened)
      await opened.then(
        (p) => p.close(),
        () => undefined,
      );
  }
}
