/**
 * `zkrisk publisher set --keystore FILE [--keystore FILE ...] --quorum K --out publishers.json
 * [--allow-minority-quorum] [--json]`: a market's publisher set file (publisher/publisher-set-file.ts) from the
 * publishers' public keys, and its commitment, the value governance registers. Each FILE is a publisher's public
 * key file (what `zkrisk publisher keygen --json` prints), or its keystore, of which only the public key is read
 * (no password); a publisher should hand out the former (`readPublicKeyFile`). A quorum of half the keys or fewer
 * is refused unless `--allow-minority-quorum` is given (`minorityQuorumRisk`).
 */
import { resolve } from "node:path";
import { UsageError } from "../../core/errors";
import {
  makePublisherSet,
  PublisherFileError,
  publicKeyViolation,
  publisherSetCommitment,
  readPublicKeyFile,
  writePublisherSet,
  type PublicKey,
} from "../../publisher";
import { fileOptions, outFileOption, parseIntOption, refuseOverwrites, refuseRepeatedKeys } from "../options";

/** The options of `zkrisk publisher set`, as commander gives them. */
export interface PublisherSetFlags {
  keystore: string[];
  quorum: string;
  out: string;
  /** Accept a quorum of half the keys or fewer (see `minorityQuorumRisk`). */
  allowMinorityQuorum?: boolean;
  json?: boolean;
}

/** What `publisher set` wrote. */
export interface PublisherSetResult {
  /** Absolute path of the set file. */
  file: string;
  quorum: number;
  keys: PublicKey[];
  /** The set's commitment (publisher/publisher-set.ts). */
  commitment: bigint;
}

/** Reads the publishers' public keys (public key files or keystores) and writes the set file. */
export async function runPublisherSet(f: PublisherSetFlags): Promise<PublisherSetResult> {
  outFileOption("--out", f.out);
  refuseOverwrites({ reads: fileOptions("--keystore", f.keystore), writes: fileOptions("--out", f.out) });
  if (f.keystore.length === 0) throw new UsageError("--keystore: give at least one publisher keystore");
  const quorum = parseIntOption("--quorum", f.quorum, 1, f.keystore.length);
  const keys = f.keystore.map((file) => readPublicKeyFile(file));
  // A key that is not a valid point is named by its file (the set would name its position among the options).
  for (const [i, key] of keys.entries()) {
    const violation = await publicKeyViolation(key);
    if (violation !== undefined) throw new PublisherFileError(f.keystore[i], "publicKey", violation);
  }
  refuseRepeatedKeys("--keystore", f.keystore, keys, "holds");
  if (2 * quorum <= keys.length && f.allowMinorityQuorum !== true) {
    throw new UsageError(
      `--quorum: ${minorityQuorumRisk(quorum, keys.length)}; give --allow-minority-quorum to accept it`,
    );
  }
  const set = await makePublisherSet(keys, quorum);
  const file = resolve(f.out);
  writePublisherSet(file, set);
  return { file, quorum, keys: set.keys, commitment: await publisherSetCommitment(set) };
}

/**
 * Why a quorum of K <= n/2 is a choice for the submitter: two disjoint groups of K publishers can each sign a
 * different window of the same bar (one source still missing a bar, a correction), both prove, and the oracle takes
 * whichever comes first, so the submitter picks the margin (and, on an adaptive market, which outcomes count). With
 * K > n/2 any two quorums share a publisher, who signs one window a bar.
 */
export function minorityQuorumRisk(quorum: number, n: number): string {
  return (
    `quorum ${quorum} of ${n} keys is half of them or fewer: two disjoint quorums could sign different ` +
    `windows of the same bar, and whoever submits first chooses which margin the oracle takes ` +
    `(a majority, ${Math.floor(n / 2) + 1} or more, closes that)`
  );
}

/** The human-readable report of `publisher set`. */
export function formatPublisherSet(r: PublisherSetResult): string {
  return (
    `wrote ${r.file}: ${r.keys.length} publisher(s), quorum ${r.quorum}\n` + `  commitment ${r.commitment}\n`
  );
}
