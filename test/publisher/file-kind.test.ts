/**
 * A publisher file's reader handed another zkrisk file says what that file is (publisher/file-kind.ts), instead of
 * naming its first unexpected key: `publisher set --keystore SET.json` said `quorum: unknown key (expected one of
 * version, publicKey, kdf...)`. A file of the expected kind, even malformed, is still its reader's to describe.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  PublisherFileError,
  PublisherFileKindError,
  publisherFileKind,
  readKeystore,
  readPublicKeyFile,
  readPublisherSet,
  readSignedBatch,
  readSignedWindow,
} from "../../publisher";

const dir = mkdtempSync(join(tmpdir(), "zkrisk-file-kind-"));
const KEY = { Ax: "1", Ay: "2" };
const SIGNATURE = { R8x: "1", R8y: "2", S: "3" };

/** One document of each kind, with the keys its writer writes (values need not check: the kind is told first). */
const DOCS: Record<string, unknown> = {
  "a keystore": {
    version: 1,
    publicKey: KEY,
    kdf: {},
    cipher: "",
    salt: "",
    iv: "",
    ciphertext: "",
    tag: "",
  },
  "a public key file": { keystore: "a.key.json", publicKey: KEY },
  "a publisher set file": { version: 1, quorum: 2, keys: [KEY, KEY] },
  "a signed window file": { version: 3, market: "BTC-USDT", bars: [], publicKey: KEY, signature: SIGNATURE },
  "a signed batch file": { version: 2, markets: [], digest: "1", publicKey: KEY, signature: SIGNATURE },
  "a zkrisk-calibrations/2 file": { format: "zkrisk-calibrations/2", markets: {} },
};

/** The file of `kind`'s document. */
function fileOf(kind: string): string {
  const file = join(dir, `${kind.replace(/[^a-z0-9]+/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(DOCS[kind]));
  return file;
}

describe("publisherFileKind", () => {
  it.each(Object.keys(DOCS))("tells %s by its keys", (kind) => {
    expect(publisherFileKind(DOCS[kind])).toBe(kind);
  });

  it("tells nothing of a document that is none of them", () => {
    for (const value of [null, [], "x", {}, { version: 1 }, { publicKey: KEY, comment: "" }])
      expect(publisherFileKind(value)).toBeUndefined();
  });
});

describe("each reader refuses another zkrisk file, naming the file and its kind", () => {
  const readers: [string, (file: string) => unknown, string, string][] = [
    ["readKeystore", readKeystore, "a keystore", "a keystore"],
    ["readPublicKeyFile", readPublicKeyFile, "a public key file", "a keystore or a public key file"],
    ["readPublisherSet", readPublisherSet, "a publisher set file", "a publisher set file"],
    ["readSignedWindow", readSignedWindow, "a signed window file", "a signed window file"],
    ["readSignedBatch", readSignedBatch, "a signed batch file", "a signed batch file"],
  ];
  it.each(readers)("%s", async (_name, read, own, expected) => {
    for (const kind of Object.keys(DOCS)) {
      if (kind === own || (own === "a public key file" && kind === "a keystore")) continue;
      const file = fileOf(kind);
      const refused = (async () => read(file))();
      await expect(refused, kind).rejects.toThrow(PublisherFileKindError);
      await expect(refused, kind).rejects.toThrow(`${file} is ${kind}, not ${expected}`);
      // still a bad publisher file for those that catch one (a service's config, an archive)
      await expect(refused, kind).rejects.toThrow(PublisherFileError);
    }
    // a file of its own kind, even malformed, is the reader's to accept or describe (naming the field)
    const mine = fileOf(own);
    const outcome = await (async () => read(mine))().catch((err: unknown) => err);
    expect(outcome).not.toBeInstanceOf(PublisherFileKindError);
  });
});
