/**
 * circuits/lib/publisher-quorum.circom: SelectKey, and PublisherQuorum(K) for K = 1, 2, 3 against the
 * TypeScript publisher (publisher/eddsa.ts signs with circomlibjs; publisher/publisher-set.ts commits).
 * Constraint-count pins per part, valid quorums, every refusal the trust model needs (outsiders, a vote
 * counted twice, empty slots, other digests, S >= l, edited R8, another quorum), and edited witnesses
 * against the selection and the distinct-index check.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { windowDigest, type Window } from "../../candles";
import {
  bitEdits,
  bitsOf,
  CIRCUIT_LIB_DIR,
  FIELD_MODULUS as P,
  loadCircuit,
  readSymbols,
  signalRange,
  witnessFailure,
  type CircuitInput,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import {
  comparePublicKeys,
  makePublisherSet,
  PUBLISHER_SET_TAG,
  publicKeyOf,
  publisherSetCommitment,
  publisherSetSlots,
  signDigest,
  SUBGROUP_ORDER,
  type PublicKey,
  type PublisherSet,
  type Signature,
} from "../../publisher";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import { SMALL_WINDOW } from "../helpers/windows";

/** The line (1-based) of `statement` in a circuit file, where the witness generator reports a failure. */
function lineOf(file: string, statement: string): number {
  const i = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.trim() === statement);
  if (i < 0) throw new Error(`${file}: no line ${statement}`);
  return i + 1;
}

const loadModule = createRequire(__filename);
const QUORUM_FILE = join(CIRCUIT_LIB_DIR, "publisher-quorum.circom");
const EDDSA_FILE = loadModule.resolve("circomlib/circuits/eddsaposeidon.circom");

/** circomlibjs's BabyJubJub, for the one curve fact a test states (S + l acts as S). */
interface BabyJub {
  Base8: unknown;
  F: { toObject(x: unknown): bigint };
  mulPointEscalar(p: unknown, e: bigint): unknown[];
}
const { buildBabyjub } = loadModule("circomlibjs") as { buildBabyjub(): Promise<BabyJub> };
const at = (statement: string) => lineOf(QUORUM_FILE, statement);
const inEddsa = (statement: string) => lineOf(EDDSA_FILE, statement);

/**
 * Which constraint refuses an input: the witness generator's trace (innermost template first, each with
 * the line that ran it), matched from the failed assertion up to the PublisherQuorum template it sits in.
 */
const REFUSED_BY = {
  nRange: new RegExp(
    `RangeCheck_\\d+ line: \\d+\\nError in template PublisherSetCommitment_\\d+ line: ${at("nRange.in <== n - 1;")}\\n`,
  ),
  indexRange: new RegExp(
    `RangeCheck_\\d+ line: \\d+\\nError in template SelectKey_\\d+ line: ${at("digits.in <== index;")}\\n`,
  ),
  gapNext: new RegExp(
    `RangeCheck_\\d+ line: \\d+\\nError in template PublisherQuorum_\\d+ line: ${at("gap[i].in <== index[i + 1] - index[i] - 1;")}\\n`,
  ),
  gapLast: new RegExp(
    `RangeCheck_\\d+ line: \\d+\\nError in template PublisherQuorum_\\d+ line: ${at("gap[i].in <== n - index[i] - 1;")}\\n`,
  ),
  r8OnCurve: new RegExp(
    `BabyCheck_\\d+ line: \\d+\\nError in template PublisherSignature_\\d+ line: ${at("r8OnCurve.y <== R8y;")}\\n`,
  ),
  keyOnCurve: new RegExp(
    `BabyCheck_\\d+ line: \\d+\\nError in template PublisherSignature_\\d+ line: ${at("keyOnCurve.y <== Ay;")}\\n`,
  ),
  /** S < l: `compConstant.out*enabled === 0`, in EdDSAPoseidonVerifier itself. */
  sBelowOrder: new RegExp(
    `Assert Failed\\.\\nError in template EdDSAPoseidonVerifier_\\d+ line: ${inEddsa("compConstant.out*enabled === 0;")}\\n`,
  ),
  /** S < 2^253: Num2Bits(253) of S. */
  sBits: new RegExp(
    `Num2Bits_\\d+ line: \\d+\\nError in template EdDSAPoseidonVerifier_\\d+ line: ${inEddsa("snum2bits.in <== S;")}\\n`,
  ),
  /** S B8 = R8 + 8 h A, one coordinate or the other. */
  equation: /ForceEqualIfEnabled_\d+ line: \d+\nError in template EdDSAPoseidonVerifier_/,
} as const;

