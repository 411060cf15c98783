/**
 * The Groth16 proving key (`.zkey`) of a circuit computed directly from the setup's secrets, for an INSECURE
 * development setup. snarkjs's phase 2 builds the key from a ptau's points with one multi-exponentiation per wire
 * and then rescales it per contribution (181 s + 48 s here for a 24k-constraint circuit under load); with tau, alpha,
 * beta and delta known, each point of the key is one fixed-base product of a scalar computed in the field.
 *
 * The file is what snarkjs's `zkey new` followed by one `zkey contribute` would write for the same secrets, section
 * for section (zkey_new.js, zkey_contribute.js): the same coefficient table, the same circuit hash (which hashes the
 * key before the contribution, so those points are computed too, with `zkey new`'s quirks: {@link hashedHPoints}),
 * one contribution with a valid proof of knowledge of delta. So `snarkjs zkey verify` accepts it against the ptau
 * made from the same tau, alpha and beta.
 *
 * Notation (snarkjs's): for wire s, a_s / b_s / c_s = sum over the constraints j of the wire's coefficient in A / B / C
 * times L_j(tau), with L the Lagrange basis of the circuit's domain (size n = 2^power); snarkjs adds one constraint
 * per public wire (and the one wire) with A coefficient 1. k_s = beta a_s + alpha b_s + c_s. gamma = 1.
 * Sections: 3 IC = k_s G1 (public s), 4 coefficients, 5 A = a_s G1, 6 B1 = b_s G1, 7 B2 = b_s G2,
 * 8 C = k_s / delta G1 (private s), 9 H = L'_(2i+1)(tau) / delta G1 over the domain 2n (L' the basis that
 * `prepare phase2` left in the ptau for that domain), 10 the contributions.
 */
import { createHash, type Hash } from "node:crypto";
import {
  BinFileWriter,
  BN128_Q,
  BN128_R,
  readBinSection,
  readPastSection,
  readR1csHeader,
} from "../circuits/binfile";
import { SetupError } from "../core/errors";
import { AFFINE_BYTES, FixedBaseMultiplier, type Products } from "./fixed-base";
import type { PtauSecrets } from "./direct-ptau";
import { requiredPower } from "./ptau";
import { inv, lagrangeValues, mul, pow, randomScalar, sub, truncatedLagrangeValues } from "./scalar-field";

/** Montgomery's R = 2^256 mod r; snarkjs stores each coefficient as `value * R^2 mod r`. */
const R_MONT = (1n << 256n) % BN128_R;
const R2 = (R_MONT * R_MONT) % BN128_R;

/** What {@link writeDirectZkey} needs to know about the ptau the key belongs to. */
export interface ZkeyPtau {
  /**
   * The ptau file, already written: for a circuit of its power and a domain above 2^14, `zkey new` hashes 64 bytes
   * past its tauG1 section into the circuit hash ({@link hashedHPoints}).
   */
  path: string;
  /** Power of the ptau: for a circuit of the same power, H takes the truncated Lagrange values snarkjs does. */
  power: number;
  secrets: PtauSecrets;
}

/** Options of {@link writeDirectZkey}. */
export interface DirectZkeyOptions {
  r1csPath: string;
  zkeyPath: string;
  ptau: ZkeyPtau;
  pool: FixedBaseMultiplier;
  /** Name recorded for the contribution (default "zkrisk development setup (INSECURE)"). */
  contributor?: string;
}

/** A circuit's wires' values at tau, and the coefficient table, from its r1cs. */
interface Wires {
  nVars: number;
  nPublic: number;
  power: number;
  a: bigint[];
  b: bigint[];
  c: bigint[];
  coefficients: Buffer;
}

