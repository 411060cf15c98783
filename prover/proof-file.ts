/**
 * The envelope of a proof file (what `zkrisk prove` writes; signed-proof-file.ts reads and checks a signed
 * update's): its keys, its bar, its Groth16 proof and field elements, each read with the file and the field of the
 * first malformed value (PROOF_INVALID, never a raw TypeError), and the proof as snarkjs's own files.
 */
import { ZkriskError } from "../core/errors";
import type { JsonReader } from "../core/validate";
import { FIELD_MODULUS } from "../crypto/field";
import type { Groth16Proof } from "../setup/snarkjs";
import { toVerifierCalldata, type VerifierCalldata } from "./calldata";

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
 * What a proof file states that its proof contradicts (a margin, a time, a digest, a statement or a calldata that
 * are not what the proven public signals carry). By default the reader refuses the file at the first one
 * (PROOF_INVALID, exit code 2: `zkrisk submit` sends nothing); `zkrisk verify` collects them instead, since a
 * well-formed file whose claims do not hold is its verdict FAIL (exit code 1), not a usage error.
 */
export class Contradictions {
  /** Each contradiction found so far, as `field: reason`. */
  readonly found: string[] = [];

  constructor(private readonly collect = false) {}

  /** Report that field `r` states what the proof contradicts: refuse the file, or note it. */
  report(r: JsonReader, reason: string): void {
    if (!this.collect) r.error(reason);
    this.found.push(`${r.field}: ${reason}`);
  }
}

/**
 * A proof file's `calldata`: the verifier call's arguments (a, b, c, input), checked for their shape and then
 * against the call rebuilt from the proof and its public signals, which is what is returned and sent: the file's
 * own calldata is never trusted, and one that differs is a contradiction naming the first entry that differs.
 */
export function verifierCalldataOf(
  r: JsonReader,
  proof: Groth16Proof,
  publicSignals: readonly string[],
  contradictions: Contradictions,
): VerifierCalldata {
  r.onlyKeys(["a", "b", "c", "input"]);
  const rebuilt = toVerifierCalldata(proof, publicSignals);
  // Each entry's reader, the value the file states there, and the one the rebuilt call has.
  const row = (at: JsonReader, wanted: readonly string[]): [JsonReader, string, string][] =>
    at.items(wanted.length).map((e, i) => [e, fieldString(e), wanted[i]]);
  const entries = [
    ...row(r.at("a"), rebuilt.a),
    ...r
      .at("b")
      .items(2)
      .flatMap((b, i) => row(b, rebuilt.b[i])),
    ...row(r.at("c"), rebuilt.c),
    ...row(r.at("input"), rebuilt.input),
  ];
  const differs = entries.find(([, stated, wanted]) => stated !== wanted);
  if (differs !== undefined) {
    const [at, stated, wanted] = differs;
    contradictions.report(
      at,
      `states ${stated}, the verifier call of the proof and its public signals has ${wanted}`,
    );
  }
  return rebuilt;
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
