/** One OHLCV bar. `time` is the bar's open time in milliseconds since the Unix epoch (UTC). */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** A missing stretch of bars between two consecutive candles of a series. */
export interface Gap {
  /** Index of the last candle before the gap. */
  afterIndex: number;
  /** Open time (ms) of the candle before the gap. */
  from: number;
  /** Open time (ms) of the first candle after the gap. */
  to: number;
  /** Number of bars missing between them (>= 1). */
  missingBars: number;
}

/** A validated candle file: strictly increasing, aligned to one bar interval, gaps listed explicitly. */
export interface CandleSeries {
  /** Path (or label) the candles were read from, for messages. */
  source: string;
  candles: Candle[];
  /** Bar interval in milliseconds (the smallest spacing between consecutive candles). */
  intervalMs: number;
  gaps: Gap[];
}
