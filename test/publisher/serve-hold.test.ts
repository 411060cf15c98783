/**
 * `zkrisk publisher serve`, never a second value for a signed bar: when the source changes a bar an archived
 * window signed, every later window holding that bar is held (not signed), at each poll logged at error level,
 * counted, shown by /health and the metrics, across a restart too; the hold ends when the source gives the
 * signed value again, or when the bar has left the window; a batch of a held market is held with it. After every
 * step, no two archived documents (windows and batches) sign different values for one bar. Real candles, real
 * files, real keys, a real publisher on 127.0.0.1.
 */
import { appendFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PRICE_DECIMALS, toFixedPoint, windowBarFields, WINDOW_RANGE_BARS, type Window } from "../../candles";
import { readSignedBatch, readSignedWindow } from "../../publisher";
import {
  parsePublisherConfig,
  startPublisher,
  signedBarConflict,
  type RunningPublisher,
} from "../../publisher/serve";
import {
  BARS,
  barTime,
  csvClock,
  csvText,
  HEADER,
  memoryLog,
  PASSWORD_ENV,
  tempDir,
  TWO_HOURS,
  writeTestKeystore,
} from "../helpers/publisher-serve";

const BTC = "BTC-USDT";
const ETH = "ETH-USDT";
/**
 * Bars per window here: short windows sign fast; the range part (high, low) is the last min(N, 24) bars, so every
 * bar here (the conflicts between range parts of different lengths are signedBarConflict's test below).
 */
const N = 20;

let dir: string;
const running: RunningPublisher[] = [];

