/**
 * The prover service proving a batch, with real parts: two `zkrisk publisher serve` instances on 127.0.0.1 (A and
 * B, generated keys) signing BTC-USDT and ETH-USDT from the shipped candles and the batch of both at every bar
 * close, both markets registered with the publisher set {A, B} (quorum 1) on a `hardhat node`, BTC-USDT with the
 * shipped model and ETH-USDT with its own model file (its fitted calibration, `marketModels`), the REAL signed
 * batch circuit (2 markets, k = 1, committed weights, development setup, cached), and the service in process
 * (SQLite store, proving threads).
 *
 * At start: a model with no batch verifier on the oracle is refused, naming the file, the market and the batch,
 * and so are two models with different batch verifiers. Then the scheduled bar close: one proof from A's signed
 * batch, one `submitSignedBatch`, and both markets' margins on chain are the integer engine's on each market's
 * window with each market's own model; the job shows each market's margins, each market's view names the batch
 * and shows its own model commitment, and the metrics count an accepted update per market. The next bar close is
 * proved and accepted the same way.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { ConfigError } from "../../core/errors";
import { windowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel, quantizedModelToJson, type QuantizedModel } from "../../models/quantized-model";
import { loadMarketModel } from "../../models/market-model";
import { writeJsonAtomic } from "../../core/io";
import { silentLog } from "../../setup";
import { rpcChain } from "../../onchain/chain";
import { deployVerifier, oracleAt, setBatchVerifier } from "../../onchain/oracle";
import type { ServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { MODEL } from "../helpers/artifacts";
import { startBatchStand, type BatchJobView, type BatchStand } from "../helpers/batch-service-env";
import { DEV_KEYS } from "../helpers/hardhat-node";
import { waitForJob, memoryLogger } from "../helpers/service-env";

const BATCH = "pair";
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;

let stand: BatchStand;
let artifacts: string;
/** Each market's registered model file, model and commitment (ETH-USDT: its own calibration). */
const modelFile: Record<string, string> = { "BTC-USDT": MODEL };
const models: Record<string, QuantizedModel> = {};
const commitments: Record<string, bigint> = {};
let running: RunningService | undefined;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  modelFile["ETH-USDT"] = join(
    mkdtempSync(join(tmpdir(), "zkrisk-batch-models-")),
    "eth-usdt.quantized.json",
  );
  const eth = loadMarketModel(MODEL, join(__dirname, "../../models/calibrations.json"), "ETH-USDT");
  writeJsonAtomic(modelFile["ETH-USDT"], quantizedModelToJson(eth.model));
  for (const m of MARKETS) {
    models[m] = loadQuantizedModel(modelFile[m]);
    commitments[m] = await commitModel(models[m]);
  }
  // Both markets registered with the set, each with its own model, and no batch verifier yet.
  [{ dir: artifacts }, stand] = await Promise.all([
    signedBatchArtifacts(MODEL, 2, silentLog, 1, "committed"),
    startBatchStand(BATCH, MARKETS, commitments),
  ]);
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await stand?.stop();
});

/** A service config of the batch alone, in a fresh directory. */
function config(): ServiceConfig {
  return stand.config({
    markets: ["ETH-USDT", "BTC-USDT"],
    model: MODEL,
    marketModels: { "ETH-USDT": modelFile["ETH-USDT"] },
    artifacts,
  });
}

/** The engine's margins of each market from the batch publisher A serves for the bar opening at `t` (s). */
async function engineMargins(t: number): Promise<Record<string, [number, number]>> {
  const batch = await stand.signedBatch(t);
  const out: Record<string, [number, number]> = {};
  for (const m of batch.markets) {
    const trace = inferInteger(models[m.market], windowFeatures(m.window));
    out[m.market] = [Number(trace.maintenanceMarginBps), Number(trace.initialMarginBps)];
  }
  return out;
}

