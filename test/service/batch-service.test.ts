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
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
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
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  oracleAt,
  registerMarket,
  setBatchVerifier,
} from "../../onchain/oracle";
import {
  makePublisherSet,
  parseSignedBatch,
  publisherSetCommitment,
  writePublisherSet,
} from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { MODEL } from "../helpers/artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { PASSWORD_ENV, tempDir, writeTestKeystore } from "../helpers/publisher-serve";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import {
  CandleFeed,
  closeBar,
  FEED_START,
  KEY_ENV,
  SERVICE_ENV,
  TOKEN_ENV,
  waitForJob,
  memoryLogger,
} from "../helpers/service-env";
import { writeFileSync } from "node:fs";

const BATCH = "pair";
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;

let node: HardhatNode;
let provider: JsonRpcProvider;
let dir: string;
let feeds: Record<(typeof MARKETS)[number], CandleFeed>;
let publishers: { publisher: RunningPublisher; url: string }[] = [];
let artifacts: string;
let oracle: string;
/** Each market's registered model file, model and commitment (ETH-USDT: its own calibration). */
const modelFile: Record<string, string> = { "BTC-USDT": MODEL };
const models: Record<string, QuantizedModel> = {};
const commitments: Record<string, bigint> = {};
let setFile: string;
let running: RunningService | undefined;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

/** Publisher `n` signing both markets' windows and their batch (its newest bar on the first poll). */
async function startBatchPublisher(n: number): Promise<{ publisher: RunningPublisher; url: string }> {
  await writeTestKeystore(join(dir, `publisher-${n}.key.json`), n);
  const cfg = parsePublisherConfig(
    {
      key: `publisher-${n}.key.json`,
      archive: `archive-${n}`,
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", port: 0 },
      markets: MARKETS.map((market) => ({
        market,
        intervalMs: 7_200_000,
        source: { csv: feeds[market].path },
        backfillBars: 1,
      })),
      batches: [{ batch: BATCH, markets: [...MARKETS] }],
    },
    join(dir, `publisher-${n}.json`),
    dir,
  );
  const publisher = await startPublisher(cfg, pino({ level: "silent" }), { env: PASSWORD_ENV });
  await publisher.poll();
  return { publisher, url: publisher.url };
}

beforeAll(async () => {
  dir = tempDir("batch-service");
  [{ dir: artifacts }, node] = await Promise.all([
    signedBatchArtifacts(MODEL, 2, silentLog, 1, "committed"),
    startHardhatNode(),
  ]);
  modelFile["ETH-USDT"] = join(dir, "eth-usdt.quantized.json");
  const eth = loadMarketModel(MODEL, join(__dirname, "../../models/calibrations.json"), "ETH-USDT");
  writeJsonAtomic(modelFile["ETH-USDT"], quantizedModelToJson(eth.model));
  for (const m of MARKETS) {
    models[m] = loadQuantizedModel(modelFile[m]);
    commitments[m] = await commitModel(models[m]);
  }
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  feeds = {
    "BTC-USDT": new CandleFeed(join(dir, "btc.csv"), FEED_START, "btcusdt"),
    "ETH-USDT": new CandleFeed(join(dir, "eth.csv"), FEED_START, "ethusdt"),
  };
  publishers = [await startBatchPublisher(41), await startBatchPublisher(42)];
  const keys = [];
  for (const n of [41, 42])
    keys.push((await writeTestKeystore(join(dir, `check-${n}.key.json`), n)).publicKey);
  const set = await makePublisherSet(keys, 1);
  setFile = join(dir, "publishers.json");
  writePublisherSet(setFile, set);

  // The oracle, both markets registered with the set (a market's set needs a signed-update verifier; batches
  // never call it), each with its own model, and no batch verifier yet.
  const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
  try {
    const me = await chain.signer.getAddress();
    const single = await (await deployVerifier(chain.signer, await standInArtifacts())).getAddress();
    const o = await deployOracle(chain.signer, me);
    for (const market of MARKETS) {
      await registerMarket(o, marketIdOf(market), {
        publishers: {
          verifier: single,
          modelCommitment: commitments[market],
          publisherSet: await publisherSetCommitment(set),
          quorum: 1,
        },
        guardian: me,
        limits: { ...DEFAULT_LIMITS, minUpdateInterval: 0, maxDataAge: 30 * 86_400 },
      });
    }
    oracle = await o.getAddress();
  } finally {
    await chain.close();
  }
  Object.assign(process.env, SERVICE_ENV);
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await Promise.all(publishers.map((p) => p.publisher.stop()));
  provider?.destroy();
  node?.stop();
});

