/**
 * What `zkrisk backtest --series FILE.csv --report FILE.html` writes: the per-bar series (time, features,
 * each model's MM and IM, realised move, breach) and a self-contained HTML page (inline SVG, no script, no
 * external resource) with, per market, a chart of the margins against the realised 24 h move (breaches marked,
 * one marker per breached bar of the charted model) and the coverage tests.
 */
import { goalSummary, type GoalVerdict, type MarginSeries } from "./backtest";
import { inSampleWords, type FullBacktestReport, type PooledModelResult } from "./run-backtest";
import type { CandleSeries } from "../candles/types";
import { DAILY_OFFSETS, MIN_DAILY_SAMPLES, verdictCell } from "./coverage";
import { featureFloats, seriesWindowFeatures, WINDOW_FEATURES } from "../features/window-features";

/** The spacing of the daily offsets: a day over DAILY_OFFSETS. */
const DAILY_OFFSET_MS = 86_400_000 / DAILY_OFFSETS;

/** The evaluated bars of one market, as the series file and the charts show them. */
export interface MarketSeries {
  market: string;
  report: FullBacktestReport;
  /** Open time (ms) of each evaluated bar. */
  time: number[];
  /** Float twins of the window features of each evaluated bar. */
  features: number[][];
  /** Realised 24 h adverse move, bps of notional. */
  moveBps: number[];
  /**
   * Per model: MM, IM, breach and, for a zkrisk model, the calibration scale of each bar's margin (the adaptive
   * rule's moves).
   */
  models: { name: string; mm: number[]; im: number[]; breach: boolean[]; scale?: number[] }[];
}

/** Collect the evaluated bars (those of the report's period where every evaluated model has a margin). */
export function collectSeries(
  market: string,
  series: CandleSeries,
  targets: (number | null)[],
  models: MarginSeries[],
  report: FullBacktestReport,
): MarketSeries {
  const from = Date.parse(report.period.from);
  const to = Date.parse(report.period.to);
  const feats = seriesWindowFeatures(series).rows;
  const out: MarketSeries = {
    market,
    report,
    time: [],
    features: [],
    moveBps: [],
    models: models.map((m) => ({
      name: m.name,
      mm: [],
      im: [],
      breach: [],
      ...(m.scale === undefined ? {} : { scale: [] }),
    })),
  };
  series.candles.forEach((c, t) => {
    const y = targets[t];
    if (c.time < from || c.time > to || y === null) return;
    if (models.some((m) => m.maintenanceMarginBps[t] === null)) return;
    const x = feats[t];
    out.time.push(c.time);
    out.features.push(x === null ? [] : featureFloats(x));
    out.moveBps.push(y * 10000);
    models.forEach((m, i) => {
      const mm = m.maintenanceMarginBps[t] as number;
      out.models[i].mm.push(mm);
      out.models[i].im.push(m.initialMarginBps[t] as number);
      out.models[i].breach.push(y > mm / 10000);
      if (m.scale !== undefined) out.models[i].scale?.push(m.scale[t] as number);
    });
  });
  return out;
}

/**
 * The per-bar CSV: market, the calibration's source (the market's `fitted` scale, the `new-market rule` or the
 * `model file`'s own), time, features, realised move and, per model, MM, IM, breach (0/1) and, for a zkrisk
 * model, the calibration scale of the bar's margin. The columns are every model of any market, in order of first
 * appearance; a market without a model (or a model without a scale there) leaves its cells empty.
 */
export function seriesCsv(markets: readonly MarketSeries[]): string {
  const names = [...new Set(markets.flatMap((s) => s.models.map((m) => m.name)))];
  const scaled = new Set(
    markets.flatMap((s) => s.models.filter((m) => m.scale !== undefined).map((m) => m.name)),
  );
  const header = [
    "market",
    "calibration_source",
    "time",
    ...WINDOW_FEATURES.map((f) => f.name),
    "realised_move_bps",
    ...names.flatMap((n) => [
      `${n}_mm_bps`,
      `${n}_im_bps`,
      `${n}_breach`,
      ...(scaled.has(n) ? [`${n}_scale`] : []),
    ]),
  ];
  const lines = [header.join(",")];
  for (const s of markets) {
    const cols = names.map((n) => s.models.find((m) => m.name === n));
    s.time.forEach((time, i) => {
      lines.push(
        [
          s.market,
          s.report.calibration.source,
          new Date(time).toISOString(),
          ...s.features[i].map((v) => String(v)),
          s.moveBps[i].toFixed(2),
          ...names.flatMap((n, k) => {
            const m = cols[k];
            const cells =
              m === undefined ? ["", "", ""] : [String(m.mm[i]), String(m.im[i]), m.breach[i] ? "1" : "0"];
            if (scaled.has(n)) cells.push(m?.scale === undefined ? "" : String(m.scale[i]));
            return cells;
          }),
        ].join(","),
      );
    });
  }
  return lines.join("\n") + "\n";
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];
const W = 1000;
const H = 260;
const PAD = 40;
/** Lines are drawn through at most this many buckets (max per bucket); breach markers are never thinned. */
const MAX_POINTS = 1200;

