/** Candle feeds: the sources a long-running process reads closed bars from, and their config. */
export * from "./sources";
export * from "./binance-klines";
export * from "./source-config";
