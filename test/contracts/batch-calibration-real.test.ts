/**
 * Markets with their own calibrations in ONE signed batch (issue 12, part 2, for batches), with the REAL signed
 * batch circuit in committed weight mode (N = 2, quorum 1; development setup, cached): BTC-USDT is registered with
 * the shipped model, ETH-USDT with its own model file (`zkrisk market-model`: the same network, ETH's fitted
 * calibration), and the batch verifier is registered for both models. The circuit hashes each market's private
 * calibration into that market's own public model commitment, so
 *
 * - `zkrisk prove --batch --market-model ETH-USDT=FILE` proves both markets in one proof, each with its own
 *   calibration, `zkrisk verify --market-model` accepts the file, and the oracle stores each market's engine
 *   margins from one transaction;
 * - the same candles proved with BTC's calibration for ETH (no `--market-model`) verify for their own statement,
 *   but the oracle refuses them for ETH (`OracleModelCommitmentMismatch`, naming ETH and both commitments), and
 *   `zkrisk verify --market-model` names ETH's commitment;
 * - bad `--market-model` values exit 2 naming the value.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Contract, Signer } from "ethers";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { batchSignalLayout } from "../../circuits/public-signals";
import { windowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  setBatchVerifier,
  submitSignedBatch,
  type OracleError,
} from "../../onchain/oracle";
import { readSignedBatchProofFile } from "../../prover/signed-batch-proof-file";
import { publicKeyOf } from "../../publisher/eddsa";
import { makePublisherSet, publisherSetCommitment } from "../../publisher/publisher-set";
import { signBatch, writeSignedBatch } from "../../publisher/signed-batch";
import { silentLog } from "../../setup";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { zkrisk } from "../helpers/zkrisk-cli";
import { BAR_SECONDS, MODEL, hre, mineAt, revertOf, rpc } from "./fixture";

const ROOT = join(__dirname, "../..");
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;
const series = {
  "BTC-USDT": loadCandles(join(ROOT, "models/data/btcusdt-2h.csv")),
  "ETH-USDT": loadCandles(join(ROOT, "models/data/ethusdt-2h.csv")),
};
/** The bar proved: each market's last (the shipped data of both end at the same bar). */
const lastOf = (market: (typeof MARKETS)[number]) => series[market].candles.length - 1;
const T = series["BTC-USDT"].candles[lastOf("BTC-USDT")].time / 1000;
const windowOf = (market: (typeof MARKETS)[number]) => ({
  market,
  window: buildWindow(series[market], marketIdOf(market), lastOf(market), WINDOW_BARS),
});
/** Each test proves one or two batches of about 41,400 constraints. */
const PROOF_TIMEOUT = 1_200_000;

const work = mkdtempSync(join(tmpdir(), "zkrisk-batch-calibration-"));
const ethModelFile = join(work, "eth-usdt.quantized.json");
const batchFile = join(work, "batch.json");
let dir: string;
let oracle: Contract;
let governor: Signer;
let chainId: bigint;
const models: Record<string, QuantizedModel> = {};
const commitments: Record<string, bigint> = {};
let snapshot: string | undefined;

const proveArgs = (out: string, ...extra: string[]) => [
  "prove",
  "--artifacts",
  dir,
  "--batch",
  batchFile,
  "--oracle",
  String(oracle.target),
  "--chain-id",
  chainId.toString(),
  "--out",
  out,
  "--json",
  ...extra,
];

/** `zkrisk verify FILE --market-model ETH-USDT=... --json` on the committed batch artifacts. */
const verifyWithEthModel = (file: string) =>
  zkrisk("verify", file, "--artifacts", dir, "--market-model", `ETH-USDT=${ethModelFile}`, "--json");

beforeAll(async () => {
  expect(series["ETH-USDT"].candles[lastOf("ETH-USDT")].time).toBe(T * 1000);
  const made = zkrisk("market-model", "--market", "ETH-USDT", "--out", ethModelFile);
  expect(made.stderr).toBe("");
  models["BTC-USDT"] = loadQuantizedModel(MODEL);
  models["ETH-USDT"] = loadQuantizedModel(ethModelFile);
  for (const m of MARKETS) commitments[m] = await commitModel(models[m]);
  expect(commitments["ETH-USDT"]).not.toBe(commitments["BTC-USDT"]);

  dir = (await signedBatchArtifacts(MODEL, 2, silentLog, 1, "committed")).dir;
  [governor] = await hre.ethers.getSigners();
  const me = await governor.getAddress();
  const privateKey = new Uint8Array(32).fill(7);
  const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
  const publishers = await makePublisherSet([key.publicKey], 1);
  writeSignedBatch(batchFile, await signBatch(key, MARKETS.map(windowOf)));

  oracle = await deployOracle(governor, me);
  chainId = (await hre.ethers.provider.getNetwork()).chainId;
  // A market's publisher set needs a signed-update verifier (its statement base); batches never call it.
  const single = await (await deployVerifier(governor, await standInArtifacts())).getAddress();
  const batchVerifier = await (await deployVerifier(governor, dir)).getAddress();
  for (const m of MARKETS) {
    await registerMarket(oracle, marketIdOf(m), {
      publishers: {
        verifier: single,
        modelCommitment: commitments[m],
        publisherSet: await publisherSetCommitment(publishers),
        quorum: 1,
      },
      guardian: me,
      limits: DEFAULT_LIMITS,
    });
    // One verifier for the batch: registered for each market's model.
    await setBatchVerifier(oracle, commitments[m], 2, batchVerifier);
  }
}, 1_800_000);

beforeEach(async () => {
  if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
  snapshot = await rpc<string>("evm_snapshot");
});

