/**
 * EdDSA-Poseidon publisher signatures: accepted by the right key over the right digest, refused otherwise;
 * verification agrees with circomlibjs's `verifyPoseidon` and does not load circomlibjs.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { windowDigest, type Window } from "../../candles";
import { FIELD_MODULUS } from "../../crypto/field";
import { bigRandom } from "../helpers/circuits/testing";
import {
  assertSignature,
  generatePrivateKey,
  publicKeyOf,
  publicKeyViolation,
  signDigest,
  SignatureError,
  SUBGROUP_ORDER,
  verifySignature,
  type PublicKey,
  type Signature,
} from "../../publisher";
import { HOUR, SMALL_WINDOW } from "../helpers/windows";

/** Deterministic test keys: 32 bytes of one value. */
const key = (byte: number) => new Uint8Array(32).fill(byte);

/** The same window with its bars moved to another interval or end (positions keep their meaning). */
function moved(w: Window, intervalMs: number, endTime: number): Window {
  const n = w.bars.length;
  return {
    ...w,
    intervalMs,
    endTime,
    bars: w.bars.map((b, i) => ({ ...b, time: endTime - (n - 1 - i) * intervalMs })),
  };
}

describe("publisher signatures", () => {
  it("agrees with circomlibjs on the subgroup order, and makes fresh 32-byte keys", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildBabyjub } = require("circomlibjs") as { buildBabyjub(): Promise<{ subOrder: bigint }> };
    expect((await buildBabyjub()).subOrder).toBe(SUBGROUP_ORDER);
    const a = generatePrivateKey();
    expect(a).toHaveLength(32);
    expect(Buffer.from(a).equals(Buffer.from(generatePrivateKey()))).toBe(false);
    expect(await publicKeyViolation(await publicKeyOf(a))).toBeUndefined();
  });

  it("accepts the signer's signature of the digest and refuses another key's or another digest's", async () => {
    const digest = await windowDigest(SMALL_WINDOW);
    const pub = await publicKeyOf(key(1));
    const other = await publicKeyOf(key(2));
    const sig = await signDigest(key(1), digest);
    expect(await verifySignature(pub, digest, sig)).toBe(true);
    expect(await verifySignature(other, digest, sig)).toBe(false);
    expect(await verifySignature(pub, digest + 1n, sig)).toBe(false);
    expect(await verifySignature(pub, digest, { ...sig, S: sig.S + 1n })).toBe(false);
    expect(await verifySignature(pub, digest, { ...sig, R8x: sig.R8x + 1n })).toBe(false);
    await expect(assertSignature(other, digest, sig, "w.json")).rejects.toThrow(SignatureError);
    await expect(assertSignature(other, digest, sig, "w.json")).rejects.toThrow(
      /^w\.json: the signature does not verify for public key/,
    );
    await expect(assertSignature(pub, digest, sig, "w.json")).resolves.toBeUndefined();
  });

  it("refuses S at or above the subgroup order, though S + order satisfies the curve equation", async () => {
    const digest = await windowDigest(SMALL_WINDOW);
    const pub = await publicKeyOf(key(1));
    const sig = await signDigest(key(1), digest);
    const lifted = { ...sig, S: sig.S + SUBGROUP_ORDER };
    expect(lifted.S).toBeLessThan(FIELD_MODULUS);
    // The equation alone accepts it (B8 has order SUBGROUP_ORDER): only the range check refuses it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildBabyjub } = require("circomlibjs") as {
      buildBabyjub(): Promise<{
        Base8: unknown;
        F: { eq(a: unknown, b: unknown): boolean };
        mulPointEscalar(p: unknown, e: bigint): unknown[];
      }>;
    };
    const bj = await buildBabyjub();
    const [x1, y1] = bj.mulPointEscalar(bj.Base8, sig.S);
    const [x2, y2] = bj.mulPointEscalar(bj.Base8, lifted.S);
    expect(bj.F.eq(x1, x2) && bj.F.eq(y1, y2)).toBe(true);
    expect(await verifySignature(pub, digest, lifted)).toBe(false);
    expect(await verifySignature(pub, digest, { ...sig, S: SUBGROUP_ORDER })).toBe(false);
    expect(await verifySignature(pub, digest, { ...sig, S: -1n })).toBe(false);
  });

  it("refuses a signature once a candle is edited, or for another market, interval or window end", async () => {
    const pub = await publicKeyOf(key(3));
    const sig = await signDigest(key(3), await windowDigest(SMALL_WINDOW));
    const edited = SMALL_WINDOW.bars.map((b, i) => (i === 2 ? { ...b, close: b.close - 1n } : b));
    const others: Window[] = [
      { ...SMALL_WINDOW, bars: edited },
      { ...SMALL_WINDOW, marketId: SMALL_WINDOW.marketId + 1n },
      moved(SMALL_WINDOW, HOUR, SMALL_WINDOW.endTime),
      moved(SMALL_WINDOW, SMALL_WINDOW.intervalMs, SMALL_WINDOW.endTime + SMALL_WINDOW.intervalMs),
    ];
    expect(await verifySignature(pub, await windowDigest(SMALL_WINDOW), sig)).toBe(true);
    for (const w of others) expect(await verifySignature(pub, await windowDigest(w), sig)).toBe(false);
  });

  it("refuses invalid public keys", async () => {
    const pub = await publicKeyOf(key(4));
    expect(await publicKeyViolation({ ...pub, Ax: pub.Ax + 1n })).toBe("not a point of BabyJubJub");
    expect(await publicKeyViolation({ Ax: 0n, Ay: 1n })).toBe("a point of small order (x = 0)");
    expect(await publicKeyViolation({ ...pub, Ay: pub.Ay + FIELD_MODULUS })).toMatch(/not a field element/);
    // A curve point of order 8·l: the sum of a key and a point of order 2 (0, -1).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildBabyjub } = require("circomlibjs") as {
      buildBabyjub(): Promise<{
        F: { e(x: bigint): unknown; toObject(x: unknown): bigint };
        addPoint(a: unknown[], b: unknown[]): unknown[];
      }>;
    };
    const bj = await buildBabyjub();
    const [x, y] = bj.addPoint([bj.F.e(pub.Ax), bj.F.e(pub.Ay)], [bj.F.e(0n), bj.F.e(FIELD_MODULUS - 1n)]);
    expect(await publicKeyViolation({ Ax: bj.F.toObject(x), Ay: bj.F.toObject(y) })).toBe(
      "not in the prime-order subgroup",
    );
  });
});

