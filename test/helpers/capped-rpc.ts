/**
 * A JSON-RPC proxy on 127.0.0.1 that forwards every request to a real node (a Hardhat JSON-RPC server) and
 * refuses `eth_getLogs` over more than `maxBlocks` blocks with the error a public provider gives, as Infura,
 * Alchemy and the like cap the range of one query. Single and batched requests alike. Optionally it rewrites
 * the `eth_getLogs` it forwards and the logs it answers (`LogRewrite`), as a node that answers in its own way.
 */
import { startRpcProxy, type Post, type RpcRequest } from "./rpc-proxy";

/** The JSON-RPC error a capped provider answers with. */
export interface RangeRefusal {
  code: number;
  message: string;
}

/** Infura's answer (-32005, "limit exceeded"). */
export const INFURA_REFUSAL: RangeRefusal = {
  code: -32005,
  message: "query returned more than 10000 results. Try with this block range [0x1, 0x2].",
};

/** Alchemy's answer (-32600 with the range in the text). */
export const ALCHEMY_REFUSAL: RangeRefusal = {
  code: -32600,
  message:
    "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no " +
    "limit on the response size, or you can request any block range with a cap of 10K logs in the response.",
};

/** How the proxy rewrites `eth_getLogs`: the params it forwards, the logs it answers. */
export interface LogRewrite {
  params?: (params: unknown[]) => unknown[];
  logs?: (logs: unknown[]) => unknown[];
}

/** A running capped proxy. */
export interface CappedRpc {
  url: string;
  /** eth_getLogs queries refused and answered so far. */
  refused: number;
  answered: number;
  close(): Promise<void>;
}

/** Blocks of an eth_getLogs filter with hex block numbers; Infinity for a tag ("latest") or a block hash. */
function blocksOf(params: unknown[] | undefined): number {
  const filter = (params?.[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown };
  const hexBlock = (v: unknown) => (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v) ? Number(v) : NaN);
  const n = hexBlock(filter.toBlock) - hexBlock(filter.fromBlock) + 1;
  return Number.isNaN(n) ? Infinity : n;
}

/**
 * Start a proxy to `upstream` refusing eth_getLogs over more than `maxBlocks` blocks with `refusal`, and
 * rewriting the others with `rewrite`.
 */
export async function startCappedRpc(
  upstream: string,
  maxBlocks: number,
  refusal: RangeRefusal = INFURA_REFUSAL,
  rewrite: LogRewrite = {},
): Promise<CappedRpc> {
  /** An eth_getLogs request forwarded with `rewrite.params`, its logs answered through `rewrite.logs`. */
  const rewritten = async (request: RpcRequest, post: Post): Promise<unknown> => {
    const params = rewrite.params ? rewrite.params(request.params ?? []) : request.params;
    const answer = (await post({ ...request, params })) as { result?: unknown };
    return rewrite.logs && Array.isArray(answer.result)
      ? { ...answer, result: rewrite.logs(answer.result) }
      : answer;
  };
  const forward = async (request: RpcRequest, post: Post): Promise<unknown> => {
    if (request.method === "eth_getLogs") {
      if (blocksOf(request.params) > maxBlocks) {
        state.refused++;
        return { jsonrpc: "2.0", id: request.id, error: refusal };
      }
      state.answered++;
      if (rewrite.params !== undefined || rewrite.logs !== undefined) return rewritten(request, post);
    }
    return post(request);
  };
  const proxy = await startRpcProxy(upstream, async (body, post) => ({
    json: Array.isArray(body)
      ? await Promise.all(body.map((r) => forward(r, post)))
      : await forward(body, post),
  }));
  const state: CappedRpc = { url: proxy.url, refused: 0, answered: 0, close: () => proxy.close() };
  return state;
}