afterAll(async () => {
  if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
});

describe("one signed batch of markets with their own calibrations (committed weights)", () => {
  it(
    "proves each market with its own calibration, verifies, and stores both markets' margins in one transaction",
    async () => {
      const out = join(work, "proof.json");
      const proved = zkrisk(...proveArgs(out, "--market-model", `ETH-USDT=${ethModelFile}`));
      expect(proved.stderr).toBe("");
      expect(proved.code).toBe(0);
      const file = readSignedBatchProofFile(out);
      expect(file.format).toBe("zkrisk-signed-batch-proof/3");
      const layout = batchSignalLayout(2);
      expect(file.publicSignals.slice(layout.modelCommitment, layout.modelCommitment + 2)).toEqual(
        MARKETS.map((m) => commitments[m].toString()),
      );
      // Each market's margins are the engine's with its own model; ETH's scale is above BTC's, so its MM too.
      const engine = (m: (typeof MARKETS)[number], model: QuantizedModel) =>
        inferInteger(model, windowFeatures(windowOf(m).window));
      for (const [i, m] of MARKETS.entries()) {
        expect(file.markets[i].modelCommitment).toBe(commitments[m].toString());
        expect(BigInt(file.markets[i].maintenanceMarginBps)).toBe(engine(m, models[m]).maintenanceMarginBps);
        expect(BigInt(file.markets[i].initialMarginBps)).toBe(engine(m, models[m]).initialMarginBps);
      }
      expect(BigInt(file.markets[1].maintenanceMarginBps)).toBeGreaterThan(
        engine("ETH-USDT", models["BTC-USDT"]).maintenanceMarginBps,
      );

      const verified = verifyWithEthModel(out);
      expect(verified.stderr).toBe("");
      expect(JSON.parse(verified.stdout)).toEqual({ ok: true, problems: [] });
      // Without ETH's model file, the verifier expects BTC's model for ETH and names the difference.
      const unlabelled = zkrisk("verify", out, "--artifacts", dir, "--json");
      expect(unlabelled.code).toBe(1);
      expect(JSON.parse(unlabelled.stdout).problems).toEqual([
        `markets[1].modelCommitment ${commitments["ETH-USDT"]} (ETH-USDT) is not the model's ` +
          `${commitments["BTC-USDT"]}`,
      ]);

      await mineAt(T + BAR_SECONDS + 60);
      const receipt = await submitSignedBatch(oracle, file);
      console.log(
        `submitSignedBatch, two markets with their own models (committed weights, N = 2): ${receipt.gasUsed} gas`,
      );
      for (const [i, m] of MARKETS.entries()) {
        const [mm, im] = (await oracle.parameters(marketIdOf(m))) as [bigint, bigint];
        expect([mm, im], m).toEqual([
          BigInt(file.markets[i].maintenanceMarginBps),
          BigInt(file.markets[i].initialMarginBps),
        ]);
      }
    },
    PROOF_TIMEOUT,
  );

  it(
    "refuses ETH proved with BTC's calibration: the proof verifies for its own statement, not for ETH's model",
    async () => {
      const out = join(work, "btc-calibration.json");
      const proved = zkrisk(...proveArgs(out));
      expect(proved.stderr).toBe("");
      const file = readSignedBatchProofFile(out);
      expect(file.markets.map((m) => m.modelCommitment)).toEqual([
        commitments["BTC-USDT"].toString(),
        commitments["BTC-USDT"].toString(),
      ]);
      const verified = verifyWithEthModel(out);
      expect(JSON.parse(verified.stdout).problems).toEqual([
        `markets[1].modelCommitment ${commitments["BTC-USDT"]} (ETH-USDT) is not the market's own model's ` +
          `${commitments["ETH-USDT"]}`,
      ]);
      await mineAt(T + BAR_SECONDS + 60);
      const err = (await submitSignedBatch(oracle, file).catch((e: unknown) => e)) as OracleError;
      expect(err.reason).toBe("OracleModelCommitmentMismatch");
      expect(err.message).toBe(
        `the oracle refused: OracleModelCommitmentMismatch(${marketIdOf("ETH-USDT")}, ` +
          `${commitments["ETH-USDT"]}, ${commitments["BTC-USDT"]})`,
      );
      // Nothing was written, for either market (all or nothing).
      for (const m of MARKETS) {
        expect(await revertOf(oracle.parameters(marketIdOf(m)), oracle), m).toEqual({
          name: "OracleNoParameters",
          args: [marketIdOf(m)],
        });
      }
    },
    PROOF_TIMEOUT,
  );

  it("refuses bad --market-model values, naming them (exit 2)", () => {
    const out = join(work, "never.json");
    for (const [value, message] of [
      ["ETH-USDT", "--market-model: 'ETH-USDT' is not LABEL=FILE (e.g. ETH-USDT=eth-usdt.json)"],
      [`SOL-USDT=${ethModelFile}`, `a model is given for SOL-USDT, which is not a market of ${batchFile}`],
      [`ETH-USDT=${join(work, "missing.json")}`, `--market-model ETH-USDT: `],
    ]) {
      const r = zkrisk(...proveArgs(out, "--market-model", value));
      expect(r.code, value).toBe(2);
      expect(r.stderr, value).toContain(message);
    }
    const twice = zkrisk(
      ...proveArgs(
        out,
        "--market-model",
        `ETH-USDT=${ethModelFile}`,
        "--market-model",
        `ETH-USDT=${ethModelFile}`,
      ),
    );
    expect(twice.stderr).toContain("--market-model: ETH-USDT is given twice");
    expect(() => readFileSync(out)).toThrow();
  });
});
