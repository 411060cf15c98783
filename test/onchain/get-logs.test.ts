/**
 * `getLogsChunked` and `isRangeRefusal` without a chain: a provider object whose `getLogs` refuses ranges above
 * a cap with the errors ethers builds from public providers' answers. The same reading against a real node
 * behind a capped JSON-RPC proxy is in test/onchain/audit.test.ts.
 */
import { describe, expect, it } from "vitest";
import { makeError, type Filter, type Log, type Provider } from "ethers";
import { ZkriskError } from "../../core/errors";
import {
  GROW_AFTER,
  LogRangeError,
  getLogsChunked,
  isRangeRefusal,
  isRateLimit,
  type LogProgress,
} from "../../onchain/get-logs";

/** The error ethers' JsonRpcProvider throws for a JSON-RPC error it does not recognise. */
const rpcError = (code: number, message: string) =>
  makeError("could not coalesce error", "UNKNOWN_ERROR", { error: { code, message }, payload: {} as never });

/** A log of `address` at (block, index). */
const logAt = (address: string, blockNumber: number, index = 0) =>
  ({
    address,
    blockNumber,
    index,
    transactionHash: `0x${blockNumber.toString(16).padStart(64, "0")}`,
  }) as Log;

/**
 * A provider with one log per block of the filter's address, refusing ranges over `cap` blocks; `answer` rewrites
 * what it answers (another order, other logs).
 */
function cappedProvider(
  cap: number,
  refusal = rpcError(-32005, "query returned more than 10000 results"),
  answer = (logs: Log[]) => logs,
) {
  const queries: [number, number][] = [];
  const provider = {
    getLogs: async (f: Filter): Promise<Log[]> => {
      const [from, to] = [Number(f.fromBlock), Number(f.toBlock)];
      queries.push([from, to]);
      if (to - from + 1 > cap) throw refusal;
      return answer(Array.from({ length: to - from + 1 }, (_, i) => logAt(String(f.address), from + i)));
    },
  } as unknown as Provider;
  return { provider, queries };
}

