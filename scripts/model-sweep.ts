/**
 * The multi-market configuration sweep behind the model-selection table of docs/model-results.md (issue 12): fit the network on
 * the pooled training splits of several markets (each market split by time as the shipped model, purged at the
 * boundaries), calibrate it on each market's own validation split, and print the per-market validation and test
 * figures as one JSON line. Selection is on the validation figures only.
 *
 *   nice -n 10 npx tsx scripts/model-sweep.ts --hidden 6 --seed 20240630 [--lr 0.003] [--markets btc,eth,...]
 *     [--train-markets btc]   # fit on these markets' splits (default: --markets), evaluate on --markets
 *   nice -n 10 npx tsx scripts/model-sweep.ts --shipped     # the shipped BTC-only network, per-market calibration
 *   nice -n 10 npx tsx scripts/model-sweep.ts --members a.json,b.json   # the mean output of networks saved by --out
 *   nice -n 10 npx tsx scripts/model-sweep.ts --shipped --weekend-beta 0.2   # outputs × (1 − 0.2 · weekend share)
 *   nice -n 10 npx tsx scripts/model-sweep.ts --shipped --seasonal-alpha 1 [--seasonal-behind 0.5]
 *     [--profile-markets btc]   # outputs × the weekly variance profile over the target's bars (and the last day's)
 *
 * Datasets are cached (per market and data sha256) under .zkrisk-cache/datasets so a sweep computes the window
 * features once.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { buildDataset, splitDataset, type Dataset } from "../models/dataset";
import { FLOAT_MODEL_FORMAT, loadFloatModel, networkOutput, type FloatModel } from "../models/float-model";
import { sha256File } from "../core/io";
import { kupiecPof } from "../models/kupiec";
import { matchedCoverageScale } from "../models/backtest";
import { loadCandles } from "../candles/load-data";
import type { CandleSeries } from "../candles/types";
import { marginFromQuantile } from "../models/policy";
import { adverseMoveTargets, TARGET_HORIZON_BARS } from "../models/target";
import { calibrateScale, DEFAULT_TRAIN_OPTIONS, fitQuantileNetwork } from "../models/train";
import { FEATURE_INTERVAL_MS, seriesWindowFeatures, WINDOW_FEATURES } from "../features/window-features";

const ROOT = join(__dirname, "..");
export const SWEEP_MARKETS = ["btc", "eth", "sol", "xrp", "bnb", "ada", "link", "ltc"];

interface Splits {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
}

/** A market's split datasets, from the cache when its data file is unchanged. */
function marketSplits(m: string): Splits {
  const file = join(ROOT, `models/data/${m}usdt-2h.csv`);
  const sha = sha256File(file);
  const dir = join(ROOT, ".zkrisk-cache/datasets");
  const cache = join(dir, `${m}-${sha.slice(0, 16)}.json`);
  if (existsSync(cache)) return JSON.parse(readFileSync(cache, "utf8")) as Splits;
  const series = loadCandles(file);
  const all = buildDataset(seriesWindowFeatures(series), adverseMoveTargets(series), series);
  const s = splitDataset(all, DEFAULT_TRAIN_OPTIONS.splits, series.intervalMs);
  // bigint features do not serialise; the sweep needs only the floats.
  const strip = (d: Dataset): Dataset => ({ ...d, xInt: [] });
  const out = { train: strip(s.train), validation: strip(s.validation), test: strip(s.test) };
  mkdirSync(dir, { recursive: true });
  writeFileSync(cache, JSON.stringify(out));
  return out;
}

function concat(ds: Dataset[]): Dataset {
  return {
    index: ds.flatMap((d) => d.index),
    time: ds.flatMap((d) => d.time),
    xInt: [],
    x: ds.flatMap((d) => d.x),
    y: ds.flatMap((d) => d.y),
  };
}

/**
 * The share of the target's bars (the `horizon` bars after the bar opening at `openTime`) that open on a
 * Saturday or Sunday, UTC: a calendar input the window's timestamp fixes, tried against the weekend lull.
 */
export function weekendShare(
  openTime: number,
  intervalMs = FEATURE_INTERVAL_MS,
  horizon = TARGET_HORIZON_BARS,
): number {
  let weekend = 0;
  for (let k = 1; k <= horizon; k++) {
    const day = new Date(openTime + k * intervalMs).getUTCDay();
    if (day === 0 || day === 6) weekend++;
  }
  return weekend / horizon;
}

/** Bars in a week: the seasonal profile's buckets. */
export const WEEK_BARS = (7 * 86_400_000) / FEATURE_INTERVAL_MS;

