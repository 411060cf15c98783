/**
 * The native multi-exponentiation (prover/native/msm.c through prover/native-msm.ts) against ffjavascript's
 * `multiExpAffine`, G1 and G2, on seeded random points and scalars of several sizes, with the cases its
 * additions must get right: scalars 0, 1 and r - 1, zero bases (the zkey's B1 has thousands), a base repeated
 * (two equal points in one bucket: the doubling), a base next to its negation with the same scalar (the
 * bucket's sum is infinity), and fewer scalars than bases (the C multi-exponentiation). And the H scalars
 * (quotient: inverse FFT, coset shift, FFT, A B - C) against ffjavascript's Fr functions. Skipped, with the
 * reason, only when the addon is not built (tools/build-native.mjs); CI builds it. And a worker thread torn down
 * while its multi-exponentiation or quotient runs (a proof cancelled at the service's grace): the process lives on.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeMsm } from "../../prover/native-msm";

type Bytes = Uint8Array;
interface Group {
  g: Bytes;
  zero: Bytes;
  add(a: Bytes, b: Bytes): Bytes;
  neg(a: Bytes): Bytes;
  isZero(a: Bytes): boolean;
  timesScalar(a: Bytes, s: bigint): Bytes;
  toAffine(a: Bytes): Bytes;
  toRprLEM(buff: Bytes, offset: number, a: Bytes): void;
  multiExpAffine(bases: Bytes, scalars: Bytes): Promise<Bytes>;
}
interface ScalarField {
  w: Bytes[];
  e(x: bigint | number): Bytes;
  mul(a: Bytes, b: Bytes): Bytes;
  sub(a: Bytes, b: Bytes): Bytes;
  toRprLE(buff: Bytes, offset: number, a: Bytes): void;
  fft(buff: Bytes, inType: string, outType: string): Promise<Bytes>;
  ifft(buff: Bytes, inType: string, outType: string): Promise<Bytes>;
  batchApplyKey(buff: Bytes, first: Bytes, inc: Bytes): Promise<Bytes>;
}
interface Curve {
  r: bigint;
  Fr: ScalarField;
  G1: Group;
  G2: Group;
  terminate(): Promise<void>;
}
const { buildBn128 } = createRequire(__filename)("ffjavascript") as {
  buildBn128(singleThread?: boolean): Promise<Curve>;
};

const status = nativeMsm();
const why = status.loaded ? "" : ` (skipped: ${status.reason})`;

/** xorshift64*: the same points and scalars on every run. */
function rng(seed: bigint): () => bigint {
  let x = seed;
  return () => {
    x ^= x >> 12n;
    x ^= (x << 25n) & 0xffffffffffffffffn;
    x ^= x >> 27n;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  };
}

function scalarBytes(values: bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 32);
  values.forEach((v, i) => {
    for (let b = 0; b < 32; b++) out[i * 32 + b] = Number((v >> BigInt(8 * b)) & 0xffn);
  });
  return out;
}

/**
 * a and b are the same point: compared in affine form, because ffjavascript's result for a sum whose only
 * nonzero scalars fall on zero bases is (0, 0, 1), which its `eq` does not take for infinity.
 */
function same(G: Group, a: Bytes, b: Bytes): boolean {
  return Buffer.from(G.toAffine(a)).equals(Buffer.from(G.toAffine(b)));
}

let curve: Curve;
beforeAll(async () => {
  curve = await buildBn128(true);
});
afterAll(async () => {
  await curve?.terminate();
});

