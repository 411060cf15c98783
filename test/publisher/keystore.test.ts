/** The publisher keystore: round trip, wrong password, altered or malformed files, no silent overwrite. */
import { scryptSync } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import {
  encryptKeystore,
  MIN_SCRYPT_N,
  PublisherFileError,
  publicKeyOf,
  newPublisherPassword,
  publisherPassword,
  readKeystore,
  scryptMemory,
  unlockKeystore,
  writeKeystore,
} from "../../publisher";

/** A cheap scrypt cost for tests (the default, N = 2^17, is for real keys). */
const FAST = { N: 2 ** 12, r: 8, p: 1 };
const PRIVATE = new Uint8Array(32).map((_, i) => i + 1);

const tempDir = () => mkdtempSync(join(tmpdir(), "zkrisk-keystore-"));

async function written(): Promise<string> {
  const file = join(tempDir(), "keys/publisher.json");
  writeKeystore(file, await encryptKeystore(PRIVATE, "correct horse", FAST), false);
  return file;
}

/** The keystore at `file` with one JSON edit, written next to it. */
function edited(file: string, edit: (doc: Record<string, unknown>) => void): string {
  const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(doc);
  const out = join(tempDir(), "edited.json");
  writeFileSync(out, JSON.stringify(doc));
  return out;
}

