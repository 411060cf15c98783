/**
 * The service's chain view (service/chain-view.ts) against a small JSON-RPC server on 127.0.0.1 that can stop
 * answering (it keeps the connection and never replies, as an overloaded node or a load balancer holding
 * requests does) or switch to another chain under the same URL: the chain's clock sends one request per look
 * (no `eth_chainId` before every call), a request that times out makes the chain unreachable, and a node on
 * another chain is found (at the periodic check, after a failed request, and before any transaction is sent)
 * and sent nothing.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Transaction, Wallet } from "ethers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { CHAIN_ID_CHECK_INTERVAL_MS, ChainView, RPC_REQUEST_TIMEOUT_MS } from "../../service/chain-view";
import type { ServiceConfig } from "../../service/config";

interface RpcRequest {
  id: unknown;
  method: string;
  params: unknown[];
}

const BLOCK = {
  number: "0x10",
  hash: "0x" + "1".repeat(64),
  parentHash: "0x" + "2".repeat(64),
  timestamp: "0x65000000",
  nonce: "0x0000000000000000",
  difficulty: "0x0",
  gasLimit: "0x1c9c380",
  gasUsed: "0x0",
  miner: "0x" + "0".repeat(40),
  extraData: "0x",
  baseFeePerGas: "0x1",
  transactions: [],
};

describe("ChainView against a node that hangs or changes chains", () => {
  let server: Server;
  let rpc: string;
  /** How the node behaves: its chain id (hex), and whether it holds every request without answering. */
  const node = { chainId: "0x7a69", hang: false };
  /** JSON-RPC methods received, by name. */
  let seen: Record<string, number> = {};
  const held: ServerResponse[] = [];
  const opened: ChainView[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const request = JSON.parse(body) as RpcRequest | RpcRequest[];
        for (const r of [request].flat()) seen[r.method] = (seen[r.method] ?? 0) + 1;
        if (node.hang) {
          held.push(res);
          return;
        }
        const answer = (r: RpcRequest) => ({
          jsonrpc: "2.0",
          id: r.id,
          result:
            r.method === "eth_chainId"
              ? node.chainId
              : r.method === "eth_getCode"
                ? "0x6000"
                : r.method === "eth_getBlockByNumber"
                  ? BLOCK
                  : r.method === "eth_blockNumber"
                    ? "0x10"
                    : r.method === "eth_sendRawTransaction"
                      ? Transaction.from(r.params[0] as string).hash
                      : null,
        });
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(Array.isArray(request) ? request.map(answer) : answer(request)));
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    rpc = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterEach(() => {
    vi.useRealTimers();
    for (const view of opened.splice(0)) view.destroy();
    for (const res of held.splice(0)) res.destroy();
    Object.assign(node, { chainId: "0x7a69", hang: false });
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  const connect = async (options?: { requestTimeoutMs: number }) => {
    const view = await ChainView.connect(
      { rpc, oracle: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } as ServiceConfig["chain"],
      options,
    );
    opened.push(view);
    seen = {};
    return view;
  };

  it("asks the node once per look at the chain's clock, not for its chain id each time", async () => {
    const view = await connect();
    for (let i = 0; i < 10; i++) expect(await view.now()).toBe(0x65000000);
    expect(seen).toEqual({ eth_getBlockByNumber: 10 });
    expect(view.chainId).toBe(31337n);
  });

  it("bounds every request to the node by RPC_REQUEST_TIMEOUT_MS (30 s) unless told otherwise", async () => {
    expect(RPC_REQUEST_TIMEOUT_MS).toBe(30_000);
    const view = await connect();
    expect(view.provider._getConnection().timeout).toBe(RPC_REQUEST_TIMEOUT_MS);
  });

  it("counts the chain unreachable once a request times out, the clock's or any other", async () => {
    const view = await connect({ requestTimeoutMs: 300 });
    node.hang = true;
    // Without a timeout these would wait ethers' 300 s: the test's own timeout is the bound.
    await expect(view.now()).rejects.toThrow(/^the node did not answer: request timeout/);
    expect(view.reachable).toBe(false);
    node.hang = false;
    await view.now();
    expect(view.reachable).toBe(true);
    node.hang = true;
    await expect(view.provider.getBlockNumber()).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(view.reachable).toBe(false);
  }, 10_000);

  it("finds a node switched to another chain at the periodic check, and the service's chain again", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const view = await connect();
    node.chainId = "0x1";
    await view.now();
    expect(view.wrongChain).toBeUndefined();
    vi.setSystemTime(Date.now() + CHAIN_ID_CHECK_INTERVAL_MS);
    await expect(view.now()).rejects.toThrow(
      `the node at ${rpc} answers for chain 1, not for chain 31337, the one the service started on`,
    );
    expect(view.wrongChain).toMatch(/answers for chain 1, not for chain 31337/);
    // Checked at every look while wrong, so the service resumes at once.
    node.chainId = "0x7a69";
    expect(await view.now()).toBe(0x65000000);
    expect(view.wrongChain).toBeUndefined();
  });

  it("checks the chain id after a failed request", async () => {
    const view = await connect({ requestTimeoutMs: 300 });
    node.hang = true;
    await expect(view.provider.getBlockNumber()).rejects.toMatchObject({ code: "TIMEOUT" });
    node.hang = false;
    node.chainId = "0x1";
    await expect(view.now()).rejects.toThrow(/answers for chain 1, not for chain 31337/);
  }, 10_000);

  it("sends no transaction to a node on another chain", async () => {
    const view = await connect();
    const wallet = Wallet.createRandom();
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: 31337n,
      nonce: 0,
      to: wallet.address,
      gasLimit: 21_000n,
      maxFeePerGas: 1n,
      maxPriorityFeePerGas: 1n,
    });
    node.chainId = "0x1";
    const err = (await view.provider.broadcastTransaction(raw).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^not sent: the node at .* answers for chain 1, not for chain 31337/);
    expect(seen.eth_sendRawTransaction).toBeUndefined();
    expect(view.wrongChain).toBeDefined();

    // On the service's chain, it goes (after its own check of the chain id).
    node.chainId = "0x7a69";
    seen = {};
    expect((await view.provider.broadcastTransaction(raw)).hash).toBe(Transaction.from(raw).hash);
    expect(seen).toMatchObject({ eth_chainId: 1, eth_sendRawTransaction: 1 });
  });
});
