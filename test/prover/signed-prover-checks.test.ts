/**
 * The signed provers' refusals before any proving, on the REAL cached signed-update and signed batch artifacts
 * (constant weights, quorum 1; `.zkrisk-cache`): circuit facts given to `open` that are not the directory's
 * circuit.json (weight mode, quorum), a market label that does not name the signed windows' market; and a
 * witness input of another layout than the circuit's (an array element too many, a signal the circuit does not
 * have, one missing) as an ARTIFACTS_INVALID error naming the wasm, not circom's raw error.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildWindow, integerCandlesOf } from "../../candles";
import { loadCandles } from "../../candles/load-data";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { ZkriskError } from "../../core/errors";
import { loadQuantizedModel } from "../../models/quantized-model";
import { ProofError } from "../../prover/checked-proof";
import { Groth16Prover, LazyGroth16Prover } from "../../prover/groth16-prover";
import { SignedBatchProver } from "../../prover/prove-signed-batch";
import { SignedUpdateProver } from "../../prover/prove-signed-update";
import { signedUpdateInput } from "../../prover/update-input";
import { publicKeyOf } from "../../publisher/eddsa";
import { makePublisherSet, type PublisherSet } from "../../publisher/publisher-set";
import { signBatch } from "../../publisher/signed-batch";
import { signWindow, type SignedWindow } from "../../publisher/signed-window";
import { loadArtifacts } from "../../setup/artifacts";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { silentLog } from "../../setup/log";
import { standInArtifacts } from "../helpers/signed-update-stand-in";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const ints = integerCandlesOf(series);
const LAST = series.candles.length - 1;
const BTC = marketIdOf("BTC-USDT");

let updateDir: string;
let batchDir: string;
let prover: SignedUpdateProver;
let key: { privateKey: Uint8Array; publicKey: Awaited<ReturnType<typeof publicKeyOf>> };
let publishers: PublisherSet;
let btcWindow: SignedWindow;

beforeAll(async () => {
  const [update, batch] = await Promise.all([
    signedUpdateArtifacts(MODEL, "constant", 1),
    signedBatchArtifacts(MODEL, 2, silentLog),
  ]);
  updateDir = update.dir;
  batchDir = batch.dir;
  prover = SignedUpdateProver.open(updateDir, { mode: "constant", quorum: 1 }, { modelPath: MODEL });
  const privateKey = new Uint8Array(32).fill(9);
  key = { privateKey, publicKey: await publicKeyOf(privateKey) };
  publishers = await makePublisherSet([key.publicKey], 1);
  btcWindow = await signWindow(key, "BTC-USDT", buildWindow(series, BTC, LAST, WINDOW_BARS, ints));
}, 900_000);

afterAll(async () => {
  await prover?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("SignedUpdateProver.open: the circuit facts are circuit.json's", () => {
  it("refuses a weight mode other than the directory's, naming the directory and both modes", () => {
    expect(() =>
      SignedUpdateProver.open(updateDir, { mode: "committed", quorum: 1 }, { modelPath: MODEL }),
    ).toThrow(ProofError);
    expect(() =>
      SignedUpdateProver.open(updateDir, { mode: "committed", quorum: 1 }, { modelPath: MODEL }),
    ).toThrow(
      new RegExp(`${updateDir}: weight mode committed given, but its circuit\\.json records constant`),
    );
  });

  it("refuses a quorum other than the directory's", () => {
    expect(() =>
      SignedUpdateProver.open(updateDir, { mode: "constant", quorum: 2 }, { modelPath: MODEL }),
    ).toThrow(new RegExp(`${updateDir}: quorum 2 given, but its circuit\\.json records 1`));
  });

  it("opens with the directory's own facts", () => {
    expect(prover.quorum).toBe(1);
    expect(prover.mode).toBe("constant");
  });

  it("refuses a directory without circuit.json (its facts cannot be checked)", async () => {
    const standIn = await standInArtifacts();
    expect(() => SignedUpdateProver.open(standIn, { mode: "constant", quorum: 1 })).toThrow(
      /no circuit\.json, so its weight mode and quorum cannot be checked/,
    );
  }, 120_000);
});

describe("SignedBatchProver.open: the circuit facts are circuit.json's", () => {
  it("refuses a quorum or weight mode other than the directory's", () => {
    expect(() =>
      SignedBatchProver.open(batchDir, { mode: "constant", batchSize: 2, quorum: 2 }, { modelPath: MODEL }),
    ).toThrow(new RegExp(`${batchDir}: quorum 2 given, but its circuit\\.json records 1`));
    expect(() =>
      SignedBatchProver.open(batchDir, { mode: "committed", batchSize: 2, quorum: 1 }, { modelPath: MODEL }),
    ).toThrow(/weight mode committed given, but its circuit\.json records constant/);
  });
});

describe("prove: the market label names the signed windows' market", () => {
  it("refuses ETH-USDT for BTC-USDT's window before proving, naming both", async () => {
    const proving = vi.spyOn(LazyGroth16Prover.prototype, "prove");
    const attempt = prover.prove(
      { windows: [btcWindow], names: ["btc.json"], publishers, domain: 5n },
      { market: "ETH-USDT" },
    );
    await expect(attempt).rejects.toThrow(ProofError);
    await expect(attempt).rejects.toThrow(
      /btc\.json: signed for market 'BTC-USDT' \(id \d+\), not the market given, 'ETH-USDT' \(id \d+\)/,
    );
    expect(proving).not.toHaveBeenCalled();
  });

  it("a batch market whose label is not its window's market is refused before proving", async () => {
    const batchProver = SignedBatchProver.open(
      batchDir,
      { mode: "constant", batchSize: 2, quorum: 1 },
      { modelPath: MODEL },
    );
    const proving = vi.spyOn(LazyGroth16Prover.prototype, "prove");
    try {
      const batch = await signBatch(key, [
        { market: "ETH-USDT", window: buildWindow(series, BTC, LAST, WINDOW_BARS, ints) },
        {
          market: "SOL-USDT",
          window: buildWindow(series, marketIdOf("SOL-USDT"), LAST, WINDOW_BARS, ints),
        },
      ]);
      await expect(
        batchProver.prove({ batches: [batch], names: ["b.json"], publishers, domain: 5n }),
      ).rejects.toThrow(
        /b\.json: markets\[\d\]: labelled 'ETH-USDT' \(id \d+\), but its window is of market 'BTC-USDT'/,
      );
      expect(proving).not.toHaveBeenCalled();
    } finally {
      await batchProver.close();
    }
  });
});

/** A copy of `input` whose first array-valued signal has one element more (the shape of another layout). */
function withExtraElement(input: Record<string, unknown>): Record<string, unknown> {
  const name = Object.keys(input).find((k) => Array.isArray(input[k]));
  if (name === undefined) throw new Error("the input has no array signal");
  return { ...input, [name]: [...(input[name] as unknown[]), (input[name] as unknown[])[0]] };
}

