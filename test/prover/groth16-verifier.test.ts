/**
 * Groth16Verifier (prover/groth16-verifier.ts) decides as snarkjs.groth16.verify does, on real proofs of a small
 * real circuit with three public signals (set up by runSetup, proved by snarkjs): honest proofs verify; every
 * edited signal, a signal at or above r (also one congruent to the honest one), each point replaced, moved off its
 * curve, swapped or put at infinity, and random edits of the signals and coordinates are refused by both alike. Its
 * own refusals: another number of signals than the key's, a key that is not Groth16 on bn128. It keeps its verdicts
 * across a release and rebuild of the shared curve (releaseCurves).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIELD_MODULUS, loadCircuit } from "../helpers/circuits";
import { loadArtifacts } from "../../setup/artifacts";
import { Groth16Verifier } from "../../prover/groth16-verifier";
import { releaseCurves, runSetup, snarkjs, type Groth16Proof, type VerificationKey } from "../../setup";

const SOURCE = `pragma circom 2.1.0;
template Product() {
  signal input a;
  signal input b;
  signal input c;
  signal output ab;
  signal output abc;
  ab <== a * b;
  abc <== ab * c;
}
component main { public [c] } = Product();
`;

/** The bn128 scalar field's order, r: the circuits' field. */
const R = FIELD_MODULUS;

let tmp: string;
let vkey: VerificationKey;
const proved: { proof: Groth16Proof; publicSignals: string[] }[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-groth16-verifier-"));
  const circuit = await loadCircuit(SOURCE, "groth16_verifier_product");
  const model = join(tmp, "model.json");
  writeFileSync(model, JSON.stringify({ name: "groth16 verifier test" }));
  const out = join(tmp, "artifacts");
  await runSetup({ r1cs: circuit.r1csPath, wasm: circuit.wasmPath, model, out }, { info() {}, warn() {} });
  const { paths } = loadArtifacts(out, { modelPath: model });
  vkey = JSON.parse(readFileSync(paths.vkey, "utf8")) as VerificationKey;
  for (const input of [
    { a: "3", b: "5", c: "7" },
    { a: "12345678901234567890", b: "-7", c: "40000" },
    { a: "0", b: "1", c: "2" },
  ]) {
    proved.push(await snarkjs.groth16.fullProve(input, circuit.wasmPath, paths.zkey));
  }
});