/** The witness generator refuses `input`, at the constraint `site`. */
async function expectRefused(
  c: TestCircuit,
  input: CircuitInput,
  site: keyof typeof REFUSED_BY,
): Promise<void> {
  const msg = await witnessFailure(c, input);
  expect(msg, `refused by ${site}`).toMatch(/^Error: Assert Failed\./);
  expect(msg, `refused by ${site}`).toMatch(REFUSED_BY[site]);
}

/** Deterministic test keys: 32 bytes of one value. */
const prv = (byte: number) => new Uint8Array(32).fill(byte);

/** The source of a circuit whose main is `call` from publisher-quorum.circom. */
const source = (call: string, publicInputs: string) =>
  [
    "pragma circom 2.1.0;",
    'include "publisher-quorum.circom";',
    `component main {public [${publicInputs}]} = ${call};`,
    "",
  ].join("\n");

/** One vote: the slot index claimed for it and the signature. */
interface Vote {
  index: number;
  sig: Signature;
}

/** The slot of `key` in the canonical set. */
function slotOf(set: PublisherSet, key: PublicKey): number {
  const j = set.keys.findIndex((k) => comparePublicKeys(k, key) === 0);
  if (j < 0) throw new Error("key not in the set");
  return j;
}

/** PublisherQuorum's input for a set, a digest and votes (index and signature each). */
function quorumInput(set: PublisherSet, digest: bigint, votes: readonly Vote[]): CircuitInput {
  const { n, Ax, Ay } = publisherSetSlots(set);
  return {
    digest,
    n,
    Ax,
    Ay,
    index: votes.map((v) => BigInt(v.index)),
    R8x: votes.map((v) => v.sig.R8x),
    R8y: votes.map((v) => v.sig.R8y),
    S: votes.map((v) => v.sig.S),
  };
}

/** The window with one candle edited (the close of its last bar one unit lower). */
function editedWindow(w: Window): Window {
  const last = w.bars.length - 1;
  return { ...w, bars: w.bars.map((b, i) => (i === last ? { ...b, close: b.close - 1n } : b)) };
}

