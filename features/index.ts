/** The feature stage: the eight integer features of one signed candle window, as the circuit computes them. */
export * from "./window-features";
