/**
 * circom's Poseidon hash (circomlib `Poseidon(nInputs)`, x^5 S-box, 8 full rounds) over the BN254 scalar
 * field, in plain bigint: no circomlibjs, no ethers, no wasm curve, no constants file.
 *
 * The round constants and MDS matrices are regenerated from their definition, the Grain LFSR of the
 * Poseidon paper's reference script (`generate_parameters_grain.sage 1 0 254 t 8 R_P p`), which is how
 * circomlib's own constants were made; test/crypto/poseidon.test.ts checks them against circomlibjs's
 * table and the hash against circomlib's circuit. Each width's parameters are built on first use (a few ms)
 * and cached. The permutation is the unoptimised one (add constants, S-box on every cell in full rounds and
 * on cell 0 in partial rounds, multiply by M), which circomlib's optimised circuit computes identically.
 */
import { FIELD_MODULUS as P, invertField, toField } from "./field";

/** Full rounds, for every width. */
const N_ROUNDS_F = 8;
/** Partial rounds for t = 2..17 (circomlib's N_ROUNDS_P table, indexed by t - 2). */
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
/** Bits per field element drawn from the LFSR (the bit length of p). */
const FIELD_BITS = 254;

/** Most inputs one Poseidon call takes (state width t = inputs + 1 is at most 17). */
export const POSEIDON_MAX_INPUTS = N_ROUNDS_P.length;

interface PoseidonParams {
  /** Round constants, (N_ROUNDS_F + R_P) * t of them, round-major. */
  c: bigint[];
  /** MDS matrix, t x t. */
  m: bigint[][];
  nRoundsP: number;
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

/** Inverses of many non-zero values with one inversion (Montgomery's trick: prefix products, then back). */
function invertAll(values: readonly bigint[]): bigint[] {
  const prefix: bigint[] = [];
  let acc = 1n;
  for (const v of values) {
    prefix.push(acc);
    acc = (acc * v) % P;
  }
  let inv = invertField(acc);
  const out: bigint[] = new Array<bigint>(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = (inv * prefix[i]) % P;
    inv = (inv * values[i]) % P;
  }
  return out;
}

/** Round constants and MDS matrix for state width t, generated as the reference script does. */
function params(t: number): PoseidonParams {
  const cached = paramsCache.get(t);
  if (cached) return cached;
  const nRoundsP = N_ROUNDS_P[t - 2];
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
  const inverses = invertAll(
    Array.from({ length: t * t }, (_, k) => (xy[Math.floor(k / t)] + xy[t + (k % t)]) % P),
  );
  const m = Array.from({ length: t }, (_, i) => inverses.slice(i * t, (i + 1) * t));
  const result = { c, m, nRoundsP };
  paramsCache.set(t, result);
  return result;
}

/** x^5 mod p. */
function pow5(x: bigint): bigint {
  const x2 = (x * x) % P;
  return (((x2 * x2) % P) * x) % P;
}

/**
 * circomlib `Poseidon(n)` of 1..16 field elements (negative values are taken mod p); returns out[0].
 * Bit-identical to the circuit and to circomlibjs's `buildPoseidon()`.
 */
export function poseidon(inputs: readonly bigint[]): bigint {
  if (inputs.length === 0 || inputs.length > POSEIDON_MAX_INPUTS)
    throw new RangeError(`poseidon: takes 1 to ${POSEIDON_MAX_INPUTS} inputs, got ${inputs.length}`);
  const t = inputs.length + 1;
  const { c, m, nRoundsP } = params(t);
  let state = [0n, ...inputs.map(toField)];
  const rounds = N_ROUNDS_F + nRoundsP;
  for (let r = 0; r < rounds; r++) {
    const full = r < N_ROUNDS_F / 2 || r >= N_ROUNDS_F / 2 + nRoundsP;
    for (let i = 0; i < t; i++) {
      const x = (state[i] + c[r * t + i]) % P;
      state[i] = full || i === 0 ? pow5(x) : x;
    }
    state = m.map((row) => {
      let acc = 0n;
      for (let j = 0; j < t; j++) acc += row[j] * state[j];
      return acc % P;
    });
  }
  return state[0];
}
