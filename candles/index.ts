/**
 * Integer candles, windows, their digest and the batch digest: the data a publisher signs (digest.ts and
 * batch-digest.ts give the layouts).
 */
export * from "./integer-candle";
export * from "./window";
export * from "./digest";
export * from "./batch-digest";
export * from "./types";
export * from "./market-id";
export * from "./load-data";
