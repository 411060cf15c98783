/** The guards a market is registered with on the oracle, and their defaults (no heavy imports: the CLI reads them for `--help`). */
/** Guards of a market, as `IRiskOracle.MarketLimits` (bps and seconds). */
export interface MarketLimits {
  minMaintenanceMarginBps: number;
  maxMaintenanceMarginBps: number;
  minInitialMarginBps: number;
  maxInitialMarginBps: number;
  maxIncreaseBps: number;
  maxDecreaseBps: number;
  minUpdateInterval: number;
  maxDataAge: number;
}

/** The policy's clamps as bounds, any change allowed, one update per hour, data at most 6 h old. */
export const DEFAULT_LIMITS: MarketLimits = {
  minMaintenanceMarginBps: 50,
  maxMaintenanceMarginBps: 5000,
  minInitialMarginBps: 100,
  maxInitialMarginBps: 10000,
  maxIncreaseBps: 10000,
  maxDecreaseBps: 10000,
  minUpdateInterval: 3600,
  maxDataAge: 6 * 3600,
};
