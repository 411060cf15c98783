/**
 * `zkrisk read`: what a protocol reads from the oracle, for its operators: each market's last accepted margins, data
 * time, age and status (fresh, stale, paused, no parameters, unknown market), in one `readings` call at one block,
 * and an adaptive market's calibration state. Read only: no key.
 */
import type { Contract } from "ethers";
import { UsageError } from "../../core/errors";
import { marketIdOf } from "../../candles/market-id";
import { readOnlyProvider } from "../../onchain/chain";
import { readAdaptiveState, readMarkets, type ReadingStatus } from "../../onchain/oracle";
import { output, parseIntOption, shortDate, table } from "../options";
import { addressOption, readOracleOption } from "../chain-options";

/** The options of `zkrisk read`, as commander gives them (cli/register/read.ts). */
export interface ReadFlags {
  oracle: string;
  /** Market labels or ids, repeatable. */
  market: string[];
  /** Largest data age (s) read as fresh. */
  maxAge: string;
  rpc: string;
  json?: boolean;
}

/** An adaptive market's calibration state as the oracle holds it. */
export interface AdaptiveReading {
  /** The state's num (calibrationNum * 2^8), decimal. */
  num: string;
  /** The calibration scale it stands for: num / 2^24. */
  scale: number;
  /** Outcomes processed since the state was set. */
  outcomes: number;
}

/** One market as `zkrisk read` reports it. */
export interface MarketReadingView {
  /** `--market` as given. */
  market: string;
  /** Market id, decimal. */
  marketId: string;
  /** Only "fresh" parameters are current; "stale" and "paused" ones are the last accepted values. */
  status: ReadingStatus;
  /** The last accepted margins (bps), data time and acceptance time; absent without parameters. */
  maintenanceMarginBps?: number;
  initialMarginBps?: number;
  /** Open time of the last bar the update used (ISO-8601 UTC). */
  dataTime?: string;
  /** Block time the update was accepted (ISO-8601 UTC). */
  updatedTime?: string;
  /** Block time of the read minus the data timestamp (s). */
  ageSeconds?: number;
  /** For an adaptive market: its calibration state. */
  adaptive?: AdaptiveReading;
}

/** What `zkrisk read` reports. */
export interface ReadResult {
  oracle: string;
  chainId: string;
  /** The block read at, and its time (ISO-8601 UTC). */
  block: number;
  blockTime: string;
  /** Data older than this (s) reads as stale. */
  maxAgeSeconds: number;
  markets: MarketReadingView[];
}

/** The adaptive state of a registered market, undefined for a plain one. */
async function adaptiveOf(
  oracle: Contract,
  marketId: bigint,
  blockTag: number,
): Promise<AdaptiveReading | undefined> {
  const { num, outcomes } = await readAdaptiveState(oracle, marketId, { blockTag });
  if (num === 0n) return undefined;
  return { num: num.toString(), scale: Number(num) / 2 ** 24, outcomes };
}

/**
 * Read the markets at the chain's latest block. The options are checked before the node is asked.
 * @throws UsageError for bad options, a repeated market, an unreachable node, or no contract or a contract that is
 *   not a RiskOracle at `--oracle` (exit 2)
 */
export async function runRead(f: ReadFlags): Promise<ReadResult> {
  addressOption("--oracle", f.oracle);
  const labels = f.market;
  const ids = labels.map((label) => marketIdOf(label));
  ids.forEach((id, i) => {
    const j = ids.indexOf(id);
    if (j === i) return;
    throw new UsageError(
      labels[j] === labels[i]
        ? `--market: ${labels[i]} is given twice`
        : `--market: ${labels[j]} and ${labels[i]} are one market (id ${id})`,
    );
  });
  const maxAge = parseIntOption("--max-age", f.maxAge, 0, Number.MAX_SAFE_INTEGER);
  const provider = await readOnlyProvider(f.rpc);
  try {
    const oracle = await readOracleOption(provider, f.rpc, f.oracle);
    const block = await provider.getBlock("latest");
    if (block === null) throw new UsageError(`--rpc: ${f.rpc} has no latest block`);
    const { chainId } = await provider.getNetwork();
    const readings = await readMarkets(oracle, ids, BigInt(maxAge), { blockTag: block.number });
    const markets: MarketReadingView[] = [];
    for (const [i, r] of readings.entries()) {
      const view: MarketReadingView = {
        market: labels[i],
        marketId: r.marketId.toString(),
        status: r.status,
      };
      if (r.updatedAt > 0n) {
        Object.assign(view, {
          maintenanceMarginBps: r.maintenanceMarginBps,
          initialMarginBps: r.initialMarginBps,
          dataTime: new Date(Number(r.dataTimestamp) * 1000).toISOString(),
          updatedTime: new Date(Number(r.updatedAt) * 1000).toISOString(),
          ageSeconds: block.timestamp - Number(r.dataTimestamp),
        });
      }
      if (r.status !== "unknown market") {
        const adaptive = await adaptiveOf(oracle, r.marketId, block.number);
        if (adaptive !== undefined) view.adaptive = adaptive;
      }
      markets.push(view);
    }
    return {
      oracle: f.oracle,
      chainId: chainId.toString(),
      block: block.number,
      blockTime: new Date(block.timestamp * 1000).toISOString(),
      maxAgeSeconds: maxAge,
      markets,
    };
  } finally {
    provider.destroy();
  }
}

/** An age in seconds as "2h 01m" (or "45 s" under a minute). */
function age(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** An ISO-8601 time as "2024-07-01 00:01:19". */
const secondsDate = (iso: string): string => iso.replace("T", " ").replace(/\.\d+Z$/, "");

/** The text output of `zkrisk read`. */
export function formatRead(r: ReadResult): string {
  const rows = [["market", "status", "MM bps", "IM bps", "data (bar open)", "age", "accepted", "adaptive"]];
  for (const m of r.markets) {
    rows.push([
      m.market,
      m.status,
      m.maintenanceMarginBps?.toString() ?? "-",
      m.initialMarginBps?.toString() ?? "-",
      m.dataTime === undefined ? "-" : shortDate(Date.parse(m.dataTime)),
      m.ageSeconds === undefined ? "-" : age(m.ageSeconds),
      m.updatedTime === undefined ? "-" : secondsDate(m.updatedTime),
      m.adaptive === undefined
        ? "-"
        : `scale ${m.adaptive.scale.toFixed(4)}, ${m.adaptive.outcomes} outcomes`,
    ]);
  }
  return (
    `oracle ${r.oracle} on chain ${r.chainId}, block ${r.block} (${secondsDate(r.blockTime)} UTC); ` +
    `fresh: data at most ${r.maxAgeSeconds} s old, market not paused\n` +
    table(rows) +
    "\n"
  );
}

/** `zkrisk read`: read the markets, then print them. */
export async function readAction(f: ReadFlags): Promise<void> {
  output(await runRead(f), f.json, formatRead);
}