/** A service config of the batch alone, in a fresh directory. */
function config(): ServiceConfig {
  const d = tempDir("batch-service-config");
  const path = join(d, "service.json");
  writeFileSync(
    path,
    JSON.stringify({
      batches: [
        {
          id: BATCH,
          markets: ["ETH-USDT", "BTC-USDT"],
          model: MODEL,
          marketModels: { "ETH-USDT": modelFile["ETH-USDT"] },
          artifacts,
          publishers: { set: setFile, urls: publishers.map((p) => p.url) },
        },
      ],
      chain: { rpc: node.rpc, oracle, key: { env: KEY_ENV }, retryBaseMs: 200, maxAttempts: 3 },
      schedule: { pollSeconds: 0.2 },
      concurrency: 1,
      listen: { host: "127.0.0.1", port: 0 },
      auth: { tokens: [{ env: TOKEN_ENV }] },
      database: join(d, "jobs.db"),
      api: { rateLimitPerMinute: 100_000 },
    }),
  );
  return loadServiceConfig(path);
}

/** What GET /v1/proofs/:id shows of a batch's job. */
interface BatchJobView {
  market: string;
  parameters: unknown;
  markets: { market: string; maintenanceMarginBps: number; initialMarginBps: number; windowDigest: string }[];
  transaction: { hash: string; block: number };
  provingMs: number;
}

/** Each market's margins on chain and the data timestamp of its last update. */
async function onChain(): Promise<Record<string, [number, number, number]>> {
  const o = oracleAt(oracle, provider);
  const out: Record<string, [number, number, number]> = {};
  for (const m of MARKETS) {
    const [mm, im, t] = [...((await o.parameters(marketIdOf(m))) as bigint[])].map(Number);
    out[m] = [mm, im, t];
  }
  return out;
}

/** The engine's margins of each market from the batch publisher A serves for the bar opening at `t` (s). */
async function engineMargins(t: number): Promise<Record<string, [number, number]>> {
  const doc = (await (
    await fetch(`${publishers[0].url}/v1/batches/${BATCH}?at=${t * 1000}`)
  ).json()) as unknown;
  const batch = await parseSignedBatch(doc, "publisher A's batch");
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
      `${cfg.file}: batches[0].artifacts: the oracle at ${oracle} has no batch verifier of 2 markets for ` +
      `${modelFile[m]} (commitment ${commitments[m]}, market ${m}); governance registers the verifier of ` +
      `${artifacts} with setBatchVerifier for it (batch pair)`;
    expect(await refusal()).toBe(none("ETH-USDT"));
    const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
    try {
      const o = oracleAt(oracle, chain.signer);
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
    const t0 = feeds["BTC-USDT"].lastTimestamp;
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
    expect(await onChain()).toEqual(Object.fromEntries(MARKETS.map((m) => [m, [...engine[m], t0]])));
    // One transaction updated both markets.
    const receipt = await provider.getTransactionReceipt(view.transaction.hash);
    const events = receipt!.logs.map((l) => oracleAt(oracle, provider).interface.parseLog(l)!.name);
    expect(events).toEqual(["SignedBatchParametersUpdated", "SignedBatchParametersUpdated"]);
    expect(lines.find((l) => l.msg === "proving the batch")).toMatchObject({
      publishers: [`${publishers[0].url}/`],
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
    const t1 = feeds["BTC-USDT"].append();
    expect(feeds["ETH-USDT"].append()).toBe(t1);
    for (const p of publishers) await p.publisher.poll();
    await closeBar(provider, t1);
    const job = await waitForJob(running!.url, jobIdOf(BATCH, t1), "confirmed", logText, 900_000);
    const engine = await engineMargins(t1);
    expect(await onChain()).toEqual(Object.fromEntries(MARKETS.map((m) => [m, [...engine[m], t1]])));
    const view = (await (await fetch(`${running!.url}/v1/proofs/${job.id}`)).json()) as BatchJobView;
    const receipt = await provider.getTransactionReceipt(view.transaction.hash);
    console.log(
      `the next signed batch of 2 (the composition's base stored): proof ${view.provingMs} ms, gas ` +
        `${receipt!.gasUsed} (${receipt!.gasUsed / 2n} a market)`,
    );
  }, 1_200_000);
});
