/**
 * The keystore when scrypt itself refuses the file's cost (the platform's memory, say): the keystore's own
 * error naming the file and `kdf.N`, not scrypt's RangeError and a stack trace. scrypt is replaced by one that
 * fails, so no real key is derived.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { PublisherFileError, readKeystore, unlockKeystore, writeKeystore } from "../../publisher";

// hoisted above the imports by vitest: the keystore module sees this scrypt
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  const scrypt = (...args: unknown[]) => {
    const done = args[args.length - 1] as (err: Error | null, key?: Buffer) => void;
    // What Node raises when N, r, p need more memory than maxmem (or than it can allocate).
    done(
      new RangeError(
        "Invalid scrypt params: error:030000AC:digital envelope routines::memory limit exceeded",
      ),
    );
  };
  return { ...actual, default: { ...actual, scrypt }, scrypt };
});

describe("publisher keystore, scrypt refusing the cost", () => {
  it("is the keystore's error naming the file, kdf.N and the cost", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zkrisk-keystore-scrypt-")), "k.json");
    const ks = {
      version: 1 as const,
      publicKey: { Ax: 1n, Ay: 2n },
      kdf: { name: "scrypt" as const, N: 2 ** 20, r: 8, p: 1 },
      cipher: "aes-256-gcm" as const,
      salt: Buffer.alloc(32),
      iv: Buffer.alloc(12),
      ciphertext: Buffer.alloc(32),
      tag: Buffer.alloc(16),
    };
    writeKeystore(file, ks, false);
    expect(readKeystore(file).kdf.N).toBe(2 ** 20);
    const error = await unlockKeystore(file, "pw").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublisherFileError);
    expect((error as Error).message).toBe(
      `${file}: kdf.N: scrypt cannot run with N = 1048576, r = 8, p = 1: Invalid scrypt params: ` +
        "error:030000AC:digital envelope routines::memory limit exceeded",
    );
  });
});
