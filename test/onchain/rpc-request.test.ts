/**
 * The JSON-RPC transport (onchain/rpc-request.ts) against a raw HTTP server on 127.0.0.1 that does what a node
 * behind a keep-alive timeout does: reset a kept-alive connection as the next request arrives on it, or never
 * answer. Each fault is first shown to break ethers' own transport, so these tests fail without the fix.
 */
import { createServer, type Server, type Socket } from "node:net";
import { FetchRequest } from "ethers";
import { afterEach, describe, expect, it } from "vitest";
import { readOnlyProvider } from "../../onchain/chain";
import { rpcRequest, type RpcRetry } from "../../onchain/rpc-request";
import { retryAfterMs } from "../../core/retry-after";

interface Call {
  method: string;
  id: unknown;
}

/**
 * What the fake node does with a request: answer it, reset the connection unless it is the connection's first
 * request (an idle kept-alive connection closed as the request came), reset it whatever it is, or never answer.
 */
type Behaviour = "answer" | "reset-reused" | "reset-all" | "silent";

interface FakeNode {
  url: string;
  /** What it does with the next requests; may be changed at any time. */
  behaviour: Behaviour;
  /**
   * Failures planned for the next requests, before `behaviour`: each an HTTP status (with its `Retry-After`, if
   * any) answered to one request; or `until` a time (ms), answered to every request until then.
   */
  failures: { status: number; retryAfter?: string; until?: number }[];
  /** Connections accepted so far. */
  connections: number;
  /** The JSON-RPC methods of every request received, in order (a batch's joined by "+"). */
  received: string[];
  /** The server side of every connection, with whether it has closed. */
  sockets: { socket: Socket; closed: boolean }[];
  server: Server;
}

const nodes: FakeNode[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    for (const { socket } of node.sockets) socket.destroy();
    await new Promise((done) => node.server.close(done));
  }
});

/**
 * Answers every JSON-RPC call as a node of chain 31337 at block 1 would (a transaction's hash for a send, no
 * transaction for a hash asked).
 */
function answer(call: Call): unknown {
  const result =
    call.method === "eth_chainId"
      ? "0x7a69"
      : call.method === "eth_sendRawTransaction"
        ? "0x" + "11".repeat(32)
        : call.method === "eth_getTransactionByHash"
          ? null
          : "0x1";
  return { jsonrpc: "2.0", id: call.id, result };
}

