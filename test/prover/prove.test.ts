/**
 * Proving end to end on the shipped model (constant weights): one compile and one trusted setup per run,
 * shared by every test here; the development ptau is cached outside the repo.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIELD_MODULUS } from "../../circuits/field";
import { PUBLIC_SIGNALS } from "../../circuits/public-signals";
import { inputCommitment, modelCommitment } from "../../circuits/commitments";
import { inferBar } from "../../models/predict";
import { loadCandles } from "../../models/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../candles/market-id";
import { UpdateProver, type ProvedUpdate } from "../../prover/prove-update";
import { releaseCurves, snarkjs } from "../../prover/setup";
import { buildProvingArtifacts } from "../helpers/artifacts";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const BIN = join(ROOT, "bin/zkrisk.cjs");

let dir: string;
let prover: UpdateProver;
let update: ProvedUpdate;
const series = loadCandles(DATA);

beforeAll(async () => {
  dir = await buildProvingArtifacts();
  prover = await UpdateProver.open(dir);
  update = await prover.proveBar(series, {
    market: "BTC-USDT",
    marketId: marketIdOf("BTC-USDT"),
    domain: 31337n,
  });
}, 900_000);

/** A copy of the artifact directory's files in a new temporary directory (its manifest names the model by a relative path, so pass --model). */
function copyArtifacts(): string {
  const copy = mkdtempSync(join(tmpdir(), "zkrisk-prove-copy-"));
  for (const f of [
    "artifacts.json",
    "zkrisk.r1cs",
    "zkrisk.wasm",
    "zkrisk.zkey",
    "verification_key.json",
    "Groth16Verifier.sol",
  ]) {
    copyFileSync(join(dir, f), join(copy, f));
  }
  return copy;
}

afterAll(async () => {
  await prover?.close();
  await releaseCurves();
});

describe("UpdateProver", () => {
  it("proves the latest bar with the integer engine's parameters and commitments", async () => {
    const model = loadQuantizedModel(MODEL);
    const bar = inferBar(model, series);
    expect(prover.mode).toBe("constant");
    expect(update.bar).toBe("2024-06-30T22:00:00.000Z");
    expect(update.parameters.maintenanceMarginBps).toBe(Number(bar.trace.maintenanceMarginBps));
    expect(update.parameters.initialMarginBps).toBe(Number(bar.trace.initialMarginBps));
    expect(update.publicSignals).toEqual([
      bar.trace.maintenanceMarginBps.toString(),
      bar.trace.initialMarginBps.toString(),
      (await modelCommitment(model)).toString(),
      (await inputCommitment(bar.featuresInt)).toString(),
      marketIdOf("BTC-USDT").toString(),
      String(bar.time / 1000),
      "31337",
    ]);
    expect(update.features.map((f) => BigInt(f.quantized))).toEqual(bar.featuresInt);
    expect(update.calldata.input).toEqual(update.publicSignals);
    expect(await prover.verify(update.proof, update.publicSignals)).toBe(true);
  });

  it.each(PUBLIC_SIGNALS.map((name, i) => [name, i] as const))(
    "a proof with public signal %s changed does not verify",
    async (_name, i) => {
      const plusOne = [...update.publicSignals];
      plusOne[i] = (BigInt(plusOne[i]) + 1n).toString();
      expect(await snarkjs.groth16.verify(prover.vkey, plusOne, update.proof)).toBe(false);
      const aliased = [...update.publicSignals];
      aliased[i] = (BigInt(aliased[i]) + FIELD_MODULUS).toString();
      expect(await snarkjs.groth16.verify(prover.vkey, aliased, update.proof)).toBe(false);
    },
  );

  it("keeps its artifacts loaded: a second bar proves with the same prover and verifies", async () => {
    const index = series.candles.findIndex((c) => c.time === Date.UTC(2024, 0, 15, 12));
    const second = await prover.proveBar(series, { market: "BTC-USDT", marketId: 1n, domain: 0n, index });
    expect(second.bar).toBe("2024-01-15T12:00:00.000Z");
    expect(second.publicSignals[3]).not.toBe(update.publicSignals[3]);
    expect(await prover.verify(second.proof, second.publicSignals)).toBe(true);
    // The first proof does not verify with the second's public signals.
    expect(await prover.verify(update.proof, second.publicSignals)).toBe(false);
  }, 120_000);

  it("refuses artifacts checked against another model file", async () => {
    const other = join(dir, "other.quantized.json");
    const doc = JSON.parse(readFileSync(MODEL, "utf8"));
    doc.market = "ETH-USDT";
    writeFileSync(other, JSON.stringify(doc));
    await expect(UpdateProver.open(dir, { modelPath: other })).rejects.toThrow(/model/);
  });
});

