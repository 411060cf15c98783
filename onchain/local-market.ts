/**
 * A local market for the prover service, as its tests and its benchmark run it: an oracle with the BTC-USDT
 * market registered on a given node with a publisher set (signed updates only; no minimum interval, data up
 * to 30 days old, so the shipped 2024 candles are fresh to a `hardhat node` that starts on 2024-06-01), a
 * candle file cut from the shipped data that grows bar by bar, as a publisher's feed would, and the chain's
 * clock moved to a bar's close.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../core/package-root";
import { modelCommitment } from "../circuits/commitments";
import { loadQuantizedModel } from "../models/quantized-model";
import { marketIdOf } from "../candles/market-id";
import { rpcChain } from "./chain";
import { DEFAULT_LIMITS, deployOracle, deployVerifier, registerMarket } from "./oracle";
import { publisherSetCommitment, type PublisherSet } from "../publisher/publisher-set";
import { DEV_KEYS } from "./hardhat-node";

const ROOT = PACKAGE_ROOT;
const SHIPPED_MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
/** The shipped candle file of a market (`btcusdt`, `ethusdt`, ...: models/data), as lines. */
const linesOf = (name: string) =>
  readFileSync(join(ROOT, `models/data/${name}-2h.csv`), "utf8")
    .trimEnd()
    .split("\n");

/** The market served. */
export const MARKET = "BTC-USDT";

/**
 * The newest bar of a feed that starts with a `hardhat node` (whose clock starts on 2024-06-01 00:00 UTC): the
 * latest bar closed by the chain's clock, which the service schedules first.
 */
export const FEED_START = "2024-05-31 22:00:00";

/**
 * Deploy the verifier of a signed-update artifact directory and an oracle on `rpc`, register the market (no
 * minimum interval, data up to 30 days old) and its publisher set `set` (one `registerMarket`).
 */
export async function deployMarket(
  rpc: string,
  artifacts: string,
  set: PublisherSet,
  model = SHIPPED_MODEL,
): Promise<{ oracle: string; chainId: bigint }> {
  const chain = await rpcChain(rpc, DEV_KEYS[0]);
  try {
    const me = await chain.signer.getAddress();
    const verifier = await deployVerifier(chain.signer, artifacts);
    const oracle = await deployOracle(chain.signer, me);
    const commitment = await modelCommitment(loadQuantizedModel(model));
    await registerMarket(oracle, marketIdOf(MARKET), {
      publishers: {
        verifier: await verifier.getAddress(),
        modelCommitment: commitment,
        publisherSet: await publisherSetCommitment(set),
        quorum: set.quorum,
      },
      guardian: me,
      limits: { ...DEFAULT_LIMITS, minUpdateInterval: 0, maxDataAge: 30 * 86_400 },
    });
    return { oracle: await oracle.getAddress(), chainId: chain.chainId };
  } finally {
    await chain.close();
  }
}

/**
 * Mine a block at the close of the bar opening at `barOpen` (s) plus `afterSeconds`, so that the chain's
 * clock (which the service schedules by) sees that bar closed. The chain's clock must not be past it yet.
 */
export async function closeBar(
  provider: { send(method: string, params: unknown[]): Promise<unknown> },
  barOpen: number,
  afterSeconds = 1,
): Promise<void> {
  await provider.send("evm_mine", [barOpen + BAR_SECONDS + afterSeconds]);
}

/** Seconds per bar of the shipped data (2 h). */
export const BAR_SECONDS = 7_200;

/** A candle file fed bar by bar from the shipped data. */
export class CandleFeed {
  private next: number;
  private readonly lines: string[];

  /**
   * Start `path` with the shipped bars up to and including `last` ("YYYY-MM-DD HH:MM:SS") of the market's
   * shipped file (`data`: default `btcusdt`, BTC-USDT's).
   */
  constructor(
    readonly path: string,
    last: string,
    data = "btcusdt",
  ) {
    const lines = (this.lines = linesOf(data));
    const i = lines.findIndex((l) => l.startsWith(`${last},`));
    if (i < 0) throw new Error(`no bar ${last} in the shipped data`);
    writeFileSync(path, lines.slice(0, i + 1).join("\n") + "\n");
    this.next = i + 1;
  }

  /** Open time (s) of the last bar written. */
  get lastTimestamp(): number {
    return Date.parse(this.lines[this.next - 1].split(",")[0].replace(" ", "T") + "Z") / 1000;
  }

  /** Append the next shipped bar; returns its open time (s). */
  append(): number {
    appendFileSync(this.path, this.lines[this.next++] + "\n");
    return this.lastTimestamp;
  }
}
