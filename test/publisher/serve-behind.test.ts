/**
 * `zkrisk publisher serve` behind the clock: a source that goes on answering with old bars makes /health
 * `degraded` (naming the market and how far behind it is) once BEHIND_BARS bars have closed without a window,
 * logged once at warn level; the last-signed gauges the `ZkriskPublisherBehind` alert reads have their samples from
 * the archive at start, before anything is signed. Real candles, real files, a real publisher on 127.0.0.1.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BEHIND_BARS,
  parsePublisherConfig,
  startPublisher,
  type RunningPublisher,
} from "../../publisher/serve";
import {
  barTime,
  csvText,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeTestKeystore,
} from "../helpers/publisher-serve";

const BTC = "BTC-USDT";
const ETH = "ETH-USDT";
let dir: string;
const running: RunningPublisher[] = [];

beforeAll(async () => {
  dir = tempDir("publisher-behind");
  await writeTestKeystore(join(dir, "k.key.json"), 9);
  for (const market of [BTC, ETH]) writeFileSync(join(dir, `${market}.csv`), csvText(0, 200));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

/** Starts a publisher over BTC and ETH (CSV sources in `dir`) and their batch, with the clock `now`. */
async function start(now: () => number) {
  const cfg = parsePublisherConfig(
    {
      key: "k.key.json",
      archive: "archive",
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", port: 0 },
      markets: [BTC, ETH].map((market) => ({
        market,
        intervalMs: TWO_HOURS,
        source: { csv: `${market}.csv` },
      })),
      batches: [{ batch: "majors", markets: [BTC, ETH] }],
    },
    "publisher.json",
    dir,
  );
  const { log, lines } = memoryLog();
  const publisher = await startPublisher(cfg, log, { env: PASSWORD_ENV, now });
  running.push(publisher);
  await publisher.poll();
  return { publisher, lines };
}

/** The /health document of `publisher`. */
async function health(publisher: RunningPublisher) {
  return (await (await fetch(`${publisher.url}/health`)).json()) as {
    status: string;
    markets: { market: string; lastError: string | null }[];
  };
}

/** The sample lines of the metric `name`. */
async function samples(publisher: RunningPublisher, name: string): Promise<string[]> {
  const text = await publisher.metrics.registry.getSingleMetricAsString(name);
  return text.split("\n").filter((l) => l.startsWith(`${name}{`));
}

/** The log lines with message `msg`, parsed. */
function logged(lines: string[], msg: string): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
}

describe("publisher serve: a market behind the clock", () => {
  it("is degraded in /health and logged once when its source answers with old bars, across a restart, until it catches up", async () => {
    expect(BEHIND_BARS).toBe(3);
    let now = barTime(199) + TWO_HOURS + 60_000;
    const first = await start(() => now);
    expect((await health(first.publisher)).status).toBe("ok");

    // The sources go on answering bars up to 199: two bars close, then a third.
    now += 2 * TWO_HOURS;
    await first.publisher.poll();
    expect((await health(first.publisher)).status).toBe("ok");
    now += TWO_HOURS;
    await first.publisher.poll();
    await first.publisher.poll();
    const behind = await health(first.publisher);
    const iso = (i: number) => new Date(barTime(i)).toISOString();
    expect(behind.status).toBe("degraded");
    // Before, /health stayed "ok" and nothing was logged.
    expect(behind.markets[0].lastError).toBe(
      `${BTC} is 3 bars behind: the newest signed window ends at the bar opening ${iso(199)} (closed 6.0 h ago), ` +
        `but by the clock bars up to the one opening ${iso(202)} have closed; the source gives no newer usable ` +
        "bars, or their windows are held",
    );
    expect(behind.markets[1].lastError).toMatch(new RegExp(`^${ETH} is 3 bars behind`));
    expect(logged(first.lines, "signing is behind the clock")).toMatchObject([
      { level: 40, market: BTC, bars: 3, bar: iso(199), newestClosed: iso(202) },
      { level: 40, market: ETH, bars: 3 },
    ]);
    await first.publisher.stop();

    // A restart signs nothing: the gauges have their samples from the archive all the same.
    now += TWO_HOURS;
    const second = await start(() => now);
    expect(await samples(second.publisher, "zkrisk_publisher_last_signed_bar_seconds")).toEqual([
      `zkrisk_publisher_last_signed_bar_seconds{market="${BTC}"} ${barTime(199) / 1000}`,
      `zkrisk_publisher_last_signed_bar_seconds{market="${ETH}"} ${barTime(199) / 1000}`,
    ]);
    expect(await samples(second.publisher, "zkrisk_publisher_last_signed_batch_bar_seconds")).toEqual([
      `zkrisk_publisher_last_signed_batch_bar_seconds{batch="majors"} ${barTime(199) / 1000}`,
    ]);
    expect((await health(second.publisher)).markets[0].lastError).toMatch(
      new RegExp(`^${BTC} is 4 bars behind`),
    );

    // The sources catch up: the windows are signed, the market is no longer behind, and that is logged.
    for (const market of [BTC, ETH]) writeFileSync(join(dir, `${market}.csv`), csvText(0, 204));
    expect((await second.publisher.poll()).signed).toHaveLength(8);
    expect(await health(second.publisher)).toMatchObject({ status: "ok" });
    expect(logged(second.lines, "signing caught up with the clock")).toHaveLength(2);
  });
});
