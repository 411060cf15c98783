/**
 * circuits/lib/adaptive.circom: AdaptiveCalibration with the shipped rule (models/calibrations.json) against
 * models/adaptive.ts (`windowOutcome`, `adaptiveUpdate`, `stateToNum`): every annealing stage and its
 * boundaries, the clamp at both ends, breach and covered bars at the exact threshold, "no outcome" (no accepted
 * margin, a missing bar), prices at the publisher's extremes, real BTC windows, the constraint-count pin,
 * out-of-range states without a witness, and forged witnesses (breach, step quotient, stage, maximum, presence)
 * that the constraints reject.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf, type WindowBar } from "../../candles";
import { emitAdaptiveCalibration, adaptiveStateWidths } from "../../circuits/adaptive-params";
import {
  bitEdits,
  bitsOf,
  loadCircuit,
  readSymbols,
  runForgery,
  signalRange,
  witnessFailure,
  type Forgery,
  type TestCircuit,
} from "../helpers/circuits";
import { expectForgeryRejected, expectNoWitness } from "../helpers/circuits/expect";
import { WINDOW_BARS } from "../../candles/window";
import {
  adaptiveUpdate,
  stateToNum,
  windowOutcome,
  type AdaptiveRule,
  type AdaptiveState,
} from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadCandles } from "../../candles/load-data";
import { TARGET_HORIZON_BARS as H } from "../../models/target";

const RULE: AdaptiveRule = loadCalibrations("models/calibrations.json").adaptive;
const W = adaptiveStateWidths(RULE);
const INPUTS = ["num", "outcomes", "mmS", "closeS", "close", "high", "low"] as const;
const OUTPUTS = ["processed", "breach", "newNum", "newOutcomes", "calibrationNum"] as const;

/** A wrapper around AdaptiveCalibration of the shipped rule, component `a`. */
function adaptiveSource(): string {
  const out: string[] = [];
  const line = (s = "") => out.push(s);
  line("pragma circom 2.1.0;");
  line('include "adaptive.circom";');
  line("template Wrap() {");
  for (const s of INPUTS.slice(0, 4)) line(`    signal input ${s};`);
  for (const s of INPUTS.slice(4)) line(`    signal input ${s}[${H}];`);
  emitAdaptiveCalibration(line, RULE, "a");
  for (const s of INPUTS) line(`    a.${s} <== ${s};`);
  for (const s of OUTPUTS) {
    line(`    signal output ${s};`);
    line(`    ${s} <== a.${s};`);
  }
  line("}");
  line("component main = Wrap();");
  return out.join("\n") + "\n";
}

/** The last H + 1 bars s..t of a window as the template's inputs. */
interface Case {
  state: AdaptiveState;
  mmS: bigint;
  bars: Pick<WindowBar, "close" | "high" | "low" | "missing">[];
}

const inputOf = (c: Case) => ({
  num: c.state.num,
  outcomes: BigInt(c.state.outcomes),
  mmS: c.mmS,
  closeS: c.bars[0].close,
  close: c.bars.slice(1).map((b) => b.close),
  high: c.bars.slice(1).map((b) => b.high),
  low: c.bars.slice(1).map((b) => b.low),
});

/** What the integer engine says the template outputs. */
function expected(c: Case): Record<string, bigint> {
  const outcome = windowOutcome(c.bars, c.mmS);
  const next = adaptiveUpdate(c.state, outcome, RULE);
  return {
    processed: outcome === null ? 0n : 1n,
    ...(outcome === null ? {} : { breach: outcome ? 1n : 0n }),
    newNum: next.num,
    newOutcomes: BigInt(next.outcomes),
    calibrationNum: stateToNum(next.num),
  };
}

async function run(circuit: TestCircuit, c: Case): Promise<Record<string, bigint>> {
  const w = await circuit.witness(inputOf(c));
  expect(circuit.violated(w)).toEqual([]);
  const out: Record<string, bigint> = Object.fromEntries(
    OUTPUTS.map((o) => [o, circuit.read(w, `main.${o}`)]),
  );
  // breach is the comparison on whatever the window holds: it moves nothing unless the outcome is processed
  if (out.processed === 0n) delete out.breach;
  return out;
}

