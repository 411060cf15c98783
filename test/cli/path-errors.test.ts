/**
 * A directory given where a file is expected (`--model`, `--ptau`), and a compiled directory without its circuit,
 * exit 2 with one line naming the option, the path and what is wrong: never a stack trace (exit 1), nor a bare
 * EISDIR or an option the command does not have. No setup runs: the artifact directory is a stand-in of files of a
 * few bytes hashed into a manifest by `writeManifest` (the model check comes after the hash checks, not the
 * contents), the compiled directory holds placeholder build files.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "../../core/io";
import { publicKeyOf } from "../../publisher/eddsa";
import { signWindow, writeSignedWindow } from "../../publisher/signed-window";
import { writeManifest } from "../../setup/artifacts";
import { MODEL } from "../helpers/artifacts";
import { manifestDocument } from "../helpers/manifest-document";
import { SMALL_WINDOW } from "../helpers/windows";
import { zkrisk } from "../helpers/zkrisk-cli";

const SPAWN_TIMEOUT = 60_000;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-path-errors-"));
/** The directory given where a file is expected. */
const folder = join(dir, "a-directory");
/** A stand-in of a set-up signed-update artifact directory (quorum 1, constant weights). */
const artifacts = join(dir, "set-up");
/** A compiled, not yet set-up directory: circuit.json and placeholder build files. */
const compiled = join(dir, "compiled");
/** A signed window of BTC-USDT. */
const window = join(dir, "window.json");

/** circuit.json of a constant-weights signed-update circuit of quorum 1 compiled from the shipped model. */
const CIRCUIT_JSON = JSON.stringify({
  mode: "constant",
  quorum: 1,
  model: { file: "btc-usdt-2h.quantized.json", sha256: sha256File(MODEL) },
  modelCommitment: "1",
  publicSignals: ["update", "statement"],
  constraints: 1,
  wires: 3,
  outputs: 2,
  publicInputs: 0,
  privateInputs: 1,
  r1cs: "build/zkrisk.r1cs",
  wasm: "build/zkrisk_js/zkrisk.wasm",
  source: "build/zkrisk.circom",
});

beforeAll(async () => {
  mkdirSync(folder);
  mkdirSync(artifacts);
  const files = Object.fromEntries(
    (["r1cs", "wasm", "zkey", "vkey", "verifier"] as const).map((kind) => {
      writeFileSync(join(artifacts, kind), kind);
      return [kind, join(artifacts, kind)];
    }),
  ) as Record<"r1cs" | "wasm" | "zkey" | "vkey" | "verifier", string>;
  copyFileSync(MODEL, join(artifacts, "model.json"));
  writeFileSync(join(artifacts, "circuit.json"), CIRCUIT_JSON);
  const doc = manifestDocument() as unknown as Parameters<typeof writeManifest>[1];
  writeManifest(artifacts, { ...doc, files, modelPath: join(artifacts, "model.json") });

  mkdirSync(join(compiled, "build/zkrisk_js"), { recursive: true });
  writeFileSync(join(compiled, "circuit.json"), CIRCUIT_JSON);
  writeFileSync(join(compiled, "build/zkrisk.r1cs"), "r1cs");
  writeFileSync(join(compiled, "build/zkrisk_js/zkrisk.wasm"), "wasm");

  const privateKey = new Uint8Array(32).fill(7);
  const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
  writeSignedWindow(window, await signWindow(key, "BTC-USDT", SMALL_WINDOW));
});

/** Runs `zkrisk ARGS` and expects exit 2 and exactly `message` on stderr. */
function refused(args: string[], message: string): void {
  const r = zkrisk(...args);
  expect(r.stderr, args.join(" ")).toBe(`zkrisk: ${message}\n`);
  expect(r.code, args.join(" ")).toBe(2);
}

describe("--model: a directory", () => {
  const isDirectory = `--model: '${folder}' is a directory, not a file`;

  it(
    "prove --window, verify and ceremony contribute name --model and the directory (exit 2); nothing is written",
    () => {
      const out = join(dir, "proof.json");
      refused(
        [
          "prove",
          "--artifacts",
          artifacts,
          "--market",
          "BTC-USDT",
          "--window",
          window,
          "--out",
          out,
          "--model",
          folder,
        ],
        isDirectory,
      );
      refused(["verify", out, "--artifacts", artifacts, "--model", folder], isDirectory);
      refused(
        ["ceremony", "contribute", "--artifacts", artifacts, "--name", "x", "--model", folder],
        isDirectory,
      );
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(artifacts).filter((f) => f.startsWith(".contribute-"))).toEqual([]);
    },
    3 * SPAWN_TIMEOUT,
  );

  it(
    "a missing --model is named as the option too, as setup and compile name it",
    () => {
      const missing = join(dir, "no-such-model.json");
      refused(
        ["verify", join(dir, "proof.json"), "--artifacts", artifacts, "--model", missing],
        `--model: ${missing}: file not found`,
      );
    },
    SPAWN_TIMEOUT,
  );
});

describe("--ptau: a directory", () => {
  const isDirectory = `--ptau: '${folder}' is a directory, not a file`;

  it(
    "setup of a compiled directory and ceremony contribute name --ptau and the directory (exit 2)",
    () => {
      refused(["setup", "--artifacts", compiled, "--model", MODEL, "--ptau", folder], isDirectory);
      refused(
        ["ceremony", "contribute", "--artifacts", artifacts, "--name", "x", "--ptau", folder],
        isDirectory,
      );
      expect(readdirSync(compiled).sort()).toEqual(["build", "circuit.json"]);
    },
    2 * SPAWN_TIMEOUT,
  );
});

describe("setup of a directory without its compiled circuit", () => {
  it(
    "names --artifacts, the missing build file and the compile command that writes it (not --r1cs or --wasm)",
    () => {
      const onlyInfo = join(dir, "only-circuit-json");
      mkdirSync(onlyInfo);
      writeFileSync(join(onlyInfo, "circuit.json"), CIRCUIT_JSON);
      refused(
        ["setup", "--artifacts", onlyInfo, "--model", MODEL],
        `--artifacts: ${onlyInfo} has no build/zkrisk.r1cs: run \`zkrisk compile --out ${onlyInfo}\``,
      );
      mkdirSync(join(onlyInfo, "build"));
      writeFileSync(join(onlyInfo, "build/zkrisk.r1cs"), "r1cs");
      refused(
        ["setup", "--artifacts", onlyInfo, "--model", MODEL],
        `--artifacts: ${onlyInfo} has no build/zkrisk_js/zkrisk.wasm: run \`zkrisk compile --out ${onlyInfo}\``,
      );
      expect(readdirSync(onlyInfo).sort()).toEqual(["build", "circuit.json"]);
    },
    2 * SPAWN_TIMEOUT,
  );
});
