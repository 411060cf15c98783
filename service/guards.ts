/**
 * The oracle's market guards, checked off chain before a proof is spent. `readMarketState` reads what the guards
 * depend on (pause flag, registered model, limits, last accepted update); `precheck` replays, in the contract's
 * order, the checks `RiskOracle` makes of one market's update (the pause, then `_checkUpdate`; a batch also checks
 * the model between them; contracts/RiskOracle.sol), so the refusal it names is the custom error the oracle would
 * revert with. A single update's model is bound by the market's statement key, which the oracle enforces only
 * through the proof check (`OracleInvalidProof`): precheck names another model as `OracleModelCommitmentMismatch`,
 * the batch path's error, before any proof is made.
 *
 * Out of scope: the checks that do not depend on the market's state (a single update's packing below 2^252, public
 * signals in the field, market id and domain of the proof, the proof itself), and a batch's publisher set
 * (`OracleBatchPublisherSetMismatch`), which the service compares with the market's registration when it starts
 * (markets.ts). Times are seconds since the Unix epoch, margins basis points.
 */
import type { Contract } from "ethers";
import { marketLabel } from "../candles/market-id";
import { OracleError, decodeRevert, type MarketLimits } from "../onchain/oracle";
import { isoFromSecondsCompact } from "../core/time";

/** The last accepted update of a market, as `RiskOracle.parameters` returns it. */
export interface LastUpdate {
  /** Maintenance margin (bps). */
  maintenanceMarginBps: number;
  /** Initial margin (bps). */
  initialMarginBps: number;
  /** Open time of the last bar that update used (s). */
  dataTimestamp: number;
  /** Block time the update was accepted (s). */
  updatedAt: number;
}

/** Everything the oracle's guards read of one market. */
export interface OracleMarketState {
  marketId: bigint;
  /** Whether the market's updates are paused. */
  paused: boolean;
  /** Commitment to the registered model; a proof must carry this one. */
  modelCommitment: bigint;
  /** The market's guards (bps and seconds). */
  limits: MarketLimits;
  /** The last accepted update; null before the first. */
  last: LastUpdate | null;
}

/**
 * An update about to be proved: what its proof will state (the model through a single update's statement key, as a
 * public signal of a batch).
 */
export interface Candidate {
  /** Commitment to the model that will compute the margins. */
  modelCommitment: bigint;
  /** Open time of the last bar used (s). */
  dataTimestamp: number;
  /** Maintenance margin (bps). */
  maintenanceMarginBps: number;
  /** Initial margin (bps). */
  initialMarginBps: number;
}

/** The custom errors of the oracle's market guards, in the order the contract checks them. */
export const GUARD_ERRORS = [
  "OracleMarketPaused",
  "OracleModelCommitmentMismatch",
  "OracleNotNewer",
  "OracleFutureData",
  "OracleStaleData",
  "OracleUpdateTooSoon",
  "OracleMarginOutOfBounds",
  "OracleInitialBelowMaintenance",
  "OracleMarginIncreaseTooLarge",
  "OracleMarginDecreaseTooLarge",
] as const;

/** The name of one of the oracle's guard errors. */
export type GuardError = (typeof GUARD_ERRORS)[number];

/** Why the oracle would refuse an update. */
export interface Refusal {
  /** The custom error the oracle would revert with, e.g. "OracleStaleData". */
  error: GuardError;
  /** A readable sentence with the values at fault and the limit. */
  reason: string;
}

/**
 * Read the state of a market that the oracle's guards depend on. The three reads (`marketConfig`, `isPaused`,
 * `parameters`) are pinned to one block, the provider's latest, so they describe one state of the chain.
 * (ethers providers answer identical requests made within their `cacheTimeout`, 250 ms by default, from a cache,
 * so that block may be that much older than the chain's head.)
 * @param oracle the RiskOracle, connected to a provider or a signer with one
 * @param marketId registered market
 * @throws OracleError with reason "OracleUnknownMarket" if no market is registered under `marketId`; an
 *         OracleError with the decoded reason for any other failed read
 */