describe("isRangeRefusal", () => {
  it("recognises the range refusals of public providers, and nothing else", () => {
    for (const [code, message] of [
      [-32005, "limit exceeded"],
      [-32600, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"],
      [-32602, "eth_getLogs is limited to a 10,000 range"],
      [-32000, "block range is too wide"],
      [-32000, "exceed maximum block range: 5000"],
      [-32000, "query exceeds max block range 1000"],
      [-32000, "requested too many blocks from 0 to 20000, maximum is set to 2048"],
    ] as const) {
      expect(isRangeRefusal(rpcError(code, message)), message).toBe(true);
    }
    expect(isRangeRefusal(rpcError(-32000, "header not found"))).toBe(false);
    // A rate limit is no range refusal, whatever its code: Infura gives -32005 for both.
    for (const message of [
      "request rate limited",
      "Too Many Requests",
      "Your app has exceeded its compute units per second capacity",
    ]) {
      expect(isRangeRefusal(rpcError(-32005, message)), message).toBe(false);
      expect(isRateLimit(rpcError(-32005, message)), message).toBe(true);
    }
    expect(isRateLimit(rpcError(-32005, "limit exceeded"))).toBe(false);
    expect(isRangeRefusal(new Error("connect ECONNREFUSED 127.0.0.1:8545"))).toBe(false);
  });
});

describe("getLogsChunked", () => {
  const filter = { address: "0x0000000000000000000000000000000000000001" };

  it("reads the range in chunks, halving while the node refuses, and reports progress", async () => {
    const { provider, queries } = cappedProvider(3);
    const progress: LogProgress[] = [];
    const logs = await getLogsChunked(provider, {
      filter,
      fromBlock: 10,
      toBlock: 29,
      chunk: 8,
      onProgress: (p) => progress.push(p),
    });
    expect(logs.map((l) => l.blockNumber)).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    expect(queries.slice(0, 3)).toEqual([
      [10, 17],
      [10, 13],
      [10, 11],
    ]);
    expect(queries.slice(3).every(([a, b]) => b - a + 1 === 2 || b === 29)).toBe(true);
    expect(progress.at(-1)).toEqual({ doneBlocks: 20, totalBlocks: 20, logs: 20, chunk: 2 });
  });

  it("asks the same chunk again after a rate limit (-32005 too), without shrinking it", async () => {
    const { provider: capped, queries } = cappedProvider(8);
    let limits = 3;
    const provider = {
      getLogs: async (f: Filter) => {
        if (Number(f.fromBlock) === 18 && limits-- > 0) throw rpcError(-32005, "request rate limited");
        return capped.getLogs(f);
      },
    } as unknown as Provider;
    const progress: LogProgress[] = [];
    const logs = await getLogsChunked(provider, {
      filter,
      fromBlock: 10,
      toBlock: 41,
      chunk: 8,
      rateLimitPauseMs: 1,
      onProgress: (p) => progress.push(p),
    });
    expect(logs).toHaveLength(32);
    expect(queries).toEqual([
      [10, 17],
      [18, 25],
      [26, 33],
      [34, 41],
    ]);
    expect(progress.every((p) => p.chunk === 8)).toBe(true);
  });

  it("fails naming the range when the node keeps rate-limiting past the wait allowed", async () => {
    const provider = {
      getLogs: async () => {
        throw rpcError(-32005, "request rate limited");
      },
    } as unknown as Provider;
    const err = await getLogsChunked(provider, {
      filter,
      fromBlock: 0,
      toBlock: 99,
      chunk: 50,
      rateLimitPauseMs: 1,
      rateLimitWaitMs: 30,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkriskError);
    expect((err as ZkriskError).code).toBe("RPC_FAILED");
    expect((err as Error).message).toMatch(
      /^the node kept refusing the events of blocks 0\.\.49 as rate-limited for \d+ s: request rate limited$/,
    );
  });

  it(`grows a halved chunk back after ${GROW_AFTER} answered in a row, up to the first size`, async () => {
    // Dense below block 40 (at most 2 blocks a query), sparse above (100).
    const queries: [number, number][] = [];
    const provider = {
      getLogs: async (f: Filter) => {
        const [from, to] = [Number(f.fromBlock), Number(f.toBlock)];
        queries.push([from, to]);
        if (to - from + 1 > (from < 40 ? 2 : 100)) throw rpcError(-32005, "limit exceeded");
        return Array.from({ length: to - from + 1 }, (_, i) => logAt(filter.address, from + i));
      },
    } as unknown as Provider;
    const progress: LogProgress[] = [];
    const logs = await getLogsChunked(provider, {
      filter,
      fromBlock: 0,
      toBlock: 399,
      chunk: 8,
      onProgress: (p) => progress.push(p),
    });
    expect(logs).toHaveLength(400);
    expect(progress.at(-1)?.chunk).toBe(8);
    // Without growing back, the 360 sparse blocks alone would take 180 queries of 2.
    expect(queries.length).toBeLessThan(90);
  });

  it("reads a chunk of 150,000 logs (one block's) without overflowing the stack", async () => {
    const provider = {
      getLogs: async () => Array.from({ length: 150_000 }, (_, i) => logAt(filter.address, 7, i)),
    } as unknown as Provider;
    const logs = await getLogsChunked(provider, { filter, fromBlock: 7, toBlock: 7 });
    expect(logs).toHaveLength(150_000);
  });

  it("fails naming the block when a single block is refused, and names the range of any other refusal", async () => {
    const err = await getLogsChunked(cappedProvider(0).provider, { filter, fromBlock: 5, toBlock: 9 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LogRangeError);
    expect(err).toMatchObject({ code: "RPC_LOG_RANGE", fromBlock: 5, toBlock: 5 });
    expect((err as Error).message).toBe(
      "the node refuses the events of block 5 even one block at a time: query returned more than 10000 results",
    );
    const other = await getLogsChunked(cappedProvider(0, rpcError(-32000, "header not found")).provider, {
      filter,
      fromBlock: 5,
      toBlock: 9,
    }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(ZkriskError);
    expect(other).toMatchObject({
      code: "RPC_FAILED",
      message: "the node refused the events of blocks 5..9: header not found",
    });
    await expect(
      getLogsChunked(cappedProvider(1).provider, { filter, fromBlock: 0, toBlock: 1, chunk: 0 }),
    ).rejects.toThrow(/^logChunk: 0 is not a number of blocks >= 1$/);
  });
});

describe("the logs a node answers (checkedLogs)", () => {
  const filter = { address: "0x0000000000000000000000000000000000000001" };
  const read = (answer: (logs: Log[]) => Log[]) =>
    getLogsChunked(cappedProvider(100, undefined, answer).provider, { filter, fromBlock: 10, toBlock: 19 });

  it("are returned in chain order and each once, whatever order and repetition the node gives", async () => {
    const honest = await read((logs) => logs);
    const twice = (logs: Log[]) => [...logs, logAt(filter.address, 12, 1), ...logs].reverse();
    const blocks = (await read(twice)).map((l) => [l.blockNumber, l.index]);
    expect(blocks).toEqual(
      [...honest.map((l) => [l.blockNumber, l.index]), [12, 1]].sort((a, b) => a[0] - b[0] || a[1] - b[1]),
    );
  });

  it("refuses a log of another address or outside the range, naming it", async () => {
    const other = "0x0000000000000000000000000000000000000002";
    const foreign = await read((logs) => [...logs, logAt(other, 15, 3)]).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(ZkriskError);
    expect(foreign).toMatchObject({
      code: "RPC_FAILED",
      message:
        `the node returned a log of ${other} for a query of ${filter.address} (block 15, log 3, tx ` +
        `0x${"f".padStart(64, "0")}): it does not filter events by address`,
    });
    const outside = await read((logs) => [...logs, logAt(filter.address, 25)]).catch((e: unknown) => e);
    expect(outside).toMatchObject({
      code: "RPC_FAILED",
      message: expect.stringMatching(
        /^the node returned a log of block 25 for blocks 10\.\.19 \(block 25, log 0/,
      ),
    });
  });
});
