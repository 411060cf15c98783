/**
 * publisher/dev-key.ts: the demo's INSECURE development publisher key, made once and read after, and made once
 * when two callers ask for it at once (two demos, the bench beside the tests): both get the same key, and the
 * label names the keystore's key. Real files and real keystores (cheap scrypt).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEV_PUBLISHER_KEYSTORE, DEV_PUBLISHER_LABEL, devPublisherKey } from "../../publisher/dev-key";
import { readKeystore } from "../../publisher/keystore";

const tempDir = () => mkdtempSync(join(tmpdir(), "zkrisk-dev-key-"));

/** The label's public key, as written. */
function labelled(dir: string): { Ax: string; Ay: string } {
  return (
    JSON.parse(readFileSync(join(dir, DEV_PUBLISHER_LABEL), "utf8")) as {
      publicKey: { Ax: string; Ay: string };
    }
  ).publicKey;
}

describe("devPublisherKey", () => {
  it("is made once, with a warning, and read from the cache after", async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const made = await devPublisherKey(dir, (m) => warnings.push(m));
    expect(made.created).toBe(true);
    expect(warnings).toEqual([expect.stringContaining("INSECURE development publisher key")]);
    const read = await devPublisherKey(dir, (m) => warnings.push(m));
    expect(read.created).toBe(false);
    expect(read.key.publicKey).toEqual(made.key.publicKey);
    expect(warnings).toHaveLength(1);
  });

  it("asked for by several callers at once, is made by one and read by the others: one key, labelled", async () => {
    const dir = tempDir();
    const keys = await Promise.all(Array.from({ length: 4 }, () => devPublisherKey(dir, () => undefined)));
    expect(keys.filter((k) => k.created)).toHaveLength(1);
    for (const k of keys) expect(k.key.publicKey).toEqual(keys[0].key.publicKey);
    const onFile = readKeystore(join(dir, DEV_PUBLISHER_KEYSTORE)).publicKey;
    expect(onFile).toEqual(keys[0].key.publicKey);
    expect(labelled(dir)).toEqual({ Ax: onFile.Ax.toString(), Ay: onFile.Ay.toString() });
  });

  it("replaces a keystore left without its label once the wait for the label is over", async () => {
    const dir = tempDir();
    const first = await devPublisherKey(dir, () => undefined);
    rmSync(join(dir, DEV_PUBLISHER_LABEL));
    const again = await devPublisherKey(dir, () => undefined, { labelWaitMs: 100 });
    expect(again.created).toBe(true);
    expect(again.key.publicKey).not.toEqual(first.key.publicKey);
    expect(readKeystore(join(dir, DEV_PUBLISHER_KEYSTORE)).publicKey).toEqual(again.key.publicKey);
    expect(labelled(dir).Ax).toBe(again.key.publicKey.Ax.toString());
  });

  it("refuses a label that names another key than the keystore's, naming the file and the field", async () => {
    const dir = tempDir();
    await devPublisherKey(dir, () => undefined);
    const label = join(dir, DEV_PUBLISHER_LABEL);
    const doc = JSON.parse(readFileSync(label, "utf8")) as { publicKey: { Ax: string } };
    doc.publicKey.Ax = "1";
    writeFileSync(label, JSON.stringify(doc));
    await expect(devPublisherKey(dir, () => undefined)).rejects.toThrow(
      new RegExp(`${DEV_PUBLISHER_LABEL.replace(/\./g, "\\.")}: publicKey: is not the key of `),
    );
  });
});
