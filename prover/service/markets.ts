/**
 * The markets a service proves for, loaded from its config: each market's model (checked against its
 * artifacts' manifest now, not mid-proof), model commitment, shared candle source, and the newest bar
 * already scheduled (the later of the oracle's last accepted update and the store's newest job).
 */
import type { Contract } from "ethers";
import type { Logger } from "pino";
import { ModelError, ZkriskError } from "../../models/errors";
import { checkWindowModel } from "../../models/predict";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../models/types";
import { modelCommitment } from "../../circuits/commitments";
import { loadArtifacts } from "../artifacts";
import { candleSourceOf, sharedSource, type CandleSource } from "../../feeds";
import type { ServiceConfig } from "./config";
import { readMarketState } from "./guards";
import type { JobStore } from "./jobs";
import type { ServiceMetrics } from "./metrics";
import { isoFromSeconds } from "../../core/time";

/** A market the service proves for, with its model and data loaded. */
export interface MarketRuntime {
  id: string;
  marketId: bigint;
  modelPath: string;
  artifactsDir: string;
  model: QuantizedModel;
  modelCommitment: bigint;
  source: CandleSource;
  /** Newest bar scheduled so far (seconds); bars at or before it are not scheduled again. */
  lastScheduled: number;
  /** Newest bar for which the source was reported late (one warning per bar). */
  lateReported?: number;
}

/** How long one read of a candle source serves the API and the scheduler, ms. */
export const SOURCE_MAX_AGE_MS = 1_000;

/** Index of the candle opening at `timeMs`, or -1. */
export function barIndexOf(series: CandleSeries, timeMs: number): number {
  let lo = 0;
  let hi = series.candles.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = series.candles[mid].time;
    if (t === timeMs) return mid;
    if (t < timeMs) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Load every market of `cfg`, in config order.
 * @throws ZkriskError CONFIG_INVALID for a model that does not read the window features; the artifacts' errors for
 *   artifacts that do not match their manifest.
 */
export async function loadMarkets(
  cfg: ServiceConfig,
  oracle: Contract,
  store: JobStore,
  metrics: ServiceMetrics,
  log: Logger,
): Promise<Map<string, MarketRuntime>> {
  const markets = new Map<string, MarketRuntime>();
  for (const m of cfg.markets) {
    const model = loadQuantizedModel(m.model);
    try {
      checkWindowModel(model, m.model);
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
      throw new ZkriskError("CONFIG_INVALID", `markets: ${m.id}: ${err.message}`);
    }
    loadArtifacts(m.artifacts, { modelPath: m.model }); // every file against its manifest, now, not mid-proof
    const runtime: MarketRuntime = {
      id: m.id,
      marketId: m.marketId,
      modelPath: m.model,
      artifactsDir: m.artifacts,
      model,
      modelCommitment: await modelCommitment(model),
      source: sharedSource(candleSourceOf(m.candles), SOURCE_MAX_AGE_MS),
      lastScheduled: 0,
    };
    const state = await readMarketState(oracle, runtime.marketId);
    if (state.modelCommitment !== runtime.modelCommitment) {
      log.warn(
        {
          market: m.id,
          registered: state.modelCommitment.toString(),
          ours: runtime.modelCommitment.toString(),
        },
        "the oracle expects another model for this market: its updates will be skipped",
      );
    }
    const onChain = state.last?.dataTimestamp ?? 0;
    if (onChain) metrics.lastAccepted.set({ market: m.id }, onChain);
    runtime.lastScheduled = Math.max(onChain, await store.maxDataTimestamp(m.id));
    markets.set(m.id, runtime);
    log.info(
      {
        market: m.id,
        lastOnChain: onChain ? isoFromSeconds(onChain) : null,
        lastScheduled: isoFromSeconds(runtime.lastScheduled),
      },
      "market loaded",
    );
  }
  return markets;
}
