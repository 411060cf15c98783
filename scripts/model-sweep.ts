/**
 * The multi-market configuration sweep behind the README's model-selection table (issue 12): fit the network on
 * the pooled training splits of several markets (each market split by time as the shipped model, purged at the
 * boundaries), calibrate it on each market's own validation split, and print the per-market validation and test
 * figures as one JSON line. Selection is on the validation figures only.
 *
 *   nice -n 10 npx tsx scripts/model-sweep.ts --hidden 6 --seed 20240630 [--lr 0.003] [--markets btc,eth,...]
 *     [--train-markets btc]   # fit on these markets' splits (default: --markets), evaluate on --markets
 *   nice -n 10 npx tsx scripts/model-sweep.ts --shipped     # the shipped BTC-only network, per-market calibration
 *   nice -n 10 npx tsx scripts/model-sweep.ts --members a.json,b.json   # the mean output of networks saved by --out
 *   nice -n 10 npx tsx scripts/model-sweep.ts --shipped --weekend-beta 0.2   # outputs × (1 − 0.2 · weekend share)
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
  const output: Output = (x, t) =>
    (members.reduce((a, net) => a + networkOutput(net, x), 0) / members.length) *
    (1 - beta * weekendShare(t));
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