/** H + 1 present bars: close_s = 100 (at 8 decimals), later bars within [lo, hi] with the move `move`. */
function flatBars(move: bigint, down: boolean): Case["bars"] {
  const base = 100_00000000n;
  const bars = Array.from({ length: H + 1 }, () => ({ close: base, high: base, low: base, missing: false }));
  if (down) bars[7] = { ...bars[7], low: base - move };
  else bars[4] = { ...bars[4], high: base + move };
  return bars;
}

describe("AdaptiveCalibration (shipped rule)", () => {
  let o1: TestCircuit;
  let o2: TestCircuit;

  beforeAll(async () => {
    [o1, o2] = await Promise.all([
      loadCircuit(adaptiveSource(), "AdaptiveCalibration", { O: 1 }),
      loadCircuit(adaptiveSource(), "AdaptiveCalibration", { O: 2 }),
    ]);
  });

  it("pins the --O2 cost: 1,962 (Maximum(24, 65) 1,583, the breach sign 81, the state's checks and step)", () => {
    // Maximum(2H, 65) 24 * 65 + 23 = 1,583; SignedRangeCheck(80) + mmS * closeS = 81; Presence of mmS and 13
    // closes + 13 products = 41; range checks 14 + 2 * 26 + 2 * 11 = 88; stage flags 3 * 12 = 36; c, num * c,
    // FloorShiftToRange(16, 0, 24), breach * step = 43; ClampRange 2 * (29 + 1) = 60; newNum, newOutcomes 2;
    // CeilShiftToRange(8, 0, 20) = 28 (circuits/lib/adaptive.circom's header)
    expect(o2.constraints).toBe(1583 + 81 + 41 + 88 + 36 + 43 + 60 + 2 + 28);
  });

  it("agrees with the engine at every stage boundary, breach and covered, with the clamp at both ends", async () => {
    const threshold = 1000n; // mmS = 1000 bps of close 100: a move of 10 is the threshold
    const moves = [9_99999999n, 10_00000000n, 10_00000001n, 25_00000000n, 0n];
    const outcomesList = [0, 1, 499, 500, 501, 999, 1000, 1001, 1499, 1500];
    const nums = [W.numMin, W.numMin + 1n, 49021n << 8n, 49021n * 256n + 255n, W.numMax - 1n, W.numMax];
    let n = 0;
    for (const outcomes of outcomesList) {
      for (const num of nums) {
        for (const move of moves) {
          for (const down of [false, true]) {
            const c: Case = { state: { num, outcomes }, mmS: threshold, bars: flatBars(move, down) };
            expect(await run(o2, c), `num ${num} outcomes ${outcomes} move ${move} down ${down}`).toEqual(
              expected(c),
            );
            n++;
          }
        }
      }
    }
    expect(n).toBe(600);
  });

  it("breaches exactly when 10000 * move > mmS * close_s (equality is covered)", async () => {
    const state = { num: 49021n << 8n, outcomes: 10 };
    for (const [move, breach] of [
      [10_00000000n, 0n],
      [10_00000001n, 1n],
    ] as const) {
      const out = await run(o2, { state, mmS: 1000n, bars: flatBars(move, true) });
      expect(out.breach).toBe(breach);
      expect(out.processed).toBe(1n);
    }
  });

  it("keeps the state for 'no outcome': no accepted margin at s (mmS 0), or a missing bar in s..t", async () => {
    const state = { num: 60000n << 8n, outcomes: 700 };
    for (const [mmS, missing] of [
      [0n, -1],
      [1000n, 0],
      [1000n, 5],
      [1000n, H],
      [0n, 3],
    ] as const) {
      const bars = flatBars(25_00000000n, true);
      if (missing >= 0) bars[missing] = { close: 0n, high: 0n, low: 0n, missing: true };
      const c: Case = { state, mmS, bars };
      const out = await run(o2, c);
      expect(out, `mmS ${mmS} missing ${missing}`).toEqual(expected(c));
      expect(out.processed).toBe(0n);
      expect(out.newNum).toBe(state.num);
      expect(out.newOutcomes).toBe(700n);
      expect(out.calibrationNum).toBe(60000n);
    }
  });

  it("has the engine's witness at the publisher's price extremes (1 and 2^64 - 1), for every margin and clamp end", async () => {
    // the largest and smallest prices a signed bar may hold: a move near 2^64 must neither overflow the maximum
    // nor the breach comparison, and a missing bar next to such bars must still give "no outcome"
    const top = (1n << 64n) - 1n;
    const bar = (close: bigint, low: bigint, high: bigint) => ({ close, low, high, missing: false });
    const gap = { close: 0n, high: 0n, low: 0n, missing: true };
    const later = (b: Case["bars"][number]) => Array.from({ length: H }, () => b);
    const shapes: Case["bars"][] = [
      [bar(top, top, top), ...later(bar(1n, 1n, top))],
      [bar(1n, 1n, 1n), ...later(bar(top, top, top))],
      [gap, ...later(bar(top, 1n, top))],
      [bar(top, top, top), ...later(bar(1n, 1n, top)).map((b, i) => (i === 5 ? gap : b))],
    ];
    let n = 0;
    for (const bars of shapes) {
      for (const mmS of [0n, 1n, 5000n, 10000n, (1n << 14n) - 1n]) {
        for (const [num, outcomes] of [
          [W.numMin, 0],
          [W.numMin, 1500],
          [W.numMax, 0],
          [W.numMax, 1500],
        ] as const) {
          const c: Case = { state: { num, outcomes }, mmS, bars };
          expect(await run(o2, c), `mmS ${mmS} num ${num} outcomes ${outcomes}`).toEqual(expected(c));
          n++;
        }
      }
    }
    expect(n).toBe(80);
  });

  it("agrees with the engine on real BTC windows, at margins around each bar's realised move", async () => {
    const series = loadCandles("models/data/btcusdt-2h.csv");
    const ints = integerCandlesOf(series);
    let breaches = 0;
    let covered = 0;
    for (let k = 0; k < 30; k++) {
      const end = 1000 + k * 677;
      const win = buildWindow(series, 1n, end, WINDOW_BARS, ints);
      const bars = win.bars.slice(win.bars.length - H - 1);
      const close = bars[0].close;
      let move = 0n;
      for (const b of bars.slice(1)) {
        move = [move, close - b.low, b.high - close].reduce((a, v) => (v > a ? v : a));
      }
      // the smallest margin that covers the move, and its neighbours
      const cover = (10000n * move + close - 1n) / close;
      for (const mmS of [cover - 1n, cover, cover + 1n, 1n, 10000n]) {
        if (mmS <= 0n || mmS > 10000n) continue;
        const c: Case = {
          state: { num: BigInt(40000 + 997 * k) << 8n, outcomes: (k * 61) % 1501 },
          mmS,
          bars,
        };
        const want = expected(c);
        expect(await run(o2, c), `bar ${end} mmS ${mmS}`).toEqual(want);
        if (want.breach === 1n) breaches++;
        else covered++;
      }
    }
    expect(breaches).toBeGreaterThan(20);
    expect(covered).toBeGreaterThan(20);
  });

  it("has no witness for a state outside its range (num outside [min, max], outcomes above the cap, mmS >= 2^14)", async () => {
    const good: Case = { state: { num: W.numMin, outcomes: 0 }, mmS: 1000n, bars: flatBars(1n, true) };
    const base = inputOf(good);
    for (const edit of [
      { num: W.numMin - 1n },
      { num: W.numMax + 1n },
      { outcomes: BigInt(W.cap + 1) },
      { outcomes: -1n },
      { mmS: 1n << 14n },
    ]) {
      await expectNoWitness(o2, { ...base, ...edit }, "RangeCheck");
    }
    expect(await witnessFailure(o2, base)).toBeUndefined();
  });

  describe("forged witnesses (the outputs edited, the constraint that pins each hint rejects them)", () => {
    // A covered bar at stage 1 (move 5 against a threshold of 10): the honest step is down.
    const from = inputOf({
      state: { num: 49021n << 8n, outcomes: 600 },
      mmS: 1000n,
      bars: flatBars(5_00000000n, true),
    });

    it("rejects a breach claimed for a covered bar (the sum of the comparison's decomposition)", async () => {
      await expectRefused(o1, o2, {
        name: "breach = 1 on a covered bar",
        from,
        edits: () => ({ "main.breach": 1n }),
        // the decomposition's sum: its bits (the top one is main.breach at --O1) must add up to the difference
        rejectedBy: [...signalRange("main.a.exceeds.bits", 0, 79), "main.a.exceeds.rc.in", "main.breach"],
      });
    });

    it("rejects a smaller maximum move that would hide a breach (out - in[i] >= 0 for the largest move)", async () => {
      // max - 1, with every other difference's bits edited to match: the largest move is in[12] = close_s -
      // low of bar s + 7, and out - in[12] = -1 has no 65-bit decomposition (its bits are left at 0).
      await expectRefused(o1, o2, {
        name: "max move - 1",
        from,
        edits: (read) => {
          const edits: Record<string, bigint> = { "main.a.largest.out": read("main.a.largest.out") - 1n };
          for (let i = 0; i < 2 * H; i++) {
            const d = read(`main.a.largest.atLeast[${i}].in`) - 1n;
            edits[`main.a.largest.atLeast[${i}].in`] = d;
            Object.assign(edits, bitEdits(`main.a.largest.atLeast[${i}].bits`, bitsOf(d < 0n ? 0n : d, 65)));
          }
          return edits;
        },
        rejectedBy: [
          ...signalRange("main.a.largest.atLeast[12].bits", 0, 65),
          "main.a.largest.atLeast[12].in",
        ],
      });
    });

    it("rejects a step quotient off by one (FloorShiftToRange's decomposition of num * c)", async () => {
      await expectRefused(o1, o2, {
        name: "step + 1",
        from,
        edits: (read) => bitEdits("main.a.step.d.bits", bitsOf(read("main.a.scaled") + (1n << 16n), 40)),
        rejectedBy: ["main.a.scaled", ...signalRange("main.a.step.d.bits", 0, 40)],
      });
    });

    it("rejects another annealing stage's step (c, the linear choice by the stage flags and the breach bit)", async () => {
      // 600 outcomes is stage 1 (down step 2^-11: c = 2^(16 - 11) = 32); stage 0's c = 64 would step twice as far
      await expectRefused(o1, o2, {
        name: "stage 0's step at 600 outcomes",
        from,
        edits: () => ({ "main.a.c": 64n }),
        rejectedBy: [
          "main.a.c",
          "main.a.ge[0].bits[11]",
          "main.a.ge[1].bits[11]",
          "main.a.ge[2].bits[11]",
          "main.breach",
        ],
      });
    });

    it("rejects 'no outcome' for a bar with an accepted margin (IsZero of mmS: in * out = 0)", async () => {
      await expectRefused(o1, o2, {
        name: "processed = 0 with mmS = 1000",
        from,
        edits: () => ({ "main.a.hasOutcome.z.inv": 0n, "main.a.hasOutcome.z.out": 1n }),
        rejectedBy: ["main.mmS", "main.a.hasOutcome.z.out"],
      });
    });

    // What a forger gains most from: hiding a breach (the scale goes down instead of up). A breached bar at
    // stage 1: the move of 25 against a threshold of 10.
    const breached = inputOf({
      state: { num: 49021n << 8n, outcomes: 600 },
      mmS: 1000n,
      bars: flatBars(25_00000000n, true),
    });

    it("rejects a breach hidden on a breached bar, the covered step taken instead (the comparison's decomposition)", async () => {
      // breach = 0, and every signal downstream of it taken from the honest witness of a covered bar with the
      // same state and margin (c, the step, the clamp, the new state and its calibrationNum): the forgery is
      // consistent everywhere except the one decomposition that pins the sign bit to the window's move
      const covered = inputOf({
        state: { num: 49021n << 8n, outcomes: 600 },
        mmS: 1000n,
        bars: flatBars(5_00000000n, true),
      });
      const wc = await o1.witness(covered);
      const upstream = ["largest", "exceeds", "threshold", "present", "allPresent", "hasOutcome"];
      const downstream = [...readSymbols(o1.symPath).index]
        .filter(([name, wire]) => wire > 0 && name.startsWith("main.a."))
        .map(([name]) => name)
        .filter((name) => !upstream.some((u) => name.startsWith(`main.a.${u}`)));
      const outputs = OUTPUTS.map((o) => `main.${o}`);
      const edits = Object.fromEntries([...downstream, ...outputs].map((n) => [n, o1.read(wc, n)]));
      expect(edits["main.breach"]).toBe(0n);
      expect(edits["main.newNum"]).toBeLessThan(breached.num);
      await expectForgeryRejected(o1, o2, {
        name: "breach = 0 on a breached bar, covered step",
        from: breached,
        edits: () => edits,
        rejectedBy: [...signalRange("main.a.exceeds.bits", 0, 79), "main.a.exceeds.rc.in", "main.breach"],
      });
    });

    it("rejects 'no outcome' from a present bar of s..t claimed missing (IsZero of its close: in * out = 0)", async () => {
      // the bar's flag, and everything after it, taken from the honest witness of the same window with that bar
      // missing (the chain of presence products, processed = 0, the state kept and its calibrationNum): only
      // the IsZero constraint that ties the flag to the bar's (present) close is left to refuse it
      for (const [k, close] of [
        [0, "main.closeS"],
        [5, "main.close[4]"],
        [H, `main.close[${H - 1}]`],
      ] as const) {
        const bars = flatBars(25_00000000n, true);
        bars[k] = { close: 0n, high: 0n, low: 0n, missing: true };
        const wm = await o1.witness(
          inputOf({ state: { num: breached.num, outcomes: 600 }, mmS: 1000n, bars }),
        );
        const spliced = [`main.a.present[${k}].`, "main.a.allPresent", "main.a.ceil.", "main.a.newNum"];
        const names = [...readSymbols(o1.symPath).index]
          .filter(([name, wire]) => wire > 0 && spliced.some((prefix) => name.startsWith(prefix)))
          .map(([name]) => name);
        const edits = Object.fromEntries(
          [...names, ...OUTPUTS.filter((o) => o !== "breach").map((o) => `main.${o}`)].map((n) => [
            n,
            o1.read(wm, n),
          ]),
        );
        expect(edits["main.processed"]).toBe(0n);
        expect(edits["main.newNum"]).toBe(breached.num);
        await expectForgeryRejected(o1, o2, {
          name: `processed = 0 with bar s + ${k} present`,
          from: breached,
          edits: () => edits,
          rejectedBy: [close, `main.a.present[${k}].z.out`],
        });
      }
    });
  });
});

/**
 * The forged witness is refused: honest witnesses pass both builds, the --O1 system violates the constraint
 * over `rejectedBy` (among the downstream ones the edit also breaks), and the --O2 system rejects the edits.
 */
async function expectRefused(o1: TestCircuit, o2: TestCircuit, f: Forgery): Promise<void> {
  const r = await runForgery(o1, o2, f);
  expect(r.honestViolations).toEqual([]);
  expect(r.o1Violated, f.name).toContainEqual([...f.rejectedBy].sort());
  expect(r.o2Violated.length, `${f.name}: --O2 must reject`).toBeGreaterThan(0);
}
