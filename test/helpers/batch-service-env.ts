/**
 * The stand of the prover service's batch tests (test/service/batch-service.test.ts, adaptive-batch-service.test.ts):
 * a `hardhat node`, two `zkrisk publisher serve` instances on 127.0.0.1 (test keys 41 and 42) signing each market's
 * windows from the shipped candles and the batch of all of them at every bar close, the publisher set {41, 42}
 * (quorum 1) in a set file, and an oracle with every market registered with that set and its own model commitment
 * (a market's set needs a signed-update verifier, the stand-in's; batches never call it).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import pino from "pino";
import { marketIdOf } from "../../candles/market-id";
import { rpcChain } from "../../onchain/chain";
import { DEFAULT_LIMITS, deployOracle, deployVerifier, oracleAt, registerMarket } from "../../onchain/oracle";
import {
  makePublisherSet,
  parseSignedBatch,
  publisherSetCommitment,
  writePublisherSet,
  type SignedBatch,
} from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "./hardhat-node";
import { PASSWORD_ENV, tempDir, writeTestKeystore } from "./publisher-serve";
import { CandleFeed, closeBar, FEED_START, KEY_ENV, SERVICE_ENV, TOKEN_ENV } from "./service-env";
import { standInArtifacts } from "./signed-update-stand-in";

/** The shipped candles of each market the stand can serve (`CandleFeed`'s data name). */
const DATA_NAMES: Record<string, string> = { "BTC-USDT": "btcusdt", "ETH-USDT": "ethusdt" };

/** What GET /v1/proofs/:id shows of a batch's job. */
export interface BatchJobView {
  market: string;
  parameters: unknown;
  markets: { market: string; maintenanceMarginBps: number; initialMarginBps: number; windowDigest: string }[];
  transaction: { hash: string; block: number };
  provingMs: number;
}

/** A running stand. */
export interface BatchStand {
  node: HardhatNode;
  provider: JsonRpcProvider;
  /** Its temporary directory (keys, archives, candles, the set file). */
  dir: string;
  feeds: Record<string, CandleFeed>;
  publishers: { publisher: RunningPublisher; url: string }[];
  setFile: string;
  /** The oracle's address. */
  oracle: string;
  /**
   * A service config of the batch alone (`batch`: the entry's fields but the label and publishers; `publishers`:
   * fields of its `publishers` besides the set and the URLs).
   */
  config(batch: Record<string, unknown>, publishers?: Record<string, unknown>): ServiceConfig;
  /** Each market's margins on chain and the data timestamp of its last update. */
  onChain(): Promise<Record<string, [number, number, number]>>;
  /** The batch publisher 41 serves for the bar opening at `t` (s). */
  signedBatch(t: number): Promise<SignedBatch>;
  /**
   * Append the next bar to every market's candles, have it signed by the publishers `signers` (indexes; default
   * all), and close it on chain; returns its open (s).
   */
  nextBar(signers?: readonly number[]): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Start the stand of batch `label` over `markets` (in the config's order), each registered with its model
 * commitment `commitments[market]`.
 */
export async function startBatchStand(
  label: string,
  markets: readonly string[],
  commitments: Record<string, bigint>,
): Promise<BatchStand> {
  const dir = tempDir("batch-service");
  const node = await startHardhatNode();
  const provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  const feeds = Object.fromEntries(
    markets.map((m) => [m, new CandleFeed(join(dir, `${DATA_NAMES[m]}.csv`), FEED_START, DATA_NAMES[m])]),
  );
  /** Publisher `n` signing every market's windows and their batch (its newest bar on the first poll). */
  const startBatchPublisher = async (n: number) => {
    await writeTestKeystore(join(dir, `publisher-${n}.key.json`), n);
    const cfg = parsePublisherConfig(
      {
        key: `publisher-${n}.key.json`,
        archive: `archive-${n}`,
        pollSeconds: 3600,
        listen: { host: "127.0.0.1", port: 0 },
        markets: markets.map((market) => ({
          market,
          intervalMs: 7_200_000,
          source: { csv: feeds[market].path },
          backfillBars: 1,
        })),
        batches: [{ batch: label, markets: [...markets] }],
      },
      join(dir, `publisher-${n}.json`),
      dir,
    );
    const publisher = await startPublisher(cfg, pino({ level: "silent" }), { env: PASSWORD_ENV });
    await publisher.poll();
    return { publisher, url: publisher.url };
  };
  const publishers = [await startBatchPublisher(41), await startBatchPublisher(42)];
  const keys = [];
  for (const n of [41, 42])
    keys.push((await writeTestKeystore(join(dir, `check-${n}.key.json`), n)).publicKey);
  const set = await makePublisherSet(keys, 1);
  const setFile = join(dir, "publishers.json");
  writePublisherSet(setFile, set);

  const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
  let oracle: string;
  try {
    const me = await chain.signer.getAddress();
    const single = await (await deployVerifier(chain.signer, await standInArtifacts())).getAddress();
    const o = await deployOracle(chain.signer, me);
    for (const market of markets) {
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

  return {
    node,
    provider,
    dir,
    feeds,
    publishers,
    setFile,
    oracle,
    config(batch, extra = {}) {
      const d = tempDir("batch-service-config");
      const path = join(d, "service.json");
      writeFileSync(
        path,
        JSON.stringify({
          batches: [
            {
              id: label,
              ...batch,
              publishers: { set: setFile, urls: publishers.map((p) => p.url), ...extra },
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
    },
    async onChain() {
      const o = oracleAt(oracle, provider);
      const out: Record<string, [number, number, number]> = {};
      for (const m of markets) {
        const [mm, im, t] = [...((await o.parameters(marketIdOf(m))) as bigint[])].map(Number);
        out[m] = [mm, im, t];
      }
      return out;
    },
    async signedBatch(t) {
      const response = await fetch(`${publishers[0].url}/v1/batches/${label}?at=${t * 1000}`);
      return parseSignedBatch((await response.json()) as unknown, "publisher 41's batch");
    },
    async nextBar(signers = publishers.map((_, i) => i)) {
      const [first, ...rest] = markets.map((m) => feeds[m].append());
      for (const t of rest) if (t !== first) throw new Error(`the markets' feeds moved to ${first} and ${t}`);
      for (const i of signers) await publishers[i].publisher.poll();
      await closeBar(provider, first);
      return first;
    },
    async stop() {
      await Promise.all(publishers.map((p) => p.publisher.stop()));
      provider.destroy();
      node.stop();
    },
  };
}
