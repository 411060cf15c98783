/**
 * The rule sweep behind the adaptive-calibration selection table of docs/model-results.md (issue 12, part 3): every candidate
 * rule is run as the integer on-chain simulation (models/adaptive.ts, runScaleRule: integer outputs of the
 * shipped quantised network, integer breach test on the candles, integer state), deployed on each market's
 * 2022 validation split with the scale fitted on 2021 (the last training year, out of sample), and on the
 * 2023-24 test split with the market's shipped scale (models/calibrations.json). It prints the table of docs/model-results.md
 * as Markdown: per rule, the markets valid on 2022 and whether the pool of the eight is valid (with its breach
 * rate), the mean 2022 average MM, and, for transparency only, the test figures (markets valid, markets where
 * the goal is met, mean average MM). The pick is the lowest mean 2022 average MM among the rules valid on all
 * eight markets and pooled; the test split plays no part in it.
 *
 *   nice -n 10 npx tsx scripts/adaptive-sweep.ts [--markets btc,eth,...] [--json]
 *
 * --json prints the rows as one JSON line instead, with the per-market breach rates and the pooled Kupiec p.
 *
 * A run takes about 5 minutes (the baselines' backtests dominate). The integer network outputs are cached (per
 * market, data sha256 and model sha256) under .zkrisk-cache/adaptive-sweep.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  annealedRule,
  balancedUpNum,
  runScaleRule,
  STATE_EXTRA_BITS,
  stateToNum,
  type AdaptiveRule,
  type ScaleRule,
} from "../models/adaptive";
import { evaluateBacktest, goalVerdict, type BacktestModelResult } from "../models/backtest";
import { fitNum, integerOutputs, loadCalibrations } from "../models/market-calibrations";
import { sha256File } from "../core/io";
import { loadCandles } from "../candles/load-data";
import { loadQuantizedModel, type QuantizedModel } from "../models/quantized-model";
import { poolReports, runBacktest } from "../models/run-backtest";
import { adverseMoveTargets, TARGET_HORIZON_BARS } from "../models/target";
import type { CandleSeries } from "../candles/types";

const ROOT = join(__dirname, "..");
const MODEL_FILE = join(ROOT, "models/btc-usdt-2h.quantized.json");
const CALIBRATIONS_FILE = join(ROOT, "models/calibrations.json");
export const ADAPTIVE_SWEEP_MARKETS = ["btc", "eth", "sol", "xrp", "bnb", "ada", "link", "ltc"];
/** Name of the fixed-scale model in the baseline runs (the goal compares with the other models). */
const FIXED = "fixed-scale";

/** One candidate rule: its table label and the integer rule the simulation runs. */
export interface SweepRule {
  label: string;
  // The state type differs between rules; the simulation only passes it back to the rule.
  rule: ScaleRule<unknown>;
}

function asSweep<S>(label: string, rule: ScaleRule<S>): SweepRule {
  return { label, rule: rule as ScaleRule<unknown> };
}

/**
 * A rule of the shipped family (models/adaptive.ts): down shift from `start` to `end`, one step every `every`
 * outcomes, each stage's up step balanced at 2^-upShift, the shipped clamp.
 */
export function familyRule(shipped: AdaptiveRule, start: number, end: number, every: number): AdaptiveRule {
  const upNums: number[] = [];
  for (let d = start; d <= end; d++) upNums.push(balancedUpNum(d, shipped.upShift));
  return { ...shipped, downShiftStart: start, downShift: end, outcomesPerShift: every, upNums };
}

function clampNum(num: bigint, shipped: AdaptiveRule): bigint {
  const lo = BigInt(shipped.minNum) << BigInt(STATE_EXTRA_BITS);
  const hi = BigInt(shipped.maxNum) << BigInt(STATE_EXTRA_BITS);
  return num < lo ? lo : num > hi ? hi : num;
}

/**
 * Outside the family: a fixed down step 2^-shift, breaches queued and their balanced up steps released at most
 * one per `pace` outcomes (so the long-run balance is kept but a breach cluster raises the scale gradually).
 */