describe("SelectKey(3)", () => {
  let o2: TestCircuit;
  let o1: TestCircuit;
  // Eight distinct slots (not curve points: selection does not care).
  const Ax = Array.from({ length: 8 }, (_, j) => 1000n + 17n * BigInt(j));
  const Ay = Array.from({ length: 8 }, (_, j) => P - 5000n - 31n * BigInt(j));

  /** The tree the template computes for digits `b` (possibly forged): level 1, then 2, then the root. */
  function tree(b: readonly bigint[], leaves: readonly bigint[]): bigint[] {
    const nodes: bigint[] = [];
    let level = [...leaves];
    for (let l = 0; l < 3; l++) {
      const next = Array.from({ length: level.length / 2 }, (_, i) => {
        const lo = level[2 * i];
        return (((lo + b[l] * (level[2 * i + 1] - lo)) % P) + P) % P;
      });
      nodes.push(...next);
      level = next;
    }
    return nodes;
  }

  /** Edits for digits `b`: the digits, the tree nodes and the outputs (the root node is the output). */
  function treeEdits(b: readonly bigint[]): Record<string, bigint> {
    const nx = tree(b, Ax);
    const ny = tree(b, Ay);
    const inner = (name: string, v: readonly bigint[]) =>
      v.slice(0, 6).map((x, k) => [`main.${name}[${k}]`, x]);
    return {
      ...bitEdits("main.digits.bits", b),
      ...Object.fromEntries([...inner("nx", nx), ...inner("ny", ny)]),
      "main.x": nx[6],
      "main.y": ny[6],
    };
  }

  beforeAll(async () => {
    [o2, o1] = await Promise.all([
      loadCircuit(source("SelectKey(3)", "index"), "SelectKey3"),
      loadCircuit(source("SelectKey(3)", "index"), "SelectKey3", { O: 1 }),
    ]);
  });

  it("pins the --O2 cost: 3 digits of index + 2 x 7 tree products = 17", () => {
    // RangeCheck(3): 3 booleanity constraints (the sum folds at --O2); a binary tree over 8 leaves has
    // 4 + 2 + 1 = 7 nodes, one product b * (hi - lo) per node and coordinate.
    expect(o2.constraints).toBe(3 + 2 * 7);
  });

  it("selects slot index for every index in [0, 8), and refuses 8, -1 and p - 1", async () => {
    for (let j = 0; j < 8; j++) {
      const w = await o1.witness({ index: j, Ax, Ay });
      expect([o1.read(w, "main.x"), o1.read(w, "main.y")], `index ${j}`).toEqual([Ax[j], Ay[j]]);
      const w2 = await o2.witness({ index: j, Ax, Ay });
      expect(o2.violated(w2)).toEqual([]);
    }
    for (const index of [8n, 9n, -1n, P - 1n, 1n << 128n]) {
      await expectNoWitness(o2, { index, Ax, Ay }, "RangeCheck");
    }
  });

  describe("edited witnesses (the digits are the selector)", () => {
    it("rejects slot 5's key read under index 3 (the sum of the digits)", async () => {
      await expectForgeryRejected(o1, o2, {
        name: "index 5 relabelled 3",
        from: { index: 5n, Ax, Ay },
        edits: () => ({ "main.index": 3n }),
        rejectedBy: ["main.index", ...signalRange("main.digits.bits", 0, 3)],
      });
    });

    it("rejects a digit 2 that extrapolates 2 slot1 - slot0, a point of no slot (booleanity)", async () => {
      // Index 2 is digits (0, 1, 0); (2, 0, 0) has the same sum, and level 1 then computes
      // slot 2i + 2 (slot 2i+1 - slot 2i): the root is 2 slot1 - slot0.
      const forged = treeEdits([2n, 0n, 0n]);
      expect([forged["main.x"], forged["main.y"]]).toEqual([2n * Ax[1] - Ax[0], (2n * Ay[1] - Ay[0]) % P]);
      await expectForgeryRejected(o1, o2, {
        name: "digits (2, 0, 0) for index 2",
        from: { index: 2n, Ax, Ay },
        edits: () => forged,
        rejectedBy: ["main.digits.bits[0]"],
      });
    });
  });
});

