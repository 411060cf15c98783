/**
 * Publisher keys and signatures: EdDSA-Poseidon on BabyJubJub, the scheme circomlib's `EdDSAPoseidonVerifier`
 * checks in a circuit. That template takes the inputs `Ax, Ay` (public key), `R8x, R8y, S` (signature) and `M`
 * (message, here a window digest), and accepts iff S < SUBGROUP_ORDER (a 253-bit `CompConstant` check), 8·A is
 * not the identity, and S·B8 = R8 + 8·H(R8x, R8y, Ax, Ay, M)·A with H = Poseidon(5). The names and rules below
 * follow it.
 *
 * Verification (`publicKeyViolation`, `verifySignature`) runs on the project's own curve (babyjubjub.ts) and
 * Poseidon (crypto/poseidon.ts), so the prover never loads circomlibjs. Key derivation and signing
 * (`publicKeyOf`, `signDigest`), the publisher's side only, go through circomlibjs's `buildEddsa`: a private
 * key is 32 random bytes, from which it derives the scalar by blake512 and pruning. A private key never
 * leaves this module and the keystore (keystore.ts) except as bytes handed to `signDigest`.
 */
import { randomBytes } from "node:crypto";
import { FIELD_MODULUS } from "../crypto/field";
import { poseidon } from "../crypto/poseidon";
import {
  addPoints,
  BASE8,
  isInSubgroup,
  isOnCurve,
  mulPoint,
  multiplesTable,
  mulWithTable,
  pointsEqual,
  SUBGROUP_ORDER,
  type CurvePoint,
  type MultiplesTable,
} from "./babyjubjub";
import { SignatureError } from "./errors";

/** A publisher's public key, a BabyJubJub point, as two BN254 field elements (`Ax`, `Ay` of the circuit). */
export interface PublicKey {
  Ax: bigint;
  Ay: bigint;
}

/** An EdDSA-Poseidon signature, as the circuit's inputs: the point R8 and the scalar S < SUBGROUP_ORDER. */
export interface Signature {
  R8x: bigint;
  R8y: bigint;
  S: bigint;
}

/** Bytes of a private key. */
export const PRIVATE_KEY_BYTES = 32;

type Point = [unknown, unknown];
interface EddsaLib {
  babyJub: { F: { e(x: bigint): unknown; toObject(x: unknown): bigint } };
  prv2pub(prv: Uint8Array): Point;
  signPoseidon(prv: Uint8Array, msg: unknown): { R8: Point; S: bigint };
}

let eddsaPromise: Promise<EddsaLib> | undefined;

/** circomlibjs's EdDSA, built once per process, and only by signing or key derivation. */
function eddsa(): Promise<EddsaLib> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  eddsaPromise ??= (require("circomlibjs") as { buildEddsa(): Promise<EddsaLib> }).buildEddsa();
  return eddsaPromise;
}

/** A fresh private key: 32 bytes from the OS's secure random source. */
export function generatePrivateKey(): Uint8Array {
  return new Uint8Array(randomBytes(PRIVATE_KEY_BYTES));
}

function checkPrivateKey(prv: Uint8Array): void {
  if (prv.length !== PRIVATE_KEY_BYTES) {
    throw new RangeError(`private key: expected ${PRIVATE_KEY_BYTES} bytes, got ${prv.length}`);
  }
}

/** The public key of a 32-byte private key. */
export async function publicKeyOf(prv: Uint8Array): Promise<PublicKey> {
  checkPrivateKey(prv);
  const lib = await eddsa();
  const [x, y] = lib.prv2pub(prv);
  return { Ax: lib.babyJub.F.toObject(x), Ay: lib.babyJub.F.toObject(y) };
}

const isField = (v: bigint) => v >= 0n && v < FIELD_MODULUS;

/**
 * The reason `key` is not a usable publisher key, or undefined: both coordinates in [0, p), on the curve,
 * in the prime subgroup and not the identity (so 8·A is not the identity, the circuit's check).
 */
export function publicKeyViolation(key: PublicKey): Promise<string | undefined> {
  return Promise.resolve(keyViolation(key));
}

function keyViolation(key: PublicKey): string | undefined {
  if (!isField(key.Ax) || !isField(key.Ay)) return "a coordinate is not a field element in [0, p)";
  const point: CurvePoint = { x: key.Ax, y: key.Ay };
  if (!isOnCurve(point)) return "not a point of BabyJubJub";
  if (key.Ax === 0n) return "a point of small order (x = 0)";
  if (!isInSubgroup(point)) return "not in the prime-order subgroup";
  return undefined;
}