export function pacedRule(
  shipped: AdaptiveRule,
  shift: number,
  pace: number,
): ScaleRule<{ num: bigint; queued: number; since: number }> {
  const up = BigInt(balancedUpNum(shift, shipped.upShift));
  return {
    initial: (n) => ({ num: BigInt(n) << BigInt(STATE_EXTRA_BITS), queued: 0, since: pace }),
    calibrationNum: (s) => stateToNum(s.num),
    step: (s, breached) => {
      let { num, queued, since } = s;
      if (breached) queued++;
      else num -= num >> BigInt(shift);
      since++;
      if (queued > 0 && since >= pace) {
        num += (num * up) >> BigInt(shipped.upShift);
        queued--;
        since = 0;
      }
      return { num: clampNum(num, shipped), queued, since };
    },
  };
}

/**
 * Outside the family and unbalanced: the down step 2^-shift times min(cap, 2^floor(run / every)), run being the
 * covered outcomes since the last breach; the up step is balanced for the base down step only.
 */
export function runAcceleratedRule(
  shipped: AdaptiveRule,
  shift: number,
  every: number,
  cap: number,
): ScaleRule<{ num: bigint; run: number }> {
  const up = BigInt(balancedUpNum(shift, shipped.upShift));
  return {
    initial: (n) => ({ num: BigInt(n) << BigInt(STATE_EXTRA_BITS), run: 0 }),
    calibrationNum: (s) => stateToNum(s.num),
    step: (s, breached) => {
      if (breached)
        return { num: clampNum(s.num + ((s.num * up) >> BigInt(shipped.upShift)), shipped), run: 0 };
      const times = BigInt(Math.min(cap, 2 ** Math.floor(s.run / every)));
      return { num: clampNum(s.num - ((s.num * times) >> BigInt(shift)), shipped), run: s.run + 1 };
    },
  };
}

/** The sixteen candidate rules, in the documented table's order (the shipped rule is the fifth). */
export function sweepRules(shipped: AdaptiveRule): SweepRule[] {
  const fam = (label: string, start: number, end: number, every: number) =>
    asSweep(label, annealedRule(familyRule(shipped, start, end, every)));
  return [
    fam("fixed 2^-10", 10, 10, 1),
    fam("fixed 2^-11 (the rule before)", 11, 11, 1),
    fam("fixed 2^-12", 12, 12, 1),
    fam("fixed 2^-13", 13, 13, 1),
    fam("2^-10 → 2^-13, one step every 500 outcomes", 10, 13, 500),
    fam("2^-10 → 2^-13, every 250", 10, 13, 250),
    fam("2^-10 → 2^-13, every 750", 10, 13, 750),
    fam("2^-10 → 2^-13, every 1,000", 10, 13, 1000),
    fam("2^-10 → 2^-14, every 750", 10, 14, 750),
    fam("2^-10 → 2^-14, every 500", 10, 14, 500),
    fam("2^-10 → 2^-12, every 500", 10, 12, 500),
    fam("2^-11 → 2^-13, every 1,000", 11, 13, 1000),
    fam("2^-9 → 2^-13, every 500", 9, 13, 500),
    fam("2^-10 → 2^-11, every 500", 10, 11, 500),
    asSweep("up steps queued, one released per 12 outcomes, 2^-12", pacedRule(shipped, 12, 12)),
    asSweep(
      "down step × min(16, 2^⌊run/250⌋) (run of covered outcomes), 2^-12",
      runAcceleratedRule(shipped, 12, 250, 16),
    ),
  ];
}

/** One market's inputs to the sweep. */
interface Market {
  name: string;
  series: CandleSeries;
  outputs: (bigint | null)[];
  targets: (number | null)[];
  /** Scale fitted on the year before validation (the deployment scale on 2022). */
  fitNum: number;
  /** The shipped scale (fitted on 2022; the deployment scale on the test split). */
  shippedNum: number;
  /** Fixed-scale and baseline results per period (the goal compares with the valid baselines). */
  baselines: Record<Period, BacktestModelResult[]>;
}

type Period = "validation" | "test";

interface Periods {
  validation: { fromMs: number; toMs: number };
  /** To the end of each file. */
  test: { fromMs: number; toMs?: number };
  /** The year before validation, where the deployment scale on validation is fitted. */
  fitFromMs: number;
}

