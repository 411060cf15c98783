/** A small fixed window shared by the candle and publisher suites. */
import type { Window, WindowBar } from "../../candles";

export const HOUR = 3_600_000;
export const END = Date.UTC(2024, 0, 1, 4);

/** A present window bar (in the range part, so with its high and low). */
export const bar = (time: number, h: bigint, l: bigint, c: bigint, v: bigint): WindowBar => ({
  time,
  missing: false,
  high: h,
  low: l,
  close: c,
  volume: v,
});

/** A missing window bar: every field 0. */
export const missingBar = (time: number): WindowBar => ({
  time,
  missing: true,
  high: 0n,
  low: 0n,
  close: 0n,
  volume: 0n,
});

/** Three 2 h bars ending 2024-01-01 04:00 UTC, the middle one missing. */
export const SMALL_WINDOW: Window = {
  marketId: 0x4254432d55534454n, // "BTC-USDT"
  intervalMs: 2 * HOUR,
  endTime: END,
  bars: [
    bar(END - 4 * HOUR, 4328_69000000n, 4261_32000000n, 4315_32000000n, 70_41592500n),
    missingBar(END - 2 * HOUR),
    bar(END, 4349_99000000n, 4287_41000000n, 4349_99000000n, 11_67294000n),
  ],
};
