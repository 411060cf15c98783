/** Publisher sets: canonical order, refusals, and a commitment that binds the quorum and every key. */
import { describe, expect, it } from "vitest";
import { poseidonSponge } from "../../circuits/poseidon-sponge";
import {
  makePublisherSet,
  PUBLISHER_SET_TAG,
  publicKeyOf,
  publisherSetCommitment,
  publisherSetInputs,
  PublisherSetError,
  type PublicKey,
} from "../../publisher";

const keys = (...bytes: number[]): Promise<PublicKey[]> =>
  Promise.all(bytes.map((b) => publicKeyOf(new Uint8Array(32).fill(b))));

describe("publisher sets", () => {
  it("commits to the documented layout, whatever order the keys are listed in", async () => {
    const [a, b, c] = await keys(1, 2, 3);
    const set = await makePublisherSet([c, a, b], 2);
    const sorted = [a, b, c].sort((x, y) => (x.Ax < y.Ax ? -1 : x.Ax > y.Ax ? 1 : 0));
    expect(set.keys).toEqual(sorted);
    expect(PUBLISHER_SET_TAG).toBe(BigInt("0x" + Buffer.from("zkrisk.publishers.v1").toString("hex")));
    expect(publisherSetInputs(set)).toEqual([
      PUBLISHER_SET_TAG,
      2n,
      3n,
      ...sorted.flatMap((k) => [k.Ax, k.Ay]),
    ]);
    const commitment = await publisherSetCommitment(set);
    expect(commitment).toBe(await poseidonSponge(publisherSetInputs(set)));
    for (const order of [
      [a, b, c],
      [b, c, a],
      [c, b, a],
    ]) {
      expect(await publisherSetCommitment(await makePublisherSet(order, 2))).toBe(commitment);
    }
  });

  it("binds the quorum and every key", async () => {
    const [a, b, c, d] = await keys(1, 2, 3, 4);
    const commitments = await Promise.all(
      [
        makePublisherSet([a, b, c], 2),
        makePublisherSet([a, b, c], 1),
        makePublisherSet([a, b, c], 3),
        makePublisherSet([a, b, d], 2),
        makePublisherSet([a, b], 2),
      ].map(async (s) => publisherSetCommitment(await s)),
    );
    expect(new Set(commitments).size).toBe(commitments.length);
  });

  it("refuses k = 0, k > n, no keys, duplicates, invalid keys and a set not in canonical order", async () => {
    const [a, b] = await keys(1, 2);
    await expect(makePublisherSet([a, b], 0)).rejects.toThrow(
      new PublisherSetError("publisher set: quorum 0 is not an integer in [1, 2] (n = 2 keys)"),
    );
    await expect(makePublisherSet([a, b], 3)).rejects.toThrow("quorum 3 is not an integer in [1, 2]");
    await expect(makePublisherSet([a, b], 1.5)).rejects.toThrow("quorum 1.5");
    await expect(makePublisherSet([], 1)).rejects.toThrow("publisher set: no keys");
    await expect(makePublisherSet([a, b, { ...a }], 2)).rejects.toThrow(`duplicate key (${a.Ax}, ${a.Ay})`);
    await expect(makePublisherSet([a, { ...b, Ay: b.Ay + 1n }], 1)).rejects.toThrow(
      "publisher set: keys[1]: not a point of BabyJubJub",
    );
    const set = await makePublisherSet([a, b], 1);
    expect(() => publisherSetInputs({ ...set, keys: [...set.keys].reverse() })).toThrow(PublisherSetError);
    expect(() => publisherSetInputs({ ...set, quorum: 3 })).toThrow(PublisherSetError);
  });
});
