/**
 * The guards a market is registered with on the oracle, their defaults, and the oracle's check of them run before
 * sending (no heavy imports: the CLI reads them for `--help`).
 */
import { UsageError } from "../core/errors";

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

/** What each guard is called in {@link checkLimits}' messages: its field, or the option that set it. */
export type LimitNames = Record<keyof MarketLimits, string>;

/** The guards' names as the library takes them: their fields. */
export const LIMIT_FIELDS: LimitNames = {
  minMaintenanceMarginBps: "minMaintenanceMarginBps",
  maxMaintenanceMarginBps: "maxMaintenanceMarginBps",
  minInitialMarginBps: "minInitialMarginBps",
  maxInitialMarginBps: "maxInitialMarginBps",
  maxIncreaseBps: "maxIncreaseBps",
  maxDecreaseBps: "maxDecreaseBps",
  minUpdateInterval: "minUpdateInterval",
  maxDataAge: "maxDataAge",
};

/** Margins are in basis points of notional; 10000 is 100 % (`RiskOracle.BPS`). */
const BPS = 10_000;

/**
 * Refuse guards the oracle would refuse (`RiskOracle._checkLimits`), before anything is sent: each field an integer
 * of its Solidity type (uint16 bps, uint32 seconds); each margin's bounds min <= max <= 10000 bps
 * (`OracleInvalidBounds`); the highest initial margin at least the lowest maintenance margin
 * (`OracleInitialBoundBelowMaintenance`: every update needs IM >= MM, so below it no update could pass); a maximum
 * data age above 0 s (`OracleInvalidMaxDataAge`).
 * @param limits the guards (bps and seconds)
 * @param names what to call each guard in the message: the fields (default) or, in the CLI, the options
 * @throws UsageError naming the guards at fault and their values
 */
export function checkLimits(limits: MarketLimits, names: LimitNames = LIMIT_FIELDS): void {
  for (const key of Object.keys(LIMIT_FIELDS) as (keyof MarketLimits)[]) {
    const v = limits[key];
    const max = key === "minUpdateInterval" || key === "maxDataAge" ? 2 ** 32 - 1 : 2 ** 16 - 1;
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new UsageError(`${names[key]}: ${v} is not an integer in [0, ${max}]`);
    }
  }
  for (const [min, max] of [
    ["minMaintenanceMarginBps", "maxMaintenanceMarginBps"],
    ["minInitialMarginBps", "maxInitialMarginBps"],
  ] as const) {
    if (limits[max] > BPS) {
      throw new UsageError(`${names[max]}: ${limits[max]} bps is above ${BPS} (100 % of notional)`);
    }
    if (limits[min] > limits[max]) {
      throw new UsageError(
        `${names[min]} ${limits[min]} is above ${names[max]} ${limits[max]}: no margin lies within the bounds`,
      );
    }
  }
  const { minMaintenanceMarginBps: minMm, maxInitialMarginBps: maxIm } = limits;
  if (maxIm < minMm) {
    throw new UsageError(
      `${names.maxInitialMarginBps} ${maxIm} is below ${names.minMaintenanceMarginBps} ${minMm}: every update ` +
        "needs an initial margin at least its maintenance margin, so none could pass these bounds",
    );
  }
  if (limits.maxDataAge === 0) {
    throw new UsageError(`${names.maxDataAge}: 0 s would refuse every update`);
  }
}
