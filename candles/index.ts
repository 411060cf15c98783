/** Integer candles and windows: the data a publisher signs. */
export * from "./integer-candle";
export * from "./window";
