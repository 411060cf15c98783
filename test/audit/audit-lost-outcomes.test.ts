/**
 * The outcomes of an adaptive market that no update counted. Each accepted update processes the oldest pending
 * outcome (models/adaptive.ts `PendingOutcomes`), so a bar left out only delays an outcome; a submitter alone on a
 * market can still drop a breach by submitting nothing for a day after it (docs/model-results.md, "Skipped bars are caught up"), and the
 * audit counts those. On Hardhat's in-process network with the adaptive signed-update STAND-IN verifier
 * (test/helpers/signed-update-stand-in.ts), real signatures and the shipped candles: ETH-USDT deployed at the
 * rule's floor (the shipped model with calibrationNum 0.25, so breaches are frequent), its bars submitted by
 *   - an honest submitter that misses one bar and, later, a day of bars (an outage): the missed bar's outcome is
 *     processed a bar late; the outage drops one outcome, within chance;
 *   - a submitter that skips the bar that would count each breach (the attack of the rule before): it loses
 *     nothing, every skipped breach is processed by a later update with lag > 0;
 *   - a submitter silent for a day after each breach: each breach is dropped, a breach by the independent candles
 *     every time, far beyond the 1 % chance, so the market is SUSPICIOUS though every update is OK.
 * The honest run's audit also shows the reads running ahead of the checks (audit/lookahead.ts): each update's
 * window is looked up once, in order, up to LOOKAHEAD_UPDATES updates before its check.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract } from "ethers";
import { buildWindow, integerCandlesOf, type Window } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { modelCommitment } from "../../circuits/commitments";
import { unpackAdaptiveUpdate } from "../../circuits/statement";
import { loadCalibrations } from "../../models/market-calibrations";
import { windowOutcome } from "../../models/adaptive";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { auditOracle, type AuditOptions, type AuditReport } from "../../audit/audit";
import { LOOKAHEAD_UPDATES } from "../../audit/lookahead";
import type { AuditPublisherSet } from "../../audit/audit-signed";
import { formatAudit } from "../../cli/commands/audit";
import { inProcessChain, type Chain } from "../../onchain/chain";
import {
  deployOracle,
  deployVerifier,
  setAdaptiveCalibration,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { oracleDomain } from "../../prover/domain";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  signWindow,
  writeSignedWindow,
  type PublisherKey,
} from "../../publisher";
import { WindowDirectory, type WindowSource } from "../../publisher/window-sources";
import { privateKeyOf } from "../helpers/publisher-serve";
import { registerSignedMarket } from "../helpers/register-market";
import {
  adaptiveStandInArtifacts,
  packedStandInStatement,
  proveStandIn,
} from "../helpers/signed-update-stand-in";
import { honestAdaptiveUpdate } from "../helpers/honest-adaptive-update";
import { DATA, MODEL } from "../contracts/fixture";

const ETH = "ETH-USDT";
const ETH_DATA = join(DATA, "../ethusdt-2h.csv");
const series = loadCandles(ETH_DATA);
const ints = integerCandlesOf(series);
const L = series.candles.length - 1;
const H = 12;
const RULE = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;

let tmp: string;
let model: QuantizedModel;
let a: PublisherKey;
let setFile: AuditPublisherSet;
let adaptiveStandIn: string;

const windowOf = (index: number): Window => buildWindow(series, marketIdOf(ETH), index, WINDOW_BARS);

/** A chain with ETH-USDT adaptive from the rule's floor, its windows signed, and the bars a submitter chose. */
interface Run {
  chain: Chain;
  oracle: Contract;
  first: number;
  last: number;
  windows: string;
  /** Indexes of the bars submitted (and the blocks that accepted them), and of those left out. */
  submitted: number[];
  blocks: number[];
  left: number[];
}

/**
 * Submit bars end - bars + 1 .. end in order, leaving out those `leave` picks, given the MM each earlier submitted
 * bar was accepted with (by index). The runs share the in-process chain's clock, so each runs on bars after the
 * previous run's.
 */
async function run(
  name: string,
  end: number,
  bars: number,
  leave: (index: number, mmAt: ReadonlyMap<number, bigint>) => boolean,
): Promise<Run> {
  const chain = await inProcessChain();
  const oracle = await deployOracle(chain.signer, await chain.signer.getAddress());
  const domain = oracleDomain(chain.chainId, String(oracle.target));
  const verifier = String((await deployVerifier(chain.signer, adaptiveStandIn)).target);
  const commitment = await modelCommitment(model);
  const first = (await chain.provider.getBlock("latest"))!.number + 1;
  await registerSignedMarket(oracle, marketIdOf(ETH), {
    verifier,
    modelCommitment: commitment,
    set: setFile.set,
  });
  await setAdaptiveCalibration(oracle, marketIdOf(ETH), BigInt(model.policy.calibrationNum) << 8n);
  const windows = join(tmp, name);
  mkdirSync(windows);
  const submitted: number[] = [];
  const blocks: number[] = [];
  const left: number[] = [];
  const mmAt = new Map<number, bigint>();
  let clock = 0;
  let last = first;
  for (let index = end - bars + 1; index <= end; index++) {
    const w = windowOf(index);
    writeSignedWindow(join(windows, `${index}.json`), await signWindow(a, ETH, w));
    if (leave(index, mmAt)) {
      left.push(index);
      continue;
    }
    const update = await honestAdaptiveUpdate(oracle, marketIdOf(ETH), model, w, RULE);
    const proof = await proveStandIn(
      adaptiveStandIn,
      packedStandInStatement(update, {
        marketId: marketIdOf(ETH),
        modelCommitment: commitment,
        publisherSet: setFile.commitment,
        domain,
      }),
    );
    clock = Math.max(clock + 2, series.candles[index].time / 1000 + series.intervalMs / 1000 + 60);
    await chain.mineAt(clock - 1);
    await chain.setNextBlockTime(clock);
    last = (await submitSignedUpdate(oracle, marketIdOf(ETH), proof.calldata)).blockNumber;
    submitted.push(index);
    blocks.push(last);
    mmAt.set(index, unpackAdaptiveUpdate(update).mm);
  }
  return { chain, oracle, first, last, windows, submitted, blocks, left };
}

