/**
 * An output path that is one of the command's input files (or another of its outputs) is refused before any work,
 * exit 2, naming both options and the file, and the input is left as it was: compared by real path (a symbolic
 * link to the input is the input) and by inode (a hard link). Each case spawns the CLI and fails fast: the check
 * comes before the files are read (none of them needs to be valid), a keystore is unlocked or a node is reached.
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { zkriskWithPassword } from "../helpers/zkrisk-cli";

const SPAWN_TIMEOUT = 60_000;
const dir = mkdtempSync(join(tmpdir(), "zkrisk-output-paths-"));

/** Runs the CLI in `dir` (paths relative to it), with a publisher password set and an unreachable node. */
const zkrisk = (...args: string[]) => zkriskWithPassword(dir, SPAWN_TIMEOUT, ...args);

/** What each file of `dir` made by {@link file} holds. */
const contents = new Map<string, string>();

/** A file in `dir` holding `content` (by default its own name: nothing is parsed before the check). */
function file(name: string, content = `${name}\n`): string {
  mkdirSync(join(dir, name, ".."), { recursive: true });
  writeFileSync(join(dir, name), content);
  contents.set(name, content);
  return name;
}

/** Expects a refusal with `message` (exit 2, nothing on stdout) and every file of `kept` as it was. */
function expectRefused(r: ReturnType<typeof zkrisk>, message: string, kept: readonly string[]): void {
  expect([r.code, r.stdout, r.stderr]).toEqual([2, "", `zkrisk: ${message}\n`]);
  for (const name of kept) expect(readFileSync(join(dir, name), "utf8"), name).toBe(contents.get(name));
}

const AT = ["--at", "2024-06-30 22:00"];
/** The shipped candles: a file the backtest runs on (without the check it wrote the series over it, exit 0). */
const CANDLES = readFileSync(join(__dirname, "../..", "models/data/btcusdt-2h.csv"), "utf8");

