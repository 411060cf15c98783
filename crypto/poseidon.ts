/**
 * circom's Poseidon hash (circomlib `Poseidon(nInputs)`, x^5 S-box, 8 full rounds) over the BN254 scalar
 * field, in plain bigint: no circomlibjs, no ethers, no wasm curve, no constants file.
 *
 * The round constants and MDS matrices are regenerated from their definition, the Grain LFSR of the
 * Poseidon paper's reference script (`generate_parameters_grain.sage 1 0 254 t 8 R_P p`), which is how
 * circomlib's own constants were made; test/crypto/poseidon.test.ts checks the hash against circomlibjs and
 * against circomlib's circuit for every width. Each width's parameters are built on first use (about 20 ms, 65
 * for 16 inputs) and cached. The permutation runs with sparse partial rounds (`optimise`), the same function as the textbook
 * one: Poseidon(16) costs about 1.5 ms of CPU here against 3.3 to 5.2 unoptimised (circomlibjs's wasm: 0.6 ms;
 * docs/benchmarks.md, Checking signed data).
 */
import { FIELD_MODULUS as P, invertField, invertFieldAll, toField } from "./field";

/** Full rounds, for every width. */
const N_ROUNDS_F = 8;
/** Partial rounds for t = 2..17 (circomlib's N_ROUNDS_P table, indexed by t - 2). */
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
/** Bits per field element drawn from the LFSR (the bit length of p). */
const FIELD_BITS = 254;

/** Most inputs one Poseidon call takes (state width t = inputs + 1 is at most 17). */
export const POSEIDON_MAX_INPUTS = N_ROUNDS_P.length;

/**
 * The permutation's parameters, rearranged for speed (see `optimise`): the same function as the textbook
 * rounds over the Grain constants `c` and the MDS matrix `m`.
 */
interface PoseidonParams {
  /** MDS matrix, t x t. */
  m: bigint[][];
  /** Constants added before the S-boxes of each full round, t each: the first half's rounds, then the second's. */
  fullConstants: bigint[][];
  /** The matrix that ends the first half's last full round: M' · M (see `optimise`). */
  preMatrix: bigint[][];
  /** The constant added to cell 0 in each partial round. */
  partialConstants: bigint[];
  /**
   * Each partial round's sparse matrix M'': out[0] = m[0][0]·s[0] + Σ v[j]·s[j + 1] and
   * out[j + 1] = w[j]·s[0] + s[j + 1].
   */
  sparse: { v: bigint[]; w: bigint[] }[];
}

const paramsCache = new Map<number, PoseidonParams>();

/**
 * The Grain LFSR of the reference script, seeded with (field = prime, S-box = x^alpha, n, t, R_F, R_P)
 * and 30 ones; it discards 160 bits, then emits bit b of each pair (a, b) whose a is 1.
 */
function grainBits(t: number, nRoundsP: number): () => number {
  const seed: number[] = [];
  const push = (v: number, width: number) => {
    for (let i = width - 1; i >= 0; i--) seed.push((v >> i) & 1);
  };
  push(1, 2);
  push(0, 4);
  push(FIELD_BITS, 12);
  push(t, 12);
  push(N_ROUNDS_F, 10);
  push(nRoundsP, 10);
  push(0x3fffffff, 30);
  // A ring buffer: bit k of the sequence is s[k & MASK]; each new bit is the XOR of taps 62, 51, 38, 23,
  // 13 and 0 of the last 80.
  const MASK = 0xffff;
  const s = new Uint8Array(MASK + 1);
  s.set(seed);
  let k = 0;
  const step = (): number => {
    const b =
      s[(k + 62) & MASK] ^
      s[(k + 51) & MASK] ^
      s[(k + 38) & MASK] ^
      s[(k + 23) & MASK] ^
      s[(k + 13) & MASK] ^
      s[k & MASK];
    s[(k + 80) & MASK] = b;
    k++;
    return b;
  };
  for (let i = 0; i < 160; i++) step();
  return () => {
    for (;;) {
      const keep = step();
      const bit = step();
      if (keep === 1) return bit;
    }
  };
}

