/** `zkrisk publisher keygen` and `sign` end to end, through `node bin/zkrisk.cjs`, on the shipped candles. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow, windowDigest } from "../../candles";
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { readKeystore, readSignedBatch, readSignedWindow } from "../../publisher";

const ROOT = join(__dirname, "../..");
const BIN = join(ROOT, "bin/zkrisk.cjs");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const PASSWORD = "a publisher password";
/** Each spawn loads the whole CLI (several seconds on a busy machine) and may derive a scrypt key. */
const SPAWN_TIMEOUT = 180_000;
/** What keygen says on stderr while it derives the key (stdout stays the result alone). */
const KEYGEN_PROGRESS = "zkrisk: deriving the keystore's encryption key (scrypt, a few seconds)\n";

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

describe("zkrisk publisher keygen and sign", () => {
  const key = join(dir, "keys/publisher.json");
  let publicKey: { Ax: string; Ay: string };

  beforeAll(() => {
    const r = zkrisk(["publisher", "keygen", "--out", key, "--json"]);
    // no progress with --json
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
      expect(first.stderr).toBe(KEYGEN_PROGRESS);
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
    "refuses a bad --out before deriving a key (no progress line): a directory, a path under a file, an existing file",
    () => {
      const sub = join(dir, "a-directory");
      mkdirSync(sub, { recursive: true });
      const file = join(dir, "a-file");
      writeFileSync(file, "x");
      for (const [args, message] of [
        [["--out", sub], `--out: '${sub}' is a directory, not a file`],
        [["--out", sub, "--force"], `--out: '${sub}' is a directory, not a file`],
        [
          ["--out", join(file, "x.json")],
          `--out: '${join(file, "x.json")}' lies under '${file}', which is a file`,
        ],
        [["--out", key], `--out: ${key} already exists (use --force to replace it)`],
      ] as const) {
        const r = zkrisk(["publisher", "keygen", ...args]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toBe(`zkrisk: ${message}\n`);
      }
    },
    4 * SPAWN_TIMEOUT,
  );

  it(
    "exits 2 when ZKRISK_PUBLISHER_PASSWORD is unset, empty or too short for a new keystore, writing nothing",
    () => {
      for (const [password, message] of [
        [
          null,
          "ZKRISK_PUBLISHER_PASSWORD is not set: it must hold the publisher keystore's password (or " +
            "ZKRISK_PUBLISHER_PASSWORD_FILE name a file holding it)",
        ],
        ["", "ZKRISK_PUBLISHER_PASSWORD is set but empty: it must hold the publisher keystore's password"],
        [
          "short",
          "ZKRISK_PUBLISHER_PASSWORD: a new keystore's password needs at least 12 characters, this one has 5 " +
            "(value not shown)",
        ],
      ] as const) {
        const out = join(
          dir,
          `keys/none-${password === null ? "unset" : password === "" ? "empty" : "short"}.json`,
        );
        const r = zkrisk(["publisher", "keygen", "--out", out], password);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`zkrisk: ${message}\n`);
        expect(existsSync(out)).toBe(false);
      }
    },
    2 * SPAWN_TIMEOUT,
  );

  it(
    "signs the window ending at --at from the shipped candles; the file reads back and matches the candles",
    async () => {
      const out = join(dir, "windows/last.json");
      const r = zkrisk(
        [
          "publisher",
          "sign",
          "--key",
          key,
          "--market",
          "BTC-USDT",
          "--data",
          DATA,
          "--at",
          "2024-06-30 22:00",
        ].concat(["--out", out, "--json"]),
      );
      // no progress with --json
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const printed = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(printed).toMatchObject({
        window: out,
        market: "BTC-USDT",
        intervalMs: 7_200_000,
        endTime: "2024-06-30T22:00:00.000Z",
        bars: 85,
        missingBars: 0,
        publicKey,
      });
      const signed = await readSignedWindow(out);
      expect(signed.publicKey).toEqual({ Ax: BigInt(publicKey.Ax), Ay: BigInt(publicKey.Ay) });
      expect(signed.window.bars[84]).toMatchObject({ close: 6277201000000n, volume: 298340341000n });
      // Recomputed here from the CSV, independently of the command.
      const series = loadCandles(DATA);
      const expected = buildWindow(series, marketIdOf("BTC-USDT"), series.candles.length - 1, 85);
      expect(signed.window).toEqual(expected);
      expect(printed.digest).toBe(String(await windowDigest(expected)));
    },
    SPAWN_TIMEOUT,
  );

  it(
    "keeps a gap as missing bars, and prints a text report without --json",
    async () => {
      const out = join(dir, "windows/gap.json");
      const args = [
        "--market",
        "BTC-USDT",
        "--data",
        DATA,
        "--at",
        "2018-02-09 10:00",
        "--bars",
        "20",
        "--out",
        out,
      ];
      const r = zkrisk(["publisher", "sign", "--key", key, ...args]);
      expect(r.stderr).toBe(`zkrisk: unlocking ${key} (scrypt, a few seconds)\n`);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        "signed window of 20 bars (16 missing) of BTC-USDT, 120 min bars, ending at the bar opening 2018-02-09T10:00:00.000Z",
      );
      expect(r.stdout).not.toMatch(/private/i);
      const { window } = await readSignedWindow(out);
      expect(window.bars.map((b) => b.missing)).toEqual([
        false,
        false,
        false,
        ...Array(16).fill(true),
        false,
      ]);
    },
    SPAWN_TIMEOUT,
  );

  it(
    "exits 2 for a wrong password, a keystore with an unknown key, and an --at with no bar",
    () => {
      const args = (at: string, keyFile = key) =>
        ["publisher", "sign", "--key", keyFile, "--market", "BTC-USDT", "--data", DATA, "--at", at].concat([
          "--out",
          join(dir, "windows/refused.json"),
        ]);
      const wrong = zkrisk(args("2024-06-30 22:00"), "not the password");
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toBe(
        `zkrisk: unlocking ${key} (scrypt, a few seconds)\n` +
          `zkrisk: ${key}: (root): cannot decrypt: wrong password, or the file was altered\n`,
      );

      const extra = join(dir, "keys/extra.json");
      writeFileSync(extra, JSON.stringify({ ...JSON.parse(readFileSync(key, "utf8")), privateKey: "00" }));
      const unknown = zkrisk(args("2024-06-30 22:00", extra));
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(
        new RegExp(`^zkrisk: ${extra}: privateKey: unknown key \\(expected one of`),
      );

      const absent = zkrisk(args("2018-02-08 12:00"));
      expect(absent.code).toBe(2);
      expect(absent.stderr).toMatch(
        /^zkrisk: --at: no bar opens at 2018-02-08T12:00:00.000Z in .*btcusdt-2h\.csv/,
      );
      expect(existsSync(join(dir, "windows/refused.json"))).toBe(false);
    },
    3 * SPAWN_TIMEOUT,
  );

  it(
    "sign --batch: the windows of several markets at one bar under one signature, in id order; bad usage exits 2",
    async () => {
      const out = join(dir, "batches/at.json");
      const at = "2024-06-30 20:00";
      const r = zkrisk([
        "publisher",
        "sign",
        "--key",
        key,
        "--batch",
        `SOL-USDT=${DATA}`,
        "--batch",
        `BTC-USDT=${DATA}`,
        "--at",
        at,
        "--out",
        out,
        "--json",
      ]);
      // no progress with --json
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const batch = await readSignedBatch(out);
      expect(batch.markets.map((m) => m.market)).toEqual(["BTC-USDT", "SOL-USDT"]);
      expect(batch.publicKey).toEqual({ Ax: BigInt(publicKey.Ax), Ay: BigInt(publicKey.Ay) });
      expect(JSON.parse(r.stdout).digest).toBe(batch.digest.toString());
      const series = loadCandles(DATA);
      const index = series.candles.findIndex((c) => c.time === Date.parse("2024-06-30T20:00:00Z"));
      expect(batch.markets[1].window).toEqual(buildWindow(series, marketIdOf("SOL-USDT"), index, 85));

      const refused = join(dir, "batches/refused.json");
      const base = ["publisher", "sign", "--key", key, "--at", at, "--out", refused];
      for (const [args, message] of [
        [
          ["--batch", `BTC-USDT=${DATA}`, "--market", "BTC-USDT"],
          "zkrisk: --batch MARKET=CANDLES.csv replaces --market and --data\n",
        ],
        [["--batch", "BTC-USDT"], "zkrisk: --batch: 'BTC-USDT' is not MARKET=CANDLES.csv\n"],
        [
          ["--batch", `BTC-USDT=${DATA}`, "--batch", `BTC-USDT=${DATA}`],
          "zkrisk: --batch: market 'BTC-USDT' is given twice ('BTC-USDT')\n",
        ],
        [[], "zkrisk: --market is required (or --batch MARKET=CANDLES.csv)\n"],
      ] as const) {
        const bad = zkrisk([...base, ...args]);
        expect(bad.code, args.join(" ")).toBe(2);
        expect(bad.stderr).toBe(message);
      }
      expect(existsSync(refused)).toBe(false);
    },
    6 * SPAWN_TIMEOUT,
  );
});
