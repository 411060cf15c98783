/**
 * bench/signed-data-bench.ts on its own, small (2 windows, 2 rounds): the figures' shape, one sample per round of
 * each check, real 85-bar windows, and its refusals. Timings are only checked to be positive; never against a
 * limit. `zkrisk bench` runs it through the command in test/bench/bench.test.ts.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BenchError } from "../../bench/bench-common";
import { CONCURRENT_COPIES, measureSignedDataChecks } from "../../bench/signed-data-bench";
import { WINDOW_BARS } from "../../candles";

const DATA = join(__dirname, "../../models/data/ethusdt-2h.csv");

describe("the CPU of checking signed data (bench/signed-data-bench.ts)", () => {
  it("measures each check once a round over real windows of WINDOW_BARS bars", async () => {
    const c = await measureSignedDataChecks({
      data: DATA,
      market: "ETH-USDT",
      windows: 2,
      rounds: 2,
      threads: 2,
    });
    expect([c.windows, c.bars, c.threads, c.copies]).toEqual([2, WINDOW_BARS, 2, CONCURRENT_COPIES]);
    for (const t of [
      c.poseidon16,
      c.windowDigest,
      c.signatureNewKey,
      c.signatureKnownKey,
      c.signedWindowRead,
      c.checkedInMainThread,
      c.checkedInThreads,
    ]) {
      expect(t.runs).toBe(2);
      expect(t.samplesMs).toHaveLength(2);
      for (const ms of t.samplesMs) expect(ms).toBeGreaterThan(0);
    }
  });

  it("refuses no windows or no rounds, before reading the data", async () => {
    const missing = join(__dirname, "no-such-candles.csv");
    await expect(
      measureSignedDataChecks({ data: missing, market: "ETH-USDT", windows: 0, rounds: 1 }),
    ).rejects.toThrow(new BenchError("windows and rounds must be at least 1"));
    await expect(
      measureSignedDataChecks({ data: missing, market: "ETH-USDT", windows: 1, rounds: 0 }),
    ).rejects.toThrow(BenchError);
  });
});