/** Round constants (round-major) and MDS matrix for state width t, generated as the reference script does. */
function grainParams(t: number, nRoundsP: number): { c: bigint[]; m: bigint[][] } {
  const next = grainBits(t, nRoundsP);
  // FIELD_BITS bits, most significant first, as a big-endian integer (built through hex: 2 + 63 * 4 bits).
  const draw = (): bigint => {
    let hex = "0x";
    for (let i = 0; i < FIELD_BITS;) {
      let nibble = 0;
      const width = i === 0 ? FIELD_BITS % 4 || 4 : 4;
      for (let b = 0; b < width; b++) nibble = (nibble << 1) | next();
      hex += nibble.toString(16);
      i += width;
    }
    return BigInt(hex);
  };
  const c: bigint[] = [];
  while (c.length < (N_ROUNDS_F + nRoundsP) * t) {
    const v = draw();
    if (v < P) c.push(v); // rejection sampling, as the script does for round constants
  }
  // Cauchy matrix M[i][j] = 1 / (x_i + y_j) from 2t further draws, taken mod p. (The script re-draws on a
  // repeated value or a zero denominator; neither occurs for circomlib's widths, and invertField() would throw.)
  const xy = Array.from({ length: 2 * t }, () => draw() % P);
  const inverses = invertFieldAll(
    Array.from({ length: t * t }, (_, k) => (xy[Math.floor(k / t)] + xy[t + (k % t)]) % P),
  );
  const m = Array.from({ length: t }, (_, i) => inverses.slice(i * t, (i + 1) * t));
  return { c, m };
}

/** A matrix times a vector, mod p. */
function mulMatrixVector(m: readonly (readonly bigint[])[], v: readonly bigint[]): bigint[] {
  return m.map((row) => {
    let acc = 0n;
    for (let j = 0; j < v.length; j++) acc += row[j] * v[j];
    return acc % P;
  });
}

/** A row vector times a matrix, mod p. */
function mulVectorMatrix(v: readonly bigint[], m: readonly (readonly bigint[])[]): bigint[] {
  return m[0].map((_, j) => {
    let acc = 0n;
    for (let k = 0; k < v.length; k++) acc += v[k] * m[k][j];
    return acc % P;
  });
}

/** a · b, mod p. */
function mulMatrices(a: readonly (readonly bigint[])[], b: readonly (readonly bigint[])[]): bigint[][] {
  return a.map((row) => mulVectorMatrix(row, b));
}

/** m^e of a square matrix, e ≥ 1, by repeated squaring. */
function powMatrix(m: readonly (readonly bigint[])[], e: number): bigint[][] {
  let result: bigint[][] | undefined;
  let base = m.map((row) => [...row]);
  for (let k = e; ; k >>= 1) {
    if (k & 1) result = result ? mulMatrices(result, base) : base;
    if (k <= 1) return result!;
    base = mulMatrices(base, base);
  }
}

/** The inverse of a square matrix mod p (Gauss-Jordan). Throws a RangeError if it is singular. */
function invertMatrix(m: readonly (readonly bigint[])[]): bigint[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1n : 0n))]);
  for (let col = 0; col < n; col++) {
    const pivot = a.findIndex((row, i) => i >= col && row[col] !== 0n);
    if (pivot < 0) throw new RangeError("poseidon: an MDS sub-matrix is singular");
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const inv = invertField(a[col][col]);
    a[col] = a[col].map((v) => (v * inv) % P);
    for (let i = 0; i < n; i++) {
      const f = a[i][col];
      if (i !== col && f !== 0n) a[i] = a[i].map((v, j) => toField(v - f * a[col][j]));
    }
  }
  return a.map((row) => row.slice(n));
}

/**
 * The textbook rounds (add the round's constants, S-box on every cell in full rounds and on cell 0 in partial
 * ones, multiply by M), rearranged into the same function with cheap partial rounds (the Poseidon paper's
 * appendix B):
 *
 * - **Constants.** In a partial round only cell 0 meets the S-box, so the round's constants on cells 1.. pass
 *   through it unchanged and then through M: they are carried, multiplied by M, into the next round's
 *   constants. Each partial round then adds one constant, to cell 0, and the carry out of the last lands in the
 *   second half's first full round.
 * - **Matrices.** Write a matrix N = [[n00, r], [c, N̂]] (blocks: cell 0 and the rest) as M''·M' with
 *   M' = [[1, 0], [0, N̂]] and M'' = [[n00, r·N̂⁻¹], [c, I]], sparse. M' leaves cell 0 alone, so it commutes
 *   with a partial round's S-box and its cell-0 constant, and moves into the round before: that round's matrix
 *   becomes M'·M. From the last partial round back, N̂ is M̂, M̂², ..., M̂^R_P (M̂ the block of M without
 *   row and column 0), so r·N̂⁻¹ is row 0 of M times powers of M̂⁻¹, c is M̂^k times column 0 of M, and n00
 *   is always m[0][0]. The first half's last full round ends with [[1, 0], [0, M̂^R_P]]·M.
 *
 * A partial round then costs about 2t multiplications instead of t². test/crypto/poseidon.test.ts checks the
 * result against circomlibjs and circomlib's circuit for every width.
 */