describe("publisher keystore", () => {
  it("round-trips the private key, keeps the public key in clear and never writes the private key", async () => {
    const file = await written();
    const pub = await publicKeyOf(PRIVATE);
    expect(readKeystore(file).publicKey).toEqual(pub);
    const unlocked = await unlockKeystore(file, "correct horse");
    expect(Buffer.from(unlocked.privateKey).equals(Buffer.from(PRIVATE))).toBe(true);
    expect(unlocked.publicKey).toEqual(pub);
    expect(readFileSync(file, "utf8")).not.toContain(Buffer.from(PRIVATE).toString("hex"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")))).toEqual([
      "version",
      "publicKey",
      "kdf",
      "cipher",
      "salt",
      "iv",
      "ciphertext",
      "tag",
    ]);
  });

  it("refuses a wrong password and an altered file, naming the file", async () => {
    const file = await written();
    await expect(unlockKeystore(file, "wrong")).rejects.toThrow(
      new PublisherFileError(file, "(root)", "cannot decrypt: wrong password, or the file was altered"),
    );
    const flip = (hex: string) => (hex[0] === "0" ? "1" : "0") + hex.slice(1);
    for (const field of ["ciphertext", "tag", "iv", "salt"]) {
      const bad = edited(file, (d) => (d[field] = flip(d[field] as string)));
      await expect(unlockKeystore(bad, "correct horse"), field).rejects.toThrow("cannot decrypt");
    }
    // Another (valid) public key in clear: the associated data no longer matches.
    const other = await publicKeyOf(new Uint8Array(32).fill(9));
    const swapped = edited(file, (d) => (d.publicKey = { Ax: String(other.Ax), Ay: String(other.Ay) }));
    await expect(unlockKeystore(swapped, "correct horse")).rejects.toThrow("cannot decrypt");
  });

  it("refuses unknown keys and wrong types, naming the file and the field", async () => {
    const file = await written();
    const unknown = edited(file, (d) => (d.mnemonic = "x"));
    expect(() => readKeystore(unknown)).toThrow(PublisherFileError);
    expect(() => readKeystore(unknown)).toThrow(
      `${unknown}: mnemonic: unknown key (expected one of version,`,
    );
    const nested = edited(file, (d) => ((d.kdf as Record<string, unknown>).dklen = 32));
    expect(() => readKeystore(nested)).toThrow(`${nested}: kdf.dklen: unknown key`);
    const cases: [(d: Record<string, unknown>) => void, string][] = [
      [(d) => (d.version = 2), "version: unsupported version 2"],
      [(d) => (d.salt = 5), "salt: expected a string"],
      [(d) => (d.iv = "00"), "iv: expected 12 bytes as lowercase hex"],
      [(d) => (d.cipher = "aes-128-cbc"), "cipher: expected one of aes-256-gcm"],
      [(d) => ((d.kdf as Record<string, unknown>).N = 3000), "kdf.N: 3000 is not a power of 2"],
      [
        (d) => ((d.kdf as Record<string, unknown>).N = 2 ** 21),
        "kdf.N: expected an integer in [1024, 1048576]",
      ],
      [(d) => ((d.publicKey as Record<string, unknown>).Ax = 12), "publicKey.Ax: expected a string"],
      [(d) => delete d.tag, "tag: missing"],
    ];
    for (const [edit, message] of cases) {
      const bad = edited(file, edit);
      expect(() => readKeystore(bad), message).toThrow(`${bad}: ${message}`);
    }
    const notJson = join(tempDir(), "k.json");
    writeFileSync(notJson, "{");
    expect(() => readKeystore(notJson)).toThrow(
      new RegExp(`^${notJson}:1:2: not valid JSON: Expected property name or '}'$`),
    );
  });

  it("refuses a kdf.N below 2^10 when read, so unlocking names the field instead of crashing in scrypt", async () => {
    const file = await written();
    for (const N of [2, 4, 512]) {
      const tiny = edited(file, (d) => ((d.kdf as Record<string, unknown>).N = N));
      const message = `${tiny}: kdf.N: expected an integer in [${MIN_SCRYPT_N}, 1048576], got ${N}`;
      expect(() => readKeystore(tiny)).toThrow(message);
      // Before: a RangeError from scrypt (maxmem too small for a tiny N), exit code 1 and a stack trace.
      const error = await unlockKeystore(tiny, "correct horse").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublisherFileError);
      expect((error as Error).message).toBe(message);
    }
  });

  it("derives the key at every cost it accepts: the smallest N with the largest r and p unlocks", async () => {
    const cost = { N: MIN_SCRYPT_N, r: 32, p: 16 };
    const file = join(tempDir(), "k.json");
    writeKeystore(file, await encryptKeystore(PRIVATE, "correct horse", cost), false);
    expect(readKeystore(file).kdf).toEqual({ name: "scrypt", ...cost });
    expect((await unlockKeystore(file, "correct horse")).publicKey).toEqual(await publicKeyOf(PRIVATE));
  });

  it("counts scrypt's memory as OpenSSL does, so maxmem is never too small (even for N = 2, where 2·128·N·r was)", () => {
    for (const cost of [
      { N: 2, r: 8, p: 1 },
      { N: 2, r: 1, p: 16 },
      { N: 16, r: 4, p: 8 },
      { N: MIN_SCRYPT_N, r: 1, p: 16 },
    ]) {
      const need = scryptMemory(cost);
      expect(scryptSync("pw", "salt", 32, { ...cost, maxmem: need })).toHaveLength(32);
      expect(() => scryptSync("pw", "salt", 32, { ...cost, maxmem: need - 1 }), JSON.stringify(cost)).toThrow(
        /memory limit exceeded/,
      );
    }
  });

  it("never replaces an existing file without force", async () => {
    const file = await written();
    const before = readFileSync(file, "utf8");
    const ks = await encryptKeystore(new Uint8Array(32).fill(7), "pw", FAST);
    expect(() => writeKeystore(file, ks, false)).toThrow(
      new UsageError(`--out: ${file} already exists (use --force to replace it)`),
    );
    expect(readFileSync(file, "utf8")).toBe(before);
    writeKeystore(file, ks, true);
    expect(readKeystore(file).publicKey).toEqual(ks.publicKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("reads the password from ZKRISK_PUBLISHER_PASSWORD, refusing it unset or empty", () => {
    expect(publisherPassword({ ZKRISK_PUBLISHER_PASSWORD: "pw" })).toBe("pw");
    expect(() => publisherPassword({})).toThrow(
      new UsageError(
        "ZKRISK_PUBLISHER_PASSWORD is not set: it must hold the publisher keystore's password (or " +
          "ZKRISK_PUBLISHER_PASSWORD_FILE name a file holding it)",
      ),
    );
    expect(() => publisherPassword({ ZKRISK_PUBLISHER_PASSWORD: "" })).toThrow(
      new UsageError(
        "ZKRISK_PUBLISHER_PASSWORD is set but empty: it must hold the publisher keystore's password",
      ),
    );
  });

  it("reads the password from the file ZKRISK_PUBLISHER_PASSWORD_FILE names, one trailing line break off", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-password-"));
    const file = join(dir, "password");
    for (const [text, password] of [
      ["correct horse battery\n", "correct horse battery"],
      ["correct horse battery\r\n", "correct horse battery"],
      ["ends with a space \n\n", "ends with a space \n"],
    ]) {
      writeFileSync(file, text);
      expect(publisherPassword({ ZKRISK_PUBLISHER_PASSWORD_FILE: file })).toBe(password);
    }
    expect(() =>
      publisherPassword({ ZKRISK_PUBLISHER_PASSWORD: "pw", ZKRISK_PUBLISHER_PASSWORD_FILE: file }),
    ).toThrow(
      new UsageError("ZKRISK_PUBLISHER_PASSWORD and ZKRISK_PUBLISHER_PASSWORD_FILE are both set: set one"),
    );
    const missing = join(dir, "none");
    expect(() => publisherPassword({ ZKRISK_PUBLISHER_PASSWORD_FILE: missing })).toThrow(
      new UsageError(`ZKRISK_PUBLISHER_PASSWORD_FILE: cannot read ${missing}: ENOENT`),
    );
    writeFileSync(file, "\n");
    expect(() => publisherPassword({ ZKRISK_PUBLISHER_PASSWORD_FILE: file })).toThrow(
      new UsageError(
        `ZKRISK_PUBLISHER_PASSWORD_FILE: ${file} is empty: it must hold the publisher keystore's password`,
      ),
    );
    writeFileSync(file, "short\n");
    expect(() => newPublisherPassword({ ZKRISK_PUBLISHER_PASSWORD_FILE: file })).toThrow(
      "ZKRISK_PUBLISHER_PASSWORD_FILE: a new keystore's password needs at least 12 characters, this one has 5",
    );
  });

  it("a new keystore's password has at least 12 characters, counted as characters, never shown", () => {
    expect(newPublisherPassword({ ZKRISK_PUBLISHER_PASSWORD: "twelve chars" })).toBe("twelve chars");
    expect(newPublisherPassword({ ZKRISK_PUBLISHER_PASSWORD: "\u{1F511}".repeat(12) })).toHaveLength(24);
    for (const [password, length] of [
      ["eleven char", 11],
      ["\u{1F511}".repeat(11), 11],
      ["x", 1],
    ] as const) {
      expect(() => newPublisherPassword({ ZKRISK_PUBLISHER_PASSWORD: password })).toThrow(
        new UsageError(
          "ZKRISK_PUBLISHER_PASSWORD: a new keystore's password needs at least 12 characters, this one has " +
            `${length} (value not shown)`,
        ),
      );
    }
    expect(() => newPublisherPassword({})).toThrow("is not set");
  });
});
