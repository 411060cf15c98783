/**
 * A market's publisher set: n public keys (sorted canonically) and the quorum k of them whose signatures an
 * update needs, and its commitment, the field element a market will register.
 *
 * Commitment layout (version 1): the project's length-prefixed Poseidon sponge (circuits/poseidon-sponge.ts)
 * over 3 + 2n field elements:
 *
 *   [0] PUBLISHER_SET_TAG   packAscii("zkrisk.publishers.v1")
 *   [1] k                   quorum, 1 <= k <= n
 *   [2] n                   number of keys
 *   [3 + 2j], [4 + 2j]      Ax_j, Ay_j of key j, for j = 0 .. n-1 in canonical order (Ax, then Ay, ascending)
 *
 * Sorting makes the commitment a function of the set, not of the order the keys were listed in.
 */
import { packAscii } from "../circuits/commitments";
import { poseidonSponge } from "../circuits/poseidon-sponge";
import { comparePublicKeys, publicKeyViolation, type PublicKey } from "./eddsa";
import { PublisherSetError } from "./errors";

/** The domain tag of publisher-set commitments, version 1. */
export const PUBLISHER_SET_TAG = packAscii("zkrisk.publishers.v1");

/** n public keys in canonical order and the quorum k. */
export interface PublisherSet {
  /** Signatures an update needs, 1 <= quorum <= keys.length. */
  quorum: number;
  /** Distinct keys, sorted by `comparePublicKeys`. */
  keys: PublicKey[];
}

/**
 * The publisher set of `keys` (any order) with quorum `quorum`.
 * @throws PublisherSetError for no keys, a quorum not in [1, n], a duplicate key, or an invalid key
 *   (named by its position in `keys`).
 */
export async function makePublisherSet(keys: readonly PublicKey[], quorum: number): Promise<PublisherSet> {
  const n = keys.length;
  if (n === 0) throw new PublisherSetError("publisher set: no keys");
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > n) {
    throw new PublisherSetError(
      `publisher set: quorum ${quorum} is not an integer in [1, ${n}] (n = ${n} keys)`,
    );
  }
  for (const [i, key] of keys.entries()) {
    const violation = await publicKeyViolation(key);
    if (violation !== undefined) throw new PublisherSetError(`publisher set: keys[${i}]: ${violation}`);
  }
  const sorted = [...keys].sort(comparePublicKeys);
  for (let j = 1; j < n; j++) {
    if (comparePublicKeys(sorted[j - 1], sorted[j]) === 0) {
      throw new PublisherSetError(`publisher set: duplicate key (${sorted[j].Ax}, ${sorted[j].Ay})`);
    }
  }
  return { quorum, keys: sorted };
}

/**
 * The list of field elements the commitment absorbs (layout above).
 * @throws PublisherSetError for a set not in canonical form (see `makePublisherSet`).
 */
export function publisherSetInputs(set: PublisherSet): bigint[] {
  const { keys, quorum } = set;
  const canonical =
    Number.isInteger(quorum) &&
    quorum >= 1 &&
    quorum <= keys.length &&
    keys.every((k, j) => j === 0 || comparePublicKeys(keys[j - 1], k) < 0);
  if (!canonical)
    throw new PublisherSetError("publisher set: not canonical (build it with makePublisherSet)");
  return [
    PUBLISHER_SET_TAG,
    BigInt(set.quorum),
    BigInt(set.keys.length),
    ...set.keys.flatMap((k) => [k.Ax, k.Ay]),
  ];
}

/** The commitment to a publisher set, a field element (layout above). */
export async function publisherSetCommitment(set: PublisherSet): Promise<bigint> {
  return poseidonSponge(publisherSetInputs(set));
}
