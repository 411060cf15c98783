/**
 * The publisher set file: a market's publishers as a prover, a governor or an auditor hands it around.
 *
 *   { "version": 1, "quorum": 2, "keys": [ { "Ax": "<decimal>", "Ay": "<decimal>" }, ... ] }
 *
 * Every field is required and unknown keys are refused; keys may be listed in any order (the set sorts them).
 */
import { readJsonFile, writeJsonAtomic } from "../core/io";
import { JsonReader } from "../core/validate";
import { PublisherFileError, PublisherSetError } from "./errors";
import { refuseOtherPublisherFile } from "./file-kind";
import {
  makePublisherSet,
  PUBLISHER_SET_MAX_KEYS,
  publisherSetCommitment,
  type PublisherSet,
} from "./publisher-set";

/** Version of the file format above. */
export const PUBLISHER_SET_FILE_VERSION = 1;

/** The set as its JSON document (bigints as decimal strings). */
export function publisherSetJson(set: PublisherSet): Record<string, unknown> {
  return {
    version: PUBLISHER_SET_FILE_VERSION,
    quorum: set.quorum,
    keys: set.keys.map((k) => ({ Ax: k.Ax.toString(), Ay: k.Ay.toString() })),
  };
}

/** Write a publisher set file atomically. */
export function writePublisherSet(path: string, set: PublisherSet): void {
  writeJsonAtomic(path, publisherSetJson(set));
}

/**
 * Read a publisher set file.
 * @throws PublisherFileError `file: field: reason` for a malformed file or set (a quorum above n, a
 *   duplicate or invalid key); PublisherFileKindError for another zkrisk file (a keystore...).
 */
export async function readPublisherSet(file: string): Promise<PublisherSet> {
  const value = readJsonFile(file);
  refuseOtherPublisherFile(file, value, ["a publisher set file"]);
  const doc = new JsonReader(file, value, "", (f, field, reason) => {
    return new PublisherFileError(f, field, reason);
  });
  doc.onlyKeys(["version", "quorum", "keys"]);
  const version = doc.at("version").integer();
  if (version !== PUBLISHER_SET_FILE_VERSION) {
    doc.at("version").error(`unsupported version ${version} (expected ${PUBLISHER_SET_FILE_VERSION})`);
  }
  const quorum = doc.at("quorum").integer(1);
  const keys = doc
    .at("keys")
    .items()
    .map((k) => {
      k.onlyKeys(["Ax", "Ay"]);
      return { Ax: k.at("Ax").bigint(), Ay: k.at("Ay").bigint() };
    });
  // A quorum above n is the quorum's fault (the set's own check would blame the keys); no keys, or more
  // than a set holds, stays the keys' fault.
  const n = keys.length;
  if (n >= 1 && n <= PUBLISHER_SET_MAX_KEYS && quorum > n) {
    doc
      .at("quorum")
      .error(`${quorum} is more than the set's ${n} key${n === 1 ? "" : "s"} (a quorum is in [1, ${n}])`);
  }
  try {
    return await makePublisherSet(keys, quorum);
  } catch (e) {
    if (e instanceof PublisherSetError) throw new PublisherFileError(file, "keys", e.message);
    throw e;
  }
}

/** The commitment of a set file's set (what governance registers). */
export async function publisherSetFileCommitment(file: string): Promise<bigint> {
  return publisherSetCommitment(await readPublisherSet(file));
}
