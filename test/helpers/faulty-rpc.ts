/**
 * A JSON-RPC proxy on 127.0.0.1 in front of a real node (a `hardhat node`) that can misbehave as a node
 * behind a public RPC endpoint does: go down (every request answered HTTP 502, as a load balancer with no
 * backend answers), right after it forwarded a transaction if asked; and answer `null` for the receipts of the
 * transactions sent through it, or an error for its calls (a load-balanced backend that has not seen the block
 * yet); or refuse every transaction it has not forwarded before with a node's error, without forwarding it. Single
 * and batched requests alike.
 */
import { Transaction } from "ethers";
import { startRpcProxy, type Post, type RpcRequest } from "./rpc-proxy";

/** A running proxy; flip its fields to change how it behaves. */
export interface FaultyRpc {
  url: string;
  /** Every request is answered HTTP 502 while true. */
  down: boolean;
  /** Set `down` once a transaction has been forwarded (and the node's answer passed on). */
  downAfterSend: boolean;
  /** Answer `null` for the receipt of every transaction sent through the proxy while true. */
  hideSentReceipts: boolean;
  /**
   * Answer every `eth_call` with the error a load-balanced backend behind the others gives for a block it has not
   * seen (`header not found`) while true.
   */
  failCalls: boolean;
  /**
   * While set, every `eth_sendRawTransaction` of a transaction not forwarded before is answered with this JSON-RPC
   * error message (code -32000), as a node refusing it says, and not forwarded (e.g. geth's "intrinsic gas too
   * low", or a backend's "connection reset"); one forwarded before is forwarded again (the node has it).
   */
  sendError: string | undefined;
  /** Hashes of the transactions forwarded so far, in order (a transaction sent again appears again). */
  sent: string[];
  close(): Promise<void>;
}

/** Start a proxy to `upstream` (behaving until told otherwise). */
export async function startFaultyRpc(upstream: string): Promise<FaultyRpc> {
  const forward = async (request: RpcRequest, post: Post, seen: { send: boolean }): Promise<unknown> => {
    if (request.method === "eth_getTransactionReceipt" && state.hideSentReceipts) {
      const hash = String(request.params?.[0]).toLowerCase();
      if (state.sent.includes(hash)) return { jsonrpc: "2.0", id: request.id, result: null };
    }
    if (
      request.method === "eth_sendRawTransaction" &&
      state.sendError !== undefined &&
      !state.sent.includes(Transaction.from(String(request.params?.[0])).hash!.toLowerCase())
    ) {
      return { jsonrpc: "2.0", id: request.id, error: { code: -32000, message: state.sendError } };
    }
    if (request.method === "eth_call" && state.failCalls) {
      return { jsonrpc: "2.0", id: request.id, error: { code: -32000, message: "header not found" } };
    }
    const answer = await post(request);
    if (request.method === "eth_sendRawTransaction") {
      state.sent.push(Transaction.from(String(request.params?.[0])).hash!.toLowerCase());
      seen.send = true;
    }
    return answer;
  };
  const proxy = await startRpcProxy(upstream, async (body, post) => {
    if (state.down) return "bad gateway";
    const seen = { send: false };
    const json = Array.isArray(body)
      ? await Promise.all(body.map((r) => forward(r, post, seen)))
      : await forward(body, post, seen);
    if (seen.send && state.downAfterSend) state.down = true;
    return { json };
  });
  const state: FaultyRpc = {
    url: proxy.url,
    down: false,
    downAfterSend: false,
    hideSentReceipts: false,
    failCalls: false,
    sendError: undefined,
    sent: [],
    close: () => proxy.close(),
  };
  return state;
}
