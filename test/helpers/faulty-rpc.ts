/**
 * A JSON-RPC proxy on 127.0.0.1 in front of a real node (a `hardhat node`) that can misbehave as a node
 * behind a public RPC endpoint does: go down (every request answered HTTP 502, as a load balancer with no
 * backend answers), right after it forwarded a transaction if asked; and answer `null` for the receipts of the
 * transactions sent through it, or an error for its calls, or for those of one function (a load-balanced backend
 * that has not seen the block yet); or refuse every transaction it has not forwarded before with a node's error, without forwarding it. Single
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
   * While set (a function's 4-byte selector, 0x-hex), every `eth_call` and `eth_estimateGas` whose data starts with
   * it is answered with that same error, and not forwarded: a submitter's dry run of that function fails as on such
   * a backend, while its reads go through.
   */
  failCallsTo: string | undefined;
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
    const callData = (request.params?.[0] as { data?: unknown; input?: unknown } | undefined) ?? {};
    const selector = String(callData.data ?? callData.input ?? "")
      .slice(0, 10)
      .toLowerCase();
    if (
      (request.method === "eth_call" && state.failCalls) ||
      ((request.method === "eth_call" || request.method === "eth_estimateGas") &&
        state.failCallsTo !== undefined &&
        selector === state.failCallsTo.toLowerCase())
    ) {
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
    failCallsTo: undefined,
    sendError: undefined,
    sent: [],
    close: () => proxy.close(),
  };
  return state;
}
