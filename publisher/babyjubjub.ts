/**
 * BabyJubJub (ERC-2494) in plain bigint: the twisted Edwards curve a·x² + y² = 1 + d·x²·y² with a = 168700,
 * d = 168696 over the BN254 scalar field p, the curve circomlib's `babyjub.circom` and `EdDSAPoseidonVerifier`
 * use. No circomlibjs, no ethers, no wasm: this is what signature verification runs on (publisher/eddsa.ts).
 *
 * a is a square mod p and d is not, so the Edwards addition law is complete: it adds any two curve points,
 * doubling and the identity (0, 1) included, without a special case. Points are affine at the API; inside,
 * sums are kept in projective coordinates (X : Y : Z), x = X/Z, y = Y/Z, so a scalar multiplication makes one
 * inversion, not one per step. test/publisher/babyjubjub.test.ts checks it against circomlibjs's `babyJub`.
 */
import { FIELD_MODULUS as P, invertField, invertFieldAll } from "../crypto/field";

/** The curve's a coefficient. */
export const CURVE_A = 168700n;
/** The curve's d coefficient. */
export const CURVE_D = 168696n;

/** The order of BabyJubJub's prime subgroup, l (circomlibjs `babyJub.subOrder`); the curve has 8·l points. */
export const SUBGROUP_ORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;

/** An affine point of BabyJubJub: coordinates in [0, p). */
export interface CurvePoint {
  x: bigint;
  y: bigint;
}

/** The identity, (0, 1). */
export const IDENTITY: CurvePoint = Object.freeze({ x: 0n, y: 1n });

/**
 * Base8, the generator of the prime subgroup that circomlib's EdDSA signs with (8 times its `Generator`), as
 * circomlib's `eddsaposeidon.circom` and ERC-2494 give it.
 */
export const BASE8: CurvePoint = Object.freeze({
  x: 5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  y: 16950150798460657717958625567821834550301663161624707787222815936182638968203n,
});

/** A point in projective coordinates (X : Y : Z), Z ≠ 0 for curve points. */
interface Projective {
  X: bigint;
  Y: bigint;
  Z: bigint;
}

const mod = (v: bigint) => {
  const r = v % P;
  return r < 0n ? r + P : r;
};

const isField = (v: bigint) => v >= 0n && v < P;

/** Whether p is a point of BabyJubJub: both coordinates in [0, p) and a·x² + y² = 1 + d·x²·y². */
export function isOnCurve(p: CurvePoint): boolean {
  if (!isField(p.x) || !isField(p.y)) return false;
  const x2 = (p.x * p.x) % P;
  const y2 = (p.y * p.y) % P;
  return (CURVE_A * x2 + y2) % P === (1n + ((CURVE_D * x2) % P) * y2) % P;
}

/**
 * The Edwards sum in projective coordinates (add-2008-bbjlp, the homogenised complete law):
 * x3 = (x1·y2 + y1·x2) / (1 + d·x1·x2·y1·y2), y3 = (y1·y2 − a·x1·x2) / (1 − d·x1·x2·y1·y2).
 * Cost: 10 multiplications and 1 squaring mod p.
 */
function add(p: Projective, q: Projective): Projective {
  const a = (p.Z * q.Z) % P;
  const b = (a * a) % P;
  const c = (p.X * q.X) % P;
  const d = (p.Y * q.Y) % P;
  const e = (((CURVE_D * c) % P) * d) % P;
  const f = mod(b - e);
  const g = (b + e) % P;
  const cross = mod(((((p.X + p.Y) % P) * ((q.X + q.Y) % P)) % P) - c - d);
  return {
    X: (((a * f) % P) * cross) % P,
    Y: (((a * g) % P) * mod(d - CURVE_A * c)) % P,
    Z: (f * g) % P,
  };
}

/** k·p by double-and-add over the bits of k, most significant first (k ≥ 0). */
function multiply(p: Projective, k: bigint): Projective {
  let acc: Projective = { X: 0n, Y: 1n, Z: 1n };
  for (let i = k.toString(2).length - 1; i >= 0; i--) {
    acc = add(acc, acc);
    if ((k >> BigInt(i)) & 1n) acc = add(acc, p);
  }
  return acc;
}

const projective = (p: CurvePoint): Projective => ({ X: p.x, Y: p.y, Z: 1n });

function affine(p: Projective): CurvePoint {
  const zInv = invertField(p.Z); // Z ≠ 0: the law is complete on curve points
  return { x: (p.X * zInv) % P, y: (p.Y * zInv) % P };
}