async function fakeNode(behaviour: Behaviour): Promise<FakeNode> {
  const node: Omit<FakeNode, "url"> = {
    behaviour,
    failures: [],
    connections: 0,
    received: [],
    sockets: [],
    server: createServer(),
  };
  node.server.on("connection", (socket) => {
    node.connections++;
    const entry = { socket, closed: false };
    node.sockets.push(entry);
    socket.on("close", () => (entry.closed = true));
    socket.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    let served = 0;
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString();
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = JSON.parse(buffered.subarray(end + 4, end + 4 + length).toString()) as Call | Call[];
        buffered = buffered.subarray(end + 4 + length);
        const calls = Array.isArray(body) ? body : [body];
        node.received.push(calls.map((c) => c.method).join("+"));
        const nth = served++;
        while (node.failures[0]?.until !== undefined && Date.now() >= node.failures[0].until)
          node.failures.shift();
        const failure = node.failures[0]?.until !== undefined ? node.failures[0] : node.failures.shift();
        if (failure !== undefined) {
          const retryAfter = failure.retryAfter === undefined ? "" : `retry-after: ${failure.retryAfter}\r\n`;
          socket.write(`HTTP/1.1 ${failure.status} Failing\r\n${retryAfter}content-length: 0\r\n\r\n`);
          continue;
        }
        if (node.behaviour === "silent") return;
        if (node.behaviour === "reset-all" || (node.behaviour === "reset-reused" && nth > 0)) {
          // The node closed the idle connection just as this request arrived: a reset, nothing answered.
          socket.resetAndDestroy();
          return;
        }
        const text = JSON.stringify(Array.isArray(body) ? calls.map(answer) : answer(body));
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n` +
            text,
        );
      }
    });
  });
  await new Promise<void>((done) => node.server.listen(0, "127.0.0.1", done));
  const { port } = node.server.address() as { port: number };
  const running = Object.assign(node, { url: `http://127.0.0.1:${port}/` });
  nodes.push(running);
  return running;
}

/** One JSON-RPC call through `request` (a copy of it), its result. */
async function call(request: FetchRequest, method: string, params: unknown[] = []): Promise<unknown> {
  const req = request.clone();
  req.setHeader("content-type", "application/json");
  req.body = { jsonrpc: "2.0", id: 1, method, params };
  const resp = await req.send();
  resp.assertOk();
  return (resp.bodyJson as { result: unknown }).result;
}

describe("a kept-alive connection the node resets", () => {
  it("breaks ethers' own transport on the second request (the fault is real)", async () => {
    const node = await fakeNode("reset-reused");
    const request = new FetchRequest(node.url);
    expect(await call(request, "eth_blockNumber")).toBe("0x1");
    await expect(call(request, "eth_blockNumber")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(node.connections).toBe(1);
  });

  it("is met by sending the request again, once, on a new connection", async () => {
    const node = await fakeNode("reset-reused");
    const request = rpcRequest(node.url);
    expect(await call(request, "eth_blockNumber")).toBe("0x1");
    expect(await call(request, "eth_chainId")).toBe("0x7a69");
    expect(node.received).toEqual(["eth_blockNumber", "eth_chainId", "eth_chainId"]);
    expect(node.connections).toBe(2);
  });

  it("meets the reset again on each later kept-alive connection", async () => {
    const node = await fakeNode("reset-reused");
    const request = rpcRequest(node.url);
    await call(request, "eth_blockNumber");
    // The second connection answers its first request (the repeat), then resets on the next; and so on.
    expect(await call(request, "eth_blockNumber")).toBe("0x1");
    expect(await call(request, "eth_blockNumber")).toBe("0x1");
    expect(node.connections).toBe(3);
    expect(node.received).toHaveLength(5);
  });

  it("is not repeated when the connection was a new one: the reset is the error", async () => {
    const node = await fakeNode("reset-all");
    await expect(call(rpcRequest(node.url), "eth_blockNumber")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(node.received).toEqual(["eth_blockNumber"]);
  });

  it("gives up after three repeats when every idle connection was closed, the reset being the error", async () => {
    const node = await fakeNode("answer");
    const request = rpcRequest(node.url);
    // Five requests at once leave five idle kept-alive connections.
    await Promise.all([1, 2, 3, 4, 5].map(() => call(request, "eth_chainId")));
    expect(node.connections).toBe(5);
    node.behaviour = "reset-all";
    await expect(call(request, "eth_blockNumber")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(node.received.filter((m) => m === "eth_blockNumber")).toHaveLength(4);
    expect(node.connections).toBe(5);
  });

  it("never sends a transaction twice: its reset is the caller's to judge", async () => {
    const node = await fakeNode("reset-reused");
    const request = rpcRequest(node.url);
    await call(request, "eth_chainId");
    await expect(call(request, "eth_sendRawTransaction", ["0x02"])).rejects.toMatchObject({
      code: "ECONNRESET",
    });
    expect(node.received).toEqual(["eth_chainId", "eth_sendRawTransaction"]);
  });

  it("lets the CLI's read-only provider read from such a node, asking the chain id only at start", async () => {
    const node = await fakeNode("reset-reused");
    const provider = await readOnlyProvider(node.url);
    const chainIds = () => node.received.filter((m) => m.includes("eth_chainId")).length;
    try {
      expect(await provider.getBlockNumber()).toBe(1);
      const atStart = chainIds();
      for (let i = 0; i < 3; i++) {
        // Past ethers' 250 ms cache of identical requests, which would hide the asking.
        await new Promise((r) => setTimeout(r, 300));
        expect(await provider.getTransaction("0x" + "22".repeat(32))).toBeNull();
      }
      // Before, ethers asked eth_chainId before every call: twice the requests a provider bills and rate-limits.
      expect(chainIds()).toBe(atStart);
    } finally {
      provider.destroy();
    }
    expect(node.connections).toBeGreaterThan(1);
  });
});

describe("a node that never answers", () => {
  /** Resolves once the server side of the node's first connection has closed. */
  async function closedSoon(node: FakeNode): Promise<boolean> {
    for (let i = 0; i < 100 && !node.sockets[0].closed; i++) await new Promise((r) => setTimeout(r, 20));
    return node.sockets[0].closed;
  }

  it("keeps ethers' own transport's connection open after its timeout (the fault is real)", async () => {
    const node = await fakeNode("silent");
    const request = new FetchRequest(node.url);
    request.timeout = 100;
    await expect(call(request, "eth_blockNumber")).rejects.toMatchObject({ code: "TIMEOUT" });
    await new Promise((r) => setTimeout(r, 300));
    expect(node.sockets[0].closed).toBe(false);
    node.sockets[0].socket.destroy();
  });

  it("has its connection closed at the timeout, the error being ethers' TIMEOUT", async () => {
    const node = await fakeNode("silent");
    await expect(call(rpcRequest(node.url, { timeoutMs: 100 }), "eth_blockNumber")).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    expect(await closedSoon(node)).toBe(true);
    expect(node.received).toEqual(["eth_blockNumber"]);
  });

  it("has its connection closed when the request is cancelled", async () => {
    const node = await fakeNode("silent");
    const req = rpcRequest(node.url);
    req.body = { jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] };
    const pending = req.send();
    for (let i = 0; i < 100 && node.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    req.cancel();
    await expect(pending).rejects.toMatchObject({ code: "CANCELLED" });
    expect(await closedSoon(node)).toBe(true);
  });
});

describe("a node's passing failures (retryForMs)", () => {
  /** A request that retries for `retryForMs`, and the retries it was told of. */
  function retrying(url: string, retryForMs: number): { request: FetchRequest; retries: RpcRetry[] } {
    const retries: RpcRetry[] = [];
    return { request: rpcRequest(url, { retryForMs, onRetry: (r) => retries.push(r) }), retries };
  }

  it("waits out HTTP 503 and 502 of a node that has answered before", async () => {
    const node = await fakeNode("answer");
    const { request, retries } = retrying(node.url, 60_000);
    await call(request, "eth_chainId");
    node.failures.push({ status: 503, retryAfter: "0" }, { status: 502, retryAfter: "0" });
    expect(await call(request, "eth_blockNumber")).toBe("0x1");
    expect(node.received).toEqual(["eth_chainId", "eth_blockNumber", "eth_blockNumber", "eth_blockNumber"]);
    expect(retries.map((r) => [r.attempt, r.delayMs, r.reason])).toEqual([
      [2, 0, "HTTP 503 Failing"],
      [3, 0, "HTTP 502 Failing"],
    ]);
  });

  it("honours a 429's Retry-After in seconds, which ethers' own throttle reads as milliseconds", async () => {
    const node = await fakeNode("answer");
    // ethers' own: 12 tries at about 1 ms apart, all within the second the node asked for, then it gives up.
    const own = new FetchRequest(node.url);
    await call(own, "eth_chainId");
    node.failures.push({ status: 429, retryAfter: "1", until: Date.now() + 1000 });
    await expect(call(own, "eth_blockNumber")).rejects.toThrow(/exceeded maximum retry limit/);
    expect(node.received.filter((m) => m === "eth_blockNumber")).toHaveLength(12);

    node.failures.splice(0);
    node.received.splice(0);
    const { request, retries } = retrying(node.url, 60_000);
    await call(request, "eth_chainId");
    node.failures.push({ status: 429, retryAfter: "1", until: Date.now() + 1000 });
    expect(await call(request, "eth_blockNumber")).toBe("0x1");
    expect(retries).toEqual([{ attempt: 2, delayMs: 1000, reason: "HTTP 429 Failing" }]);
    expect(node.received.filter((m) => m === "eth_blockNumber")).toHaveLength(2);
  });

  it("without Retry-After pauses 0.5 s, then twice as long, and gives up past retryForMs with the node's answer", async () => {
    const node = await fakeNode("answer");
    const { request, retries } = retrying(node.url, 1200);
    await call(request, "eth_chainId");
    node.failures.push({ status: 503, until: Date.now() + 60_000 });
    // Tries at 0 and 0.5 s; the next pause (1 s) would end past 1.2 s after the first failure.
    await expect(call(request, "eth_blockNumber")).rejects.toThrow(/server response 503/);
    expect(retries.map((r) => r.delayMs)).toEqual([500]);
    expect(node.received.filter((m) => m === "eth_blockNumber")).toHaveLength(2);
  });

  it("tries again after a try that timed out, on a new connection, until retryForMs", async () => {
    const node = await fakeNode("answer");
    const retries: RpcRetry[] = [];
    const request = rpcRequest(node.url, {
      timeoutMs: 100,
      retryForMs: 700,
      onRetry: (r) => retries.push(r),
    });
    await call(request, "eth_chainId");
    node.behaviour = "silent";
    await expect(call(request, "eth_blockNumber")).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(retries.map((r) => [r.delayMs, r.reason])).toEqual([[500, "TIMEOUT: request timeout"]]);
    expect(node.received.filter((m) => m === "eth_blockNumber")).toHaveLength(2);
    expect(node.connections).toBe(2);
  });

  it("does not wait for a node never reached: a wrong URL fails at once", async () => {
    const node = await fakeNode("answer");
    const url = node.url;
    await new Promise((done) => node.server.close(done));
    nodes.splice(nodes.indexOf(node), 1);
    const { request, retries } = retrying(url, 60_000);
    await expect(call(request, "eth_chainId")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(retries).toEqual([]);
  });

  it("never sends a transaction twice, whatever the node answered", async () => {
    const node = await fakeNode("answer");
    const { request, retries } = retrying(node.url, 60_000);
    await call(request, "eth_chainId");
    node.failures.push({ status: 503, retryAfter: "0" });
    await expect(call(request, "eth_sendRawTransaction", ["0x02"])).rejects.toThrow(/server response 503/);
    expect(retries).toEqual([]);
    expect(node.received).toEqual(["eth_chainId", "eth_sendRawTransaction"]);
  });

  it("reads Retry-After as seconds or an HTTP date, at most the cap", () => {
    const now = Date.parse("2026-12-07T04:00:00Z");
    expect(retryAfterMs("1", 60_000, now)).toBe(1000);
    expect(retryAfterMs("0", 60_000, now)).toBe(0);
    expect(retryAfterMs("3600", 60_000, now)).toBe(60_000);
    expect(retryAfterMs("Mon, 07 Dec 2026 04:00:05 GMT", 60_000, now)).toBe(5000);
    expect(retryAfterMs("Mon, 07 Dec 2026 03:59:00 GMT", 60_000, now)).toBe(0);
    expect(retryAfterMs("soon", 60_000, now)).toBeUndefined();
    expect(retryAfterMs(undefined, 60_000, now)).toBeUndefined();
  });
});