describe("zkrisk prove / verify", () => {
  it("writes a proof file that `zkrisk verify` accepts, and rejects a tampered one with exit code 1", () => {
    const out = join(dir, "proof.json");
    const prove = spawnSync(
      process.execPath,
      [
        BIN,
        "prove",
        "--artifacts",
        dir,
        "--market",
        "BTC-USDT",
        "--at",
        "2024-06-30 20:00",
        "--out",
        out,
        "--snarkjs",
        join(dir, "snarkjs"),
        "--json",
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(prove.status, prove.stderr).toBe(0);
    const written = JSON.parse(readFileSync(out, "utf8")) as ProvedUpdate;
    expect(Object.keys(written)).toEqual(
      expect.arrayContaining(["proof", "publicSignals", "calldata", "parameters", "features"]),
    );
    expect(written.bar).toBe("2024-06-30T20:00:00.000Z");

    const ok = spawnSync(process.execPath, [BIN, "verify", out, "--artifacts", dir, "--json"], {
      encoding: "utf8",
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, problems: [] });

    const tampered = join(dir, "tampered.json");
    written.publicSignals[1] = String(Number(written.publicSignals[1]) - 1);
    writeFileSync(tampered, JSON.stringify(written));
    const bad = spawnSync(process.execPath, [BIN, "verify", tampered, "--artifacts", dir, "--json"], {
      encoding: "utf8",
    });
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout).problems).toContain(
      "the Groth16 proof does not verify with the verification key",
    );
  }, 300_000);

  it("--snarkjs writes proof.json and public.json that the snarkjs CLI verifies, and rejects once a signal is edited", () => {
    const snarkDir = join(dir, "snarkjs");
    const snarkjsCli = (publicFile: string) =>
      spawnSync(
        process.execPath,
        [
          join(ROOT, "node_modules/snarkjs/cli.js"),
          "groth16",
          "verify",
          join(dir, "verification_key.json"),
          publicFile,
          join(snarkDir, "proof.json"),
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
    const ok = snarkjsCli(join(snarkDir, "public.json"));
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain("OK!");
    const signals = JSON.parse(readFileSync(join(snarkDir, "public.json"), "utf8")) as string[];
    const written = JSON.parse(readFileSync(join(dir, "proof.json"), "utf8")) as ProvedUpdate;
    expect(signals).toEqual(written.publicSignals);
    signals[0] = String(BigInt(signals[0]) + 1n);
    const editedFile = join(snarkDir, "public-edited.json");
    writeFileSync(editedFile, JSON.stringify(signals));
    const bad = snarkjsCli(editedFile);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain("Invalid proof");
  }, 120_000);

  it("refuses an artifact directory whose zkey changed since setup", () => {
    const copy = copyArtifacts();
    const zkey = readFileSync(join(copy, "zkrisk.zkey"));
    zkey[zkey.length - 10] ^= 1;
    writeFileSync(join(copy, "zkrisk.zkey"), zkey);
    const r = spawnSync(
      process.execPath,
      [BIN, "verify", join(dir, "proof.json"), "--artifacts", copy, "--model", MODEL],
      {
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/zkrisk\.zkey/);
  });
});

describe("zkrisk verify / submit / prove on bad input", () => {
  /** Run the CLI. */
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  /** `zkrisk submit FILE` to an oracle on a port nothing listens on: any check that passes would fail to connect. */
  const submitArgs = (file: string) => [
    "submit",
    file,
    "--oracle",
    "0x0000000000000000000000000000000000000001",
    "--rpc",
    "http://127.0.0.1:9",
  ];
  /** The proof file written by the first `zkrisk prove` test, edited by `edit` into a new file. */
  const edited = (name: string, edit: (doc: Record<string, unknown>) => void): string => {
    const doc = JSON.parse(readFileSync(join(dir, "proof.json"), "utf8")) as Record<string, unknown>;
    edit(doc);
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  };

  it("verify recomputes the features: an edited feature fails, and submit refuses it before any chain call", () => {
    const file = edited("edited-features.json", (doc) => {
      const features = doc.features as { quantized: string }[];
      features[0].quantized = String(BigInt(features[0].quantized) + 1n);
    });
    const verify = run("verify", file, "--artifacts", dir, "--json");
    expect(verify.status).toBe(1);
    const problems = JSON.parse(verify.stdout).problems as string[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^features\[0\]\.value: .* does not quantise to/),
        expect.stringMatching(
          /^features: their input commitment is \d+ but the proven public signal is \d+$/,
        ),
      ]),
    );
    // The oracle would publish these features in its event; submit refuses them before connecting.
    const submit = run(...submitArgs(file));
    expect(submit.status).toBe(2);
    expect(submit.stderr).toContain(`${file}: features: their input commitment is`);
  });

  it("verify and submit refuse a malformed proof file naming the file and the field", () => {
    const cases: [string, (doc: Record<string, unknown>) => void, string][] = [
      [
        "non-numeric-signal.json",
        (doc) => ((doc.publicSignals as string[])[2] = "0x12"),
        "publicSignals[2]: expected a decimal integer string",
      ],
      ["no-proof.json", (doc) => delete doc.proof, "proof: missing"],
      [
        "big-signal.json",
        (doc) => ((doc.publicSignals as string[])[6] = FIELD_MODULUS.toString()),
        "publicSignals[6]: " + FIELD_MODULUS + " is not a field element",
      ],
      [
        "short-pi_b.json",
        (doc) => (doc.proof as { pi_b: unknown[] }).pi_b.pop(),
        "proof.pi_b: expected 3 entries, got 2",
      ],
    ];
    for (const [name, edit, message] of cases) {
      const file = edited(name, edit);
      for (const args of [["verify", file, "--artifacts", dir], submitArgs(file)]) {
        const r = run(...args);
        expect(r.status, `${args[0]} ${name}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${file}: ${message}`);
      }
    }
  });

  it.each(["zkrisk.zkey", "zkrisk.wasm"])(
    "prove refuses a truncated %s whose manifest was re-hashed (ARTIFACTS_INVALID naming the file, nothing written)",
    (name) => {
      const copy = copyArtifacts();
      const bytes = readFileSync(join(copy, name));
      const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
      writeFileSync(join(copy, name), cut);
      const manifest = JSON.parse(readFileSync(join(copy, "artifacts.json"), "utf8"));
      const kind = name.endsWith(".zkey") ? "zkey" : "wasm";
      manifest.files[kind].sha256 = createHash("sha256").update(cut).digest("hex");
      manifest.files[kind].bytes = cut.length;
      writeFileSync(join(copy, "artifacts.json"), JSON.stringify(manifest));
      const out = join(copy, "proof.json");
      const r = run("prove", "--artifacts", copy, "--model", MODEL, "--market", "BTC-USDT", "--out", out);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(join(copy, name));
      expect(r.stderr).toMatch(
        kind === "zkey" ? /truncated: section \d+ of \d+/ : /not a valid WebAssembly module/,
      );
      expect(existsSync(out)).toBe(false);
    },
  );
});
