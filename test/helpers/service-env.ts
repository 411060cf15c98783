/**
 * A place for the prover service to run in tests: an oracle with the BTC-USDT market registered on a given
 * node, a candle file cut from the shipped data that the test then appends to bar by bar (as a feed would),
 * and a service config pointing at them.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { marketIdOf } from "../../prover/circuit-input";
import { rpcChain } from "../../prover/onchain/chain";
import type { Provider } from "ethers";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  oracleAt,
  registerMarket,
} from "../../prover/onchain/oracle";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { MODEL } from "./artifacts";
import { DEV_KEYS } from "./hardhat-node";

const DATA = join(__dirname, "../..", "models/data/btcusdt-2h.csv");
const LINES = readFileSync(DATA, "utf8").trimEnd().split("\n");

/** The market every service test serves. */
export const MARKET = "BTC-USDT";

/** The API token of the test configs (and its environment variable). */
export const TOKEN = "test-token-0123456789abcdef";
export const TOKEN_ENV = "ZKRISK_TEST_API_TOKEN";
export const KEY_ENV = "ZKRISK_TEST_PROVER_KEY";

/** Deploy a verifier and an oracle on `rpc` and register the market: no minimum interval, data up to 30 days old. */
export async function deployMarket(
  rpc: string,
  artifacts: string,
): Promise<{ oracle: string; chainId: bigint }> {
  const chain = await rpcChain(rpc, DEV_KEYS[0]);
  try {
    const me = await chain.signer.getAddress();
    const verifier = await deployVerifier(chain.signer, artifacts);
    const oracle = await deployOracle(chain.signer, me);
    await registerMarket(oracle, marketIdOf(MARKET), {
      verifier: await verifier.getAddress(),
      modelCommitment: await modelCommitment(loadQuantizedModel(MODEL)),
      guardian: me,
      limits: { ...DEFAULT_LIMITS, minUpdateInterval: 0, maxDataAge: 30 * 86_400 },
    });
    return { oracle: await oracle.getAddress(), chainId: chain.chainId };
  } finally {
    await chain.close();
  }
}

/** A candle file fed bar by bar from the shipped data. */
export class CandleFeed {
  private next: number;

  /** Start `path` with the shipped bars up to and including `last` ("YYYY-MM-DD HH:MM:SS"). */
  constructor(
    readonly path: string,
    last: string,
  ) {
    const i = LINES.findIndex((l) => l.startsWith(`${last},`));
    if (i < 0) throw new Error(`no bar ${last} in the shipped data`);
    writeFileSync(path, LINES.slice(0, i + 1).join("\n") + "\n");
    this.next = i + 1;
  }

  /** Open time (s) of the last bar written. */
  get lastTimestamp(): number {
    return Date.parse(LINES[this.next - 1].split(",")[0].replace(" ", "T") + "Z") / 1000;
  }

  /** Append the next shipped bar; returns its open time (s). */
  append(): number {
    appendFileSync(this.path, LINES[this.next++] + "\n");
    return this.lastTimestamp;
  }
}

/** Write a service config into `dir`; returns its path. */
export function writeServiceConfig(
  dir: string,
  o: {
    rpc: string;
    oracle: string;
    artifacts: string;
    candles: string;
    port?: number;
    concurrency?: number;
    pollSeconds?: number;
  },
): string {
  const path = join(dir, "service.json");
  writeFileSync(
    path,
    JSON.stringify(
      {
        markets: [{ id: MARKET, model: MODEL, artifacts: o.artifacts, candles: { csv: o.candles } }],
        chain: { rpc: o.rpc, oracle: o.oracle, key: { env: KEY_ENV }, retryBaseMs: 200 },
        schedule: { pollSeconds: o.pollSeconds ?? 0.2 },
        concurrency: o.concurrency ?? 2,
        listen: { host: "127.0.0.1", port: o.port ?? 0 },
        auth: { tokens: [{ env: TOKEN_ENV }] },
        database: join(dir, "jobs.db"),
        // Tests poll the API every few milliseconds.
        api: { rateLimitPerMinute: 100_000 },
      },
      null,
      2,
    ),
  );
  return path;
}

/** Environment of a service process in tests: the prover's key (account #1) and the API token. */
export const SERVICE_ENV = { [KEY_ENV]: DEV_KEYS[1], [TOKEN_ENV]: TOKEN };

/** Data timestamps of the market's accepted updates on chain, in order. */
export async function acceptedTimestamps(provider: Provider, oracle: string): Promise<number[]> {
  const o = oracleAt(oracle, provider);
  const events = await o.queryFilter(o.filters.ParametersUpdated(marketIdOf(MARKET)), 0);
  return events.map((e) => Number((e as unknown as { args: { dataTimestamp: bigint } }).args.dataTimestamp));
}

/** A job as the API shows it (the fields tests look at). */
export interface JobView {
  id: string;
  status: string;
  reason: string | null;
  worker: string | null;
  transaction: { hash: string } | null;
}

/** Poll `GET /v1/proofs/:id` until the job has `status`; the error carries `logs()` (the service's log). */
export async function waitForJob(
  url: string,
  id: string,
  status: string,
  logs: () => string,
  timeoutMs = 180_000,
): Promise<JobView> {
  const t0 = Date.now();
  let last: JobView | undefined;
  while (Date.now() - t0 < timeoutMs) {
    const r = await fetch(`${url}/v1/proofs/${id}`).catch(() => undefined);
    last = r?.ok ? ((await r.json()) as JobView) : undefined;
    if (last?.status === status) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} not ${status}: ${JSON.stringify(last)}\nservice log:\n${logs()}`);
}