describe("zkrisk serve proving a batch of markets", () => {
  it("refuses to start until every market's model has the one batch verifier of two markets", async () => {
    const cfg = config();
    const refusal = async () => {
      const err = await startService(cfg, pino({ level: "silent" }), 0).then(
        (r) => r.stop().then(() => undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    };
    const none = (m: string) =>
      `${cfg.file}: batches[0].artifacts: the oracle at ${stand.oracle} has no batch verifier of 2 markets for ` +
      `${modelFile[m]} (commitment ${commitments[m]}, market ${m}); governance registers the verifier of ` +
      `${artifacts} with setBatchVerifier for it (batch pair)`;
    expect(await refusal()).toBe(none("ETH-USDT"));
    const chain = await rpcChain(stand.node.rpc, DEV_KEYS[0]);
    try {
      const o = oracleAt(stand.oracle, chain.signer);
      const verifier = await (await deployVerifier(chain.signer, artifacts)).getAddress();
      await setBatchVerifier(o, commitments["ETH-USDT"], 2, verifier);
      expect(await refusal()).toBe(none("BTC-USDT"));
      // Another deployment of the same key is another verifier: the oracle takes one for the whole batch.
      const other = await (await deployVerifier(chain.signer, artifacts)).getAddress();
      await setBatchVerifier(o, commitments["BTC-USDT"], 2, other);
      expect(await refusal()).toBe(
        `${cfg.file}: batches[0].artifacts: the oracle's batch verifier of 2 markets for ${MODEL} (market ` +
          `BTC-USDT) is ${other}, for ${modelFile["ETH-USDT"]} it is ${verifier}; a batch is verified by one ` +
          "verifier, so governance registers the same one for every model of batch pair",
      );
      await setBatchVerifier(o, commitments["BTC-USDT"], 2, verifier);
    } finally {
      await chain.close();
    }
  }, 300_000);

  it("proves the scheduled bar close for both markets in one proof and one transaction", async () => {
    const t0 = stand.feeds["BTC-USDT"].lastTimestamp;
    running = await startService(config(), memoryLogger(lines));
    const job = await waitForJob(running.url, jobIdOf(BATCH, t0), "confirmed", logText, 900_000);
    const view = (await (await fetch(`${running.url}/v1/proofs/${job.id}`)).json()) as BatchJobView;
    const engine = await engineMargins(t0);
    expect(view.market).toBe(BATCH);
    expect(view.parameters).toBeNull();
    // The proof's order: market ids increasing.
    const order = [...MARKETS].sort((x, y) => (marketIdOf(x) < marketIdOf(y) ? -1 : 1));
    expect(view.markets.map((m) => m.market)).toEqual(order);
    for (const m of view.markets) {
      expect([m.maintenanceMarginBps, m.initialMarginBps], m.market).toEqual(engine[m.market]);
    }
    expect(await stand.onChain()).toEqual(Object.fromEntries(MARKETS.map((m) => [m, [...engine[m], t0]])));
    // One transaction updated both markets.
    const receipt = await stand.provider.getTransactionReceipt(view.transaction.hash);
    const events = receipt!.logs.map(
      (l) => oracleAt(stand.oracle, stand.provider).interface.parseLog(l)!.name,
    );
    expect(events).toEqual(["SignedBatchParametersUpdated", "SignedBatchParametersUpdated"]);
    expect(lines.find((l) => l.msg === "proving the batch")).toMatchObject({
      publishers: [`${stand.publishers[0].url}/`],
      markets: order,
    });

    // Each market's view names the batch and shows its latest proof.
    const eth = (await (await fetch(`${running.url}/v1/markets/ETH-USDT`)).json()) as {
      batch: string;
      modelCommitment: string;
      onChain: { parameters: { dataTimestamp: number } };
      latestProven: { id: string };
    };
    expect(eth.batch).toBe(BATCH);
    expect(eth.modelCommitment).toBe(commitments["ETH-USDT"].toString());
    expect(eth.latestProven.id).toBe(job.id);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    for (const m of MARKETS) expect(metrics).toContain(`zkrisk_updates_accepted_total{market="${m}"} 1`);
    console.log(
      `signed batch of 2 in the service: proof ${view.provingMs} ms, gas ${receipt!.gasUsed} ` +
        `(${receipt!.gasUsed / 2n} a market)`,
    );
  }, 1_200_000);

  it("proves the next bar close the same way", async () => {
    const t1 = await stand.nextBar();
    const job = await waitForJob(running!.url, jobIdOf(BATCH, t1), "confirmed", logText, 900_000);
    const engine = await engineMargins(t1);
    expect(await stand.onChain()).toEqual(Object.fromEntries(MARKETS.map((m) => [m, [...engine[m], t1]])));
    const view = (await (await fetch(`${running!.url}/v1/proofs/${job.id}`)).json()) as BatchJobView;
    const receipt = await stand.provider.getTransactionReceipt(view.transaction.hash);
    console.log(
      `the next signed batch of 2 (the composition's base stored): proof ${view.provingMs} ms, gas ` +
        `${receipt!.gasUsed} (${receipt!.gasUsed / 2n} a market)`,
    );
  }, 1_200_000);
});
