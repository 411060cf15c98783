/**
 * An independent R1CS reader and evaluator: reads circom's .r1cs (iden3 binary format, version 1) and
 * checks a witness against every constraint A.w * B.w = C.w (mod p). Tests use it to show that an edited
 * witness is rejected by the constraint system itself, not merely by the witness generator's asserts.
 */
import fs from "node:fs";
import { readSymbols } from "./symbols";

/** A linear combination: (wire index, coefficient) pairs, coefficients in [0, p). */
export type LinearCombination = ReadonlyArray<readonly [number, bigint]>;

/** One constraint A * B = C. */
export interface Constraint {
  a: LinearCombination;
  b: LinearCombination;
  c: LinearCombination;
}

/** A parsed .r1cs file. Wire 0 is the constant 1; then public outputs, public inputs, private inputs. */
export interface R1cs {
  prime: bigint;
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  nLabels: bigint;
  constraints: Constraint[];
}

/** A witness that cannot be evaluated at all (wrong length, w[0] != 1, a value outside [0, p)). */
export class WitnessFormatError extends Error {
  readonly code = "WITNESS_FORMAT";
  constructor(message: string) {
    super(message);
    this.name = "WitnessFormatError";
  }
}

function readLE(buf: Buffer, pos: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]);
  return v;
}

function parseR1cs(buf: Buffer, file: string): R1cs {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (buf.toString("latin1", 0, 4) !== "r1cs") fail("not an r1cs file");
  if (buf.readUInt32LE(4) !== 1) fail(`unsupported r1cs version ${buf.readUInt32LE(4)}`);
  const nSections = buf.readUInt32LE(8);
  const sections = new Map<number, { start: number; size: number }>();
  let pos = 12;
  for (let s = 0; s < nSections; s++) {
    const type = buf.readUInt32LE(pos);
    const size = Number(buf.readBigUInt64LE(pos + 4));
    sections.set(type, { start: pos + 12, size });
    pos += 12 + size;
  }
  const header = sections.get(1) ?? fail("no header section");
  let h = header.start;
  const n8 = buf.readUInt32LE(h);
  const prime = readLE(buf, h + 4, n8);
  h += 4 + n8;
  const nWires = buf.readUInt32LE(h);
  const nPubOut = buf.readUInt32LE(h + 4);
  const nPubIn = buf.readUInt32LE(h + 8);
  const nPrvIn = buf.readUInt32LE(h + 12);
  const nLabels = buf.readBigUInt64LE(h + 16);
  const nConstraints = buf.readUInt32LE(h + 24);
  if (sections.has(4) || sections.has(5)) fail("custom gates are not supported");

  const body = sections.get(2) ?? fail("no constraints section");
  let p = body.start;
  const readLC = (): LinearCombination => {
    const nnz = buf.readUInt32LE(p);
    p += 4;
    const lc: [number, bigint][] = [];
    for (let k = 0; k < nnz; k++) {
      lc.push([buf.readUInt32LE(p), readLE(buf, p + 4, n8)]);
      p += 4 + n8;
    }
    return lc;
  };
  const constraints: Constraint[] = [];
  for (let i = 0; i < nConstraints; i++) {
    const a = readLC();
    const b = readLC();
    const c = readLC();
    constraints.push({ a, b, c });
  }
  if (p !== body.start + body.size) fail("constraints section has trailing bytes");
  return { prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels, constraints };
}

const cache = new Map<string, { mtimeMs: number; r1cs: R1cs }>();

/** Read and parse an .r1cs file (memoised per path and modification time). */
export function readR1cs(r1csPath: string): R1cs {
  const { mtimeMs } = fs.statSync(r1csPath);
  const hit = cache.get(r1csPath);
  if (hit && hit.mtimeMs === mtimeMs) return hit.r1cs;
  const r1cs = parseR1cs(fs.readFileSync(r1csPath), r1csPath);
  cache.set(r1csPath, { mtimeMs, r1cs });
  return r1cs;
}

/** Number of constraints in the file. */
export function constraintCount(r1csPath: string): number {
  return readR1cs(r1csPath).constraints.length;
}

function evalLC(lc: LinearCombination, w: readonly bigint[], p: bigint): bigint {
  let s = 0n;
  for (const [wire, coeff] of lc) s += coeff * w[wire];
  return s % p;
}

/** Indices of every constraint that `witness` violates (empty: the witness satisfies the system). */
export function violatedConstraints(r1csPath: string, witness: readonly bigint[]): number[] {
  const r1cs = readR1cs(r1csPath);
  const p = r1cs.prime;
  if (witness.length !== r1cs.nWires) {
    throw new WitnessFormatError(`witness has ${witness.length} values, the r1cs has ${r1cs.nWires} wires`);
  }
  if (witness[0] !== 1n) throw new WitnessFormatError(`witness[0] must be 1, got ${witness[0]}`);
  witness.forEach((v, i) => {
    if (v < 0n || v >= p) throw new WitnessFormatError(`witness[${i}] = ${v} is not in [0, p)`);
  });
  const bad: number[] = [];
  r1cs.constraints.forEach(({ a, b, c }, i) => {
    const lhs = (evalLC(a, witness, p) * evalLC(b, witness, p)) % p;
    if (lhs !== evalLC(c, witness, p)) bad.push(i);
  });
  return bad;
}

/** True when `witness` satisfies every constraint of the r1cs. */
export async function checkConstraints(r1csPath: string, witness: readonly bigint[]): Promise<boolean> {
  return violatedConstraints(r1csPath, witness).length === 0;
}

/** The wires that constraint `index` mentions (in A, B or C), sorted, without the constant wire 0. */
export function constraintWires(r1csPath: string, index: number): number[] {
  const k = readR1cs(r1csPath).constraints[index];
  if (!k) throw new RangeError(`no constraint ${index} in ${r1csPath}`);
  const wires = new Set<number>();
  for (const lc of [k.a, k.b, k.c]) for (const [wire] of lc) if (wire !== 0) wires.add(wire);
  return [...wires].sort((x, y) => x - y);
}

/** The signal names of the wires of constraint `index` (each wire by its first name in the .sym file). */
export function constraintSignals(r1csPath: string, symPath: string, index: number): string[] {
  const { wireNames } = readSymbols(symPath);
  return constraintWires(r1csPath, index).map((w) => wireNames.get(w)?.[0] ?? `wire${w}`);
}

/** Constraint `index` in readable form, e.g. `(main.b[0]) * (main.b[0] + -1) = (0)`. */
export function describeConstraint(r1csPath: string, symPath: string, index: number): string {
  const r1cs = readR1cs(r1csPath);
  const k = r1cs.constraints[index];
  if (!k) throw new RangeError(`no constraint ${index} in ${r1csPath}`);
  const { wireNames } = readSymbols(symPath);
  const half = r1cs.prime / 2n;
  const show = (lc: LinearCombination) =>
    lc.length === 0
      ? "0"
      : lc
          .map(([w, c]) => {
            const coeff = c > half ? c - r1cs.prime : c;
            const name = w === 0 ? "" : (wireNames.get(w)?.[0] ?? `wire${w}`);
            if (w === 0) return `${coeff}`;
            return coeff === 1n ? name : `${coeff}*${name}`;
          })
          .join(" + ");
  return `(${show(k.a)}) * (${show(k.b)}) = (${show(k.c)})`;
}
