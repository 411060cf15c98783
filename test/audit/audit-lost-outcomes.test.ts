/**
 * The outcomes of an adaptive market that no update counted, because the bar 12 later was not accepted: a
 * submitter alone on a market can drop breaches so (README, "A known weakness"), and the audit counts them. On
 * Hardhat's in-process network with the adaptive signed-update STAND-IN verifier (test/helpers/signed-update-
 * stand-in.ts), real signatures and the shipped candles: ETH-USDT deployed at the rule's floor (the shipped model with calibrationNum 0.25, so breaches are frequent), its
 * bars submitted, 72 at a time, by
 *   - an honest submitter that misses one bar (the 72 bars before the last 72): its one lost outcome is within
 *     chance;
 *   - a submitter that leaves out every bar whose update would count a breach (the last 72): each lost outcome is a
 *     breach by the independent candles, far beyond the 1 % chance, so the market is SUSPICIOUS though every
 *     update is OK.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract } from "ethers";
import { buildWindow, type Window } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { modelCommitment } from "../../circuits/commitments";
import { unpackAdaptiveUpdate } from "../../circuits/statement";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { auditOracle, type AuditReport } from "../../audit/audit";
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
import { WindowDirectory } from "../../publisher/window-sources";
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
const L = series.candles.length - 1;
const BARS = 72;
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
 * Submit bars end - BARS + 1 .. end in order, leaving out those `leave` picks from their honest update. The runs
 * share the in-process chain's clock, so each runs on bars after the previous run's.
 */
async function run(
  name: string,
  end: number,
  leave: (index: number, update: bigint) => boolean,
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
  let clock = 0;
  let last = first;
  for (let index = end - BARS + 1; index <= end; index++) {
    const w = windowOf(index);
    writeSignedWindow(join(windows, `${index}.json`), await signWindow(a, ETH, w));
    const update = await honestAdaptiveUpdate(oracle, marketIdOf(ETH), model, w, RULE);
    if (leave(index, update)) {
      left.push(index);
      continue;
    }
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
  }
  return { chain, oracle, first, last, windows, submitted, blocks, left };
}

const audit = (r: Run, withCandles: boolean): Promise<AuditReport> =>
  auditOracle({
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

/** Whether an honest update counts a breach: its step moves num up. */
const countsBreach = (update: bigint) => {
  const u = unpackAdaptiveUpdate(update);
  return u.after.num > u.before.num;
};

let dropping: Run;
let honest: Run;

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
  honest = await run("honest", L - BARS, (index) => index === L - BARS - 30);
  dropping = await run("dropping", L, (_, update) => countsBreach(update));
}, 600_000);

afterAll(async () => {
  await dropping?.chain.close();
  await honest?.chain.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("audit: outcomes lost to bars not accepted", () => {
  it("a submitter leaving out the bars that count breaches: every update OK, the market SUSPICIOUS", async () => {
    expect(dropping.left.length).toBeGreaterThanOrEqual(2);
    const report = await audit(dropping, true);
    expect(report.updates.map((u) => u.status)).toEqual(dropping.submitted.map(() => "ok"));
    // No update counted a breach: the submitter left out every one.
    expect(report.updates.filter((u) => u.adaptive?.outcome === "breach")).toEqual([]);
    expect(report.lostOutcomes).toHaveLength(1);
    const lost = report.lostOutcomes[0];
    expect(lost.lost.map((l) => Number(l.dataTimestamp))).toEqual(
      dropping.left.map((index) => series.candles[index - 12].time / 1000),
    );
    expect(lost.lost.every((l) => l.outcome === "breach" && l.by === "candles")).toBe(true);
    expect(lost).toMatchObject({ market: ETH, breaches: dropping.left.length, covered: 0, unknown: 0 });
    expect(lost.p).toBeCloseTo(0.01 ** dropping.left.length, 12);
    expect(lost.suspicious).toBe(true);
    expect(report.suspicious).toBe(true);
    expect(formatAudit(report)).toContain(
      `SUSPICIOUS ETH-USDT (adaptive): ${dropping.left.length} outcomes lost to bars not accepted: ` +
        `${dropping.left.length} breaches, 0 covered, 0 unknown; P(at least`,
    );
    // Without the candles: the breaches the signed closes of the next accepted windows show, the rest unknown.
    const withoutData = await audit(dropping, false);
    expect(formatAudit(withoutData)).toContain(
      "unknown (without --data of ETH-USDT, only the signed closes tell, and only breaches)",
    );
    const closes = withoutData.lostOutcomes[0];
    expect(closes.breaches + closes.unknown).toBe(dropping.left.length);
    expect(closes.lost.filter((l) => l.outcome === "breach").every((l) => l.by === "signed closes")).toBe(
      true,
    );
  });

  it("an honest submitter that misses a bar: one lost outcome, within chance", async () => {
    const report = await audit(honest, true);
    expect(report.updates.every((u) => u.status === "ok")).toBe(true);
    const [lost] = report.lostOutcomes;
    expect(lost.lost.map((l) => Number(l.dataTimestamp))).toEqual([
      series.candles[L - BARS - 42].time / 1000,
    ]);
    expect(lost.suspicious).toBe(false);
    expect(report.suspicious).toBe(false);
    expect(formatAudit(report)).not.toContain("SUSPICIOUS");
  });

  it("an audit starting after the update that closed the last gap counts no lost outcome", async () => {
    const closing = dropping.submitted.findIndex((index) => index > Math.max(...dropping.left));
    const report = await audit({ ...dropping, first: dropping.blocks[closing] + 1 }, true);
    expect(report.updates.length).toBe(dropping.submitted.length - closing - 1);
    expect(report.lostOutcomes.flatMap((m) => m.lost)).toEqual([]);
    expect(report.suspicious).toBe(false);
  });
});