function periodsOf(model: QuantizedModel): Periods {
  const v = Date.parse(model.training.splits.validation.from);
  const t = Date.parse(model.training.splits.test.from);
  const fit = new Date(v);
  fit.setUTCFullYear(fit.getUTCFullYear() - 1);
  return {
    validation: { fromMs: v, toMs: t - 1 },
    test: { fromMs: t },
    fitFromMs: fit.getTime(),
  };
}

/** The integer outputs of a market, from the cache when its data file and the model are unchanged. */
function cachedOutputs(
  model: QuantizedModel,
  m: string,
  file: string,
  series: CandleSeries,
): (bigint | null)[] {
  const dir = join(ROOT, ".zkrisk-cache/adaptive-sweep");
  const key = `${sha256File(file).slice(0, 16)}-${sha256File(MODEL_FILE).slice(0, 16)}`;
  const cache = join(dir, `${m}-${key}.json`);
  if (existsSync(cache)) {
    return (JSON.parse(readFileSync(cache, "utf8")) as (string | null)[]).map((o) =>
      o === null ? null : BigInt(o),
    );
  }
  const outputs = integerOutputs(model, series);
  mkdirSync(dir, { recursive: true });
  writeFileSync(cache, JSON.stringify(outputs.map((o) => (o === null ? null : o.toString()))));
  return outputs;
}

function loadMarket(model: QuantizedModel, periods: Periods, m: string): Market {
  const file = join(ROOT, `models/data/${m}usdt-2h.csv`);
  const series = loadCandles(file);
  const name = `${m.toUpperCase()}-USDT`;
  const outputs = cachedOutputs(model, m, file, series);
  const targets = adverseMoveTargets(series, TARGET_HORIZON_BARS);
  // The deployment scale on validation: fitted, as calibrate fits the shipped one, on the year before it
  // (rows whose target is observed before validation starts).
  const v0 = periods.validation.fromMs;
  const o: bigint[] = [];
  const y: number[] = [];
  series.candles.forEach((c, i) => {
    const out = outputs[i];
    const target = targets[i];
    if (c.time < periods.fitFromMs || c.time + (TARGET_HORIZON_BARS + 1) * series.intervalMs > v0) return;
    if (out !== null && target !== null) {
      o.push(out);
      y.push(target);
    }
  });
  const fit = fitNum(model.policy, o, y);
  const shipped = loadCalibrations(CALIBRATIONS_FILE).markets.find((c) => c.market === name);
  if (shipped === undefined) throw new Error(`${name} has no calibration in ${CALIBRATIONS_FILE}`);
  const baseline = (p: Period, num: number) =>
    runBacktest({ kind: "quantized", model }, series, periods[p], FIXED, {
      calibration: { num, source: "fitted" },
    }).models;
  return {
    name,
    series,
    outputs,
    targets,
    fitNum: fit,
    shippedNum: shipped.num,
    baselines: { validation: baseline("validation", fit), test: baseline("test", shipped.num) },
  };
}

/** A rule's report on one market and period (the rule deployed at the period's start). */
function runRule(mk: Market, rule: SweepRule, periods: Periods, p: Period, model: QuantizedModel) {
  const range = periods[p];
  const num = p === "validation" ? mk.fitNum : mk.shippedNum;
  // Only the bars from deployment on matter (no earlier state, margin or outcome): run on that slice.
  const first = mk.series.candles.findIndex((c) => c.time >= range.fromMs);
  const series = { ...mk.series, candles: mk.series.candles.slice(first) };
  const run = runScaleRule(
    series,
    mk.outputs.slice(first),
    () => true,
    model.policy,
    num,
    rule.rule,
    range.fromMs,
  );
  const margins = {
    name: rule.label,
    maintenanceMarginBps: run.maintenanceMarginBps,
    initialMarginBps: run.initialMarginBps,
  };
  return evaluateBacktest(series, mk.targets.slice(first), [margins], range);
}

