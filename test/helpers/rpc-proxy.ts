/**
 * The part every test JSON-RPC proxy shares: an HTTP server on 127.0.0.1 that reads a request (single or batch),
 * lets the proxy answer it, forwarding to a real node with `post` as it likes, and stops on `close`. The proxies
 * (capped-rpc.ts, faulty-rpc.ts) supply only how they misbehave.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** One JSON-RPC request as a client sends it. */
export interface RpcRequest {
  jsonrpc: "2.0";
  id: unknown;
  method: string;
  params?: unknown[];
}

/** Send one request to the upstream node and give its answer. */
export type Post = (request: RpcRequest) => Promise<unknown>;

/** What the proxy answers an HTTP request with: a JSON-RPC answer, or HTTP 502 as a load balancer with no backend. */
export type ProxyAnswer = { json: unknown } | "bad gateway";

/** A running proxy. */
export interface RpcProxy {
  url: string;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });

/** Start a proxy to `upstream` on a free port of 127.0.0.1 that answers each HTTP request with `answer`. */
export async function startRpcProxy(
  upstream: string,
  answer: (body: RpcRequest | RpcRequest[], post: Post) => Promise<ProxyAnswer>,
): Promise<RpcProxy> {
  const post: Post = async (request) => {
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    return res.json();
  };
  const server = createServer((req, res) => {
    void (async () => {
      const result = await answer(JSON.parse(await readBody(req)) as RpcRequest | RpcRequest[], post);
      if (result === "bad gateway") {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("bad gateway");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result.json));
    })().catch((err: Error) => {
      res.writeHead(500);
      res.end(err.message);
    });
  });
  // Clients (ethers through Node's keep-alive agent, fetch) reuse idle sockets. A server that closes one after
  // Node's default 5 s races with that reuse on a loaded machine, and the request fails with ECONNRESET; so idle
  // sockets stay open until close(), which ends them.
  server.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
