/** Publisher sets: canonical order, refusals, and a commitment that binds the quorum and every key. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import {
  makePublisherSet,
  PUBLISHER_SET_MAX_KEYS,
  PUBLISHER_SET_TAG,
  PublisherFileError,
  publicKeyOf,
  publisherSetCommitment,
  publisherSetInputs,
  publisherSetSlots,
  PublisherSetError,
  publisherSetJson,
  readPublisherSet,
  type PublicKey,
} from "../../publisher";

const keys = (...bytes: number[]): Promise<PublicKey[]> =>
  Promise.all(bytes.map((b) => publicKeyOf(new Uint8Array(32).fill(b))));

const byAx = (x: PublicKey, y: PublicKey) => (x.Ax < y.Ax ? -1 : x.Ax > y.Ax ? 1 : 0);

describe("publisher sets", () => {
  it("commits to the documented v2 layout (8 slots, empty ones (0, 0)), whatever order the keys are in", async () => {
    const [a, b, c] = await keys(1, 2, 3);
    const set = await makePublisherSet([c, a, b], 2);
    const sorted = [a, b, c].sort(byAx);
    expect(set.keys).toEqual(sorted);
    expect(PUBLISHER_SET_MAX_KEYS).toBe(8);
    expect(PUBLISHER_SET_TAG).toBe(BigInt("0x" + Buffer.from("zkrisk.publishers.v2").toString("hex")));
    const inputs = publisherSetInputs(set);
    expect(inputs).toHaveLength(3 + 2 * 8);
    expect(inputs).toEqual([
      PUBLISHER_SET_TAG,
      2n,
      3n,
      ...sorted.flatMap((k) => [k.Ax, k.Ay]),
      ...Array<bigint>(2 * 5).fill(0n),
    ]);
    expect(publisherSetSlots(set)).toEqual({
      n: 3n,
      Ax: [...sorted.map((k) => k.Ax), 0n, 0n, 0n, 0n, 0n],
      Ay: [...sorted.map((k) => k.Ay), 0n, 0n, 0n, 0n, 0n],
    });
    const commitment = await publisherSetCommitment(set);
    expect(commitment).toBe(await poseidonSponge(inputs));
    for (const order of [
      [a, b, c],
      [b, c, a],
      [c, b, a],
    ]) {
      expect(await publisherSetCommitment(await makePublisherSet(order, 2))).toBe(commitment);
    }
  });

  it("fills all 8 slots for a full set", async () => {
    const all = await keys(1, 2, 3, 4, 5, 6, 7, 8);
    const set = await makePublisherSet(all, 5);
    expect(publisherSetInputs(set)).toEqual([
      PUBLISHER_SET_TAG,
      5n,
      8n,
      ...[...all].sort(byAx).flatMap((k) => [k.Ax, k.Ay]),
    ]);
  });

  it("binds the quorum, the count and every key", async () => {
    const [a, b, c, d] = await keys(1, 2, 3, 4);
    const commitments = await Promise.all(
      [
        makePublisherSet([a, b, c], 2),
        makePublisherSet([a, b, c], 1),
        makePublisherSet([a, b, c], 3),
        makePublisherSet([a, b, d], 2),
        makePublisherSet([a, b], 2),
        makePublisherSet([a, b, c, d], 2),
      ].map(async (s) => publisherSetCommitment(await s)),
    );
    expect(new Set(commitments).size).toBe(commitments.length);
  });

  it("refuses k = 0, k > n, no keys, more than 8 keys, duplicates, invalid keys and a non-canonical set", async () => {
    const [a, b] = await keys(1, 2);
    await expect(makePublisherSet([a, b], 0)).rejects.toThrow(
      new PublisherSetError("publisher set: quorum 0 is not an integer in [1, 2] (n = 2 keys)"),
    );
    await expect(makePublisherSet([a, b], 3)).rejects.toThrow("quorum 3 is not an integer in [1, 2]");
    await expect(makePublisherSet([a, b], 1.5)).rejects.toThrow("quorum 1.5");
    await expect(makePublisherSet([], 1)).rejects.toThrow("publisher set: no keys");
    const nine = await keys(1, 2, 3, 4, 5, 6, 7, 8, 9);
    await expect(makePublisherSet(nine, 1)).rejects.toThrow(
      new PublisherSetError("publisher set: 9 keys, more than the 8 a set can hold"),
    );
    await expect(makePublisherSet([a, b, { ...a }], 2)).rejects.toThrow(`duplicate key (${a.Ax}, ${a.Ay})`);
    await expect(makePublisherSet([a, { ...b, Ay: b.Ay + 1n }], 1)).rejects.toThrow(
      "publisher set: keys[1]: not a point of BabyJubJub",
    );
    const set = await makePublisherSet([a, b], 1);
    expect(() => publisherSetInputs({ ...set, keys: [...set.keys].reverse() })).toThrow(PublisherSetError);
    expect(() => publisherSetInputs({ ...set, quorum: 3 })).toThrow(PublisherSetError);
    expect(() => publisherSetSlots({ quorum: 1, keys: [...nine].sort(byAx) })).toThrow(PublisherSetError);
  });

  it("a set file names the field at fault: quorum for a quorum above n, keys for no keys or too many", async () => {
    const [a, b] = await keys(1, 2);
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-publisher-set-"));
    const file = join(dir, "publishers.json");
    const write = (quorum: number, ks: PublicKey[]) =>
      writeFileSync(file, JSON.stringify({ ...publisherSetJson({ quorum: 1, keys: ks }), quorum }));
    write(5, [a, b]);
    await expect(readPublisherSet(file)).rejects.toThrow(
      new PublisherFileError(file, "quorum", "5 is more than the set's 2 keys (a quorum is in [1, 2])"),
    );
    write(2, [a]);
    await expect(readPublisherSet(file)).rejects.toThrow(`${file}: quorum: 2 is more than the set's 1 key (`);
    write(0, [a, b]);
    await expect(readPublisherSet(file)).rejects.toThrow(`${file}: quorum: expected an integer in [1, `);
    write(1, []);
    await expect(readPublisherSet(file)).rejects.toThrow(`${file}: keys: publisher set: no keys`);
    write(9, await keys(1, 2, 3, 4, 5, 6, 7, 8, 9));
    await expect(readPublisherSet(file)).rejects.toThrow(
      `${file}: keys: publisher set: 9 keys, more than the 8`,
    );
    write(2, [a, b]);
    expect((await readPublisherSet(file)).quorum).toBe(2);
  });
});