export async function readMarketState(oracle: Contract, marketId: bigint): Promise<OracleMarketState> {
  const provider = oracle.runner?.provider;
  const overrides = provider ? { blockTag: await provider.getBlockNumber() } : {};
  const read = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      const e = decodeRevert(err, oracle.interface);
      if (e.reason === "OracleUnknownMarket") {
        throw new OracleError(
          e.reason,
          `market ${describeMarket(marketId)} is not registered on the oracle at ${await oracle.getAddress()}`,
        );
      }
      throw new OracleError(e.reason, `reading ${what} of market ${describeMarket(marketId)}: ${e.message}`);
    }
  };

  const [config, paused, last] = await Promise.all([
    read("marketConfig", () => oracle.marketConfig(marketId, overrides)),
    read("isPaused", () => oracle.isPaused(marketId, overrides)),
    read("parameters", async (): Promise<LastUpdate | null> => {
      try {
        const p = await oracle.parameters(marketId, overrides);
        return {
          maintenanceMarginBps: Number(p.maintenanceMarginBps),
          initialMarginBps: Number(p.initialMarginBps),
          dataTimestamp: Number(p.dataTimestamp),
          updatedAt: Number(p.updatedAt),
        };
      } catch (err) {
        if (decodeRevert(err, oracle.interface).reason === "OracleNoParameters") return null;
        throw err;
      }
    }),
  ]);

  const l = config.limits;
  return {
    marketId,
    paused: Boolean(paused),
    modelCommitment: BigInt(config.publishers.modelCommitment),
    limits: {
      minMaintenanceMarginBps: Number(l.minMaintenanceMarginBps),
      maxMaintenanceMarginBps: Number(l.maxMaintenanceMarginBps),
      minInitialMarginBps: Number(l.minInitialMarginBps),
      maxInitialMarginBps: Number(l.maxInitialMarginBps),
      maxIncreaseBps: Number(l.maxIncreaseBps),
      maxDecreaseBps: Number(l.maxDecreaseBps),
      minUpdateInterval: Number(l.minUpdateInterval),
      maxDataAge: Number(l.maxDataAge),
    },
    last,
  };
}

/**
 * Whether the oracle would refuse `c` for a market in `state`, checked as `RiskOracle` does and in its order: paused;
 * model commitment (see the file header); data newer than the last accepted, not in the future, not older than the
 * maximum data age; minimum interval since the last update (by block time, unless the data is that much newer);
 * margins within bounds; IM >= MM; then the change of MM and of IM from the last update (rise, then fall; none for
 * the first update).
 * @param state the market, e.g. from `readMarketState`
 * @param c the update's model commitment, data timestamp and margins
 * @param blockTime time of the block the update would be included in (s); for a static call, the latest block's
 * @returns the refusal with the oracle's error name and a readable reason, or undefined if every guard passes
 */