function optimise(t: number, nRoundsP: number, c: readonly bigint[], m: bigint[][]): PoseidonParams {
  const half = N_ROUNDS_F / 2;
  const roundConstants = (r: number) => c.slice(r * t, (r + 1) * t);
  const partialConstants: bigint[] = [];
  let carry: bigint[] = new Array<bigint>(t).fill(0n);
  for (let i = 0; i < nRoundsP; i++) {
    const k = roundConstants(half + i).map((v, j) => (v + carry[j]) % P);
    partialConstants.push(k[0]);
    carry = mulMatrixVector(m, [0n, ...k.slice(1)]);
  }
  const fullConstants = Array.from({ length: N_ROUNDS_F }, (_, r) =>
    roundConstants(r < half ? r : r + nRoundsP),
  );
  fullConstants[half] = fullConstants[half].map((v, j) => (v + carry[j]) % P);

  const mHat = m.slice(1).map((row) => row.slice(1));
  const mHatInverse = invertMatrix(mHat);
  const sparse = new Array<{ v: bigint[]; w: bigint[] }>(nRoundsP);
  let v = mulVectorMatrix(m[0].slice(1), mHatInverse);
  let w = m.slice(1).map((row) => row[0]);
  for (let i = nRoundsP - 1; i >= 0; i--) {
    sparse[i] = { v, w };
    v = mulVectorMatrix(v, mHatInverse);
    w = mulMatrixVector(mHat, w);
  }
  const preMatrix = [m[0], ...mulMatrices(powMatrix(mHat, nRoundsP), m.slice(1))];
  return { m, fullConstants, preMatrix, partialConstants, sparse };
}

/** The parameters for state width t, built on first use and cached. */
function params(t: number): PoseidonParams {
  const cached = paramsCache.get(t);
  if (cached) return cached;
  const nRoundsP = N_ROUNDS_P[t - 2];
  const { c, m } = grainParams(t, nRoundsP);
  const result = optimise(t, nRoundsP, c, m);
  paramsCache.set(t, result);
  return result;
}

/** x^5 mod p (x ≥ 0, reduced or not). Fewer reductions of larger numbers are the faster trade in bigint. */
function pow5(x: bigint): bigint {
  const x2 = (x * x) % P;
  return (x2 * x2 * x) % P;
}

/** One full round: the constants, the S-box on every cell, then the matrix. */
function fullRound(state: bigint[], constants: readonly bigint[], matrix: readonly (readonly bigint[])[]) {
  return mulMatrixVector(
    matrix,
    state.map((x, i) => pow5(x + constants[i])),
  );
}

/**
 * circomlib `Poseidon(n)` of 1..16 field elements (negative values are taken mod p); returns out[0].
 * Bit-identical to the circuit and to circomlibjs's `buildPoseidon()`.
 */
export function poseidon(inputs: readonly bigint[]): bigint {
  if (inputs.length === 0 || inputs.length > POSEIDON_MAX_INPUTS)
    throw new RangeError(`poseidon: takes 1 to ${POSEIDON_MAX_INPUTS} inputs, got ${inputs.length}`);
  const t = inputs.length + 1;
  const { m, fullConstants, preMatrix, partialConstants, sparse } = params(t);
  const half = N_ROUNDS_F / 2;
  let state = [0n, ...inputs.map(toField)];
  for (let r = 0; r < half; r++) state = fullRound(state, fullConstants[r], r === half - 1 ? preMatrix : m);
  // Cells 1.. are left unreduced through the partial rounds (they grow by about 2^508 a round, to some 2^515),
  // which costs less than a reduction of each in every round.
  const m00 = m[0][0];
  for (let i = 0; i < partialConstants.length; i++) {
    const s0 = pow5(state[0] + partialConstants[i]);
    const { v, w } = sparse[i];
    let acc = m00 * s0;
    for (let j = 1; j < t; j++) {
      acc += v[j - 1] * state[j];
      state[j] += w[j - 1] * s0;
    }
    state[0] = acc % P;
  }
  for (let j = 1; j < t; j++) state[j] %= P;
  for (let r = half; r < N_ROUNDS_F - 1; r++) state = fullRound(state, fullConstants[r], m);
  // The last round's matrix: only row 0 is the output.
  const last = fullConstants[N_ROUNDS_F - 1];
  let out = 0n;
  for (let j = 0; j < t; j++) out += m[0][j] * pow5(state[j] + last[j]);
  return out % P;
}