/** Read the r1cs constraints and evaluate every wire's A, B and C polynomials at tau. */
function evaluateWires(r1csPath: string, tau: bigint): Wires {
  const header = readR1csHeader(r1csPath);
  const nPublic = header.outputs + header.publicInputs;
  const nVars = header.wires;
  const power = requiredPower(header.constraints, nPublic);
  const body = readBinSection(r1csPath, "r1cs", 2);
  const L = lagrangeValues(tau, power, { start: 0, count: header.constraints + nPublic + 1 });
  const a = new Array<bigint>(nVars).fill(0n);
  const b = new Array<bigint>(nVars).fill(0n);
  const c = new Array<bigint>(nVars).fill(0n);
  const entries: Buffer[] = [];
  const entry = (matrix: number, constraint: number, signal: number, value: bigint) => {
    const e = Buffer.alloc(44);
    e.writeUInt32LE(matrix, 0);
    e.writeUInt32LE(constraint, 4);
    e.writeUInt32LE(signal, 8);
    const stored = (value * R2) % BN128_R;
    for (let i = 0; i < 4; i++) e.writeBigUInt64LE(BigInt.asUintN(64, stored >> BigInt(64 * i)), 12 + 8 * i);
    entries.push(e);
  };
  let pos = 0;
  const u32 = () => {
    const v = body.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const coefficient = () => {
    let v = 0n;
    for (let i = 3; i >= 0; i--) v = (v << 64n) | body.readBigUInt64LE(pos + 8 * i);
    pos += 32;
    return v;
  };
  for (let j = 0; j < header.constraints; j++) {
    for (const [matrix, acc] of [
      [0, a],
      [1, b],
      [2, c],
    ] as const) {
      const terms = u32();
      for (let t = 0; t < terms; t++) {
        const s = u32();
        const v = coefficient();
        if (s >= nVars) throw new SetupError(`${r1csPath}: constraint ${j} names wire ${s} of ${nVars}`);
        acc[s] = acc[s]! + v * L[j]!;
        if (matrix !== 2) entry(matrix, j, s, v);
      }
    }
  }
  if (pos !== body.length)
    throw new SetupError(`${r1csPath}: constraint section has ${body.length - pos} extra bytes`);
  for (let s = 0; s <= nPublic; s++) {
    a[s] = a[s]! + L[header.constraints + s]!;
    entry(0, header.constraints + s, s, 1n);
  }
  for (const v of [a, b, c]) for (let s = 0; s < nVars; s++) v[s] = v[s]! % BN128_R;
  const count = Buffer.alloc(4);
  count.writeUInt32LE(entries.length, 0);
  return { nVars, nPublic, power, a, b, c, coefficients: Buffer.concat([count, ...entries]) };
}

/**
 * The scalars of H: `L_(2i+1)(tau) / delta` over the domain 2n, i < n; when the circuit has the ptau's power that
 * domain is the ptau's largest, whose values `prepare phase2` left truncated ({@link truncatedLagrangeValues}).
 */
function hScalars(tau: bigint, power: number, ptauPower: number, invDelta: bigint): bigint[] {
  const values = power < ptauPower ? lagrangeValues : truncatedLagrangeValues;
  return values(tau, power + 1, { start: 1, count: 2 ** power, factor: invDelta, stride: 2 });
}

/** Points per chunk of `zkey new`'s hashHPoints (zkey_new.js). */
const HASH_H_CHUNK = 1 << 14;

/**
 * How many points `(tau^n - 1) tau^i G1` (i = 0, 1, ...) snarkjs's `zkey new` hashes into the circuit hash for a
 * domain of n, read from the ptau's tauG1 section as `tauG1[i + n] - tauG1[i]`. It announces n - 1 (the length it
 * hashes first) but walks its chunks with `n = min(domainSize - 1, CHUNK_SIZE)`, so above 2^14 every chunk is full
 * and it hashes n points. The last, i = n - 1, needs `tauG1[2n - 1]`: a point of a ptau of a larger power, but one
 * past the 2n - 1 points of a ptau of the circuit's power, where it reads the next 64 bytes of the file instead
 * (section 3's header and the start of its first G2 point). `zkey verify` recomputes the hash the same way, so a key
 * must hash exactly these points to verify. This mirrors snarkjs's loop.
 */
export function hashedHPoints(n: number): number {
  let count = 0;
  for (let i = 0; i < n - 1; i += HASH_H_CHUNK) count += Math.min(n - 1, HASH_H_CHUNK);
  return count;
}

/** Big-endian u32, as snarkjs hashes section lengths. */
function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** A bn128 curve of ffjavascript (one thread): for the few points that are not products of the generators. */
interface FfCurve {
  Fr: { e(v: bigint): unknown };
  G1: FfGroup;
  G2: FfGroup & { fromRng(rng: unknown): unknown };
}
interface FfGroup {
  sub(p: unknown, q: unknown): unknown;
  timesFr(p: unknown, s: unknown): unknown;
  toAffine(p: unknown): unknown;
  toRprLEM(out: Uint8Array, offset: number, p: unknown): void;
  toRprUncompressed(out: Uint8Array, offset: number, p: unknown): void;
}

/** snarkjs's hashToG2 (keypair.js): a ChaCha stream seeded with the hash's first eight big-endian words. */
function hashToG2(curve: FfCurve, ChaCha: new (seed: number[]) => unknown, hash: Buffer): unknown {
  const seed = Array.from({ length: 8 }, (_, i) => hash.readUInt32BE(4 * i));
  return curve.G2.fromRng(new ChaCha(seed));
}

/**
 * Write the proving key of `r1csPath` from the setup's secrets, with one contribution whose delta is drawn here from
 * the OS CSPRNG and dropped when this returns.
 * @returns the circuit hash (snarkjs's csHash, 64 bytes)
 */
export async function writeDirectZkey(options: DirectZkeyOptions): Promise<Buffer> {
  const { pool } = options;
  const { tau, alpha, beta } = options.ptau.secrets;
  const wires = evaluateWires(options.r1csPath, tau);
  const { nVars, nPublic, power } = wires;
  if (power > options.ptau.power) {
    throw new SetupError(
      `${options.r1csPath}: circuit needs power ${power}, the ptau has ${options.ptau.power}`,
    );
  }
  const n = 2 ** power;
  const delta = randomScalar();
  const invDelta = inv(delta);
  const k = wires.a.map((as, s) => (beta * as + alpha * wires.b[s]! + wires.c[s]!) % BN128_R);
  const priv = k.slice(nPublic + 1);

  // Every product is started at once; the threads take them in turn.
  const tauN1 = sub(pow(tau, BigInt(n)), 1n);
  const hashed = hashedHPoints(n);
  // The point past the ptau's tauG1 section is hashed from the file's bytes below.
  const pastPtau = hashed === n && power === options.ptau.power;
  const hashH: bigint[] = [];
  for (let i = 0, t = tauN1; i < (pastPtau ? n - 1 : hashed); i++, t = mul(t, tau)) hashH.push(t);
  const s = randomScalar();
  const [fixed1, fixed2, ic, hHash, cInit, cFinal, aPts, b1Pts, b2Pts, hPts] = await Promise.all([
    // alpha, beta, delta, the proof of knowledge's s and s delta, tau^(n-1) for hashHPast below.
    pool.multiplyMany("g1", [alpha, beta, delta, s, mul(s, delta), pow(tau, BigInt(n - 1))], true),
    pool.multiplyMany("g2", [beta, delta], true),
    pool.multiplyMany("g1", k.slice(0, nPublic + 1), true),
    pool.multiplyMany("g1", hashH, true),
    pool.multiplyMany("g1", priv, true),
    pool.multiplyMany(
      "g1",
      priv.map((v) => mul(v, invDelta)),
    ),
    pool.multiplyMany("g1", wires.a, true),
    pool.multiplyMany("g1", wires.b, true),
    pool.multiplyMany("g2", wires.b, true),
    pool.multiplyMany("g1", hScalars(tau, power, options.ptau.power, invDelta)),
  ]);
  const g1 = (p: Products, i: number, form: "points" | "uncompressed" = "points") =>
    p[form]!.subarray(i * AFFINE_BYTES.g1, (i + 1) * AFFINE_BYTES.g1);
  const g2 = (p: Products, i: number, form: "points" | "uncompressed" = "points") =>
    p[form]!.subarray(i * AFFINE_BYTES.g2, (i + 1) * AFFINE_BYTES.g2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildBn128, ChaCha } = require("ffjavascript") as {
    buildBn128(singleThread: boolean): Promise<unknown>;
    ChaCha: new (seed: number[]) => unknown;
  };
  const curve = (await buildBn128(true)) as FfCurve;
  const genU = { g1: Buffer.alloc(64), g2: Buffer.alloc(128) };
  const genLEM = { g1: Buffer.alloc(64), g2: Buffer.alloc(128) };
  {
    const c = curve as unknown as { G1: { g: unknown }; G2: { g: unknown } };
    curve.G1.toRprUncompressed(genU.g1, 0, c.G1.g);
    curve.G2.toRprUncompressed(genU.g2, 0, c.G2.g);
    curve.G1.toRprLEM(genLEM.g1, 0, c.G1.g);
    curve.G2.toRprLEM(genLEM.g2, 0, c.G2.g);
  }

  // hashHPoints's last point for a ptau of the circuit's power: the 64 bytes after tauG1 (as LEM) minus tau^(n-1) G1,
  // with the same wasm subtraction.
  const hashHPast = Buffer.alloc(pastPtau ? AFFINE_BYTES.g1 : 0);
  if (pastPtau) {
    const past = readPastSection(options.ptau.path, "ptau", 2, AFFINE_BYTES.g1);
    curve.G1.toRprUncompressed(hashHPast, 0, curve.G1.sub(past, g1(fixed1, 5)));
  }

  // The circuit hash: the key as `zkey new` leaves it (delta = 1), in zkey_new.js's order.
  const cs = createHash("blake2b512");
  cs.update(g1(fixed1, 0, "uncompressed"))
    .update(g1(fixed1, 1, "uncompressed"))
    .update(g2(fixed2, 0, "uncompressed"));
  cs.update(genU.g2).update(genU.g1).update(genU.g2);
  cs.update(u32be(nPublic + 1)).update(ic.uncompressed!);
  cs.update(u32be(n - 1)).update(hHash.uncompressed!);
  cs.update(hashHPast);
  cs.update(u32be(priv.length)).update(cInit.uncompressed!);
  cs.update(u32be(nVars)).update(aPts.uncompressed!);
  cs.update(u32be(nVars)).update(b1Pts.uncompressed!);
  cs.update(u32be(nVars)).update(b2Pts.uncompressed!);
  const csHash = cs.digest();

  // One contribution (zkey_contribute.js): the proof of knowledge of delta, tied to the circuit hash.
  const transcriptHasher: Hash = createHash("blake2b512").update(csHash);
  transcriptHasher.update(g1(fixed1, 3, "uncompressed")).update(g1(fixed1, 4, "uncompressed"));
  const transcript = transcriptHasher.digest();
  const g2sp = hashToG2(curve, ChaCha, transcript);
  const g2spx = curve.G2.toAffine(curve.G2.timesFr(g2sp, curve.Fr.e(delta)));
  const g2spxLEM = Buffer.alloc(128);
  curve.G2.toRprLEM(g2spxLEM, 0, g2spx);
  const name = Buffer.from(
    (options.contributor ?? "zkrisk development setup (INSECURE)").slice(0, 64),
    "utf8",
  );

  const file = new BinFileWriter(options.zkeyPath, "zkey", 10);
  try {
    file.startSection(1);
    file.writeU32(1); // Groth16
    file.endSection();
    file.startSection(2);
    file.writeU32(32);
    file.writeBigInt(BN128_Q, 32);
    file.writeU32(32);
    file.writeBigInt(BN128_R, 32);
    file.writeU32(nVars);
    file.writeU32(nPublic);
    file.writeU32(n);
    file.write(g1(fixed1, 0)); // alpha1
    file.write(g1(fixed1, 1)); // beta1
    file.write(g2(fixed2, 0)); // beta2
    file.write(genLEM.g2); // gamma2
    file.write(g1(fixed1, 2)); // delta1
    file.write(g2(fixed2, 1)); // delta2
    file.endSection();
    for (const [id, bytes] of [
      [3, ic.points],
      [4, wires.coefficients],
      [5, aPts.points],
      [6, b1Pts.points],
      [7, b2Pts.points],
      [8, cFinal.points],
      [9, hPts.points],
    ] as const) {
      file.startSection(id);
      file.write(bytes);
      file.endSection();
    }
    file.startSection(10);
    file.write(csHash);
    file.writeU32(1);
    file.write(g1(fixed1, 2)); // deltaAfter
    file.write(g1(fixed1, 3)); // g1_s
    file.write(g1(fixed1, 4)); // g1_sx
    file.write(g2spxLEM);
    file.write(transcript);
    file.writeU32(0); // a random contribution, not a beacon
    file.writeU32(name.length + 2);
    file.write(Buffer.from([1, name.length]));
    file.write(name);
    file.endSection();
    file.close();
  } catch (err) {
    file.abandon();
    throw err;
  }
  return csHash;
}