const auditOptions = (r: Run, withCandles: boolean): AuditOptions => ({
  provider: r.chain.provider,
  oracle: String(r.oracle.target),
  fromBlock: r.first,
  toBlock: r.last,
  model,
  modelPath: "the shipped model at the rule's floor",
  windowSources: [WindowDirectory.open(r.windows)],
  publisherSets: [setFile],
  adaptive: { rule: RULE, source: "models/calibrations.json" },
  ...(withCandles && { data: { series, market: ETH } }),
});

const audit = (r: Run, withCandles: boolean): Promise<AuditReport> =>
  auditOracle(auditOptions(r, withCandles));

/** Open time (s) of bar `index`. */
const timeOf = (index: number) => series.candles[index].time / 1000;

/**
 * Bar `index`'s update would count the outcome of bar index - 12, a breach by the candles (a submitter who watches
 * them; with every bar submitted before, that is the outcome it processes).
 */
const breachDue = (index: number, mmAt: ReadonlyMap<number, bigint>) =>
  mmAt.has(index - H) && windowOutcome(ints.slice(index - H, index + 1), mmAt.get(index - H)!) === true;

/**
 * A submitter silent for a day (12 bars) from each bar whose update would count a breach, so the update after the
 * silence drops it; once the outcomes pending over the silence are processed (12 bars after it), it watches again.
 */
function silentAfterBreaches(): (index: number, mmAt: ReadonlyMap<number, bigint>) => boolean {
  let quietUntil = -Infinity;
  return (i, mmAt) => {
    if (i <= quietUntil) return true;
    if (i <= quietUntil + H || !breachDue(i, mmAt)) return false;
    quietUntil = i + H - 1;
    return true;
  };
}

let honest: Run;
let skipping: Run;
let silent: Run;
/** The bars the skipping submitter left out, and the first bar of each day the silent one kept quiet. */
let outage: number;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-lost-"));
  // The shipped model at the rule's floor: deployed there honestly (its calibrationNum * 2^8), it breaches often.
  const shipped = loadQuantizedModel(MODEL);
  model = { ...shipped, policy: { ...shipped.policy, calibrationNum: RULE.minNum } };
  const privateKey = privateKeyOf(1);
  a = { privateKey, publicKey: await publicKeyOf(privateKey) };
  const set = await makePublisherSet([a.publicKey], 1);
  setFile = { file: join(tmp, "set.json"), set, commitment: await publisherSetCommitment(set) };
  adaptiveStandIn = await adaptiveStandInArtifacts();
  // honest: misses bar missed, and is down for a day (12 bars) from bar outage
  const hEnd = L - 216;
  const missed = hEnd - 50;
  outage = hEnd - 30;
  honest = await run("honest", hEnd, 72, (i) => i === missed || (i >= outage && i < outage + H));
  skipping = await run("skipping", L - 144, 72, breachDue);
  silent = await run("silent", L, 144, silentAfterBreaches());
}, 1_200_000);

