/**
 * Witnesses: compute them with the circuit's generated WebAssembly, read and edit signals by name, and
 * write them as .wtns files (for snarkjs).
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { writeFileAtomic } from "../../../core/atomic-file";
import { FIELD_MODULUS, toField } from "../../../crypto/field";
import { readSymbols } from "./symbols";

/** A value for an input signal: integers (negative allowed: reduced mod p), or nested arrays of them. */
export type SignalValue = bigint | number | string | readonly SignalValue[];

/** Input signals by name (without the `main.` prefix), as circom's witness generator takes them. */
export type CircuitInput = Record<string, SignalValue>;

interface WitnessCalculator {
  calculateWitness(input: Record<string, unknown>, sanityCheck: boolean): Promise<bigint[]>;
}
type WitnessCalculatorBuilder = (code: Buffer) => Promise<WitnessCalculator>;

const loadModule = createRequire(__filename);
const calculators = new Map<string, Promise<WitnessCalculator>>();

function calculatorFor(wasmPath: string): Promise<WitnessCalculator> {
  let wc = calculators.get(wasmPath);
  if (!wc) {
    const builder = loadModule(
      path.join(path.dirname(wasmPath), "witness_calculator.js"),
    ) as WitnessCalculatorBuilder;
    wc = builder(fs.readFileSync(wasmPath));
    calculators.set(wasmPath, wc);
  }
  return wc;
}

function normalise(v: SignalValue): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === "number" && !Number.isSafeInteger(v)) {
    throw new RangeError(`input ${v} is not a safe integer: pass a bigint`);
  }
  return BigInt(v as bigint | number | string);
}

/**
 * Run the circuit's witness generator. Values are passed as given (the generator reduces them mod p,
 * so v and v + p are the same input). Throws when the generator fails, e.g. `Assert Failed` on a
 * constraint (`===`) that the computed values violate: an input with no valid witness.
 */
export async function calculateWitness(wasmPath: string, input: CircuitInput): Promise<bigint[]> {
  const normalised: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) normalised[k] = normalise(v);
  const wc = await calculatorFor(wasmPath);
  try {
    return await wc.calculateWitness(normalised, true);
  } catch (e) {
    // A trapped WebAssembly instance is not reused.
    calculators.delete(wasmPath);
    throw e;
  }
}

function wireOf(symPath: string, name: string): number {
  const wire = readSymbols(symPath).index.get(name);
  if (wire === undefined) throw new RangeError(`no signal ${name} in ${symPath}`);
  return wire;
}

/** The value of the signal `name` in `witness` (throws if the signal was eliminated or is unknown). */
export function readSignal(symPath: string, witness: readonly bigint[], name: string): bigint {
  const wire = wireOf(symPath, name);
  if (wire < 0) throw new RangeError(`signal ${name} was eliminated by the optimiser`);
  return witness[wire];
}

/** Options of `editWitness`. */
export interface EditOptions {
  /**
   * Skip signals that the optimiser eliminated instead of throwing. Sound for replaying a forgery built
   * at --O1 against an --O2 build: an eliminated signal is an affine function of the remaining ones, so
   * the edited remaining signals determine it (and a forgery consistent with the linear constraints
   * keeps its value).
   */
  skipEliminated?: boolean;
}

/**
 * A copy of `witness` with the named signals set to the given values (reduced mod p, so negative
 * integers are accepted). Throws on an unknown signal, or on an eliminated one unless asked to skip.
 */
export function editWitness(
  symPath: string,
  witness: readonly bigint[],
  edits: Readonly<Record<string, bigint>>,
  opts: EditOptions = {},
): bigint[] {
  const out = [...witness];
  for (const [name, value] of Object.entries(edits)) {
    const wire = wireOf(symPath, name);
    if (wire < 0) {
      if (opts.skipEliminated) continue;
      throw new RangeError(`signal ${name} was eliminated by the optimiser: it is not in the witness`);
    }
    if (wire === 0) throw new RangeError(`signal ${name} is the constant wire`);
    out[wire] = toField(value);
  }
  return out;
}

/** Write `witness` as a .wtns file (iden3 binary format, version 2), as snarkjs reads it. */
export function writeWitnessFile(file: string, witness: readonly bigint[], prime = FIELD_MODULUS): void {
  const n8 = 32;
  const header = Buffer.alloc(4 + n8 + 4);
  header.writeUInt32LE(n8, 0);
  writeLE(header, 4, prime, n8);
  header.writeUInt32LE(witness.length, 4 + n8);
  const values = Buffer.alloc(n8 * witness.length);
  witness.forEach((v, i) => writeLE(values, i * n8, v, n8));
  const section = (type: number, data: Buffer) => {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(type, 0);
    head.writeBigUInt64LE(BigInt(data.length), 4);
    return Buffer.concat([head, data]);
  };
  const magic = Buffer.alloc(12);
  magic.write("wtns", 0, "latin1");
  magic.writeUInt32LE(2, 4);
  magic.writeUInt32LE(2, 8);
  writeFileAtomic(file, Buffer.concat([magic, section(1, header), section(2, values)]));
}

function writeLE(buf: Buffer, pos: number, v: bigint, n: number): void {
  let x = v;
  for (let i = 0; i < n; i++) {
    buf[pos + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}