describe("an output that is an input file: refused before any work, the input kept", () => {
  it(
    "publisher sign --out onto its --key (the publisher's only private key) or onto a --batch candle file",
    () => {
      const key = file("K.json");
      const data = file("candles.csv");
      expectRefused(
        zkrisk(
          "publisher",
          "sign",
          "--key",
          key,
          "--market",
          "BTC-USDT",
          "--data",
          data,
          ...AT,
          "--out",
          key,
        ),
        "--out: K.json would overwrite --key K.json (the same file), which this command reads: choose another --out",
        [key],
      );
      expectRefused(
        zkrisk("publisher", "sign", "--key", key, "--batch", `BTC-USDT=${data}`, ...AT, "--out", data),
        "--out: candles.csv would overwrite --batch candles.csv (the same file), which this command reads: " +
          "choose another --out",
        [key, data],
      );
    },
    2 * SPAWN_TIMEOUT,
  );

  it(
    "publisher set --out onto one of its --keystore files; prove --out onto one of its --window files",
    () => {
      const [a, b] = [file("a.key"), file("b.key")];
      expectRefused(
        zkrisk("publisher", "set", "--keystore", a, b, "--quorum", "2", "--out", a),
        "--out: a.key would overwrite --keystore a.key (the same file), which this command reads: " +
          "choose another --out",
        [a, b],
      );
      const [wa, wb] = [file("a.window.json"), file("b.window.json")];
      expectRefused(
        zkrisk("prove", "--artifacts", "none", "--market", "BTC-USDT", "--window", wa, wb, "--out", wa),
        "--out: a.window.json would overwrite --window a.window.json (the same file), which this command " +
          "reads: choose another --out",
        [wa, wb],
      );
    },
    2 * SPAWN_TIMEOUT,
  );

  it(
    "backtest: --series or --report onto --data, and --series and --report on one path",
    () => {
      const data = file("btc.csv", CANDLES);
      expectRefused(
        zkrisk("backtest", "--data", data, "--series", data),
        "--series: btc.csv would overwrite --data btc.csv (the same file), which this command reads: " +
          "choose another --series",
        [data],
      );
      expectRefused(
        zkrisk("backtest", "--data", data, "--report", data),
        "--report: btc.csv would overwrite --data btc.csv (the same file), which this command reads: " +
          "choose another --report",
        [data],
      );
      expectRefused(
        zkrisk("backtest", "--data", data, "--series", "out.csv", "--report", "./out.csv"),
        "--report: ./out.csv would overwrite --series out.csv (the same file): give each output its own path",
        [data],
      );
      expect(existsSync(join(dir, "out.csv"))).toBe(false);
    },
    3 * SPAWN_TIMEOUT,
  );

  it(
    "quantize, market-model and calibrate: --out onto --model, --calibrations or --data",
    () => {
      const [model, calibrations, data] = [file("m.json"), file("c.json"), file("ethusdt-2h.csv")];
      const refusal = (option: string, path: string) =>
        `--out: ${path} would overwrite ${option} ${path} (the same file), which this command reads: choose another --out`;
      expectRefused(zkrisk("quantize", "--model", model, "--out", model), refusal("--model", model), [model]);
      expectRefused(
        zkrisk("market-model", "--market", "ETH-USDT", "--model", model, "--out", model),
        refusal("--model", model),
        [model],
      );
      expectRefused(
        zkrisk("market-model", "--market", "ETH-USDT", "--calibrations", calibrations, "--out", calibrations),
        refusal("--calibrations", calibrations),
        [calibrations],
      );
      expectRefused(
        zkrisk("calibrate", "--model", model, "--data", data, "--out", data),
        refusal("--data", data),
        [model, data],
      );
    },
    4 * SPAWN_TIMEOUT,
  );

  it(
    "deploy --out onto a file of its --artifacts directory (the manifest), before any connection",
    () => {
      const manifest = file("art/artifacts.json");
      expectRefused(
        zkrisk("deploy", "--artifacts", "art", "--rpc", "http://127.0.0.1:9", "--out", manifest),
        "--out: art/artifacts.json would overwrite art/artifacts.json of --artifacts art (the same file), " +
          "which this command reads: choose another --out",
        [manifest],
      );
    },
    SPAWN_TIMEOUT,
  );

  it(
    "prove --snarkjs into its --artifacts directory (its verification key); compile --out over its --model",
    () => {
      const vkey = file("set-up/verification_key.json");
      expectRefused(
        zkrisk(
          "prove",
          "--artifacts",
          "set-up",
          "--market",
          "BTC-USDT",
          "--window",
          file("w.json"),
          "--out",
          "p.json",
          "--snarkjs",
          "set-up",
        ),
        "--snarkjs: set-up/verification_key.json would overwrite set-up/verification_key.json of --artifacts " +
          "set-up (the same file), which this command reads",
        [vkey],
      );
      const model = file("compiled/circuit.json");
      expectRefused(
        zkrisk("compile", "--model", model, "--out", "compiled"),
        "--out: compiled/circuit.json would overwrite --model compiled/circuit.json (the same file), which this " +
          "command reads",
        [model],
      );
    },
    2 * SPAWN_TIMEOUT,
  );

  it(
    "an --out that is a symbolic link or a hard link to the input is the input",
    () => {
      const data = file("linked.csv");
      symlinkSync("linked.csv", join(dir, "symlink.csv"));
      linkSync(join(dir, data), join(dir, "hardlink.csv"));
      for (const out of ["symlink.csv", "hardlink.csv"]) {
        expectRefused(
          zkrisk("train", "--data", data, "--out", out),
          `--out: ${out} would overwrite --data linked.csv (the same file), which this command reads: ` +
            "choose another --out",
          [data],
        );
      }
    },
    2 * SPAWN_TIMEOUT,
  );
});
