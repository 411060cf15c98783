/**
 * Coverage tests of a 99 % margin on non-overlapping daily samples.
 *
 * The 24 h targets of consecutive 2-hour bars share 11 of their 12 bars, so breaches on neighbouring bars are
 * not independent and any test that treats every bar as a trial is over-confident. Here the evaluated bars are
 * split by phase: offset k (0..11) keeps the bars opening at UTC hour 2k, one a day, whose 24 h targets do not
 * overlap. On each offset's daily sequence we run
 *  - Kupiec's proportion-of-failures test (LR_pof, chi2 with 1 df),
 *  - Christoffersen's independence test (LR_ind, chi2 with 1 df): is a breach more likely the day after a
 *    breach? Only pairs of samples exactly 24 h apart count as transitions (a missing day breaks the chain),
 *  - Christoffersen's conditional coverage, LR_cc = LR_pof + LR_ind (chi2 with 2 df),
 * and report each offset's p-value, their median and the worst (smallest).
 */
import { erfc, kupiecPof } from "./kupiec";

/** Number of phase offsets of the daily samples: 24 h / 2 h. */
export const DAILY_OFFSETS = 12;

/** P(chi2 with 1 df > x). */
export function chi2Sf1(x: number): number {
  return x <= 0 ? 1 : erfc(Math.sqrt(x / 2));
}

/** P(chi2 with 2 df > x) = exp(-x / 2). */
export function chi2Sf2(x: number): number {
  return x <= 0 ? 1 : Math.exp(-x / 2);
}

/** x * ln(y) with 0 * ln(0) = 0. */
function xLogY(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(y);
}

/** Kupiec's likelihood-ratio statistic (not its p-value) for x breaches in n trials at probability p. */
export function kupiecLr(breaches: number, n: number, p: number): number {
  if (n === 0) return 0;
  const phat = breaches / n;
  const l0 = xLogY(n - breaches, 1 - p) + xLogY(breaches, p);
  const l1 = xLogY(n - breaches, 1 - phat) + xLogY(breaches, phat);
  return Math.max(0, 2 * (l1 - l0));
}

/** Counts of transitions between consecutive samples: nIJ = covered (0) / breached (1) then I -> J. */
export interface TransitionCounts {
  n00: number;
  n01: number;
  n10: number;
  n11: number;
}

/**
 * Christoffersen's independence likelihood ratio from transition counts:
 *   pi01 = n01 / (n00 + n01), pi11 = n11 / (n10 + n11), pi = (n01 + n11) / N
 *   LR_ind = 2 [ln L(pi01, pi11) - ln L(pi)]   (0 * ln 0 = 0)
 */
export function christoffersenLr(c: TransitionCounts): number {
  const { n00, n01, n10, n11 } = c;
  const total = n00 + n01 + n10 + n11;
  if (total === 0) return 0;
  const pi = (n01 + n11) / total;
  const pi01 = n00 + n01 === 0 ? 0 : n01 / (n00 + n01);
  const pi11 = n10 + n11 === 0 ? 0 : n11 / (n10 + n11);
  const l0 = xLogY(n00 + n10, 1 - pi) + xLogY(n01 + n11, pi);
  const l1 = xLogY(n00, 1 - pi01) + xLogY(n01, pi01) + xLogY(n10, 1 - pi11) + xLogY(n11, pi11);
  return Math.max(0, 2 * (l1 - l0));
}

/** Tests of one sequence of daily samples (p-values NaN for a sequence without samples). */
export interface SequenceTests {
  samples: number;
  breaches: number;
  /** Transition counts between samples exactly one day apart. */
  transitions: TransitionCounts;
  kupiecP: number;
  independenceP: number;
  conditionalP: number;
}

/**
 * The three tests of one daily sequence.
 * @param times open times (ms), increasing.
 * @param breached whether each sample's realised move exceeded its margin.
 * @param dayMs the spacing that makes two samples consecutive (24 h).
 * @param p the promised breach probability (0.01).
 */
export function sequenceTests(
  times: readonly number[],
  breached: readonly boolean[],
  dayMs: number,
  p: number,
): SequenceTests {
  const n = breached.length;
  const breaches = breached.filter(Boolean).length;
  const transitions: TransitionCounts = { n00: 0, n01: 0, n10: 0, n11: 0 };
  for (let i = 1; i < n; i++) {
    if (times[i] - times[i - 1] !== dayMs) continue;
    const key = `n${breached[i - 1] ? 1 : 0}${breached[i] ? 1 : 0}` as keyof TransitionCounts;
    transitions[key]++;
  }
  const lrPof = kupiecLr(breaches, n, p);
  const lrInd = christoffersenLr(transitions);
  return {
    samples: n,
    breaches,
    transitions,
    // No sample, no test: NaN (null in JSON, "n/a" in reports), and the summaries skip the offset.
    kupiecP: n === 0 ? NaN : kupiecPof(breaches, n, p),
    independenceP: n === 0 ? NaN : chi2Sf1(lrInd),
    conditionalP: n === 0 ? NaN : chi2Sf2(lrPof + lrInd),
  };
}