/** A bar's place in the week (0 = the bar opening Thursday 00:00 UTC, the epoch's weekday). */
export function barOfWeek(openTime: number, intervalMs = FEATURE_INTERVAL_MS): number {
  return Math.floor(openTime / intervalMs) % WEEK_BARS;
}

/**
 * The weekly variance profile of `markets`' training splits: per bar of the week, the square of the mean absolute
 * log return of a bar divided by the trailing week's mean absolute log return (so a market's level and its
 * regimes cancel; absolute values, as squares are ruled by a few crashes), normalised to mean 1.
 */
export function seasonalProfile(seriesList: readonly CandleSeries[], trainEnd: number): number[] {
  const sum = new Array<number>(WEEK_BARS).fill(0);
  const count = new Array<number>(WEEK_BARS).fill(0);
  for (const series of seriesList) {
    const c = series.candles;
    const sq: (number | null)[] = c.map((k, i) =>
      i > 0 && k.time - c[i - 1].time === series.intervalMs
        ? Math.abs(Math.log(k.close / c[i - 1].close))
        : null,
    );
    for (let i = WEEK_BARS; i < c.length && c[i].time < trainEnd; i++) {
      const r = sq[i];
      if (r === null) continue;
      let trail = 0;
      let n = 0;
      for (let j = i - WEEK_BARS; j < i; j++) {
        const v = sq[j];
        if (v !== null) {
          trail += v;
          n++;
        }
      }
      if (n < WEEK_BARS * 0.9 || trail === 0) continue;
      const h = barOfWeek(c[i].time, series.intervalMs);
      sum[h] += r / (trail / n);
      count[h]++;
    }
  }
  const v = sum.map((s, h) => (s / count[h]) ** 2);
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  return v.map((x) => x / mean);
}

/**
 * sqrt of the profile's mean variance over the target's bars (the `horizon` bars after `openTime`), and over the
 * `horizon` bars up to and including it: how much the coming day's calendar should move, and how much the last
 * day's calendar moved the day's realised volatility the features see.
 */
export function seasonalFactors(
  profile: readonly number[],
  openTime: number,
  intervalMs = FEATURE_INTERVAL_MS,
  horizon = TARGET_HORIZON_BARS,
): { ahead: number; behind: number } {
  let ahead = 0;
  let behind = 0;
  for (let k = 1; k <= horizon; k++) {
    ahead += profile[barOfWeek(openTime + k * intervalMs, intervalMs)];
    behind += profile[barOfWeek(openTime - (k - 1) * intervalMs, intervalMs)];
  }
  return { ahead: Math.sqrt(ahead / horizon), behind: Math.sqrt(behind / horizon) };
}

/** Raw (uncalibrated) outputs of a row: the network's, or a mean of several, optionally weekend-scaled. */
type Output = (x: readonly number[], openTime: number) => number;

function figures(output: Output, num: number, ds: Dataset) {
  const c = num / 2 ** DEFAULT_TRAIN_OPTIONS.calibrationShift;
  let breaches = 0;
  let mm = 0;
  ds.x.forEach((x, i) => {
    const m = marginFromQuantile(
      c * output(x, ds.time[i]),
      DEFAULT_TRAIN_OPTIONS.policy,
    ).maintenanceMarginBps;
    if (ds.y[i] > m / 10000) breaches++;
    mm += m;
  });
  return {
    rows: ds.y.length,
    breachRate: breaches / ds.y.length,
    kupiecPEveryBar: kupiecPof(breaches, ds.y.length, 0.01),
    avgMm: mm / ds.y.length,
    hindsightAvgMm: hindsightAvgMm(output, num, ds),
  };
}

/**
 * Average MM at the one constant that, scaling these margins, breaches on exactly 1 % of `ds`: the backtest's
 * "MM at 1 % in hindsight" (`matchedCoverageScale`), chosen on `ds`, so sharpness, not a margin.
 */