export function precheck(state: OracleMarketState, c: Candidate, blockTime: number): Refusal | undefined {
  const market = describeMarket(state.marketId);
  const { limits, last } = state;

  if (state.paused) {
    return refuse(
      "OracleMarketPaused",
      `market ${market} is paused: its guardian or governance must unpause it`,
    );
  }
  if (c.modelCommitment !== state.modelCommitment) {
    return refuse(
      "OracleModelCommitmentMismatch",
      `the update is computed by model ${c.modelCommitment}, but market ${market} is registered with model ` +
        `${state.modelCommitment}`,
    );
  }

  const timing = dataTimeRefusal(state, c.dataTimestamp, blockTime);
  if (timing) return timing;
  if (last !== null) {
    const earliest = last.updatedAt + limits.minUpdateInterval;
    const dataStep = c.dataTimestamp - last.dataTimestamp;
    if (blockTime < earliest && dataStep < limits.minUpdateInterval) {
      return refuse(
        "OracleUpdateTooSoon",
        `the last update was accepted at ${isoFromSecondsCompact(last.updatedAt)}, ${duration(blockTime - last.updatedAt)} before ` +
          `block time ${isoFromSecondsCompact(blockTime)}, and its data is only ${duration(dataStep)} older than this ` +
          `update's; the oracle needs ${duration(limits.minUpdateInterval)} between updates unless the data is at ` +
          `least that much newer, so not before ${isoFromSecondsCompact(earliest)}`,
      );
    }
  }

  const mm = c.maintenanceMarginBps;
  const im = c.initialMarginBps;
  const bounds = [
    ["maintenance", mm, limits.minMaintenanceMarginBps, limits.maxMaintenanceMarginBps],
    ["initial", im, limits.minInitialMarginBps, limits.maxInitialMarginBps],
  ] as const;
  for (const [name, value, min, max] of bounds) {
    if (value < min || value > max) {
      return refuse(
        "OracleMarginOutOfBounds",
        `${name} margin ${value} bps is outside the market's bounds [${min}, ${max}] bps`,
      );
    }
  }
  if (im < mm) {
    return refuse(
      "OracleInitialBelowMaintenance",
      `initial margin ${im} bps is below maintenance margin ${mm} bps`,
    );
  }

  if (last !== null) {
    // Each change is measured from the last margin taken inside the bounds in force, as the oracle does (bounds
    // moved past it by governance never freeze a market).
    const changes = [
      [
        "maintenance",
        last.maintenanceMarginBps,
        mm,
        limits.minMaintenanceMarginBps,
        limits.maxMaintenanceMarginBps,
      ],
      ["initial", last.initialMarginBps, im, limits.minInitialMarginBps, limits.maxInitialMarginBps],
    ] as const;
    for (const [name, accepted, next, min, max] of changes) {
      const previous = Math.min(Math.max(accepted, min), max);
      const from =
        previous === accepted
          ? `${previous}`
          : `${previous} (the last accepted ${accepted} bps, taken inside the bounds [${min}, ${max}])`;
      if (next - previous > limits.maxIncreaseBps) {
        return refuse(
          "OracleMarginIncreaseTooLarge",
          `${name} margin would rise from ${from} to ${next} bps (+${next - previous}); the oracle allows ` +
            `at most +${limits.maxIncreaseBps} bps per update`,
        );
      }
      if (previous - next > limits.maxDecreaseBps) {
        return refuse(
          "OracleMarginDecreaseTooLarge",
          `${name} margin would fall from ${from} to ${next} bps (-${previous - next}); the oracle allows ` +
            `at most -${limits.maxDecreaseBps} bps per update`,
        );
      }
    }
  }
  return undefined;
}

/**
 * Whether the oracle would refuse data of `dataTimestamp` (s) for a market in `state` for its time alone, whatever
 * the margins: not newer than the last accepted update's (`OracleNotNewer`), from the future (`OracleFutureData`), or
 * older than the maximum data age at `blockTime` (`OracleStaleData`); `precheck`'s checks of the data timestamp, in
 * the contract's order. A bar refused as not newer or stale is refused for good (a later block only ages it).
 */
export function dataTimeRefusal(
  state: OracleMarketState,
  dataTimestamp: number,
  blockTime: number,
): Refusal | undefined {
  const { limits, last } = state;
  const lastDataTimestamp = last?.dataTimestamp ?? 0;
  if (dataTimestamp <= lastDataTimestamp) {
    return refuse(
      "OracleNotNewer",
      last === null
        ? `data of ${isoFromSecondsCompact(dataTimestamp)} is not after the epoch; the oracle needs a positive data timestamp`
        : `data of ${isoFromSecondsCompact(dataTimestamp)} is not newer than the last accepted update's data of ` +
            `${isoFromSecondsCompact(last.dataTimestamp)}`,
    );
  }
  if (dataTimestamp > blockTime) {
    return refuse(
      "OracleFutureData",
      `data of ${isoFromSecondsCompact(dataTimestamp)} is ${duration(dataTimestamp - blockTime)} ahead of block time ` +
        `${isoFromSecondsCompact(blockTime)}; the oracle refuses data from the future`,
    );
  }
  const age = blockTime - dataTimestamp;
  if (age > limits.maxDataAge) {
    return refuse(
      "OracleStaleData",
      `data of ${isoFromSecondsCompact(dataTimestamp)} is ${duration(age)} old at block time ${isoFromSecondsCompact(blockTime)}; the oracle ` +
        `accepts at most ${duration(limits.maxDataAge)}`,
    );
  }
  return undefined;
}

function refuse(error: GuardError, reason: string): Refusal {
  return { error, reason };
}

/** A market for messages: its label and, when the label is not the number itself, its id. */
function describeMarket(marketId: bigint): string {
  const label = marketLabel(marketId);
  return label === marketId.toString() ? label : `${label} (id ${marketId})`;
}

/** A duration (s), exact and readable: "6 h", "7 h 12 min", "59 min 59 s", "0 s". */
function duration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["min", 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest} s`);
  return parts.join(" ");
}
