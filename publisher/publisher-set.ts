/**
 * A market's publisher set: n public keys (sorted canonically) and the quorum k of them whose signatures an
 * update needs, and its commitment, the field element a market will register.
 *
 * Commitment layout (version 2): the project's length-prefixed Poseidon sponge (crypto/poseidon-sponge.ts)
 * over exactly 3 + 2 * PUBLISHER_SET_MAX_KEYS = 19 field elements, whatever n is:
 *
 *   [0] PUBLISHER_SET_TAG   packAscii("zkrisk.publishers.v2")
 *   [1] k                   quorum, 1 <= k <= n
 *   [2] n                   number of keys, 1 <= n <= PUBLISHER_SET_MAX_KEYS
 *   [3 + 2j], [4 + 2j]      Ax_j, Ay_j of key j for j < n, in canonical order (Ax, then Ay, ascending);
 *                           (0, 0) for the empty slots n <= j < PUBLISHER_SET_MAX_KEYS
 *
 * Sorting makes the commitment a function of the set, not of the order the keys were listed in. The fixed
 * length is for the circuit: `PublisherQuorum(K)` (circuits/lib/publisher-quorum.circom) hashes the same 19
 * elements with k = K compiled in, and a variable-length hash would cost a sponge per possible n.
 */
import { packAscii } from "../crypto/field";
import { poseidonSponge } from "../crypto/poseidon-sponge";
import { comparePublicKeys, publicKeyViolation, type PublicKey } from "./eddsa";
import { PublisherSetError } from "./errors";

/** The domain tag of publisher-set commitments, version 2 (the fixed 8-slot layout above). */
export const PUBLISHER_SET_TAG = packAscii("zkrisk.publishers.v2");

/** The most keys a publisher set holds: the number of key slots in the commitment and the circuit. */
export const PUBLISHER_SET_MAX_KEYS = 8;

/** n public keys in canonical order and the quorum k. */
export interface PublisherSet {
  /** Signatures an update needs, 1 <= quorum <= keys.length. */
  quorum: number;
  /** Distinct keys, sorted by `comparePublicKeys`; 1 to PUBLISHER_SET_MAX_KEYS of them. */
  keys: PublicKey[];
}

/** A publisher set as the circuit's private inputs: n and the key slots, padded with (0, 0). */
export interface PublisherSetSlots {
  /** Number of keys. */
  n: bigint;
  /** Ax of each slot, PUBLISHER_SET_MAX_KEYS entries (0 past n). */
  Ax: bigint[];
  /** Ay of each slot, PUBLISHER_SET_MAX_KEYS entries (0 past n). */
  Ay: bigint[];
}

/**
 * The publisher set of `keys` (any order) with quorum `quorum`.
 * @throws PublisherSetError for no keys, more than PUBLISHER_SET_MAX_KEYS keys, a quorum not in [1, n], a
 *   duplicate key, or an invalid key (named by its position in `keys`).
 */
export async function makePublisherSet(keys: readonly PublicKey[], quorum: number): Promise<PublisherSet> {
  const n = keys.length;
  if (n === 0) throw new PublisherSetError("publisher set: no keys");
  if (n > PUBLISHER_SET_MAX_KEYS) {
    throw new PublisherSetError(
      `publisher set: ${n} keys, more than the ${PUBLISHER_SET_MAX_KEYS} a set can hold`,
    );
  }
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
 * n and the padded key slots of a set (layout above).
 * @throws PublisherSetError for a set not in canonical form (see `makePublisherSet`).
 */
export function publisherSetSlots(set: PublisherSet): PublisherSetSlots {
  const { keys, quorum } = set;
  const canonical =
    keys.length <= PUBLISHER_SET_MAX_KEYS &&
    Number.isInteger(quorum) &&
    quorum >= 1 &&
    quorum <= keys.length &&
    keys.every((k, j) => j === 0 || comparePublicKeys(keys[j - 1], k) < 0);
  if (!canonical)
    throw new PublisherSetError("publisher set: not canonical (build it with makePublisherSet)");
  const slots = Array.from({ length: PUBLISHER_SET_MAX_KEYS }, (_, j) =>
    j < keys.length ? keys[j] : { Ax: 0n, Ay: 0n },
  );
  return { n: BigInt(keys.length), Ax: slots.map((k) => k.Ax), Ay: slots.map((k) => k.Ay) };
}

/**
 * The 19 field elements the commitment absorbs (layout above).
 * @throws PublisherSetError for a set not in canonical form (see `makePublisherSet`).
 */
export function publisherSetInputs(set: PublisherSet): bigint[] {
  const { n, Ax, Ay } = publisherSetSlots(set);
  return [PUBLISHER_SET_TAG, BigInt(set.quorum), n, ...Ax.flatMap((x, j) => [x, Ay[j]])];
}

/** The commitment to a publisher set, a field element (layout above). */
export async function publisherSetCommitment(set: PublisherSet): Promise<bigint> {
  return poseidonSponge(publisherSetInputs(set));
}
