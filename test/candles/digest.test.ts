/**
 * The window digest: the documented layout (version 3) and a vector computed here from that layout alone, with
 * circomlibjs's Poseidon (not crypto/), and sensitivity to every field, the order and the header.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  WINDOW_DIGEST_TAG,
  WINDOW_RANGE_BARS,
  windowDigest,
  windowDigestInputs,
  type Window,
  type WindowBar,
} from "../../candles";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import { bar, END, HOUR, missingBar, SMALL_WINDOW } from "../helpers/windows";

type CircomlibjsPoseidon = ((inputs: bigint[]) => unknown) & { F: { toObject(x: unknown): bigint } };
const { buildPoseidon } = createRequire(__filename)("circomlibjs") as {
  buildPoseidon(): Promise<CircomlibjsPoseidon>;
};

/** The tag, from its documented text: the ASCII bytes of "zkrisk.window.v3", big-endian, as one integer. */
const TAG_V3 = BigInt("0x" + Buffer.from("zkrisk.window.v3", "ascii").toString("hex"));

/**
 * The layout of candles/digest.ts, version 3, written out again: header, (close, volume) of every bar, then
 * (high, low) of the last min(N, 24) bars.
 */
function layoutV3(w: Window): bigint[] {
  const n = w.bars.length;
  const r = Math.min(n, 24);
  return [
    TAG_V3,
    w.marketId,
    BigInt(w.intervalMs),
    BigInt(w.endTime),
    BigInt(n),
    ...w.bars.flatMap((b) => [b.close, b.volume]),
    ...w.bars.slice(n - r).flatMap((b) => [b.high, b.low]),
  ];
}

/** The documented sponge with circomlibjs's Poseidon: h = L; per chunk c of up to 15: h = Poseidon([h, ...c]). */
async function spongeV3(values: readonly bigint[]): Promise<bigint> {
  const hash = await buildPoseidon();
  let h = BigInt(values.length);
  for (let i = 0; i < values.length; i += 15) {
    h = hash.F.toObject(hash([h, ...values.slice(i, i + 15)]));
  }
  return h;
}

/**
 * A window of 30 bars ending at END: bar 3 missing (before the range part, bars 6..29), bar 10 missing inside it;
 * the other closes and volumes vary with i, highs and lows in the range part only.
 */
const N30 = 30;
const WINDOW_30: Window = {
  marketId: 0x4254432d55534454n,
  intervalMs: 2 * HOUR,
  endTime: END,
  bars: Array.from({ length: N30 }, (_, i): WindowBar => {
    const time = END - (N30 - 1 - i) * 2 * HOUR;
    if (i === 3 || i === 10) return missingBar(time);
    const close = 42_000_00000000n + BigInt(i) * 1_234_567n;
    const ranged = i >= N30 - 24;
    return {
      time,
      missing: false,
      close,
      volume: BigInt(i) * 1_000_003n,
      high: ranged ? close + BigInt(i) * 11n : 0n,
      low: ranged ? close - BigInt(i) * 7n : 0n,
    };
  }),
};

/**
 * Computed once with `spongeV3(layoutV3(w))` above (circomlibjs, not this project's Poseidon or sponge) and
 * written here: a change of the layout, the tag or the sponge breaks them.
 */
const SMALL_WINDOW_DIGEST = 2223950699732392687255866848429661399418015332781813886408635754199661689698n;
const WINDOW_30_DIGEST = 17783036410582327407330560478415427568879969805518950817501525364201066489579n;

describe("window digest", () => {
  it("absorbs the documented layout: tag, market, interval, end, N, (close, volume) per bar, then (high, low) of the range part", () => {
    expect(WINDOW_DIGEST_TAG).toBe(TAG_V3);
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

  it("absorbs high and low of the last 24 bars only (the range part, WINDOW_RANGE_BARS)", () => {
    expect(WINDOW_RANGE_BARS).toBe(24);
    const n = 26;
    const bars = Array.from({ length: n }, (_, i) =>
      bar(END - (n - 1 - i) * 2 * HOUR, 300n + BigInt(i), 100n, 200n + BigInt(i), 7n),
    ).map((b, i) => (i < 2 ? { ...b, high: 0n, low: 0n } : b));
    const inputs = windowDigestInputs({ ...SMALL_WINDOW, bars });
    expect(inputs).toHaveLength(5 + 2 * n + 2 * 24);
    expect(inputs.slice(5, 9)).toEqual([200n, 7n, 201n, 7n]);
    expect(inputs.slice(5 + 2 * n, 5 + 2 * n + 4)).toEqual([302n, 100n, 303n, 100n]);
    expect(inputs.slice(-2)).toEqual([325n, 100n]);
    // the bars before the range part carry high = low = 0, and a window may not sign them
    expect(() =>
      windowDigestInputs({
        ...SMALL_WINDOW,
        bars: bars.map((b, i) => (i === 1 ? { ...b, high: 301n, low: 100n } : b)),
      }),
    ).toThrow("window digest: bars[1].high: high of a bar before the range part must be 0, got 301");
  });

  it("matches the vectors computed from the documented layout (v3) with circomlibjs's Poseidon", async () => {
    for (const [w, pinned, length] of [
      [SMALL_WINDOW, SMALL_WINDOW_DIGEST, 5 + 2 * 3 + 2 * 3],
      [WINDOW_30, WINDOW_30_DIGEST, 5 + 2 * 30 + 2 * 24],
    ] as const) {
      const layout = layoutV3(w);
      expect(layout).toHaveLength(length);
      expect(windowDigestInputs(w)).toEqual(layout);
      const independent = await spongeV3(layout);
      expect(independent).toBe(pinned);
      expect(await windowDigest(w)).toBe(independent);
      expect(await poseidonSponge(windowDigestInputs(w))).toBe(independent);
    }
  });

  it("the feature window's 223 elements: 85 bars, highs and lows of 24", () => {
    const n = 85;
    const bars = Array.from({ length: n }, (_, i) => {
      const b = bar(END - (n - 1 - i) * 2 * HOUR, 300n, 100n, 200n, 7n);
      return i < n - 24 ? { ...b, high: 0n, low: 0n } : b;
    });
    expect(windowDigestInputs({ ...SMALL_WINDOW, bars })).toHaveLength(223);
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
