/**
 * The prover service in tests: the local market (scripts/local-market.ts), a service config pointing at it,
 * the test's secrets, and helpers that follow a job through the API and read accepted updates on chain.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { marketIdOf } from "../../candles/market-id";
import type { Provider } from "ethers";
import { oracleAt } from "../../prover/onchain/oracle";
import { MARKET } from "../../scripts/local-market";
import { MODEL } from "./artifacts";
import { DEV_KEYS } from "./hardhat-node";

export { CandleFeed, deployMarket, MARKET } from "../../scripts/local-market";

/** The API token of the test configs (and its environment variable). */
export const TOKEN = "test-token-0123456789abcdef";
export const TOKEN_ENV = "ZKRISK_TEST_API_TOKEN";
export const KEY_ENV = "ZKRISK_TEST_PROVER_KEY";

/** Write a service config into `dir`; returns its path. */
export function writeServiceConfig(
  dir: string,
  o: {
    rpc: string;
    oracle: string;
    artifacts: string;
    /** A CSV file path, or an http:// URL serving candles as JSON. */
    candles: string;
    port?: number;
    concurrency?: number;
    pollSeconds?: number;
    /** Redis mode's lock and lease, seconds. */
    queue?: { lockSeconds: number; leaseSeconds: number };
  },
): string {
  const path = join(dir, "service.json");
  writeFileSync(
    path,
    JSON.stringify(
      {
        markets: [
          {
            id: MARKET,
            model: MODEL,
            artifacts: o.artifacts,
            candles: o.candles.startsWith("http://") ? { url: o.candles } : { csv: o.candles },
          },
        ],
        chain: { rpc: o.rpc, oracle: o.oracle, key: { env: KEY_ENV }, retryBaseMs: 200 },
        schedule: { pollSeconds: o.pollSeconds ?? 0.2 },
        concurrency: o.concurrency ?? 2,
        ...(o.queue ? { queue: o.queue } : {}),
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