type F1 = unknown;
interface CircomlibjsEddsa {
  babyJub: {
    F: { e(x: bigint): F1; toObject(x: F1): bigint };
    Base8: F1[];
    addPoint(a: F1[], b: F1[]): F1[];
  };
  verifyPoseidon(msg: F1, sig: { R8: F1[]; S: bigint }, A: F1[]): boolean;
}
const loadModule = createRequire(__filename);

describe("publisher signature verification, against circomlibjs", () => {
  it("agrees with verifyPoseidon on 30 seeded keys and digests, honest and edited", async () => {
    const lib = await (loadModule("circomlibjs") as { buildEddsa(): Promise<CircomlibjsEddsa> }).buildEddsa();
    const F = lib.babyJub.F;
    const reference = (k: PublicKey, digest: bigint, sig: Signature) =>
      lib.verifyPoseidon(F.e(digest), { R8: [F.e(sig.R8x), F.e(sig.R8y)], S: sig.S }, [F.e(k.Ax), F.e(k.Ay)]);
    /** R8 + Base8, another curve point, in circomlibjs's arithmetic. */
    const movedR8 = (sig: Signature): Signature => {
      const [x, y] = lib.babyJub.addPoint([F.e(sig.R8x), F.e(sig.R8y)], lib.babyJub.Base8);
      return { ...sig, R8x: F.toObject(x), R8y: F.toObject(y) };
    };
    const rnd = bigRandom(13);
    const keys = Array.from({ length: 30 }, () =>
      Uint8Array.from(Array.from({ length: 32 }, () => Number(rnd.between(0n, 255n)))),
    );
    const pubs = await Promise.all(keys.map(publicKeyOf));
    // Each key is checked 7 or more times: its first check multiplies by double-and-add, later ones from the
    // key's multiples table (publisher/eddsa.ts), so both paths meet the reference here.
    let accepted = 0;
    let refused = 0;
    for (const [i, prv] of keys.entries()) {
      const digest = rnd.between(0n, FIELD_MODULUS - 1n);
      const sig = await signDigest(prv, digest);
      const other = pubs[(i + 1) % pubs.length];
      const cases: [PublicKey, bigint, Signature][] = [
        [pubs[i], digest, sig],
        [pubs[i], digest, { ...sig, S: sig.S + 1n }],
        [pubs[i], digest, { ...sig, S: sig.S + SUBGROUP_ORDER }],
        [pubs[i], digest, { ...sig, R8x: sig.R8x + 1n }],
        [pubs[i], digest, movedR8(sig)],
        [pubs[i], (digest + 1n) % FIELD_MODULUS, sig],
        [other, digest, sig],
      ];
      for (const [k, d, s] of cases) {
        const ours = await verifySignature(k, d, s);
        expect(ours, `key ${i}, S ${s.S}, digest ${d}`).toBe(reference(k, d, s));
        if (ours) accepted++;
        else refused++;
      }
    }
    expect([accepted, refused]).toEqual([30, 180]);
  });

  it("verifies in a fresh process without loading circomlibjs (signing then does load it)", async () => {
    const prv = key(5);
    const script = `
const { signDigest, verifySignature } = require(process.argv[1]);
const j = JSON.parse(process.argv[2]);
const loaded = () => Object.keys(require.cache).some((k) => k.includes("circomlibjs"));
verifySignature({ Ax: BigInt(j.Ax), Ay: BigInt(j.Ay) }, BigInt(j.digest), {
  R8x: BigInt(j.R8x), R8y: BigInt(j.R8y), S: BigInt(j.S),
}).then(async (ok) => {
  const poseidonLoaded = Object.keys(require.cache).some((k) => k.endsWith("poseidon.ts"));
  const afterVerify = loaded();
  await signDigest(new Uint8Array(32).fill(5), 1n);
  process.stdout.write(JSON.stringify({ ok, poseidonLoaded, afterVerify, afterSign: loaded() }));
});
`;
    const pub = await publicKeyOf(prv);
    const sig = await signDigest(prv, 77n);
    const arg = JSON.stringify({
      Ax: `${pub.Ax}`,
      Ay: `${pub.Ay}`,
      digest: "77",
      R8x: `${sig.R8x}`,
      R8y: `${sig.R8y}`,
      S: `${sig.S}`,
    });
    const child = spawnSync(
      process.execPath,
      ["-r", "tsx/cjs", "-e", script, join(__dirname, "../../publisher/eddsa.ts"), arg],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({
      ok: true,
      poseidonLoaded: true,
      afterVerify: false,
      afterSign: true,
    });
  });
});