function hindsightAvgMm(output: Output, num: number, ds: Dataset): number {
  const d = DEFAULT_TRAIN_OPTIONS;
  const c = num / 2 ** d.calibrationShift;
  const mm = ds.x.map((x, i) => marginFromQuantile(c * output(x, ds.time[i]), d.policy).maintenanceMarginBps);
  const ratios = mm.map((m, i) => ds.y[i] / (m / 10000));
  return (matchedCoverageScale(ratios) * mm.reduce((a, m) => a + m, 0)) / mm.length;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const markets = (arg("--markets") ?? SWEEP_MARKETS.join(",")).split(",");
  const splits = Object.fromEntries(markets.map((m) => [m, marketSplits(m)]));
  const d = DEFAULT_TRAIN_OPTIONS;
  let model: FloatModel;
  let label: string;
  let members: FloatModel[] = [];
  if (arg("--members")) {
    const files = (arg("--members") as string).split(",");
    members = files
      .map((f) => (f === "shipped" ? join(ROOT, "models/btc-usdt-2h.float.json") : f))
      .map(loadSwept);
    model = members[0];
    label = `mean of ${files.length} networks (${files.join(", ")})`;
  } else if (process.argv.includes("--shipped")) {
    model = loadFloatModel(join(ROOT, "models/btc-usdt-2h.float.json"));
    label = "shipped BTC-only network (6 hidden)";
  } else {
    const options = {
      ...d,
      hidden: (arg("--hidden") ?? "6").split(",").map(Number),
      seed: Number(arg("--seed") ?? d.seed),
      learningRate: Number(arg("--lr") ?? d.learningRate),
      patience: Number(arg("--patience") ?? d.patience),
      batchSize: Number(arg("--batch") ?? d.batchSize),
    };
    tf.enableProdMode();
    await tf.setBackend("cpu");
    const fitOn = (arg("--train-markets") ?? markets.join(",")).split(",");
    for (const m of fitOn) splits[m] ??= marketSplits(m);
    const fit = await fitQuantileNetwork(
      concat(fitOn.map((m) => splits[m].train)),
      concat(fitOn.map((m) => splits[m].validation)),
      options,
    );
    label = `${fitOn.length === 1 ? `${fitOn[0]} only` : `pooled ${fitOn.length} markets`}, hidden ${options.hidden.join("-")}, seed ${options.seed}, lr ${options.learningRate}, batch ${options.batchSize}, best epoch ${fit.bestEpoch}/${fit.epochsRun}`;
    model = {
      format: FLOAT_MODEL_FORMAT,
      features: WINDOW_FEATURES.map((f, i) => ({ ...f, mean: fit.means[i], std: fit.stds[i] })),
      layers: fit.layers,
      calibration: { num: 1, shift: d.calibrationShift, method: "" },
      policy: d.policy,
    } as unknown as FloatModel;
    if (arg("--out")) writeFileSync(arg("--out") as string, JSON.stringify(model));
  }
  if (members.length === 0) members = [model];
  const beta = Number(arg("--weekend-beta") ?? 0);
  if (beta !== 0) label += `, outputs × (1 − ${beta} · weekend share)`;
  const alpha = Number(arg("--seasonal-alpha") ?? 0);
  const gamma = Number(arg("--seasonal-behind") ?? 0);
  let seasonal = (_t: number): number => 1;
  if (alpha !== 0 || gamma !== 0) {
    const profile = seasonalProfile(
      (arg("--profile-markets") ?? markets.join(","))
        .split(",")
        .map((m) => loadCandles(join(ROOT, `models/data/${m}usdt-2h.csv`))),
      d.splits.validationFrom,
    );
    label += `, outputs × ahead^${alpha} × behind^-${gamma} (weekly variance profile of the training splits)`;
    seasonal = (t) => {
      const f = seasonalFactors(profile, t);
      return f.ahead ** alpha / f.behind ** gamma;
    };
  }
  const output: Output = (x, t) =>
    (members.reduce((a, net) => a + networkOutput(net, x), 0) / members.length) *
    (1 - beta * weekendShare(t)) *
    seasonal(t);
  const perMarket = markets.map((m) => {
    const s = splits[m];
    const raw = s.validation.x.map((x, i) => output(x, s.validation.time[i]));
    const num = calibrateScale(raw, s.validation.y, d.policy, d.quantileLevel, d.calibrationShift);
    return {
      market: m,
      calibrationNum: num,
      validation: figures(output, num, s.validation),
      test: figures(output, num, s.test),
    };
  });
  const mean = (f: (r: (typeof perMarket)[number]) => number) =>
    perMarket.reduce((a, r) => a + f(r), 0) / markets.length;
  process.stdout.write(
    JSON.stringify({
      label,
      meanValidationAvgMm: mean((r) => r.validation.avgMm),
      meanTestHindsightAvgMm: mean((r) => r.test.hindsightAvgMm),
      perMarket,
    }) + "\n",
  );
}

/** A network file: the shipped float model, or one this script wrote with --out. */
function loadSwept(file: string): FloatModel {
  const m = JSON.parse(readFileSync(file, "utf8")) as FloatModel;
  if (!Array.isArray(m.layers) || !Array.isArray(m.features)) throw new Error(`${file}: not a network file`);
  return m;
}

if (require.main === module) void main();
