/** The window digest: pinned layout and vector, and sensitivity to every field, the order and the header. */
import { describe, expect, it } from "vitest";
import { WINDOW_DIGEST_TAG, windowDigest, windowDigestInputs, type Window } from "../../candles";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import { bar, END, HOUR, missingBar, SMALL_WINDOW } from "../helpers/windows";

/** Computed once from the layout below and written here: any change to the digest's layout breaks it. */
const SMALL_WINDOW_DIGEST = 9179482377387708767142720163516619537338634827729448295154837265653036630232n;

describe("window digest", () => {
  it("absorbs the documented layout: tag, market, interval, end, N, (close, volume) per bar, then (high, low) of the range part", () => {
    expect(WINDOW_DIGEST_TAG).toBe(BigInt("0x" + Buffer.from("zkrisk.window.v2", "ascii").toString("hex")));
    const [b0, , b2] = SMALL_WINDOW.bars;
    expect(windowDigestInputs(SMALL_WINDOW)).toEqual([
      WINDOW_DIGEST_TAG,
      0x4254432d55534454n,
      7_200_000n,
      1_704_081_600_000n,
      3n,
      b0.close,
      b0.volume,
      0n,
      0n,
      b2.close,
      b2.volume,
      b0.high,
      b0.low,
      0n,
      0n,
      b2.high,
      b2.low,
    ]);
  });

  it("absorbs high and low of the last 12 bars only", () => {
    const n = 14;
    const bars = Array.from({ length: n }, (_, i) =>
      bar(END - (n - 1 - i) * 2 * HOUR, 300n + BigInt(i), 100n, 200n + BigInt(i), 7n),
    ).map((b, i) => (i < 2 ? { ...b, high: 0n, low: 0n } : b));
    const inputs = windowDigestInputs({ ...SMALL_WINDOW, bars });
    expect(inputs).toHaveLength(5 + 2 * n + 2 * 12);
    expect(inputs.slice(5, 9)).toEqual([200n, 7n, 201n, 7n]);
    expect(inputs.slice(5 + 2 * n, 5 + 2 * n + 4)).toEqual([302n, 100n, 303n, 100n]);
  });

  it("matches the pinned vector", async () => {
    const digest = await windowDigest(SMALL_WINDOW);
    expect(digest).toBe(await poseidonSponge(windowDigestInputs(SMALL_WINDOW)));
    expect(digest).toBe(SMALL_WINDOW_DIGEST);
  });

  it("changes with every signed field of every present bar and with each missing bar", async () => {
    const base = await windowDigest(SMALL_WINDOW);
    const seen = new Set([base]);
    for (const i of [0, 2]) {
      for (const field of ["high", "low", "close", "volume"] as const) {
        // +1 on high keeps every OHLC rule; on the other fields, raise high too so the bar stays well formed.
        const bars = SMALL_WINDOW.bars.map((b, j) =>
          j === i ? { ...b, [field]: b[field] + 1n, high: b.high + 1n } : b,
        );
        const d = await windowDigest({ ...SMALL_WINDOW, bars });
        expect(seen.has(d), `bar ${i} ${field}`).toBe(false);
        seen.add(d);
      }
    }
    // The missing middle bar made present (every field set), and the first bar made missing.
    const present = bar(END - 2 * HOUR, 1n, 1n, 1n, 0n);
    const filled = await windowDigest({
      ...SMALL_WINDOW,
      bars: [SMALL_WINDOW.bars[0], present, SMALL_WINDOW.bars[2]],
    });
    const dropped = await windowDigest({
      ...SMALL_WINDOW,
      bars: [missingBar(END - 4 * HOUR), ...SMALL_WINDOW.bars.slice(1)],
    });
    for (const d of [filled, dropped]) {
      expect(seen.has(d)).toBe(false);
      seen.add(d);
    }
  });

  it("depends on the order of the bars", async () => {
    const [b0, b1, b2] = SMALL_WINDOW.bars;
    const swapped = [
      { ...b2, time: b0.time },
      { ...b1, time: b1.time },
      { ...b0, time: b2.time },
    ];
    expect(await windowDigest({ ...SMALL_WINDOW, bars: swapped })).not.toBe(await windowDigest(SMALL_WINDOW));
  });

  it("binds the market, the interval and the window's end", async () => {
    const base = await windowDigest(SMALL_WINDOW);
    const shift = (w: Window, intervalMs: number, endTime: number): Window => ({
      ...w,
      intervalMs,
      endTime,
      bars: w.bars.map((b, i) => ({ ...b, time: endTime - (w.bars.length - 1 - i) * intervalMs })),
    });
    const others = [
      { ...SMALL_WINDOW, marketId: SMALL_WINDOW.marketId + 1n },
      shift(SMALL_WINDOW, HOUR, END),
      shift(SMALL_WINDOW, 2 * HOUR, END + 2 * HOUR),
    ];
    const digests = await Promise.all(others.map(windowDigest));
    expect(new Set([base, ...digests]).size).toBe(4);
  });

  it("refuses a malformed window instead of hashing it", async () => {
    const bars = SMALL_WINDOW.bars.map((b, i) => (i === 1 ? { ...b, volume: 5n } : b));
    await expect(windowDigest({ ...SMALL_WINDOW, bars })).rejects.toThrow(
      "window digest: bars[1].volume: volume of a missing bar must be 0, got 5",
    );
  });
});
