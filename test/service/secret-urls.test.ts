/**
 * The prover service never shows the password or the API key of its RPC URL, in process against a `hardhat node`
 * on 127.0.0.1 behind a JSON-RPC proxy that goes down (HTTP 502, as a load balancer with no backend; ethers then
 * quotes the request URL in its error), with `chain.rpc = http://rpcuser:PASSWORD@127.0.0.1:PORT/?apikey=KEY`:
 * not in `GET /readyz` (no token needed), `GET /v1/markets/:id` (503 CHAIN_UNREACHABLE), the log ("scheduling
 * skipped: chain unreachable"), the job records and their API view, nor the error of a start with the node down.
 * The market's publisher is not reachable, so its job waits and nothing is proved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig, type ServiceConfig } from "../../service/config";
import { startService, type RunningService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { freePort } from "../helpers/ports";
import { tempDir } from "../helpers/publisher-serve";
import { startFaultyRpc, type FaultyRpc } from "../helpers/faulty-rpc";
import {
  MARKET,
  marketServiceParts,
  memoryLogger,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  writeServiceConfig,
} from "../helpers/service-env";

const PASSWORD = "rpcS3cretPW";
const API_KEY = "RPCAPIKEY77";

function expectNoSecret(text: string): void {
  for (const secret of [PASSWORD, API_KEY, "requestUrl"]) expect(text).not.toContain(secret);
}

/** Poll `check` every 50 ms until it gives a value, for up to 30 s. */
async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - t0 > 30_000) throw new Error(`not seen within 30 s: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("prover service: the RPC URL's secrets", { timeout: 600_000 }, () => {
  let node: HardhatNode;
  let rpc: FaultyRpc;
  let market: SignedMarket;
  let cfg: ServiceConfig;
  let running: RunningService | undefined;
  /** The RPC URL as shown: credentials and query values masked. */
  let shown: string;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    node = await startHardhatNode();
    rpc = await startFaultyRpc(node.rpc);
    const dir = tempDir("secret-urls");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    const port = new URL(rpc.url).port;
    shown = `http://***:***@127.0.0.1:${port}/?apikey=***`;
    Object.assign(process.env, SERVICE_ENV);
    cfg = loadServiceConfig(
      writeServiceConfig(dir, {
        rpc: `http://rpcuser:${PASSWORD}@127.0.0.1:${port}/?apikey=${API_KEY}`,
        ...marketServiceParts(market),
        // No publisher answers: the bar's job waits for one, and nothing is proved.
        publishers: { set: market.setFile, urls: [`http://127.0.0.1:${await freePort()}/`] },
      }),
    );
    running = await startService(cfg, memoryLogger(lines));
  }, 900_000);

  afterAll(async () => {
    await running?.stop();
    await market?.stop();
    await rpc?.close();
    node?.stop();
  });

  it("readiness, the market view, the log and the jobs name the node redacted while it is down", async () => {
    const url = running!.url;
    rpc.down = true;
    try {
      const ready = await eventually(async () => {
        const r = await fetch(`${url}/readyz`);
        return r.status === 503 ? ((await r.json()) as unknown) : undefined;
      }, "readyz 503");
      expect(ready).toEqual({ status: "not ready", reason: `chain ${shown} unreachable` });

      const view = await fetch(`${url}/v1/markets/${MARKET}`);
      expect(view.status).toBe(503);
      const refusal = (await view.json()) as { error: string; message: string };
      expect(refusal.error).toBe("CHAIN_UNREACHABLE");
      expect(refusal.message).toMatch(
        /^the node did not answer: .*server response 502 Bad Gateway \(error=null, code=SERVER_ERROR, version=/,
      );
      expectNoSecret(refusal.message);

      const skipped = await eventually(
        () => lines.find((l) => l.msg === "scheduling skipped: chain unreachable"),
        "a scheduling pass skipped",
      );
      expect(skipped.err).toMatch(/^the node did not answer: server response 502 Bad Gateway \(error=null, /);

      const ids = lines.filter((l) => l.msg === "new closed bar: job queued").map((l) => String(l.job));
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) {
        expectNoSecret(JSON.stringify(await running!.service.store.get(id)));
        expectNoSecret(await (await fetch(`${url}/v1/proofs/${id}`)).text());
      }
      expectNoSecret(JSON.stringify(lines));
    } finally {
      rpc.down = false;
    }
  });

  it("a start with the node down names the RPC URL redacted", async () => {
    await running!.stop();
    running = undefined;
    rpc.down = true;
    try {
      const err = (await startService(cfg, memoryLogger(lines)).catch((e: unknown) => e)) as Error;
      expect(err.message).toBe(
        `${cfg.file}: chain.rpc: cannot reach ${shown}: server response 502 Bad Gateway (error=null, ` +
          `code=SERVER_ERROR, version=${/version=([\d.]+)/.exec(err.message)?.[1]})`,
      );
      expectNoSecret(err.message);
      expectNoSecret(JSON.stringify(lines));
    } finally {
      rpc.down = false;
    }
  });
});