/** Median and smallest of a set of p-values. */
export interface PSummary {
  median: number;
  worst: number;
}

/** Median (mean of the two middle values for an even count) and minimum. */
export function summarise(ps: readonly number[]): PSummary {
  const s = [...ps].sort((a, b) => a - b);
  const k = s.length;
  if (k === 0) return { median: NaN, worst: NaN };
  const median = k % 2 === 1 ? s[(k - 1) / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
  return { median, worst: s[0] };
}

/** What the validity rule reads: the three p-value summaries and how many daily samples they rest on. */
export interface CoverageSummary {
  kupiec: PSummary;
  independence: PSummary;
  conditional: PSummary;
  /** Median over the offsets with samples of their number of daily samples (0 without any). */
  samples: number;
}

/** The daily-sample tests of one model over the evaluated bars. */
export interface DailyCoverage extends CoverageSummary {
  /** One entry per phase offset k: the bars opening at UTC hour 2k. */
  offsets: (SequenceTests & { offset: number })[];
}

/**
 * Split evaluated bars into the 12 daily phase sequences and test each.
 * @param times open times (ms) of the evaluated bars, increasing.
 * @param breached per evaluated bar, target > MM.
 * @param intervalMs the bar interval (2 h): the phase is floor(time / intervalMs) mod DAILY_OFFSETS.
 */
export function dailyCoverage(
  times: readonly number[],
  breached: readonly boolean[],
  intervalMs: number,
  p = 0.01,
): DailyCoverage {
  const byOffset = Array.from({ length: DAILY_OFFSETS }, () => ({ t: [] as number[], b: [] as boolean[] }));
  times.forEach((time, i) => {
    const k = Math.floor(time / intervalMs) % DAILY_OFFSETS;
    byOffset[k].t.push(time);
    byOffset[k].b.push(breached[i]);
  });
  const offsets = byOffset.map((o, offset) => ({
    offset,
    ...sequenceTests(o.t, o.b, intervalMs * DAILY_OFFSETS, p),
  }));
  const used = offsets.filter((o) => o.samples > 0);
  return {
    offsets,
    kupiec: summarise(used.map((o) => o.kupiecP)),
    independence: summarise(used.map((o) => o.independenceP)),
    conditional: summarise(used.map((o) => o.conditionalP)),
    samples: medianSamples(used.map((o) => o.samples)),
  };
}

/** Median of the offsets' sample counts (0 for none). */
export function medianSamples(counts: readonly number[]): number {
  return counts.length === 0 ? 0 : summarise(counts).median;
}

/**
 * Coverage is valid when the median (over the 12 offsets) daily Kupiec, Christoffersen independence and
 * conditional-coverage p-values are all >= 0.05, on enough daily samples for the test to mean something.
 */
export const VALIDITY_P = 0.05;

/**
 * The fewest daily samples on which a margin that never breaches fails Kupiec's test at VALIDITY_P (192 at 1 %:
 * -2 n ln 0.99 > 3.84). On fewer, no breach at all passes, so a margin of any height, however wasteful, would
 * be called valid: the verdict there is "too short", not "valid".
 */
export function minDailySamples(p = 0.01): number {
  let n = 1;
  while (kupiecPof(0, n, p) >= VALIDITY_P) n++;
  return n;
}

/** At the backtest's 1 %. */
export const MIN_DAILY_SAMPLES = minDailySamples();

/** "not valid" as soon as a median p is below 0.05 (a short period can still reject), "too short" when none is
 * but the samples are fewer than MIN_DAILY_SAMPLES, else "valid". */
export type CoverageVerdict = "valid" | "not valid" | "too short";

/** The validity rule of docs/model-results.md and of issue 12. */
export function coverageVerdict(d: CoverageSummary, minSamples = MIN_DAILY_SAMPLES): CoverageVerdict {
  const passes =
    d.kupiec.median >= VALIDITY_P &&
    d.independence.median >= VALIDITY_P &&
    d.conditional.median >= VALIDITY_P;
  if (!passes) return "not valid";
  return d.samples < minSamples ? "too short" : "valid";
}

/** The verdict as a table cell: yes, no or too short. */
export function verdictCell(v: CoverageVerdict): string {
  return v === "valid" ? "yes" : v === "not valid" ? "no" : "too short";
}

/** The rule in one line, for the tables' footers. */
export const VERDICT_NOTE =
  "valid: median over the 12 daily offsets of Kupiec, independence and conditional-coverage p all >= 0.05, " +
  `on at least ${MIN_DAILY_SAMPLES} daily samples (on fewer, a margin that never breaches passes: 'too short')`;

/** The verdict is "valid". */
export function coverageValid(d: CoverageSummary): boolean {
  return coverageVerdict(d) === "valid";
}
