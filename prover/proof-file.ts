/**
 * The envelope of a proof file (what `zkrisk prove` writes; signed-proof-file.ts reads and checks a signed
 * update's): its keys, its bar, its Groth16 proof and field elements, each read with the file and the field of the
 * first malformed value (PROOF_INVALID, never a raw TypeError), and the proof as snarkjs's own files.
 */
import { ZkriskError } from "../core/errors";
import type { JsonReader } from "../core/validate";
import { FIELD_MODULUS } from "../crypto/field";
import type { Groth16Proof } from "../setup/snarkjs";

/** A malformed proof file; the message reads `file: field: reason`. */
export class ProofFileError extends ZkriskError {
  constructor(file: string, field: string, reason: string) {
    super("PROOF_INVALID", `${file}: ${field}: ${reason}`);
  }
}

/** A field element written as a decimal string in [0, p). */
export function fieldString(r: JsonReader): string {
  const v = r.bigint();
  if (v < 0n || v >= FIELD_MODULUS) r.error(`${v} is not a field element (0 <= v < p)`);
  return v.toString();
}

/** `n` field elements (an array of decimal strings). */
export function fieldStrings(r: JsonReader, n?: number): string[] {
  return r.items(n).map(fieldString);
}

/** The keys of a proof file: no other key is allowed. */
export const PROOF_FILE_KEYS = [
  "format",
  "market",
  "bar",
  "proof",
  "publicSignals",
  "calldata",
  "parameters",
  "features",
  "provingMs",
] as const;

/** A proof file's `bar`: an ISO-8601 time. */
export function proofFileBar(r: JsonReader): string {
  const bar = r.at("bar");
  if (Number.isNaN(Date.parse(bar.string()))) bar.error(`'${bar.string()}' is not an ISO-8601 time`);
  return bar.string();
}

/** A Groth16 proof in snarkjs's JSON form (BN254), every coordinate a field element. */
export function groth16ProofOf(r: JsonReader): Groth16Proof {
  r.onlyKeys(["pi_a", "pi_b", "pi_c", "protocol", "curve"]);
  return {
    pi_a: fieldStrings(r.at("pi_a"), 3),
    pi_b: r
      .at("pi_b")
      .items(3)
      .map((row) => fieldStrings(row, 2)),
    pi_c: fieldStrings(r.at("pi_c"), 3),
    protocol: r.at("protocol").literal("groth16"),
    curve: r.at("curve").literal("bn128"),
  };
}

/**
 * The proof as snarkjs's own files: `proof.json` is the Groth16 proof object, `public.json` the public
 * signals, so `snarkjs groth16 verify verification_key.json public.json proof.json` checks it.
 */
export function snarkjsProofFiles(update: { proof: Groth16Proof; publicSignals: string[] }): {
  "proof.json": Groth16Proof;
  "public.json": string[];
} {
  return { "proof.json": update.proof, "public.json": update.publicSignals };
}