/** One row of the table. */
export interface SweepRow {
  label: string;
  validation: {
    valid: number;
    pooledValid: boolean;
    pooledBreachRate: number;
    /** Median over the 12 daily offsets of the pooled Kupiec p. */
    pooledKupiecMedian: number;
    meanAvgMm: number;
    /** Per market, in the sweep's order (--json only). */
    breachRates: number[];
  };
  test: { valid: number; goalMet: number; meanAvgMm: number; breachRates: number[] };
  picked: boolean;
}

function sweepRow(markets: Market[], rule: SweepRule, periods: Periods, model: QuantizedModel): SweepRow {
  const figures = (p: Period) => {
    const reports = markets.map((mk) => runRule(mk, rule, periods, p, model));
    const results = reports.map((r) => r.models[0]);
    const pooled = poolReports(reports)[0];
    const goal = results.filter(
      (r, i) =>
        goalVerdict(
          r,
          markets[i].baselines[p].filter((b) => b.name !== FIXED),
        ).met,
    ).length;
    return {
      valid: results.filter((r) => r.coverageValid).length,
      goal,
      pooled,
      meanAvgMm: results.reduce((a, r) => a + r.avgMaintenanceMarginBps, 0) / results.length,
      breachRates: results.map((r) => r.breachRate),
    };
  };
  const v = figures("validation");
  const t = figures("test");
  return {
    label: rule.label,
    validation: {
      valid: v.valid,
      pooledValid: v.pooled.coverageValid,
      pooledBreachRate: v.pooled.breachRate,
      pooledKupiecMedian: v.pooled.daily.kupiec.median,
      meanAvgMm: v.meanAvgMm,
      breachRates: v.breachRates,
    },
    test: { valid: t.valid, goalMet: t.goal, meanAvgMm: t.meanAvgMm, breachRates: t.breachRates },
    picked: false,
  };
}

/** Mark the pick: lowest mean validation MM among the rules valid on every market and pooled. */
export function pickRule(rows: SweepRow[], markets: number): SweepRow[] {
  const qualifying = rows.filter((r) => r.validation.valid === markets && r.validation.pooledValid);
  const best = qualifying.reduce<SweepRow | undefined>(
    (a, r) => (a === undefined || r.validation.meanAvgMm < a.validation.meanAvgMm ? r : a),
    undefined,
  );
  return rows.map((r) => ({ ...r, picked: r === best }));
}

/** The table as Markdown (the documented table's columns; the pick in bold). */
export function formatSweep(rows: SweepRow[], markets: number): string {
  const cells = rows.map((r) => {
    const v = r.validation;
    const b = (s: string) => (r.picked ? `**${s}**` : s);
    return [
      b(r.label),
      b(
        `${v.valid} of ${markets} / ${v.pooledValid ? "yes" : "no"} (${(v.pooledBreachRate * 100).toFixed(2)} %)`,
      ),
      b(v.meanAvgMm.toFixed(0)),
      `${r.test.valid} / ${r.test.goalMet} / ${r.test.meanAvgMm.toFixed(0)}`,
    ];
  });
  const head = [
    "rule (down step per covered outcome; up step balanced)",
    "2022 valid / pooled",
    "mean 2022 avg MM",
    "test valid / goal met / mean avg MM",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + "\n";
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

function main(): void {
  const names = (arg("--markets") ?? ADAPTIVE_SWEEP_MARKETS.join(",")).split(",");
  const model = loadQuantizedModel(MODEL_FILE);
  const shipped = loadCalibrations(CALIBRATIONS_FILE, sha256File(MODEL_FILE)).adaptive;
  const periods = periodsOf(model);
  const markets = names.map((m) => {
    process.stderr.write(`loading ${m}\n`);
    return loadMarket(model, periods, m);
  });
  const rows = sweepRules(shipped).map((rule) => {
    process.stderr.write(`running ${rule.label}\n`);
    return sweepRow(markets, rule, periods, model);
  });
  const picked = pickRule(rows, markets.length);
  if (process.argv.includes("--json")) {
    process.stdout.write(JSON.stringify({ markets: markets.map((m) => m.name), rows: picked }) + "\n");
  } else process.stdout.write(formatSweep(picked, markets.length));
}

if (require.main === module) main();
