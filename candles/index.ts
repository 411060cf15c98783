/** Integer candles, windows and their digest: the data a publisher signs (see digest.ts for the layout). */
export * from "./integer-candle";
export * from "./window";
export * from "./digest";