/** Bucketed maxima of `v` (at most MAX_POINTS buckets), as [index, value] pairs. */
function thin(v: readonly number[]): [number, number][] {
  const step = Math.max(1, Math.ceil(v.length / MAX_POINTS));
  const out: [number, number][] = [];
  for (let i = 0; i < v.length; i += step) {
    let best = i;
    for (let k = i; k < Math.min(v.length, i + step); k++) if (v[k] > v[best]) best = k;
    out.push([best, v[best]]);
  }
  return out;
}

/** One market's chart: realised move (grey), each model's MM (coloured), breaches of the first two models. */
export function marketChart(s: MarketSeries, chartedModels = 2): string {
  const n = s.time.length;
  const charted = s.models.slice(0, chartedModels);
  // A loop, not Math.max(...values): spreading ~125,000 arguments overflows the stack (a 10-year file of 2 h
  // bars with two charted models).
  let peak = 1;
  for (const values of [s.moveBps, ...charted.map((m) => m.mm)]) {
    for (const v of values) if (v > peak) peak = v;
  }
  const top = peak * 1.05;
  const x = (i: number) => PAD + ((W - 2 * PAD) * i) / Math.max(1, n - 1);
  const y = (v: number) => H - PAD + (-(H - 2 * PAD) * Math.min(v, top)) / top;
  const path = (v: readonly number[]) =>
    thin(v)
      .map(([i, val], k) => `${k === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(val).toFixed(1)}`)
      .join("");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" data-market="${esc(s.market)}">`,
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#999"/>`,
    `<text x="${PAD}" y="${PAD - 8}" font-size="12">${esc(s.market)}: bps of notional (top ${top.toFixed(0)})</text>`,
    `<text x="${PAD}" y="${H - 10}" font-size="11">${n > 0 ? new Date(s.time[0]).toISOString().slice(0, 10) : ""}</text>`,
    `<text x="${W - PAD}" y="${H - 10}" font-size="11" text-anchor="end">${n > 0 ? new Date(s.time[n - 1]).toISOString().slice(0, 10) : ""}</text>`,
    `<path class="move" d="${path(s.moveBps)}" fill="none" stroke="#bbb" stroke-width="0.8"/>`,
  ];
  charted.forEach((m, k) => {
    parts.push(
      `<path class="mm" data-model="${esc(m.name)}" d="${path(m.mm)}" fill="none" stroke="${COLOURS[k]}" stroke-width="1.2"/>`,
    );
  });
  charted.forEach((m, k) => {
    m.breach.forEach((b, i) => {
      if (!b) return;
      parts.push(
        `<circle class="breach" data-model="${esc(m.name)}" cx="${x(i).toFixed(1)}" cy="${y(s.moveBps[i]).toFixed(1)}" r="2.5" fill="${k === 0 ? "#d62728" : "#ff7f0e"}"/>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("\n");
}

const p3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");

function modelTable(r: FullBacktestReport): string {
  const rows = r.models.map(
    (m) =>
      `<tr><td>${esc(m.name)}</td><td>${m.breaches}</td><td>${(m.breachRate * 100).toFixed(2)} %</td>` +
      `<td>${p3(m.daily.kupiec.median)} / ${p3(m.daily.kupiec.worst)}</td>` +
      `<td>${p3(m.daily.independence.median)} / ${p3(m.daily.independence.worst)}</td>` +
      `<td>${p3(m.daily.conditional.median)} / ${p3(m.daily.conditional.worst)}</td>` +
      `<td>${p3(m.kupiecP)}</td><td>${m.avgMaintenanceMarginBps.toFixed(1)}</td>` +
      `<td>${m.avgInitialMarginBps.toFixed(1)}</td><td>${m.matchedAvgMaintenanceMarginBps.toFixed(1)}</td>` +
      `<td>${m.maxShortfallBps.toFixed(0)}</td><td>${verdictCell(m.coverage)}</td></tr>`,
  );
  const un = r.unavailable.map(
    (u) => `<tr><td>${esc(u.name)}</td><td colspan="11">unavailable: ${esc(u.reason)}</td></tr>`,
  );
  return (
    `<table><tr><th>model</th><th>breaches</th><th>breach rate</th><th>Kupiec p (daily, median / worst)</th>` +
    `<th>independence p</th><th>cond. coverage p</th><th>Kupiec p (every bar)</th><th>avg MM bps</th>` +
    `<th>avg IM bps</th><th>MM at 1 % in hindsight</th><th>largest shortfall bps</th><th>valid</th></tr>` +
    `${[...rows, ...un].join("")}</table>`
  );
}

/**
 * The daily offsets of a market's report, each labelled by the UTC open time of its bars: offset k holds the
 * bars with floor(time / 2 h) mod 12 = k, which open at 2k h plus the grid's phase (`phaseMs`, the bars' open
 * time modulo 2 h: 0 on the usual even-hour grid, 1 h on an odd-hour one).
 */
function offsetsTable(r: FullBacktestReport, phaseMs: number): string {
  const head = r.models.map((m) => `<th>${esc(m.name)}: breaches / Kupiec p / indep. p</th>`).join("");
  const rows = Array.from({ length: 12 }, (_, k) => {
    const cells = r.models
      .map((m) => {
        const o = m.daily.offsets[k];
        return `<td>${o.breaches} of ${o.samples} / ${p3(o.kupiecP)} / ${p3(o.independenceP)}</td>`;
      })
      .join("");
    const open = new Date(k * DAILY_OFFSET_MS + phaseMs).toISOString().slice(11, 16);
    return `<tr><td>${open}</td>${cells}</tr>`;
  });
  return `<table class="offsets"><tr><th>daily sample (UTC open)</th>${head}</tr>${rows.join("")}</table>`;
}

/** The goal line of a market or of the pool, as a paragraph (none without a model to judge). */
function goalParagraph(goal: readonly GoalVerdict[]): string {
  return goal.length === 0 ? "" : `<p class="goal">${esc(goalSummary(goal))}.</p>`;
}

/**
 * The self-contained report page.
 * @param markets each market's evaluated bars and report.
 * @param pool with several markets: the pooled figures and their goal (`pooledGoalVerdicts`, which compares
 *   each model only with the baselines pooled over the same markets).
 */
export function reportHtml(
  markets: readonly MarketSeries[],
  pool?: { models: readonly PooledModelResult[]; goal: readonly GoalVerdict[] },
): string {
  const pooled = pool?.models;
  const sections = markets.map((s) => {
    const r = s.report;
    return (
      `<section id="market-${esc(s.market)}"><h2>${esc(s.market)}</h2>` +
      `<p>${r.period.from} .. ${r.period.to}, ${r.bars} bar${r.bars === 1 ? "" : "s"} with a full 24 h ahead; calibration ${r.calibration.num} / 2^${r.calibration.shift} (${esc(r.calibration.source)}).</p>` +
      r.notEvaluated
        .map(
          (n) =>
            `<p class="note">Not evaluated: ${n.bars} bar${n.bars === 1 ? "" : "s"}, ${n.from} .. ${n.to} (${esc(n.reason)}).</p>`,
        )
        .join("") +
      r.inSample
        .map((i) => `<p class="note">In sample: ${i.from} .. ${i.to} (${esc(inSampleWords(i))}).</p>`)
        .join("") +
      marketChart(s) +
      modelTable(r) +
      goalParagraph(r.goal) +
      `<details><summary>each daily offset</summary>${offsetsTable(r, (s.time[0] ?? 0) % DAILY_OFFSET_MS)}</details></section>`
    );
  });
  const pooledHtml =
    pooled === undefined
      ? ""
      : `<section id="pooled"><h2>Pooled over ${markets.length} markets</h2><table><tr><th>model</th><th>markets</th><th>bars</th><th>breaches</th><th>breach rate</th><th>Kupiec p (daily, median / worst)</th><th>independence p</th><th>cond. coverage p</th><th>avg MM bps</th><th>avg IM bps</th><th>MM at 1 % in hindsight</th><th>largest shortfall bps</th><th>valid</th></tr>` +
        pooled
          .map(
            (m) =>
              `<tr><td>${esc(m.name)}</td><td>${m.markets}</td><td>${m.bars}</td><td>${m.breaches}</td><td>${(m.breachRate * 100).toFixed(2)} %</td>` +
              `<td>${p3(m.daily.kupiec.median)} / ${p3(m.daily.kupiec.worst)}</td><td>${p3(m.daily.independence.median)} / ${p3(m.daily.independence.worst)}</td>` +
              `<td>${p3(m.daily.conditional.median)} / ${p3(m.daily.conditional.worst)}</td><td>${m.avgMaintenanceMarginBps.toFixed(1)}</td>` +
              `<td>${m.avgInitialMarginBps.toFixed(1)}</td><td>${m.matchedAvgMaintenanceMarginBps.toFixed(1)}</td>` +
              `<td>${m.maxShortfallBps.toFixed(0)}</td><td>${verdictCell(m.coverage)}</td></tr>`,
          )
          .join("") +
        `</table>${goalParagraph(pool?.goal ?? [])}</section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zkrisk backtest</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}</style>
</head><body>
<h1>zkrisk backtest</h1>
<p>Grey: realised 24 h adverse move; lines: maintenance margin of the first two models (blue, green); red and
orange dots: the bars where each breached. Coverage tests on non-overlapping daily samples (12 phase offsets;
median and worst p): Kupiec POF, Christoffersen independence and conditional coverage. Valid = all three medians
&gt;= 0.05 on at least ${MIN_DAILY_SAMPLES} daily samples; on fewer, even a margin that never breaches passes, so
the verdict there is "too short". The every-bar Kupiec p is over-confident (neighbouring 24 h targets overlap) and shown for comparison.
"MM at 1 % in hindsight" scales each model's margins by the one constant that breaches on exactly 1 % of the
bars shown (chosen on them, so not a deployable margin): how sharply a model ranks risk at equal coverage.</p>
${pooledHtml}
${sections.join("\n")}
</body></html>
`;
}
