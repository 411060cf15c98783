/** `zkrisk publisher keygen` and `sign` end to end, through `node bin/zkrisk.cjs`, on the shipped candles. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readKeystore } from "../../publisher";

const ROOT = join(__dirname, "../..");
const BIN = join(ROOT, "bin/zkrisk.cjs");
const PASSWORD = "a publisher password";
/** Each spawn loads the whole CLI (several seconds on a busy machine) and may derive a scrypt key. */
const SPAWN_TIMEOUT = 180_000;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-publisher-cli-"));

/** Runs the CLI with a temp HOME and the password in ZKRISK_PUBLISHER_PASSWORD (`null`: unset). */
function zkrisk(args: string[], password: string | null = PASSWORD) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, "home") };
  delete env.ZKRISK_PUBLISHER_PASSWORD;
  if (password !== null) env.ZKRISK_PUBLISHER_PASSWORD = password;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env,
    encoding: "utf8",
    timeout: SPAWN_TIMEOUT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("zkrisk publisher keygen", () => {
  const key = join(dir, "keys/publisher.json");
  let publicKey: { Ax: string; Ay: string };

  beforeAll(() => {
    const r = zkrisk(["publisher", "keygen", "--out", key, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { keystore: string; publicKey: { Ax: string; Ay: string } };
    expect(out.keystore).toBe(key);
    publicKey = out.publicKey;
  }, SPAWN_TIMEOUT);

  it("writes a keystore whose clear public key is the one printed", () => {
    const ks = readKeystore(key);
    expect({ Ax: String(ks.publicKey.Ax), Ay: String(ks.publicKey.Ay) }).toEqual(publicKey);
  });

  it(
    "refuses to overwrite without --force (exit 2), and replaces with it",
    () => {
      const before = readFileSync(key, "utf8");
      const r = zkrisk(["publisher", "keygen", "--out", key]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`zkrisk: --out: ${key} already exists (use --force to replace it)\n`);
      expect(readFileSync(key, "utf8")).toBe(before);

      const other = join(dir, "keys/other.json");
      const first = zkrisk(["publisher", "keygen", "--out", other]);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(
        /^publisher keystore written to .*other\.json\n {2}public key Ax \d+\n {13}Ay \d+\n$/,
      );
      const forced = zkrisk(["publisher", "keygen", "--out", other, "--force", "--json"]);
      expect(forced.code).toBe(0);
      expect(String(readKeystore(other).publicKey.Ax)).toBe(JSON.parse(forced.stdout).publicKey.Ax);
    },
    3 * SPAWN_TIMEOUT,
  );

  it(
    "exits 2 when ZKRISK_PUBLISHER_PASSWORD is unset or empty, writing nothing",
    () => {
      for (const password of [null, ""]) {
        const out = join(dir, `keys/none-${password === null ? "unset" : "empty"}.json`);
        const r = zkrisk(["publisher", "keygen", "--out", out], password);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(
          "zkrisk: ZKRISK_PUBLISHER_PASSWORD is not set: it must hold the publisher keystore's password\n",
        );
        expect(existsSync(out)).toBe(false);
      }
    },
    2 * SPAWN_TIMEOUT,
  );
});