function checkPoint(p: CurvePoint, what: string): void {
  if (!isOnCurve(p)) throw new RangeError(`${what}: (${p.x}, ${p.y}) is not a point of BabyJubJub`);
}

/** p + q on BabyJubJub. Throws a RangeError if either is not a curve point. */
export function addPoints(p: CurvePoint, q: CurvePoint): CurvePoint {
  checkPoint(p, "addPoints: p");
  checkPoint(q, "addPoints: q");
  return affine(add(projective(p), projective(q)));
}

/**
 * k·p on BabyJubJub, for any integer k ≥ 0 (not reduced: k and k + l differ unless p is in the subgroup).
 * Throws a RangeError if p is not a curve point or k is negative.
 */
export function mulPoint(p: CurvePoint, k: bigint): CurvePoint {
  checkPoint(p, "mulPoint: p");
  if (k < 0n) throw new RangeError(`mulPoint: scalar ${k} is negative`);
  return affine(multiply(projective(p), k));
}

/** Bits of the scalar per row of a multiples table. */
const TABLE_WINDOW_BITS = 4;
const TABLE_ROW = 1 << TABLE_WINDOW_BITS;

/**
 * A point's multiples for fixed-base multiplication: row i holds j·16^i·p for j = 0..15, affine. k·p is then
 * the sum of one entry a row, Σ row_i[digit_i(k)] with digit_i the i-th 4 bits of k: no doublings and one
 * addition per 4 bits, about a sixth of double-and-add's work. Building a table costs about three
 * double-and-add multiplications, so it pays for a point multiplied many times (BASE8 in every signature
 * check, a publisher's key over its windows).
 */
export interface MultiplesTable {
  /** The largest scalar bit length the table multiplies by. */
  readonly bits: number;
  readonly rows: readonly (readonly CurvePoint[])[];
}

/** The multiples table of a curve point for scalars of up to `bits` bits. Throws if p is not a curve point. */
export function multiplesTable(p: CurvePoint, bits: number): MultiplesTable {
  checkPoint(p, "multiplesTable: p");
  if (!Number.isInteger(bits) || bits < 1)
    throw new RangeError(`multiplesTable: bits ${bits} is not a positive integer`);
  const rowCount = Math.ceil(bits / TABLE_WINDOW_BITS);
  const entries: Projective[] = [];
  let base = projective(p);
  for (let i = 0; i < rowCount; i++) {
    let acc: Projective = { X: 0n, Y: 1n, Z: 1n };
    for (let j = 0; j < TABLE_ROW; j++) {
      entries.push(acc);
      acc = add(acc, base);
    }
    base = acc; // 16 times the row's base
  }
  const zInverses = invertFieldAll(entries.map((e) => e.Z));
  const points = entries.map((e, k) => ({ x: (e.X * zInverses[k]) % P, y: (e.Y * zInverses[k]) % P }));
  const rows = Array.from({ length: rowCount }, (_, i) => points.slice(i * TABLE_ROW, (i + 1) * TABLE_ROW));
  return { bits: rowCount * TABLE_WINDOW_BITS, rows };
}

/**
 * k·p from p's multiples table, for 0 ≤ k < 2^table.bits: the same point as mulPoint(p, k). Throws a
 * RangeError for a k out of that range.
 */
export function mulWithTable(table: MultiplesTable, k: bigint): CurvePoint {
  if (k < 0n || k >> BigInt(table.bits) !== 0n)
    throw new RangeError(`mulWithTable: scalar ${k} is outside [0, 2^${table.bits})`);
  let acc: Projective = { X: 0n, Y: 1n, Z: 1n };
  const mask = BigInt(TABLE_ROW - 1);
  for (let i = 0; k >> BigInt(i * TABLE_WINDOW_BITS) !== 0n; i++) {
    const digit = Number((k >> BigInt(i * TABLE_WINDOW_BITS)) & mask);
    if (digit !== 0) acc = add(acc, projective(table.rows[i][digit]));
  }
  return affine(acc);
}

/** Whether p is a curve point of the prime-order subgroup: l·p is the identity (the identity itself is). */
export function isInSubgroup(p: CurvePoint): boolean {
  if (!isOnCurve(p)) return false;
  const r = multiply(projective(p), SUBGROUP_ORDER);
  return r.X === 0n && r.Y === r.Z;
}

/** Whether two affine points are the same point. */
export function pointsEqual(p: CurvePoint, q: CurvePoint): boolean {
  return p.x === q.x && p.y === q.y;
}