describe("PublisherQuorum(K)", () => {
  // Circuits of K = 1, 2, 3 (--O2), and K = 2 at --O1 for the edited witnesses.
  let q1: TestCircuit;
  let q2: TestCircuit;
  let q3: TestCircuit;
  let q2o1: TestCircuit;
  // Eight publishers (private-key bytes 1..8) and an outsider (byte 9).
  let pubs: PublicKey[];
  let outsider: PublicKey;
  let digest: bigint;

  /** The set of publishers `bytes` (1-based private-key bytes) with quorum `k`. */
  const setOf = (bytes: readonly number[], k: number) =>
    makePublisherSet(
      bytes.map((b) => pubs[b - 1]),
      k,
    );

  /** The vote of publisher `byte` on `d`, at its slot in `set` (or at `index`). */
  async function vote(set: PublisherSet, byte: number, d = digest, index?: number): Promise<Vote> {
    const key = byte === 9 ? outsider : pubs[byte - 1];
    return { index: index ?? slotOf(set, key), sig: await signDigest(prv(byte), d) };
  }

  beforeAll(async () => {
    const src = (k: number) => source(`PublisherQuorum(${k})`, "digest");
    [q1, q2, q3, q2o1, pubs, outsider, digest] = await Promise.all([
      loadCircuit(src(1), "PublisherQuorum1"),
      loadCircuit(src(2), "PublisherQuorum2"),
      loadCircuit(src(3), "PublisherQuorum3"),
      loadCircuit(src(2), "PublisherQuorum2", { O: 1 }),
      Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((b) => publicKeyOf(prv(b)))),
      publicKeyOf(prv(9)),
      windowDigest(SMALL_WINDOW),
    ]);
  });

  it("pins the --O2 cost per part: commitment 924, selection 20 and signature 4213 per signature", () => {
    // commitment: RangeCheck(3) of n - 1, then PoseidonSponge(19): Poseidon(16) (609) over
    // [19, TAG, K, n, 12 coordinates] and Poseidon(5) (321) over [h, 4 coordinates], minus 3 for each
    // compile-time constant of the first permutation (19, TAG, K: their first S-box is folded).
    const commitment = 3 + (609 + 321 - 3 * 3);
    // selection: SelectKey(3) (17, pinned above) and one gap RangeCheck(3).
    const selection = 17 + 3;
    // signature: BabyCheck(R8) and BabyCheck(A) (3 each) and EdDSAPoseidonVerifier, enabled = 1 (4207).
    const signature = 3 + 3 + 4207;
    expect(commitment).toBe(924);
    expect(selection + signature).toBe(4233);
    expect(q1.constraints).toBe(commitment + 1 * (selection + signature));
    expect(q2.constraints).toBe(commitment + 2 * (selection + signature));
    expect(q3.constraints).toBe(commitment + 3 * (selection + signature));
    expect([q1.constraints, q2.constraints, q3.constraints]).toEqual([5157, 9390, 13623]);
    // The budget: each further signature at most 4,300.
    expect(q2.constraints - q1.constraints).toBeLessThanOrEqual(4300);
  });

  describe("accepts", () => {
    it("K = 1: every slot of a full set of 8, and sets of 1 and 3; the output is publisherSetCommitment", async () => {
      for (const bytes of [[1, 2, 3, 4, 5, 6, 7, 8], [4], [2, 5, 7]]) {
        const set = await setOf(bytes, 1);
        const registered = await publisherSetCommitment(set);
        for (const b of bytes) {
          const w = await q1.witness(quorumInput(set, digest, [await vote(set, b)]));
          expect(q1.violated(w)).toEqual([]);
          expect(q1.read(w, "main.setCommitment"), `n = ${bytes.length}, publisher ${b}`).toBe(registered);
        }
      }
    });

    it("K = 2: every pair of a set of 3, and the first and last slot of a set of 8", async () => {
      const three = await setOf([3, 1, 6], 2);
      const eight = await setOf([1, 2, 3, 4, 5, 6, 7, 8], 2);
      const byteAt = (set: PublisherSet, j: number) =>
        pubs.findIndex((k) => comparePublicKeys(k, set.keys[j]) === 0) + 1;
      const cases: [PublisherSet, number, number][] = [
        [three, 0, 1],
        [three, 0, 2],
        [three, 1, 2],
        [eight, 0, 7],
      ];
      for (const [set, a, b] of cases) {
        const votes = [await vote(set, byteAt(set, a)), await vote(set, byteAt(set, b))];
        const w = await q2.witness(quorumInput(set, digest, votes));
        expect(q2.violated(w)).toEqual([]);
        expect(q2.read(w, "main.setCommitment")).toBe(await publisherSetCommitment(set));
      }
    });

    it("K = 3: three of 8 and all of 3", async () => {
      for (const bytes of [
        [1, 2, 3, 4, 5, 6, 7, 8],
        [8, 2, 5],
      ]) {
        const set = await setOf(bytes, 3);
        const signers = [...bytes].sort((x, y) => slotOf(set, pubs[x - 1]) - slotOf(set, pubs[y - 1]));
        const chosen = bytes.length === 8 ? [signers[1], signers[4], signers[6]] : signers;
        const votes = await Promise.all(chosen.map((b) => vote(set, b)));
        const w = await q3.witness(quorumInput(set, digest, votes));
        expect(q3.violated(w)).toEqual([]);
        expect(q3.read(w, "main.setCommitment")).toBe(await publisherSetCommitment(set));
      }
    });
  });

  describe("refuses", () => {
    it("a valid signature by a key not in the set, at any slot", async () => {
      const set = await setOf([1, 2, 3], 1);
      for (let j = 0; j < 3; j++) {
        await expectRefused(q1, quorumInput(set, digest, [await vote(set, 9, digest, j)]), "equation");
      }
    });

    it("an outsider's key slipped into an empty slot: index >= n has no witness, and n + 1 is another set", async () => {
      const set = await setOf([1, 2, 3], 1);
      const input = quorumInput(set, digest, [await vote(set, 9, digest, 3)]);
      const slipped = { ...input, Ax: [...(input.Ax as bigint[])], Ay: [...(input.Ay as bigint[])] };
      (slipped.Ax as bigint[])[3] = outsider.Ax;
      (slipped.Ay as bigint[])[3] = outsider.Ay;
      // index 3 = n: the last gap, n - index - 1 = -1, has no 3-bit decomposition.
      await expectRefused(q1, slipped, "gapLast");
      // Claiming n = 4 makes a witness, but for the commitment of a 4-key set nobody registered.
      const w = await q1.witness({ ...slipped, n: 4n });
      expect(q1.read(w, "main.setCommitment")).not.toBe(await publisherSetCommitment(set));
      expect(q1.read(w, "main.setCommitment")).toBe(
        await poseidonSponge([
          PUBLISHER_SET_TAG,
          1n,
          4n,
          ...[...set.keys, outsider].flatMap((k) => [k.Ax, k.Ay]),
          ...Array<bigint>(8).fill(0n),
        ]),
      );
    });

    it("an index at or past n, or outside [0, 8)", async () => {
      const set = await setOf([1, 2, 3], 1);
      const last = await vote(set, pubs.indexOf(set.keys[2]) + 1);
      expect(last.index).toBe(2);
      const input = quorumInput(set, digest, [last]);
      for (const index of [3n, 7n]) await expectRefused(q1, { ...input, index: [index] }, "gapLast");
      for (const index of [8n, -1n, P - 1n])
        await expectRefused(q1, { ...input, index: [index] }, "indexRange");
    });

    it("n outside [1, 8], even where the last gap n - index - 1 would still decompose", async () => {
      const set = await setOf([1, 2, 3], 1);
      const last = set.keys[2];
      const input = quorumInput(set, digest, [await vote(set, pubs.indexOf(last) + 1)]);
      expect(input.index).toEqual([2n]);
      // n = 9 and 10 leave n - 2 - 1 in [0, 8): only the range check of n refuses them.
      for (const n of [0n, 9n, 10n, -1n]) await expectRefused(q1, { ...input, n }, "nRange");
    });

    it("one publisher's signature counted twice: the same index twice, or under another slot", async () => {
      const set = await setOf([1, 2, 3], 2);
      const one = await vote(set, 2);
      const j = one.index;
      // The same index twice: the gap index[1] - index[0] - 1 = -1.
      await expectRefused(q2, quorumInput(set, digest, [one, one]), "gapNext");
      // Under another slot's index, in increasing order: that slot's key did not sign.
      const other = j === 0 ? 1 : 0;
      const relabelled = { ...one, index: other };
      const votes = other < j ? [relabelled, one] : [one, relabelled];
      await expectRefused(q2, quorumInput(set, digest, votes), "equation");
    });

    it("two valid votes listed in decreasing slot order (the canonical order is the only order)", async () => {
      const set = await setOf([1, 2, 3], 2);
      const votes = await Promise.all([1, 2, 3].map((b) => vote(set, b)));
      votes.sort((a, b) => b.index - a.index);
      await expectRefused(q2, quorumInput(set, digest, votes.slice(0, 2)), "gapNext");
      const ascending = [votes[1], votes[0]];
      const w = await q2.witness(quorumInput(set, digest, ascending));
      expect(q2.violated(w)).toEqual([]);
    });

    it("a signature over another digest, and the digest edited after signing", async () => {
      const set = await setOf([1, 2, 3], 1);
      const other = await windowDigest(editedWindow(SMALL_WINDOW));
      // Signed the edited window, presented with the real one.
      await expectRefused(q1, quorumInput(set, digest, [await vote(set, 1, other)]), "equation");
      // Signed the real window, the candles then edited (so the digest presented is the edited one's).
      await expectRefused(q1, quorumInput(set, other, [await vote(set, 1)]), "equation");
      await expectRefused(q1, quorumInput(set, digest + 1n, [await vote(set, 1)]), "equation");
    });

    it("S + l (which satisfies the curve equation), S = l and every S >= l", async () => {
      const set = await setOf([1, 2, 3], 1);
      const honest = await vote(set, 1);
      const withS = (S: bigint) => quorumInput(set, digest, [{ ...honest, sig: { ...honest.sig, S } }]);
      expect(await witnessFailure(q1, withS(honest.sig.S))).toBeUndefined();
      // B8 has order l, so (S + l) B8 = S B8: the equation alone would accept S + l.
      const bj = await buildBabyjub();
      const times = (e: bigint) => bj.mulPointEscalar(bj.Base8, e).map((c) => bj.F.toObject(c));
      expect(times(honest.sig.S + SUBGROUP_ORDER)).toEqual(times(honest.sig.S));
      // Below 2^253: refused by the S < l comparison (the CompConstant line of EdDSAPoseidonVerifier).
      for (const S of [honest.sig.S + SUBGROUP_ORDER, SUBGROUP_ORDER, (1n << 253n) - 1n]) {
        await expectRefused(q1, withS(S), "sBelowOrder");
      }
      // 2^253 and above: no 253-bit decomposition.
      for (const S of [1n << 253n, P - 1n, P - honest.sig.S]) await expectRefused(q1, withS(S), "sBits");
    });

    it("R8 edited: -R8 (on the curve) fails the equation, R8x + 1 (off the curve) the curve check", async () => {
      const set = await setOf([1, 2, 3], 1);
      const honest = await vote(set, 1);
      const withR8 = (R8x: bigint, R8y: bigint) =>
        quorumInput(set, digest, [{ ...honest, sig: { ...honest.sig, R8x, R8y } }]);
      await expectRefused(q1, withR8(P - honest.sig.R8x, honest.sig.R8y), "equation");
      await expectRefused(q1, withR8(honest.sig.R8x + 1n, honest.sig.R8y), "r8OnCurve");
      await expectRefused(q1, withR8(honest.sig.R8x, honest.sig.R8y + 1n), "r8OnCurve");
    });

    it("a key slot off the curve (a set not built by makePublisherSet), even when selected", async () => {
      const set = await setOf([1, 2, 3], 1);
      const v = await vote(set, 1);
      const input = quorumInput(set, digest, [v]);
      const Ay = [...(input.Ay as bigint[])];
      Ay[v.index] += 1n;
      await expectRefused(q1, { ...input, Ay }, "keyOnCurve");
    });

    it("a set registered with another quorum: the commitment out of K = 1 (or 2) is not the registered one", async () => {
      for (const [circuit, k] of [
        [q1, 1],
        [q2, 2],
      ] as const) {
        const registered = await setOf([1, 2, 3], k + 1);
        const votes = await Promise.all([1, 2].slice(0, k).map((b) => vote(registered, b)));
        votes.sort((a, b) => a.index - b.index);
        const w = await circuit.witness(quorumInput(registered, digest, votes));
        const out = circuit.read(w, "main.setCommitment");
        expect(out).not.toBe(await publisherSetCommitment(registered));
        expect(out).toBe(await publisherSetCommitment({ ...registered, quorum: k }));
      }
    });
  });

  describe("edited witnesses", () => {
    it("rejects one signature copied into both votes with equal indices (the first gap's decomposition)", async () => {
      const set = await setOf([1, 2, 3], 2);
      const votes = await Promise.all([1, 2, 3].map((b) => vote(set, b)));
      votes.sort((a, b) => a.index - b.index);
      const from = quorumInput(set, digest, [votes[0], votes[2]]);
      const names = [...readSymbols(q2o1.symPath).index.entries()].filter(([, wire]) => wire > 0);
      const copied = (read: (name: string) => bigint, prefix: string, to: string) =>
        Object.fromEntries(
          names
            .filter(([name]) => name.startsWith(prefix))
            .map(([name]) => [to + name.slice(prefix.length), read(name)]),
        );
      await expectForgeryRejected(q2o1, q2, {
        name: "vote 0 counted twice, index [0, 0]",
        from,
        edits: (read) => ({
          // The second vote becomes the first one: its inputs, its key selection and its verifier.
          ...copied(read, "main.key[0].", "main.key[1]."),
          ...copied(read, "main.signature[0].", "main.signature[1]."),
          "main.index[1]": read("main.index[0]"),
          "main.R8x[1]": read("main.R8x[0]"),
          "main.R8y[1]": read("main.R8y[0]"),
          "main.S[1]": read("main.S[0]"),
          // The gaps follow: the last, n - index[1] - 1 = 3 - 0 - 1 = 2, is decomposed again; the first,
          // index[1] - index[0] - 1 = -1, keeps its old digits, since -1 has no 3-bit decomposition.
          "main.gap[0].in": -1n,
          "main.gap[1].in": 2n,
          ...bitEdits("main.gap[1].bits", bitsOf(2n, 3)),
        }),
        rejectedBy: ["main.gap[0].in", ...signalRange("main.gap[0].bits", 0, 3)],
      });
    });
  });
});
