/**
 * The multi-market configuration sweep behind the README's model-selection table (issue 12): fit the network on
 * the pooled training splits of several markets (each market split by time as the shipped model, purged at the
 * boundaries), calibrate it on each market's own validation split, and print the per-market validation and test
 * figures as one JSON line. Selection is on the validation figures only.
 *
 *   nice -n 10 npx tsx scripts/model-sweep.ts --hidden 6 --seed 20240630 [--lr 0.003] [--markets btc,eth,...]
 *   nice -n 10 npx tsx scripts/model-sweep.ts --shipped     # the shipped BTC-only network, per-market calibration
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
import { loadCandles } from "../candles/load-data";
import { marginFromQuantile } from "../models/policy";
import { adverseMoveTargets } from "../models/target";
import { calibrateScale, DEFAULT_TRAIN_OPTIONS, fitQuantileNetwork } from "../models/train";
import { seriesWindowFeatures, WINDOW_FEATURES } from "../features/window-features";

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

function figures(model: FloatModel, num: number, ds: Dataset) {
  const c = num / 2 ** model.calibration.shift;
  let breaches = 0;
  let mm = 0;
  ds.x.forEach((x, i) => {
    const m = marginFromQuantile(c * networkOutput(model, x), model.policy).maintenanceMarginBps;
    if (ds.y[i] > m / 10000) breaches++;
    mm += m;
  });
  return {
    rows: ds.y.length,
    breachRate: breaches / ds.y.length,
    kupiecPEveryBar: kupiecPof(breaches, ds.y.length, 0.01),
    avgMm: mm / ds.y.length,
  };
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
  if (process.argv.includes("--shipped")) {
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
    const fit = await fitQuantileNetwork(
      concat(markets.map((m) => splits[m].train)),
      concat(markets.map((m) => splits[m].validation)),
      options,
    );
    label = `pooled ${markets.length} markets, hidden ${options.hidden.join("-")}, seed ${options.seed}, lr ${options.learningRate}, batch ${options.batchSize}, best epoch ${fit.bestEpoch}/${fit.epochsRun}`;
    model = {
      format: FLOAT_MODEL_FORMAT,
      features: WINDOW_FEATURES.map((f, i) => ({ ...f, mean: fit.means[i], std: fit.stds[i] })),
      layers: fit.layers,
      calibration: { num: 1, shift: d.calibrationShift, method: "" },
      policy: d.policy,
    } as unknown as FloatModel;
    if (arg("--out")) writeFileSync(arg("--out") as string, JSON.stringify(model));
  }
  const perMarket = markets.map((m) => {
    const s = splits[m];
    const raw = s.validation.x.map((x) => networkOutput(model, x));
    const num = calibrateScale(raw, s.validation.y, d.policy, d.quantileLevel, d.calibrationShift);
    return {
      market: m,
      calibrationNum: num,
      validation: figures(model, num, s.validation),
      test: figures(model, num, s.test),
    };
  });
  const meanVal = perMarket.reduce((a, r) => a + r.validation.avgMm, 0) / markets.length;
  process.stdout.write(JSON.stringify({ label, meanValidationAvgMm: meanVal, perMarket }) + "\n");
}

void main();
