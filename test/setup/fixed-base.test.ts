/**
 * The building blocks of the direct development setup: the field's roots of unity and Lagrange values (against
 * ffjavascript, which snarkjs uses) and the fixed-base multiplier (against ffjavascript's own scalar multiplication).
 */
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIELD_MODULUS as R } from "../../crypto/field";
import { AFFINE_BYTES, FixedBaseMultiplier, type Group } from "../../setup/fixed-base";
import { lagrangeValues, mul, pow, rootOfUnity, TWO_ADICITY } from "../../setup/scalar-field";

interface FfGroup {
  g: unknown;
  timesScalar(p: unknown, s: bigint): unknown;
  toAffine(p: unknown): unknown;
  toRprLEM(out: Uint8Array, offset: number, p: unknown): void;
}
interface FfCurve {
  Fr: { w: unknown[]; toObject(v: unknown): bigint };
  G1: FfGroup;
  G2: FfGroup;
}

const { buildBn128 } = createRequire(__filename)("ffjavascript") as {
  buildBn128(singleThread: boolean): Promise<FfCurve>;
};

let curve: FfCurve;
beforeAll(async () => {
  curve = await buildBn128(true);
});

/** A deterministic stream of field elements (xorshift-based; enough for test vectors). */
function* scalars(seed: bigint, count: number): Generator<bigint> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) % (1n << 256n);
    yield (x * x) % R;
  }
}

describe("scalar field", () => {
  it("has ffjavascript's roots of unity for every domain size", () => {
    for (let k = 0; k <= TWO_ADICITY; k++)
      expect(rootOfUnity(k), `w[${k}]`).toBe(curve.Fr.toObject(curve.Fr.w[k]));
    expect(pow(rootOfUnity(TWO_ADICITY), 1n << 27n)).toBe(R - 1n);
  });

  it("gives Lagrange values that interpolate: sum_i L_i(x) w^(ij) = x^j", () => {
    const x = 987654321987654321n;
    for (const k of [0, 1, 3, 5]) {
      const n = 2 ** k;
      const L = lagrangeValues(x, k, { start: 0, count: n });
      const w = rootOfUnity(k);
      for (const j of new Set([0, Math.min(1, n - 1), n - 1])) {
        const sum = L.reduce((acc, l, i) => (acc + mul(l, pow(w, BigInt(i * j)))) % R, 0n);
        expect(sum, `k=${k} j=${j}`).toBe(pow(x, BigInt(j)));
      }
      // A window with a stride picks the same values.
      expect(lagrangeValues(x, k, { start: 1, count: n >> 1, factor: 7n, stride: 2 })).toEqual(
        L.filter((_, i) => i % 2 === 1).map((v) => mul(v, 7n)),
      );
    }
  });
});

describe("fixed-base multiplier", () => {
  const pools: FixedBaseMultiplier[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  for (const [label, expected] of [
    ["8-bit tables", { g1: 10, g2: 10 }],
    ["12-bit tables", { g1: 1e9, g2: 1e9 }],
  ] as const) {
    it(`computes s * G in G1 and G2 as ffjavascript does (${label}), zero and r - 1 included`, async () => {
      const pool = new FixedBaseMultiplier({ threads: 2, expected });
      pools.push(pool);
      const list = [0n, 1n, 2n, R - 1n, (1n << 253n) + 5n, ...scalars(BigInt(label.length), 40)];
      for (const group of ["g1", "g2"] as Group[]) {
        const { points } = await pool.multiplyMany(group, list);
        const G = group === "g1" ? curve.G1 : curve.G2;
        list.forEach((s, i) => {
          const want = new Uint8Array(AFFINE_BYTES[group]);
          G.toRprLEM(want, 0, G.toAffine(G.timesScalar(G.g, s)));
          const got = points.subarray(i * AFFINE_BYTES[group], (i + 1) * AFFINE_BYTES[group]);
          expect(Buffer.from(got).toString("hex"), `${group} scalar #${i}`).toBe(
            Buffer.from(want).toString("hex"),
          );
        });
      }
    });
  }

  it("refuses scalars that share a larger buffer (they are moved to the thread)", () => {
    const pool = new FixedBaseMultiplier({ threads: 1, expected: { g1: 1, g2: 1 } });
    pools.push(pool);
    const shared = new Uint8Array(64);
    expect(() => pool.multiply("g1", shared.subarray(0, 32))).toThrow(/own their buffer/);
  });
});