afterAll(async () => {
  await releaseCurves();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Both verdicts on one (signals, proof), which must agree; returns the common verdict. */
async function agreed(verifier: Groth16Verifier, signals: string[], proof: Groth16Proof): Promise<boolean> {
  const ours = await verifier.verify(signals, proof);
  const theirs = await snarkjs.groth16.verify(vkey, signals, proof);
  expect(ours, JSON.stringify({ signals, proof })).toBe(theirs);
  return ours;
}

describe("Groth16Verifier against snarkjs.groth16.verify", () => {
  it("verifies honest proofs, each as often as asked", async () => {
    const verifier = new Groth16Verifier(vkey);
    expect(vkey.nPublic).toBe(3);
    for (let round = 0; round < 2; round++) {
      for (const p of proved) expect(await agreed(verifier, p.publicSignals, p.proof)).toBe(true);
    }
  });

  it("refuses every edited signal, one at or above r, and another proof's signals", async () => {
    const verifier = new Groth16Verifier(vkey);
    const [p, q] = proved;
    for (let i = 0; i < p.publicSignals.length; i++) {
      for (const edit of [1n, -1n, R - 1n]) {
        const signals = [...p.publicSignals];
        signals[i] = String((BigInt(signals[i]) + edit) % R);
        expect(await agreed(verifier, signals, p.proof)).toBe(false);
      }
      for (const value of [R, R + BigInt(p.publicSignals[i]), 2n ** 256n - 1n]) {
        const signals = [...p.publicSignals];
        signals[i] = String(value);
        expect(await agreed(verifier, signals, p.proof)).toBe(false);
      }
    }
    expect(await agreed(verifier, q.publicSignals, p.proof)).toBe(false);
  });

  it("refuses each point replaced, off its curve, swapped or at infinity", async () => {
    const verifier = new Groth16Verifier(vkey);
    const [p, q] = proved;
    const edits: ((proof: Groth16Proof) => void)[] = [
      (proof) => (proof.pi_a = copy(q.proof.pi_a)),
      (proof) => (proof.pi_b = copy(q.proof.pi_b)),
      (proof) => (proof.pi_c = copy(q.proof.pi_c)),
      (proof) => (proof.pi_a[0] = String(BigInt(proof.pi_a[0]) + 1n)),
      (proof) => (proof.pi_c[1] = String(BigInt(proof.pi_c[1]) + 1n)),
      (proof) => (proof.pi_b[0][1] = String(BigInt(proof.pi_b[0][1]) + 1n)),
      (proof) => (proof.pi_b = [proof.pi_b[1], proof.pi_b[0], proof.pi_b[2]]),
      (proof) => (proof.pi_b = proof.pi_b.map((c) => [c[1], c[0]])),
      (proof) => ([proof.pi_a, proof.pi_c] = [proof.pi_c, proof.pi_a]),
      (proof) => (proof.pi_a = ["0", "1", "0"]),
      (proof) => (proof.pi_c = ["0", "1", "0"]),
      (proof) =>
        (proof.pi_b = [
          ["0", "0"],
          ["1", "0"],
          ["0", "0"],
        ]),
    ];
    for (const edit of edits) {
      const proof = copy(p.proof);
      edit(proof);
      expect(await agreed(verifier, p.publicSignals, proof)).toBe(false);
    }
  });

  it("agrees on random edits of a signal or a coordinate", async () => {
    const verifier = new Groth16Verifier(vkey);
    let seed = 20261207;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let k = 0; k < 24; k++) {
      const p = proved[next() % proved.length];
      const signals = [...p.publicSignals];
      const proof = copy(p.proof);
      const bump = BigInt(1 + (next() % 1000));
      const where = next() % 7;
      if (where < 3) signals[where] = String((BigInt(signals[where]) + bump) % R);
      else if (where === 3) proof.pi_a[next() % 2] = String(BigInt(proof.pi_a[0]) + bump);
      else if (where === 4) proof.pi_c[next() % 2] = String(BigInt(proof.pi_c[1]) + bump);
      else proof.pi_b[next() % 2][where - 5] = String(BigInt(proof.pi_b[0][0]) + bump);
      expect(await agreed(verifier, signals, proof)).toBe(false);
    }
  });

  it("keeps its verdicts after the shared curve is released and built again", async () => {
    const verifier = new Groth16Verifier(vkey);
    const [p] = proved;
    expect(await verifier.verify(p.publicSignals, p.proof)).toBe(true);
    await releaseCurves();
    expect(await verifier.verify(p.publicSignals, p.proof)).toBe(true);
    const edited = [...p.publicSignals];
    edited[2] = String(BigInt(edited[2]) + 1n);
    expect(await verifier.verify(edited, p.proof)).toBe(false);
  });

  it("refuses another number of signals than the key's, and a key that is not Groth16 on bn128", async () => {
    const verifier = new Groth16Verifier(vkey);
    const [p] = proved;
    expect(await verifier.verify(p.publicSignals.slice(0, 2), p.proof)).toBe(false);
    expect(await verifier.verify([...p.publicSignals, "0"], p.proof)).toBe(false);
    expect(() => new Groth16Verifier({ ...vkey, protocol: "plonk" })).toThrow(
      /^a plonk key on bn128, not a Groth16 key on bn128$/,
    );
    expect(() => new Groth16Verifier({ ...vkey, curve: "bls12381" })).toThrow(/not a Groth16 key on bn128$/);
  });
});