/** Signs a digest (a field element, e.g. a window digest) with EdDSA-Poseidon. */
export async function signDigest(prv: Uint8Array, digest: bigint): Promise<Signature> {
  checkPrivateKey(prv);
  if (!isField(digest)) throw new RangeError(`signDigest: digest ${digest} is not a field element in [0, p)`);
  const lib = await eddsa();
  const { R8, S } = lib.signPoseidon(prv, lib.babyJub.F.e(digest));
  return { R8x: lib.babyJub.F.toObject(R8[0]), R8y: lib.babyJub.F.toObject(R8[1]), S };
}

/**
 * Whether `sig` is `key`'s signature of `digest`, by the circuit's rules: S < SUBGROUP_ORDER (an S one
 * subgroup order higher satisfies the curve equation too, and is refused), every coordinate and the digest
 * in [0, p), R8 on the curve, the key valid (see `publicKeyViolation`), and the EdDSA-Poseidon equation.
 */
export function verifySignature(key: PublicKey, digest: bigint, sig: Signature): Promise<boolean> {
  return Promise.resolve(signatureHolds(key, digest, sig));
}

/** What verification keeps of a public key it has seen: its violation, and from its second use a table. */
interface KeyFacts {
  violation: string | undefined;
  uses: number;
  table?: MultiplesTable;
}

/** Keys remembered at most; the least recently used is forgotten first. A publisher set has a few. */
const KEY_CACHE_SIZE = 64;
const keyCache = new Map<string, KeyFacts>();

/** Bits of 8·h, h a field element: the scalars a key is multiplied by. */
const KEY_SCALAR_BITS = 257;

/** The remembered facts of `key`, its table built on its second use (so one check of one key builds none). */
function factsOf(key: PublicKey): KeyFacts {
  const id = `${key.Ax},${key.Ay}`;
  let facts = keyCache.get(id);
  if (facts) keyCache.delete(id);
  else facts = { violation: keyViolation(key), uses: 0 };
  keyCache.set(id, facts);
  if (keyCache.size > KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  facts.uses++;
  if (facts.uses === 2 && facts.violation === undefined)
    facts.table = multiplesTable({ x: key.Ax, y: key.Ay }, KEY_SCALAR_BITS);
  return facts;
}

let base8Table: MultiplesTable | undefined;

function signatureHolds(key: PublicKey, digest: bigint, sig: Signature): boolean {
  if (sig.S < 0n || sig.S >= SUBGROUP_ORDER) return false;
  if (!isField(digest) || !isField(sig.R8x) || !isField(sig.R8y)) return false;
  const facts = factsOf(key);
  if (facts.violation !== undefined) return false;
  const r8: CurvePoint = { x: sig.R8x, y: sig.R8y };
  if (!isOnCurve(r8)) return false;
  // h is the full Poseidon output (the circuit's Num2Bits_strict), multiplied as an integer, not mod l.
  const h = poseidon([sig.R8x, sig.R8y, key.Ax, key.Ay, digest]);
  base8Table ??= multiplesTable(BASE8, SUBGROUP_ORDER.toString(2).length);
  const left = mulWithTable(base8Table, sig.S);
  const keyTimesH = facts.table
    ? mulWithTable(facts.table, 8n * h)
    : mulPoint({ x: key.Ax, y: key.Ay }, 8n * h);
  return pointsEqual(left, addPoints(r8, keyTimesH));
}

/**
 * Like `verifySignature`, but throws.
 * @param what names the signed thing in the message (e.g. `window.json`).
 * @throws SignatureError `<what>: the signature does not verify ...`
 */
export async function assertSignature(
  key: PublicKey,
  digest: bigint,
  sig: Signature,
  what: string,
): Promise<void> {
  if (!(await verifySignature(key, digest, sig))) {
    throw new SignatureError(
      `${what}: the signature does not verify for public key (${key.Ax}, ${key.Ay}) and digest ${digest}`,
    );
  }
}

/** Orders public keys canonically: by Ax, then by Ay, as integers. */
export function comparePublicKeys(a: PublicKey, b: PublicKey): number {
  if (a.Ax !== b.Ax) return a.Ax < b.Ax ? -1 : 1;
  return a.Ay === b.Ay ? 0 : a.Ay < b.Ay ? -1 : 1;
}