describe.skipIf(!status.loaded)(`native multi-exponentiation${why}`, () => {
  const addon = status.loaded ? status.addon : undefined;

  describe.each([
    { group: "G1", size: 64, prepare: (b: Uint8Array) => addon!.prepareG1(b) },
    { group: "G2", size: 128, prepare: (b: Uint8Array) => addon!.prepareG2(b) },
  ] as const)("$group", ({ group, size, prepare }) => {
    /** n bases (affine, Montgomery) and scalars, seeded, with the special cases spread among them. */
    function instance(n: number, seed: bigint) {
      const G = curve[group];
      const next = rng(seed);
      const r = curve.r;
      const bases = new Uint8Array(n * size);
      const scalars: bigint[] = [];
      let p = G.timesScalar(G.g, (next() % 1000n) + 2n);
      for (let i = 0; i < n; i++) {
        const kind = n < 4 ? 0 : i % 9;
        if (kind === 3) {
          // a zero base: all zero bytes
        } else if (kind === 5) {
          bases.copyWithin(i * size, (i - 1) * size, i * size); // the previous base again
        } else if (kind === 7) {
          G.toRprLEM(bases, i * size, G.toAffine(G.neg(p))); // the previous base negated, with its scalar (below)
        } else {
          p = G.add(p, G.timesScalar(G.g, (next() % 1_000_000n) + 1n));
          G.toRprLEM(bases, i * size, G.toAffine(p));
        }
        const pick = next() % 6n;
        const full = ((next() << 192n) | (next() << 128n) | (next() << 64n) | next()) % r;
        const s = pick === 0n ? 0n : pick === 1n ? 1n : pick === 2n ? r - 1n : full;
        // a base negated with the same scalar as the previous one: their bucket sums to infinity
        scalars.push(kind === 7 ? scalars[i - 1] : s);
      }
      return { bases, scalars: scalarBytes(scalars) };
    }

    it.each([1, 2, 3, 100, 5000])("equals ffjavascript's multiExpAffine on %i points", async (n) => {
      const G = curve[group];
      const { bases, scalars } = instance(n, BigInt(n) * 7919n + (group === "G1" ? 1n : 2n));
      const handle = prepare(bases);
      const expected = await G.multiExpAffine(bases, scalars);
      for (const threads of [1, 2, 3]) {
        expect(same(G, await addon!.msm(handle, scalars, threads), expected), `${threads} threads`).toBe(
          true,
        );
      }
    });

    it("takes the special scalars alone: 0, 1, r - 1 on one base, and on a zero base", async () => {
      const G = curve[group];
      const bases = new Uint8Array(2 * size);
      G.toRprLEM(bases, 0, G.toAffine(G.timesScalar(G.g, 12345n)));
      const handle = prepare(bases);
      for (const s of [0n, 1n, curve.r - 1n, curve.r, 2n ** 256n - 1n]) {
        const scalars = scalarBytes([s, 99n]);
        const expected = await G.multiExpAffine(bases, scalars);
        expect(same(G, await addon!.msm(handle, scalars, 2), expected), `scalar ${s}`).toBe(true);
      }
      expect(G.isZero(await addon!.msm(handle, scalarBytes([0n, 0n]), 1))).toBe(true);
    });

    it("uses the first bases when given fewer scalars", async () => {
      const G = curve[group];
      const { bases, scalars } = instance(100, 17n);
      const handle = prepare(bases);
      const expected = await G.multiExpAffine(bases.slice(0, 60 * size), scalars.slice(0, 60 * 32));
      expect(same(G, await addon!.msm(handle, scalars.slice(0, 60 * 32), 2), expected)).toBe(true);
    });
  });

  it.each([1, 4, 10])(
    "computes the H scalars as ffjavascript's ifft, batchApplyKey, fft and A B - C do (domain 2^%i)",
    async (power) => {
      const { Fr } = curve;
      const n = 2 ** power;
      const next = rng(BigInt(power) + 99n);
      const polys = [0, 1, 2].map(() => {
        const values = new Uint8Array(n * 32);
        for (let i = 0; i < n; i++) {
          const v =
            i % 5 === 0 ? 0n : ((next() << 192n) | (next() << 128n) | (next() << 64n) | next()) % curve.r;
          values.set(Fr.e(v), i * 32); // Montgomery form, as qap_buildABC gives them
        }
        return values;
      });
      const g = Fr.w[power + 1];
      const coset = await Promise.all(
        polys.map(async (p) => Fr.fft(await Fr.batchApplyKey(await Fr.ifft(p, "", ""), Fr.e(1), g), "", "")),
      );
      const expected = new Uint8Array(n * 32);
      for (let i = 0; i < n; i++) {
        const at = (p: Bytes) => p.slice(i * 32, (i + 1) * 32);
        Fr.toRprLE(expected, i * 32, Fr.sub(Fr.mul(at(coset[0]), at(coset[1])), at(coset[2])));
      }
      const abc = new Uint8Array(3 * n * 32);
      polys.forEach((p, k) => abc.set(p, k * n * 32));
      const got = await addon!.quotient(abc, Fr.w[power], g);
      expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
    },
  );

  it("lives on when a worker thread is terminated while its work runs", () => {
    // In a child process: what this guards against is a segmentation fault, which would end the test runner.
    // Each thread loops one kind of work on 2^16 random bytes (the arithmetic does not need valid points) and
    // is terminated at a random point of it; before the completions checked their N-API calls, the first
    // termination crashed the process.
    const script = `
      const { Worker } = require("node:worker_threads");
      const thread = (kind) => \`
        const { parentPort } = require("node:worker_threads");
        const { randomFillSync } = require("node:crypto");
        const addon = require(\${JSON.stringify(${JSON.stringify(status.loaded ? status.path : "")})});
        const n = 1 << 16;
        const random = (bytes) => {
          const out = new Uint8Array(bytes);
          for (let i = 0; i < bytes; i += 65536) randomFillSync(out.subarray(i, i + 65536));
          for (let i = 31; i < bytes; i += 32) out[i] &= 0x0f;
          return out;
        };
        const work = "\${kind}" === "msm"
          ? ((bases, scalars) => () => addon.msm(bases, scalars, 2))(addon.prepareG1(random(n * 64)), random(n * 32))
          : ((abc, w, g) => () => addon.quotient(abc, w, g))(random(3 * n * 32), random(32), random(32));
        parentPort.postMessage("started");
        (async () => { for (;;) await work(); })();
      \`;
      (async () => {
        for (let k = 0; k < 6; k++) {
          const worker = new Worker(thread(k % 2 ? "quotient" : "msm"), { eval: true });
          await new Promise((resolve) => worker.once("message", resolve));
          await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 150));
          await worker.terminate();
        }
        process.stdout.write("lived");
      })();
    `;
    const run = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect({ status: run.status, signal: run.signal, stdout: run.stdout }).toEqual({
      status: 0,
      signal: null,
      stdout: "lived",
    });
  });

  it("refuses scalars that do not fit the bases", () => {
    const handle = addon!.prepareG1(new Uint8Array(64));
    expect(() => addon!.msm(handle, new Uint8Array(64), 1)).toThrow(/more scalars than bases/);
    expect(() => addon!.msm(handle, new Uint8Array(31), 1)).toThrow(/32-byte/);
    expect(() => addon!.prepareG1(new Uint8Array(65))).toThrow(/whole number of points/);
    expect(() => addon!.quotient(new Uint8Array(3 * 3 * 32), new Uint8Array(32), new Uint8Array(32))).toThrow(
      /power of 2/,
    );
  });
});