afterAll(async () => {
  await silent?.chain.close();
  await skipping?.chain.close();
  await honest?.chain.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("audit: outcomes no update counted", () => {
  it("a submitter skipping the bar that would count each breach loses nothing: each is counted late", async () => {
    expect(skipping.left.length).toBeGreaterThanOrEqual(2);
    const report = await audit(skipping, true);
    expect(report.updates.map((u) => u.status)).toEqual(skipping.submitted.map(() => "ok"));
    expect(report.lostOutcomes.flatMap((m) => m.lost)).toEqual([]);
    expect(report.suspicious).toBe(false);
    // every breach it skipped is processed by a later update, with lag > 0, as a breach
    for (const index of skipping.left) {
      const s = timeOf(index - H);
      const late = report.updates.find(
        (u) => u.adaptive!.prior.marginS !== 0 && u.dataTimestamp - (H + u.adaptive!.prior.lag) * 7200 === s,
      );
      expect(late, `bar ${index - H}`).toBeDefined();
      expect(late!.adaptive!.prior.lag).toBeGreaterThan(0);
      expect(late!.adaptive!.outcome, `bar ${index - H}`).toBe("breach");
    }
    expect(formatAudit(report)).toMatch(/adaptive breach, lag [1-9]/);
    expect(formatAudit(report)).not.toContain("no update counted");
  });

  it("a submitter silent for a day after each breach: every update OK, each breach dropped, the market SUSPICIOUS", async () => {
    const report = await audit(silent, true);
    expect(report.updates.map((u) => u.status)).toEqual(silent.submitted.map(() => "ok"));
    expect(report.lostOutcomes).toHaveLength(1);
    const lost = report.lostOutcomes[0];
    expect(lost.lost.length).toBeGreaterThanOrEqual(2);
    // the breached bars: the one bar 12 before the first bar of each silence the submitter ended
    const quiet = silent.left.filter(
      (i) => !silent.left.includes(i - 1) && silent.submitted.some((j) => j > i),
    );
    expect(lost.lost.map((l) => Number(l.dataTimestamp))).toEqual(quiet.map((i) => timeOf(i - H)));
    expect(
      lost.lost.every((l) => l.cause === "dropped" && l.outcome === "breach" && l.by === "candles"),
    ).toBe(true);
    expect(lost).toMatchObject({ market: ETH, breaches: lost.lost.length, covered: 0, unknown: 0 });
    expect(lost.p).toBeCloseTo(0.01 ** lost.lost.length, 12);
    expect(lost.suspicious).toBe(true);
    expect(report.suspicious).toBe(true);
    const text = formatAudit(report);
    expect(text).toContain(
      `SUSPICIOUS ETH-USDT (adaptive): ${lost.lost.length} outcomes no update counted: ` +
        `${lost.lost.length} breaches, 0 covered, 0 unknown; P(at least`,
    );
    expect(text).toContain("(still pending 24 bars on)");
    // Without the candles: the window of the update after each silence (bar s + 24, its range part bars
    // s + 1 .. s + 24) tells each breach, so the market is SUSPICIOUS all the same.
    const withoutData = await audit(silent, false);
    const text2 = formatAudit(withoutData);
    expect(text2).toContain(
      "0 unknown (without --data of ETH-USDT, the signed windows tell where they hold the bars' highs and lows, " +
        "else the signed closes, and only breaches)",
    );
    expect(text2).toContain("breach by the signed window, dropped by the update of");
    const signed = withoutData.lostOutcomes[0];
    expect(signed.lost).toEqual(lost.lost.map((l) => ({ ...l, by: "signed window" })));
    expect(signed.suspicious).toBe(true);
  });

  it("an honest submitter: a missed bar loses nothing, a day's outage one outcome, within chance", async () => {
    const report = await audit(honest, true);
    expect(report.updates.every((u) => u.status === "ok")).toBe(true);
    const [lost] = report.lostOutcomes;
    expect(lost.lost.map((l) => [Number(l.dataTimestamp), l.cause, Number(l.next)])).toEqual([
      [timeOf(outage - H), "dropped", timeOf(outage + H)],
    ]);
    expect(lost.suspicious).toBe(false);
    expect(report.suspicious).toBe(false);
    expect(formatAudit(report)).not.toContain("SUSPICIOUS");
  });

  it("reads run ahead: each update's window looked up once, LOOKAHEAD_UPDATES updates before its check at most", async () => {
    const directory = WindowDirectory.open(honest.windows);
    let checked = 0;
    /** Per lookup, in the order made: its bar, and how many updates ahead of the checks it was made. */
    const lookups: { key: string; ahead: number }[] = [];
    const counting: WindowSource = {
      name: directory.name,
      lookup: (market, marketId, endTimeMs) => {
        lookups.push({ key: `${marketId}@${endTimeMs}`, ahead: lookups.length - checked });
        return directory.lookup(market, marketId, endTimeMs);
      },
    };
    const report = await auditOracle({
      ...auditOptions(honest, true),
      windowSources: [counting],
      onUpdateProgress: (done) => {
        checked = done;
      },
    });
    expect(lookups.map((l) => l.key)).toEqual(
      report.updates.map((u) => `${u.marketId}@${u.dataTimestamp * 1000}`),
    );
    expect(new Set(lookups.map((l) => l.key)).size).toBe(lookups.length);
    expect(Math.max(...lookups.map((l) => l.ahead))).toBe(LOOKAHEAD_UPDATES);
    // What the honest audit finds, found the same way.
    expect(report.updates.every((u) => u.status === "ok")).toBe(true);
    expect(report.lostOutcomes[0].lost.map((l) => Number(l.dataTimestamp))).toEqual([timeOf(outage - H)]);
  });

  it("an audit starting after the update that dropped the last outcome counts no lost outcome", async () => {
    const resumed = silent.submitted.findIndex((index) => index > Math.max(...silent.left));
    const report = await audit({ ...silent, first: silent.blocks[resumed] + 1 }, true);
    expect(report.updates.length).toBe(silent.submitted.length - resumed - 1);
    expect(report.lostOutcomes.flatMap((m) => m.lost)).toEqual([]);
    expect(report.suspicious).toBe(false);
  });
});
