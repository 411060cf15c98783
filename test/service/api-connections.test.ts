/**
 * The prover service's HTTP API against clients that misbehave, in process against a `hardhat node` on
 * 127.0.0.1 with a `zkrisk publisher serve` instance on 127.0.0.1 (the signed-update circuit, k = 1, cached),
 * real sockets and small connection limits: connections over the cap are closed at once, bad bodies answer the
 * documented `{ error, message }`, and a client sending its headers slowly does not hold up `stop()` past the
 * grace.
 */
import type { Socket } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServiceConfig } from "../../service/config";
import { startService, type RunningService } from "../../service/run";
import { startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { tempDir } from "../helpers/publisher-serve";
import {
  marketServiceParts,
  SERVICE_ENV,
  type SignedMarket,
  startSignedMarket,
  TOKEN,
  writeServiceConfig,
} from "../helpers/service-env";
import { rawClient, within } from "../helpers/raw-http";

/** The grace of in-flight jobs on stop, ms: the API's connections must not extend it. */
const GRACE_MS = 2_000;

describe("prover service HTTP API: connections", { timeout: 120_000 }, () => {
  let node: HardhatNode;
  let market: SignedMarket;
  let running: RunningService | undefined;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    node = await startHardhatNode();
    const dir = tempDir("api-connections");
    market = await startSignedMarket(dir, node.rpc, { publishers: 1, quorum: 1 });
    Object.assign(process.env, SERVICE_ENV);
    const cfg = loadServiceConfig(writeServiceConfig(dir, { rpc: node.rpc, ...marketServiceParts(market) }));
    // Timeouts that never fire here: only the fix closes a slow client.
    running = await startService(cfg, pino({ level: "silent" }), GRACE_MS, undefined, {
      maxConnections: 3,
      headersTimeoutMs: 60_000,
      requestTimeoutMs: 120_000,
      timeoutCheckMs: 50,
    });
    port = Number(new URL(running.url).port);
  }, 900_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await running?.stop();
    await market?.stop();
    node?.stop();
  });

  /** `request` on a connection of its own (closed after the answer); "" when the connection was refused. */
  async function exchange(request: string): Promise<string> {
    const client = await rawClient(port, sockets);
    client.socket.write(request);
    await client.closed;
    return client.text();
  }

  /** `request` once a connection is taken (the server sees a client's close a moment after the client). */
  async function answered(request: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const text = await exchange(request);
      if (text !== "") return text;
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error(`no answer to ${request.split("\r\n")[0]}`);
  }

  it("closes connections over the cap at once, and answers once below it", async () => {
    const held = await Promise.all([1, 2, 3].map(() => rawClient(port, sockets)));
    const over = await rawClient(port, sockets);
    over.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    // Before: no cap.
    expect(await within(over.closed, 3_000)).toBeUndefined();
    expect(over.text()).toBe("");
    for (const c of held) c.socket.destroy();
    expect(await answered("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(
      /^HTTP\/1\.1 200 /,
    );
  });

  it("answers bodies that are not JSON, or hold __proto__, with BAD_REQUEST naming why", async () => {
    const post = async (body: string) => {
      const text = await answered(
        `POST /v1/proofs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      const [head, payload] = text.split("\r\n\r\n");
      return { status: Number(head.split(" ")[1]), body: JSON.parse(payload) as Record<string, unknown> };
    };
    // Before: error "FST_ERR_CTP_INVALID_JSON_BODY", and the same "not valid JSON" for __proto__.
    expect(await post("{not json")).toEqual({
      status: 400,
      body: { error: "BAD_REQUEST", message: expect.stringMatching(/^body: not valid JSON/) as string },
    });
    expect(await post('{"market": "BTC-USDT", "timestamp": 1, "__proto__": {"x": 1}}')).toEqual({
      status: 400,
      body: {
        error: "BAD_REQUEST",
        message: `body: key "__proto__" is not accepted (it could set an object's prototype)`,
      },
    });
    const badUrl = await answered("GET /v1/proofs/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(JSON.parse(badUrl.split("\r\n\r\n")[1])).toEqual({
      error: "BAD_REQUEST",
      message: 'path "/v1/proofs/%ZZ" is not a valid URL (bad %-encoding)',
    });
  });

  it("stops within the grace with a client sending its headers slowly, and closes it", async () => {
    const slow = await rawClient(port, sockets);
    slow.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    const dribble = setInterval(() => slow.socket.write("X-Slow: 1\r\n"), 100);
    try {
      await new Promise((done) => setTimeout(done, 250));
      // Before: stop() waited for the API's close, i.e. until the client stopped, well past the grace.
      expect(await within(running!.stop(), GRACE_MS + 5_000)).toBeUndefined();
      expect(await within(slow.closed, 1_000)).toBeUndefined();
    } finally {
      clearInterval(dribble);
    }
  });
});
