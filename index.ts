/**
 * zkrisk as a library. The root entry holds the data path up to the proof's input: integer candles and signed
 * windows, publishers' keys and signatures, and the features. Heavier stages have their own entries, loaded
 * only when imported: `zkrisk/models` (training, quantisation, the integer engine, backtests; loads
 * TensorFlow.js), `zkrisk/circuits`, `zkrisk/prover`, `zkrisk/onchain` and `zkrisk/service`.
 */
export * from "./core";
export * from "./candles";
export * from "./publisher";
export * from "./features";
