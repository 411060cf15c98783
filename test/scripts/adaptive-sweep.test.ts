/**
 * The adaptive-rule sweep (scripts/adaptive-sweep.ts): its candidate rules are the integer rules described in
 * docs/model-results.md (the shipped one among them, identical to the calibrations file's), the two rules outside the
 * shipped family step as documented, and the pick and the printed table follow the selection criterion. The
 * sweep itself (eight markets, sixteen rules) is run by hand; see docs/model-results.md.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { balancedUpNum, STATE_EXTRA_BITS, type AdaptiveRule } from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import {
  familyRule,
  formatSweep,
  pacedRule,
  pickRule,
  runAcceleratedRule,
  sweepRules,
  type SweepRow,
} from "../../scripts/adaptive-sweep";

const SHIPPED: AdaptiveRule = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;
const ONE = 1n << BigInt(STATE_EXTRA_BITS);

describe("adaptive sweep rules", () => {
  it("lists sixteen rules, the fifth being the shipped rule exactly", () => {
    const rules = sweepRules(SHIPPED);
    expect(rules).toHaveLength(16);
    expect(rules[4].label).toBe("2^-10 → 2^-13, one step every 500 outcomes");
    expect(familyRule(SHIPPED, 10, 13, 500)).toEqual(SHIPPED);
    // The shipped rule as the sweep runs it steps like the calibrations file's rule: 500 covered outcomes at
    // 2^-10, then the 2^-11 stage.
    const rule = rules[4].rule;
    let s = rule.initial(65536);
    let num = 65536n * ONE;
    for (let i = 0; i < 501; i++) {
      s = rule.step(s, false);
      num -= num >> (i < 500 ? 10n : 11n);
    }
    expect(rule.calibrationNum(s)).toBe((num + ONE - 1n) / ONE);
  });

  it("a fixed rule is one stage with the balanced up step", () => {
    const r = familyRule(SHIPPED, 12, 12, 1);
    expect(r).toEqual({ ...SHIPPED, downShiftStart: 12, downShift: 12, outcomesPerShift: 1, upNums: [1604] });
    expect(balancedUpNum(12, 16)).toBe(1604);
  });

  it("the paced rule queues breaches and releases one up step per `pace` outcomes", () => {
    const rule = pacedRule(SHIPPED, 12, 12);
    const up = (n: bigint) => n + ((n * 1604n) >> 16n);
    const down = (n: bigint) => n - (n >> 12n);
    let s = rule.initial(65536);
    let num = 65536n * ONE;
    // First breach: released at once (nothing released in the last 12 outcomes).
    s = rule.step(s, true);
    num = up(num);
    expect(s).toEqual({ num, queued: 0, since: 0 });
    // Second breach right after: queued; the scale does not move.
    s = rule.step(s, true);
    expect(s).toEqual({ num, queued: 1, since: 1 });
    // Ten covered outcomes: down steps only, still queued.
    for (let i = 0; i < 10; i++) {
      s = rule.step(s, false);
      num = down(num);
    }
    expect(s).toEqual({ num, queued: 1, since: 11 });
    // The twelfth outcome since the last release releases the queued up step.
    s = rule.step(s, false);
    num = up(down(num));
    expect(s).toEqual({ num, queued: 0, since: 0 });
  });

  it("the accelerated rule doubles its down step every `every` covered outcomes, up to the cap, and resets on a breach", () => {
    const rule = runAcceleratedRule(SHIPPED, 12, 3, 4);
    let s = rule.initial(65536);
    let num = 65536n * ONE;
    const times = [1n, 1n, 1n, 2n, 2n, 2n, 4n, 4n, 4n, 4n]; // 2^floor(run/3), capped at 4
    for (const k of times) {
      s = rule.step(s, false);
      num -= (num * k) >> 12n;
    }
    expect(s).toEqual({ num, run: 10 });
    s = rule.step(s, true);
    num += (num * 1604n) >> 16n;
    expect(s).toEqual({ num, run: 0 });
    s = rule.step(s, false);
    num -= num >> 12n;
    expect(s.num).toBe(num);
  });

  it("every rule keeps the shipped clamp", () => {
    for (const { rule } of sweepRules(SHIPPED)) {
      let s = rule.initial(SHIPPED.maxNum);
      for (let i = 0; i < 40; i++) s = rule.step(s, true);
      expect(rule.calibrationNum(s)).toBe(BigInt(SHIPPED.maxNum));
      s = rule.initial(SHIPPED.minNum);
      for (let i = 0; i < 40; i++) s = rule.step(s, false);
      expect(rule.calibrationNum(s)).toBe(BigInt(SHIPPED.minNum));
    }
  });
});

describe("adaptive sweep selection and table", () => {
  const row = (label: string, valid: number, pooledValid: boolean, meanAvgMm: number): SweepRow => ({
    label,
    validation: {
      valid,
      pooledValid,
      pooledBreachRate: 0.01,
      pooledKupiecMedian: 0.5,
      meanAvgMm,
      breachRates: [0.01],
    },
    test: { valid: 8, goalMet: 1, meanAvgMm: 1000, breachRates: [0.01] },
    picked: false,
  });

  it("picks the lowest mean validation MM among rules valid on every market and pooled", () => {
    const rows = pickRule(
      [row("a", 8, true, 2000), row("b", 8, false, 1500), row("c", 7, true, 1400), row("d", 8, true, 1900)],
      8,
    );
    expect(rows.filter((r) => r.picked).map((r) => r.label)).toEqual(["d"]);
    expect(pickRule([row("a", 7, true, 1)], 8).some((r) => r.picked)).toBe(false);
  });

  it("prints the documented table's columns, the pick in bold", () => {
    const text = formatSweep(pickRule([row("slow", 8, true, 1900.4), row("fast", 8, false, 1800)], 8), 8);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/\| rule .*\| 2022 valid \/ pooled .*\| mean 2022 avg MM .*\| test valid/);
    expect(lines[2]).toMatch(
      /^\| \*\*slow\*\* +\| \*\*8 of 8 \/ yes \(1\.00 %\)\*\* +\| \*\*1900\*\* +\| 8 \/ 1 \/ 1000 +\|$/,
    );
    expect(lines[3]).toMatch(/^\| fast +\| 8 of 8 \/ no \(1\.00 %\) +\| 1800 +\|/);
  });
});
