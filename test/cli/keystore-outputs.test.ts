/**
 * No output of a command replaces a publisher keystore (an encrypted private key), whether the command reads it or
 * not: an output file that is one, or one among the entries a directory output writes, is refused before any work,
 * exit 2, naming the option and the file, and the keystore is left byte for byte. Other files, a publisher's
 * public key file among them, are replaced as before. (`publisher keygen --force` replaces a keystore on purpose:
 * test/cli/publisher.test.ts.)
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { refuseOverwrites } from "../../cli/options";
import { UsageError } from "../../core/errors";
import { encryptKeystore, keystoreJson } from "../../publisher";
import { TEST_PUBLISHER_PASSWORD, zkriskWithPassword } from "../helpers/zkrisk-cli";

const SPAWN_TIMEOUT = 60_000;
const dir = mkdtempSync(join(tmpdir(), "zkrisk-keystore-outputs-"));

/** A keystore's text (a cheap scrypt cost: the check reads the file, it never unlocks it). */
const KEYSTORE = (async () => {
  const ks = await encryptKeystore(new Uint8Array(32).fill(7), TEST_PUBLISHER_PASSWORD, {
    N: 2 ** 10,
    r: 8,
    p: 1,
  });
  return JSON.stringify(keystoreJson(ks), null, 2) + "\n";
})();

/** Writes `text` to `name` in `dir` (creating its directory); returns the name. */
function file(name: string, text: string): string {
  mkdirSync(join(dir, name, ".."), { recursive: true });
  writeFileSync(join(dir, name), text);
  return name;
}

/** Runs the CLI in `dir` (paths relative to it), with a publisher password set. */
const zkrisk = (...args: string[]) => zkriskWithPassword(dir, SPAWN_TIMEOUT, ...args);

/** The refusal of `option` writing over the keystore `path`. */
function refusal(option: string, path: string, choose = true): string {
  return (
    `${option}: ${path} holds a publisher keystore (a private key), which this command would overwrite` +
    (choose ? `: choose another ${option}` : "")
  );
}

/** Expects a refusal with `message` (exit 2, nothing on stdout) and the keystore `victim` as it was. */
async function expectRefused(r: ReturnType<typeof zkrisk>, message: string, victim: string): Promise<void> {
  expect([r.code, r.stdout, r.stderr]).toEqual([2, "", `zkrisk: ${message}\n`]);
  expect(readFileSync(join(dir, victim), "utf8")).toBe(await KEYSTORE);
}

const AT = ["--at", "2024-06-30 22:00"];
const CANDLES = join(__dirname, "../..", "models/data/btcusdt-2h.csv");

describe("an output onto a publisher keystore the command does not read: refused, the keystore kept", () => {
  it(
    "publisher set --out and publisher sign --out (before the keystore is unlocked)",
    async () => {
      const signer = file("signer.key.json", await KEYSTORE);
      const victim = file("victim.key.json", await KEYSTORE);
      await expectRefused(
        zkrisk("publisher", "set", "--keystore", signer, "--quorum", "1", "--out", victim),
        refusal("--out", victim),
        victim,
      );
      await expectRefused(
        zkrisk(
          "publisher",
          "sign",
          "--key",
          signer,
          "--market",
          "BTC-USDT",
          "--data",
          CANDLES,
          ...AT,
          "--out",
          victim,
        ),
        refusal("--out", victim),
        victim,
      );
    },
    2 * SPAWN_TIMEOUT,
  );

  it(
    "backtest --series and --report (a writer outside the publisher commands)",
    async () => {
      const victim = file("backtest/victim.key.json", await KEYSTORE);
      for (const option of ["--series", "--report"]) {
        await expectRefused(
          zkrisk("backtest", "--data", CANDLES, option, victim),
          refusal(option, victim),
          victim,
        );
      }
    },
    2 * SPAWN_TIMEOUT,
  );

  it(
    "prove --snarkjs DIR: a keystore at an entry the directory output writes (DIR/proof.json)",
    async () => {
      const victim = file("snarkjs/proof.json", await KEYSTORE);
      await expectRefused(
        zkrisk(
          "prove",
          "--artifacts",
          "none",
          "--market",
          "BTC-USDT",
          "--window",
          file("w.json", "{}\n"),
          "--out",
          "p.json",
          "--snarkjs",
          "snarkjs",
        ),
        refusal("--snarkjs", victim, false),
        victim,
      );
    },
    SPAWN_TIMEOUT,
  );
});

describe("refuseOverwrites: a keystore is recognised by its content", () => {
  it("refuses a keystore whatever its name, and not a public key file, another document or a missing file", async () => {
    const keystore = join(dir, "unit/report.json");
    file("unit/report.json", await KEYSTORE);
    const doc = JSON.parse(await KEYSTORE) as { publicKey: unknown };
    const publicKey = join(
      dir,
      file("unit/publisher.pub.json", JSON.stringify({ publicKey: doc.publicKey })),
    );
    const other = join(dir, file("unit/model.json", JSON.stringify({ version: 1, kdf: "none" })));
    const writes = (path: string) => ({ reads: [], writes: [{ option: "--out", path }] });
    expect(() => refuseOverwrites(writes(keystore))).toThrow(new UsageError(refusal("--out", keystore)));
    for (const path of [publicKey, other, join(dir, "unit/missing.json")])
      expect(() => refuseOverwrites(writes(path)), path).not.toThrow();
  });

  it("an output that is also the command's input keystore gets the same-file message, as before", async () => {
    const key = join(dir, file("unit/key.json", await KEYSTORE));
    expect(() =>
      refuseOverwrites({ reads: [{ option: "--key", path: key }], writes: [{ option: "--out", path: key }] }),
    ).toThrow(
      new UsageError(
        `--out: ${key} would overwrite --key ${key} (the same file), which this command reads: choose another --out`,
      ),
    );
  });
});