beforeAll(async () => {
  dir = tempDir("publisher-hold");
  await writeTestKeystore(join(dir, "k.key.json"), 7);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

let count = 0;
/** A fresh directory for one publisher's files. */
const fresh = () => tempDir(`publisher-hold-${++count}`);

/**
 * Starts a publisher over `markets` (CSV `<market>.csv` in `work`), polling only when asked, with the clock `now`
 * (default: one minute past the close of the first market's newest bar, `csvClock`).
 */
async function start(work: string, markets: string[], batches: unknown[] = [], now?: () => number) {
  const cfg = parsePublisherConfig(
    {
      key: join(dir, "k.key.json"),
      archive: "archive",
      pollSeconds: 3600,
      listen: { host: "127.0.0.1", port: 0 },
      markets: markets.map((market) => ({
        market,
        intervalMs: TWO_HOURS,
        source: { csv: `${market}.csv` },
        backfillBars: 3,
      })),
      batches,
    },
    "publisher.json",
    work,
  );
  const { log, lines } = memoryLog();
  const clock = now ?? csvClock(join(work, `${markets[0]}.csv`));
  const publisher = await startPublisher(cfg, log, { env: PASSWORD_ENV, bars: N, now: clock });
  running.push(publisher);
  // The first poll runs at start; this one queues behind it.
  await publisher.poll();
  return { publisher, lines };
}

/** CSV text of bars 0 to `to` (exclusive) without the bars in `left`. */
function csvWithout(to: number, ...left: number[]): string {
  return [HEADER, ...BARS.slice(0, to).filter((_, i) => !left.includes(i))].join("\n") + "\n";
}

/** The CSV line of bar `i` with its close set to its low (a value the bar can have: low <= close). */
function closeAtLow(i: number): string {
  const cells = BARS[i].split(",");
  expect(cells[3]).not.toBe(cells[4]);
  cells[4] = cells[3];
  return cells.join(",");
}

/** CSV text of bars 0 to `to` (exclusive) with bar `changed` replaced by `closeAtLow(changed)`. */
function csvChanged(to: number, changed: number): string {
  return (
    [HEADER, ...BARS.slice(0, to).map((line, i) => (i === changed ? closeAtLow(i) : line))].join("\n") + "\n"
  );
}

/** The end times (ms) archived in `directory` of `work`'s archive, ascending. */
function archivedTimes(work: string, directory: string): number[] {
  return readdirSync(join(work, "archive", directory))
    .map((f) => Number(f.replace(/\.json$/, "")))
    .sort((a, b) => a - b);
}

/**
 * Every value two archived documents of `work` (the windows of `markets` and the batches in `batches`) sign
 * differently for one bar of one market, as `market bar field: a vs b`: what an auditor comparing them would
 * call equivocation. Empty when there is none.
 */
async function equivocations(work: string, markets: string[], batches: string[] = []): Promise<string[]> {
  const windows: { market: string; window: Window }[] = [];
  for (const market of markets) {
    for (const t of archivedTimes(work, market)) {
      windows.push(await readSignedWindow(join(work, "archive", market, `${t}.json`)));
    }
  }
  for (const batch of batches) {
    for (const t of archivedTimes(work, join("_batches", batch))) {
      windows.push(...(await readSignedBatch(join(work, "archive", "_batches", batch, `${t}.json`))).markets);
    }
  }
  const signed = new Map<string, string>();
  const found: string[] = [];
  for (const { market, window } of windows) {
    window.bars.forEach((bar, i) => {
      for (const field of ["missing", ...windowBarFields(window.bars.length, i)] as const) {
        const key = `${market} ${new Date(bar.time).toISOString()} ${field}`;
        const value = String(bar[field]);
        const before = signed.get(key);
        if (before === undefined) signed.set(key, value);
        else if (before !== value) found.push(`${key}: ${before} vs ${value}`);
      }
    });
  }
  return found;
}

/** The log lines at `level` (pino's number) whose message starts with `prefix`, parsed. */
function loggedAt(lines: string[], level: number, prefix: string): Record<string, unknown>[] {
  return lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.level === level && String(l.msg).startsWith(prefix));
}
const ERROR = 50;
const WARN = 40;
const INFO = 30;

/** A metric's sample line for `market`, e.g. `zkrisk_publisher_signing_held{market="BTC-USDT"} 1`. */
async function sample(publisher: RunningPublisher, name: string, market = BTC): Promise<string | undefined> {
  const text = await publisher.metrics.registry.getSingleMetricAsString(name);
  return text.split("\n").find((l) => l.startsWith(`${name}{market="${market}"}`));
}

/** The /health document of `publisher`. */
async function health(publisher: RunningPublisher) {
  const response = await fetch(`${publisher.url}/health`);
  expect(response.status).toBe(200);
  return (await response.json()) as {
    status: string;
    markets: { market: string; lastError: string | null }[];
  };
}

describe("publisher serve: a source that changes a signed bar holds the market's signing", () => {
  it("holds the next window (not the newest bar changed), logs and counts it at every poll, keeps it across a restart, and signs once the source agrees again", async () => {
    const work = fresh();
    const csv = join(work, `${BTC}.csv`);
    writeFileSync(csv, csvText(0, 200));
    const first = await start(work, [BTC]);
    expect(archivedTimes(work, BTC)).toEqual([197, 198, 199].map(barTime));

    // While it runs: the close of bar 198 (archived, not the newest) changes, and bar 200 closes.
    writeFileSync(csv, csvChanged(201, 198));
    const report = await first.publisher.poll();
    // The window ending at 200 holds bar 198: signing it would sign a second close for bar 198.
    expect(await equivocations(work, [BTC])).toEqual([]);
    expect(archivedTimes(work, BTC)).toEqual([197, 198, 199].map(barTime));
    expect(report.signed).toEqual([]);
    const low = (i: number) => BARS[i].split(",")[3];
    const close = (i: number) => BARS[i].split(",")[4];
    const fixed = (decimal: string) => String(toFixedPoint(Number(decimal), PRICE_DECIMALS));
    expect(report.held).toEqual([
      expect.objectContaining({
        market: BTC,
        windows: { first: barTime(200), last: barTime(200), count: 1 },
        archivedEndTime: barTime(199),
        archivedFile: join(work, "archive", BTC, `${barTime(199)}.json`),
        conflict: {
          time: barTime(198),
          field: "close",
          archived: fixed(close(198)),
          source: fixed(low(198)),
        },
      }),
    ]);
    // The disagreement itself is reported as before (once), naming the newest archived window's bar.
    expect(report.disagreements.map((d) => [d.endTime, d.field])).toEqual([
      [barTime(199), `bars[${N - 2}].close`],
    ]);
    const message = report.held[0].message;
    expect(message).toBe(
      `signing held: the source now gives bar ${new Date(barTime(198)).toISOString()} close ${fixed(low(198))}, ` +
        `but the window ending ${new Date(barTime(199)).toISOString()} signed ${fixed(close(198))}; the window ` +
        `ending ${new Date(barTime(200)).toISOString()} is not signed until the source agrees again or the bar ` +
        `leaves the window`,
    );

    // Logged at error level at every poll; the held window counted once; held in the metrics and /health.
    await first.publisher.poll();
    const errors = loggedAt(first.lines, ERROR, "signing held:");
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      market: BTC,
      bar: new Date(barTime(198)).toISOString(),
      field: "close",
      archived: fixed(close(198)),
      source: fixed(low(198)),
      heldWindows: 1,
    });
    expect(await sample(first.publisher, "zkrisk_publisher_signing_held")).toMatch(/ 1$/);
    expect(await sample(first.publisher, "zkrisk_publisher_windows_held_total")).toMatch(/ 1$/);
    expect(await health(first.publisher)).toMatchObject({
      status: "degraded",
      markets: [{ market: BTC, lastError: message }],
    });
    await first.publisher.stop();

    // A restart reads the same archive: the same window is held, from the restart's own first poll on.
    appendFileSync(csv, BARS[201] + "\n");
    const second = await start(work, [BTC]);
    expect(await equivocations(work, [BTC])).toEqual([]);
    expect(archivedTimes(work, BTC)).toEqual([197, 198, 199].map(barTime));
    expect(loggedAt(second.lines, ERROR, "signing held:").at(-1)).toMatchObject({
      heldWindows: 2,
      firstHeld: new Date(barTime(200)).toISOString(),
      lastHeld: new Date(barTime(201)).toISOString(),
    });
    expect(loggedAt(second.lines, INFO, "signed window")).toEqual([]);
    expect((await health(second.publisher)).status).toBe("degraded");

    // The source gives the signed close again: the held windows are signed, oldest first, and the hold ends.
    writeFileSync(csv, csvText(0, 202));
    const agreed = await second.publisher.poll();
    expect(agreed.signed.map((s) => s.endTime)).toEqual([barTime(200), barTime(201)]);
    expect(agreed.held).toEqual([]);
    expect(await equivocations(work, [BTC])).toEqual([]);
    expect(loggedAt(second.lines, INFO, "signing resumed")).toHaveLength(1);
    expect(await sample(second.publisher, "zkrisk_publisher_signing_held")).toMatch(/ 0$/);
    expect(await health(second.publisher)).toMatchObject({ status: "ok", markets: [{ lastError: null }] });
  });

  it("ends the hold by itself once the changed bar is older than the window: the windows holding it are never signed", async () => {
    const work = fresh();
    const csv = join(work, `${BTC}.csv`);
    writeFileSync(csv, csvText(0, 200));
    const { publisher, lines } = await start(work, [BTC]);
    // Bar 197 changes (in the newest archived window, ending at 199), and 21 bars close at once: the windows
    // ending at 200 to 197 + N - 1 = 216 hold bar 197; the window ending at 217 starts at bar 198.
    writeFileSync(csv, csvChanged(222, 197));
    const report = await publisher.poll();
    expect(await equivocations(work, [BTC])).toEqual([]);
    expect(report.held.map((h) => h.windows)).toEqual([
      { first: barTime(200), last: barTime(196 + N), count: N - 3 },
    ]);
    expect(report.signed.map((s) => s.endTime)).toEqual([217, 218, 219, 220, 221].map(barTime));
    expect(archivedTimes(work, BTC)).toEqual([197, 198, 199, 217, 218, 219, 220, 221].map(barTime));
    expect(loggedAt(lines, INFO, "signing resumed")).toHaveLength(1);
    expect(await sample(publisher, "zkrisk_publisher_signing_held")).toMatch(/ 0$/);
    expect(await sample(publisher, "zkrisk_publisher_windows_held_total")).toMatch(new RegExp(` ${N - 3}$`));
    // The next poll has nothing held and nothing to sign.
    appendFileSync(csv, BARS[222] + "\n");
    expect(await publisher.poll()).toMatchObject({ held: [], signed: [{ endTime: barTime(222) }] });
    expect(await equivocations(work, [BTC])).toEqual([]);
    expect((await health(publisher)).status).toBe("ok");
  });

  it("holds the batches of a held market: no batch at a held bar, and none signs a second value for a bar", async () => {
    const work = fresh();
    for (const market of [BTC, ETH]) writeFileSync(join(work, `${market}.csv`), csvText(0, 200));
    const majors = [{ batch: "majors", markets: [BTC, ETH] }];
    const { publisher } = await start(work, [BTC, ETH], majors);
    expect(archivedTimes(work, join("_batches", "majors"))).toEqual([197, 198, 199].map(barTime));

    // BTC's source changes bar 199 (its newest archived bar); bar 200 closes in both markets.
    writeFileSync(join(work, `${BTC}.csv`), csvChanged(201, 199));
    appendFileSync(join(work, `${ETH}.csv`), BARS[200] + "\n");
    const report = await publisher.poll();
    expect(await equivocations(work, [BTC, ETH], ["majors"])).toEqual([]);
    expect(report.signed.map((s) => [s.market, s.endTime])).toEqual([[ETH, barTime(200)]]);
    expect(report.held.map((h) => [h.market, h.windows.first])).toEqual([[BTC, barTime(200)]]);
    expect(report.batches).toEqual([]);
    expect(archivedTimes(work, join("_batches", "majors"))).toEqual([197, 198, 199].map(barTime));
    expect(await health(publisher)).toMatchObject({
      status: "degraded",
      markets: [
        { market: BTC, lastError: expect.stringContaining("signing held:") },
        { market: ETH, lastError: null },
      ],
    });

    // BTC's source agrees again: its window and then the batch at bar 200 are signed.
    writeFileSync(join(work, `${BTC}.csv`), csvText(0, 201));
    const agreed = await publisher.poll();
    expect(agreed.signed.map((s) => [s.market, s.endTime])).toEqual([[BTC, barTime(200)]]);
    expect(agreed.batches.map((b) => b.endTime)).toEqual([barTime(200)]);
    expect(await equivocations(work, [BTC, ETH], ["majors"])).toEqual([]);
  });

  it("compares the signed fields of the bars two windows share, by open time (signedBarConflict)", () => {
    const bar = (time: number, close: bigint, high = 0n, low = 0n) => ({
      time,
      missing: false,
      close,
      volume: 1n,
      high,
      low,
    });
    const window = (endTime: number, bars: ReturnType<typeof bar>[]): Window => ({
      marketId: 1n,
      intervalMs: 1,
      endTime,
      bars,
    });
    // Bars 0..25 of 26 (range part, the last WINDOW_RANGE_BARS = 24: bars 2..25), then the window ending at 26.
    const n = WINDOW_RANGE_BARS + 2;
    const archived = window(
      n - 1,
      Array.from({ length: n }, (_, t) => (t < 2 ? bar(t, 5n) : bar(t, 5n, 6n, 4n))),
    );
    const next = (edit: (bars: ReturnType<typeof bar>[]) => void) => {
      const bars = Array.from({ length: n }, (_, k) => (k < 2 ? bar(k + 1, 5n) : bar(k + 1, 5n, 6n, 4n)));
      // Bar 2, in the archived window's range part, is outside the new window's: its high and low are not signed.
      edit(bars);
      return window(n, bars);
    };
    expect(
      signedBarConflict(
        archived,
        next(() => undefined),
      ),
    ).toBeUndefined();
    // A value of a bar only the new window holds (26) is no conflict; one of a shared bar is.
    expect(
      signedBarConflict(
        archived,
        next((b) => (b[n - 1] = bar(n, 9n, 9n, 9n))),
      ),
    ).toBeUndefined();
    expect(
      signedBarConflict(
        archived,
        next((b) => (b[4] = bar(5, 7n, 7n, 4n))),
      ),
    ).toEqual({
      time: 5,
      field: "close",
      archived: "5",
      source: "7",
    });
    expect(
      signedBarConflict(
        archived,
        next((b) => (b[n - 2] = bar(n - 1, 5n, 8n, 4n))),
      ),
    ).toMatchObject({
      time: n - 1,
      field: "high",
    });
    // the oldest bars of the new window's range part are in the archived window's too: their lows compared
    expect(
      signedBarConflict(
        archived,
        next((b) => (b[2] = bar(3, 5n, 6n, 3n))),
      ),
    ).toMatchObject({ time: 3, field: "low", archived: "4", source: "3" });
    expect(
      signedBarConflict(
        archived,
        next((b) => (b[6] = { ...bar(7, 0n), missing: true })),
      ),
    ).toMatchObject({ time: 7, field: "missing", archived: "false", source: "true" });
  });
});

