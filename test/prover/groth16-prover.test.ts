/**
 * Groth16Prover (prover/groth16-prover.ts) against snarkjs on a small real circuit: a Poseidon hash (its
 * constraints, after --O2, have the dense linear combinations that make the QAP's coefficient list long), a few
 * products and bits, three public signals. Its proofs must verify with the verification key, carry snarkjs's
 * public signals, and come from snarkjs's witness; a witness that breaks a constraint must give a proof that
 * does not verify (so the verification is not vacuous). Both curve modes (worker threads, single thread), each
 * with ffjavascript's WebAssembly multi-exponentiations and with the native addon's (prover/native-msm.ts; those
 * skip, with the reason, only when the addon is not built), and the fallback to WebAssembly when the addon is
 * switched off (ZKRISK_NATIVE=0) or absent.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadCircuit, type TestCircuit } from "../helpers/circuits";
import { loadArtifacts } from "../../setup/artifacts";
import { Groth16Prover } from "../../prover/groth16-prover";
import { nativeMsm } from "../../prover/native-msm";
import { releaseCurves, runSetup, snarkjs, type VerificationKey } from "../../setup";

// cost: Poseidon(3) (circomlib, about 250 at --O2) + Num2Bits(16) (16 + 0: the sum is linear) + 2 products.
const SOURCE = `pragma circom 2.1.0;
include "poseidon.circom";
include "bitify.circom";
template Small() {
  signal input a;
  signal input b;
  signal input c;
  signal output h;
  signal output ab;
  signal output abc;
  component hash = Poseidon(3);
  hash.inputs[0] <== a;
  hash.inputs[1] <== b;
  hash.inputs[2] <== c;
  h <== hash.out;
  component bits = Num2Bits(16);
  bits.in <== c;
  ab <== a * b;
  abc <== ab * c;
}
component main = Small();
`;

const INPUT = { a: "12345678901234567890", b: "-7", c: "40000" };

interface WtnsApi {
  wtns: {
    calculate(
      input: unknown,
      wasm: { type: "mem"; data: Uint8Array },
      out: { type: "mem"; data?: Uint8Array },
    ): Promise<void>;
  };
}

let tmp: string;
let circuit: TestCircuit;
let wasm: Uint8Array;
let zkey: Uint8Array;
let vkey: VerificationKey;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-groth16-prover-"));
  circuit = await loadCircuit(SOURCE, "groth16_prover_small");
  const model = join(tmp, "model.json");
  writeFileSync(model, JSON.stringify({ name: "groth16 prover test" }));
  const out = join(tmp, "artifacts");
  const silent = { info: () => {}, warn: () => {} };
  await runSetup({ r1cs: circuit.r1csPath, wasm: circuit.wasmPath, model, out }, silent);
  const { paths } = loadArtifacts(out, { modelPath: model });
  wasm = readFileSync(paths.wasm);
  zkey = readFileSync(paths.zkey);
  vkey = JSON.parse(readFileSync(paths.vkey, "utf8")) as VerificationKey;
});

afterAll(async () => {
  await releaseCurves();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const native = nativeMsm();
const nativeSkip = native.loaded ? "" : ` (skipped: ${native.reason})`;

describe.each([
  { label: "worker threads, wasm msm", singleThread: false, msm: "wasm" as const },
  { label: "single thread, wasm msm", singleThread: true, msm: "wasm" as const },
  { label: `worker threads, native msm${nativeSkip}`, singleThread: false, msm: "native" as const },
  { label: `single thread, native msm${nativeSkip}`, singleThread: true, msm: "native" as const },
])("Groth16Prover ($label)", ({ singleThread, msm }) => {
  let prover: Groth16Prover;
  const skip = msm === "native" && !native.loaded;
  beforeAll(async () => {
    if (!skip) prover = await Groth16Prover.open(wasm, zkey, { singleThread, msm });
  });
  afterAll(async () => {
    await prover?.close();
  });

  it.skipIf(skip)("runs the multi-exponentiations it was asked for", () => {
    expect(prover.msm).toBe(msm);
  });

  it.skipIf(skip)("computes snarkjs's witness", async () => {
    const out: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await (snarkjs as unknown as WtnsApi).wtns.calculate(INPUT, { type: "mem", data: wasm }, out);
    const ours = await prover.witness(INPUT);
    // snarkjs's .wtns: 12-byte file header, section 1 (12 + 40 bytes), then section 2's 12-byte header.
    expect(Buffer.from(ours).equals(Buffer.from(out.data!.subarray(76)))).toBe(true);
  });

  it.skipIf(skip)(
    "proves what snarkjs proves, and the proof verifies (twice: the loaded key is reused)",
    async () => {
      const expected = await snarkjs.groth16.fullProve(
        INPUT,
        { type: "mem", data: wasm } as never,
        {
          type: "mem",
          data: zkey,
        } as never,
      );
      for (let run = 0; run < 2; run++) {
        const { proof, publicSignals, witnessMs, proofMs } = await prover.prove(INPUT);
        expect(publicSignals).toEqual(expected.publicSignals);
        expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).toBe(true);
        expect(witnessMs).toBeGreaterThan(0);
        expect(proofMs).toBeGreaterThan(0);
      }
    },
  );

  it.skipIf(skip)("gives a proof that does not verify for a witness that breaks a constraint", async () => {
    const witness = (await prover.witness(INPUT)).slice();
    // Signal 2 is `ab` (outputs come first after the constant 1): a wrong product.
    witness[2 * 32] ^= 1;
    const { proof, publicSignals } = await prover.proveWitness(witness);
    expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).toBe(false);
  });
});

describe("Groth16Prover without the native addon", () => {
  const saved = process.env.ZKRISK_NATIVE;
  let fresh: typeof import("../../prover/groth16-prover");
  beforeAll(async () => {
    // A fresh module graph reads ZKRISK_NATIVE anew (the addon's status is kept per process otherwise).
    process.env.ZKRISK_NATIVE = "0";
    vi.resetModules();
    fresh = await import("../../prover/groth16-prover");
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.ZKRISK_NATIVE;
    else process.env.ZKRISK_NATIVE = saved;
  });

  it("falls back to WebAssembly by default (auto), and its proof verifies", async () => {
    const prover = await fresh.Groth16Prover.open(wasm, zkey);
    try {
      expect(prover.msm).toBe("wasm");
      const { proof, publicSignals } = await prover.prove(INPUT);
      expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).toBe(true);
    } finally {
      await prover.close();
    }
  });

  it("refuses msm: native, naming the reason", async () => {
    await expect(fresh.Groth16Prover.open(wasm, zkey, { msm: "native" })).rejects.toThrow(
      /msm: native: ZKRISK_NATIVE=0/,
    );
  });
});

describe.skipIf(!native.loaded)(`Groth16Prover, native against wasm msm${nativeSkip}`, () => {
  it("gives the same public signals, and both proofs verify", async () => {
    const [n, w] = [
      await Groth16Prover.open(wasm, zkey, { msm: "native" }),
      await Groth16Prover.open(wasm, zkey, { msm: "wasm" }),
    ];
    try {
      const witness = await w.witness(INPUT);
      const a = await n.proveWitness(witness);
      const b = await w.proveWitness(witness);
      expect(a.publicSignals).toEqual(b.publicSignals);
      expect(await snarkjs.groth16.verify(vkey, a.publicSignals, a.proof)).toBe(true);
      expect(await snarkjs.groth16.verify(vkey, b.publicSignals, b.proof)).toBe(true);
    } finally {
      await n.close();
      await w.close();
    }
  });

  it("refuses an unknown msm choice", async () => {
    await expect(Groth16Prover.open(wasm, zkey, { msm: "gpu" as never })).rejects.toThrow(/msm must be/);
  });
});