describe("an input of another layout than the circuit's", () => {
  it("is ARTIFACTS_INVALID naming the wasm of the artifact directory, not circom's raw error", async () => {
    const model = loadQuantizedModel(MODEL);
    const built = await signedUpdateInput(model, "constant", {
      windows: [btcWindow],
      publishers,
      domain: 5n,
    });
    const groth16 = (prover as unknown as { groth16: LazyGroth16Prover }).groth16;
    const wasm = loadArtifacts(updateDir, { modelPath: MODEL }).paths.wasm;
    const attempt = groth16.prove(withExtraElement(built.input as Record<string, unknown>));
    await expect(attempt).rejects.toMatchObject({ code: "ARTIFACTS_INVALID" });
    await expect(attempt).rejects.toThrow(
      `${wasm}: the circuit does not take this input (Too many values for input signal`,
    );
    await expect(attempt).rejects.toThrow(
      /compiled for another input layout .*`zkrisk compile`.*`zkrisk setup`/,
    );
  }, 120_000);

  it("covers a missing signal, an unknown one and a short array (stand-in circuit)", async () => {
    const dir = await standInArtifacts();
    const files = loadArtifacts(dir).paths;
    const g = await Groth16Prover.open(readFileSync(files.wasm), readFileSync(files.zkey), {
      singleThread: true,
      wasmFile: files.wasm,
    });
    try {
      const input = {
        mm: 1n,
        im: 2n,
        dataTimestamp: 3n,
        digest: 4n,
        marketId: 5n,
        modelCommitment: 6n,
        publisherSet: 7n,
        domain: 8n,
      };
      await expect(g.witness(input)).resolves.toBeInstanceOf(Uint8Array);
      const { domain: _dropped, ...missing } = input;
      void _dropped;
      for (const [bad, circom] of [
        [{ ...input, mm: [1n, 2n] }, "Too many values for input signal mm"],
        [{ ...input, mm: [] }, "Not enough values for input signal mm"],
        // circom's calculator sizes a signal it does not have as 0 values
        [{ ...input, lag: 0n }, "Too many values for input signal lag"],
        [missing, "Not all inputs have been set"],
      ] as const) {
        const err = await g.witness(bad).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ZkriskError);
        expect(err).toMatchObject({ code: "ARTIFACTS_INVALID" });
        expect((err as Error).message).toContain(
          `${files.wasm}: the circuit does not take this input (${circom}`,
        );
      }
      // the calculator is still usable after a refused input
      await expect(g.witness(input)).resolves.toBeInstanceOf(Uint8Array);
    } finally {
      await g.close();
    }
  }, 120_000);
});
