/**
 * audit/lookahead.ts: reads started ahead of the update that needs them. A lookup started ahead runs at once,
 * beside the others, and is taken once by the lookup of the same (market, bar); one not started is looked up then;
 * a read that fails while it waits is not an unhandled rejection (vitest fails a run that has one), and the reader
 * that takes it gets the failure.
 */
import { describe, expect, it } from "vitest";
import { LookaheadBatchSource, LookaheadWindowSource, startedOnce } from "../../audit/lookahead";
import type { BatchLookup, WindowLookup } from "../../publisher/window-sources";

/** A promise and its resolve and reject. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A window source whose lookups wait until the test settles them, recording each call. */
function heldSource() {
  const calls: {
    market: string;
    marketId: bigint;
    endTimeMs: number;
    answer: ReturnType<typeof deferred<WindowLookup[]>>;
  }[] = [];
  return {
    calls,
    source: {
      name: "held",
      lookup(market: string, marketId: bigint, endTimeMs: number): Promise<WindowLookup[]> {
        const answer = deferred<WindowLookup[]>();
        calls.push({ market, marketId, endTimeMs, answer });
        return answer.promise;
      },
    },
  };
}

const absent = (reason: string): WindowLookup[] => [{ source: "held", kind: "absent", reason }];

describe("startedOnce", () => {
  it("starts a read once and gives every caller its promise", async () => {
    const map = new Map<string, Promise<number>>();
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    const first = startedOnce(map, "a", load);
    expect(startedOnce(map, "a", load)).toBe(first);
    expect(await first).toBe(1);
    expect(await startedOnce(map, "b", load)).toBe(2);
    expect(loads).toBe(2);
  });

  it("keeps a failure for its reader, unhandled by no one meanwhile", async () => {
    const map = new Map<string, Promise<number>>();
    void startedOnce(map, "a", () => Promise.reject(new Error("node down")));
    await new Promise((done) => setTimeout(done, 10)); // the rejection settles with no reader
    await expect(startedOnce(map, "a", () => Promise.resolve(0))).rejects.toThrow("node down");
  });
});

describe("LookaheadWindowSource", () => {
  it("runs the lookups started ahead at once, each taken once by the lookup of the same market and bar", async () => {
    const { calls, source } = heldSource();
    const ahead = new LookaheadWindowSource(source);
    expect(ahead.name).toBe("held");
    for (const t of [1000, 2000, 3000]) ahead.start("BTC-USDT", 7n, t);
    ahead.start("BTC-USDT", 7n, 2000); // already started: not again
    expect(calls.map((c) => c.endTimeMs)).toEqual([1000, 2000, 3000]);
    expect(ahead.waiting).toBe(3);
    calls[1].answer.resolve(absent("bar 2000"));
    calls[0].answer.resolve(absent("bar 1000"));
    expect(await ahead.lookup("BTC-USDT", 7n, 1000)).toEqual(absent("bar 1000"));
    expect(await ahead.lookup("BTC-USDT", 7n, 2000)).toEqual(absent("bar 2000"));
    expect(calls).toHaveLength(3);
    expect(ahead.waiting).toBe(1);
    // Taken: the same market and bar again is a new lookup; another market's is its own.
    const again = ahead.lookup("BTC-USDT", 7n, 1000);
    const other = ahead.lookup("ETH-USDT", 8n, 3000);
    expect(calls.slice(3).map((c) => [c.market, c.marketId, c.endTimeMs])).toEqual([
      ["BTC-USDT", 7n, 1000],
      ["ETH-USDT", 8n, 3000],
    ]);
    calls[3].answer.resolve(absent("again"));
    calls[4].answer.resolve(absent("other"));
    expect(await again).toEqual(absent("again"));
    expect(await other).toEqual(absent("other"));
    calls[2].answer.resolve(absent("bar 3000"));
    expect(await ahead.lookup("BTC-USDT", 7n, 3000)).toEqual(absent("bar 3000"));
    expect(ahead.waiting).toBe(0);
  });

  it("keeps a lookup that fails while it waits for the update that takes it, which gets the failure", async () => {
    const { calls, source } = heldSource();
    const ahead = new LookaheadWindowSource(source);
    ahead.start("BTC-USDT", 7n, 1000);
    calls[0].answer.reject(new Error("publisher reset the connection"));
    await new Promise((done) => setTimeout(done, 10));
    await expect(ahead.lookup("BTC-USDT", 7n, 1000)).rejects.toThrow("publisher reset the connection");
    expect(calls).toHaveLength(1);
  });
});

describe("LookaheadBatchSource", () => {
  it("starts batch lookups ahead and hands each over once, as the window source does", async () => {
    const calls: [string, bigint, number][] = [];
    const found = (t: number): BatchLookup[] => [{ source: "dir", kind: "absent", reason: `batch ${t}` }];
    const ahead = new LookaheadBatchSource({
      name: "dir",
      lookupBatches: (market, marketId, endTimeMs) => {
        calls.push([market, marketId, endTimeMs]);
        return Promise.resolve(found(endTimeMs));
      },
    });
    expect(ahead.name).toBe("dir");
    ahead.start("SOL-USDT", 9n, 5000);
    ahead.start("SOL-USDT", 9n, 5000);
    expect(calls).toEqual([["SOL-USDT", 9n, 5000]]);
    expect(await ahead.lookupBatches("SOL-USDT", 9n, 5000)).toEqual(found(5000));
    expect(await ahead.lookupBatches("SOL-USDT", 9n, 5000)).toEqual(found(5000));
    expect(calls).toHaveLength(2);
    expect(ahead.waiting).toBe(0);
  });
});