describe("publisher serve: a closed bar missing from one answer of the source is waited for", () => {
  it("signs neither it nor the next window while the source may still give it, then both, and their batches", async () => {
    const work = fresh();
    for (const market of [BTC, ETH]) writeFileSync(join(work, `${market}.csv`), csvText(0, 200));
    let now = barTime(199) + TWO_HOURS + 60_000;
    const majors = [{ batch: "majors", markets: [BTC, ETH] }];
    const { publisher, lines } = await start(work, [BTC, ETH], majors, () => now);
    expect(archivedTimes(work, BTC)).toEqual([197, 198, 199].map(barTime));

    // Bars 200 and 201 close; one answer of BTC's source lacks bar 200 but has 201.
    writeFileSync(join(work, `${BTC}.csv`), csvWithout(202, 200));
    writeFileSync(join(work, `${ETH}.csv`), csvText(0, 202));
    now = barTime(201) + TWO_HOURS + 60_000;
    const holed = await publisher.poll();
    // Before, the window ending at 201 was signed with bar 200 missing, the one ending at 200 never, and every
    // later window held once the source gave bar 200 again.
    expect(holed.signed.map((s) => [s.market, s.endTime])).toEqual([
      [ETH, barTime(200)],
      [ETH, barTime(201)],
    ]);
    expect(holed.waiting).toEqual([
      { market: BTC, bars: [barTime(200)], endTime: barTime(201), until: barTime(201) + 2 * TWO_HOURS },
    ]);
    expect(holed.batches).toEqual([]);
    expect(loggedAt(lines, INFO, "the source's answer lacks closed bars")).toHaveLength(1);

    // The source has bar 200 again: both windows are signed, then both batches, and nothing is held.
    writeFileSync(join(work, `${BTC}.csv`), csvText(0, 202));
    const whole = await publisher.poll();
    expect(whole.signed.map((s) => [s.market, s.endTime])).toEqual([
      [BTC, barTime(200)],
      [BTC, barTime(201)],
    ]);
    expect(whole.batches.map((b) => b.endTime)).toEqual([barTime(200), barTime(201)]);
    expect(whole).toMatchObject({ held: [], waiting: [] });
    expect(await equivocations(work, [BTC, ETH], ["majors"])).toEqual([]);
    const window201 = await readSignedWindow(join(work, "archive", BTC, `${barTime(201)}.json`));
    expect(window201.window.bars.at(-2)).toMatchObject({ time: barTime(200), missing: false });
  });

  it("signs the windows after a bar the source never gives once its grace period is over, logging it once", async () => {
    const work = fresh();
    const csv = join(work, `${BTC}.csv`);
    writeFileSync(csv, csvText(0, 200));
    let now = barTime(199) + TWO_HOURS + 60_000;
    const { publisher, lines } = await start(work, [BTC], [], () => now);

    writeFileSync(csv, csvWithout(202, 200));
    now = barTime(201) + TWO_HOURS + 60_000;
    expect((await publisher.poll()).signed).toEqual([]);
    now = barTime(201) + 2 * TWO_HOURS - 1;
    expect((await publisher.poll()).waiting).toHaveLength(1);
    // One interval after bar 201 closed: bar 200 is one the exchange never produced.
    now = barTime(201) + 2 * TWO_HOURS;
    const given = await publisher.poll();
    expect(given).toMatchObject({ signed: [{ endTime: barTime(201) }], waiting: [], held: [] });
    const signed = await readSignedWindow(join(work, "archive", BTC, `${barTime(201)}.json`));
    expect(signed.window.bars.at(-2)).toMatchObject({ time: barTime(200), missing: true });
    appendFileSync(csv, BARS[202] + "\n");
    now = barTime(202) + TWO_HOURS;
    expect((await publisher.poll()).signed.map((s) => s.endTime)).toEqual([barTime(202)]);
    expect(loggedAt(lines, WARN, "the source has not given closed bars")).toEqual([
      expect.objectContaining({ market: BTC, missing: [new Date(barTime(200)).toISOString()] }),
    ]);
    expect(loggedAt(lines, INFO, "the source's answer lacks closed bars")).toHaveLength(1);
    expect(await equivocations(work, [BTC])).toEqual([]);
  });
});
