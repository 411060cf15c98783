/**
 * Adaptive markets in one signed batch with the REAL adaptive batch circuit (N = 2, quorum 1, constant weights;
 * development setup, cached): BTC-USDT and ETH-USDT, both adaptive, are proved together at each of 15 consecutive
 * bar closes (one missed) from the priors the oracle reports (`readAdaptivePrior`), and submitted with
 * `submitAdaptiveBatch`. After every batch each market's state, margins and ring are exactly what its own single
 * adaptive updates would leave (the engine's `adaptiveWindowUpdate` over the same bars); outcomes occur once bar
 * t - 12 was accepted, at lag 0 (the missed bar is the 4th, so no outcome waits past its bar s + 12; the lagged
 * path is test/contracts/adaptive-update-real.test.ts's and, with a stand-in verifier, adaptive-pending's). A proof made from a prior that moved (another market's state swapped in, a stale state) is
 * refused (`OracleAdaptiveStateMismatch`, naming the market), and a plain batch proof of adaptive markets is refused.
 * Then `auditOracle` audits every update from the signed batch files: the batch checks at each market's proven
 * calibration and the adaptive replay, all ok.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract, Signer, TransactionReceipt } from "ethers";
import { buildWindow, integerCandlesOf } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { unpackAdaptiveUpdate } from "../../circuits/statement";
import { windowFeatures } from "../../features/window-features";
import {
  adaptiveWindowUpdate,
  initialState,
  type AdaptiveRule,
  type AdaptiveState,
} from "../../models/adaptive";
import { inferInteger } from "../../models/integer-engine";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel } from "../../models/quantized-model";
import { auditOracle } from "../../audit";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  readAdaptivePrior,
  registerMarket,
  setAdaptiveBatchVerifier,
  setAdaptiveCalibration,
  submitAdaptiveBatch,
  type OracleError,
} from "../../onchain/oracle";
import { oracleDomain } from "../../prover/domain";
import type { AdaptivePriorState } from "../../prover/prove-signed-update";
import { SignedBatchProver, type ProvedSignedBatch } from "../../prover/prove-signed-batch";
import { publicKeyOf } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, publisherSetCommitment, type PublisherSet } from "../../publisher/publisher-set";
import { signBatch, writeSignedBatch, type SignedBatch } from "../../publisher/signed-batch";
import { WindowDirectory } from "../../publisher/window-sources";
import { releaseCurves } from "../../setup";
import { adaptiveBatchArtifacts } from "../../setup/cached-artifacts";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { MODEL, hre, rpc, setNextBlockTime } from "./fixture";

const ROOT = join(__dirname, "../..");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");
const model = loadQuantizedModel(MODEL);
const RULE: AdaptiveRule = loadCalibrations(CALIBRATIONS).adaptive;
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;
type Market = (typeof MARKETS)[number];
const series = {
  "BTC-USDT": loadCandles(join(ROOT, "models/data/btcusdt-2h.csv")),
  "ETH-USDT": loadCandles(join(ROOT, "models/data/ethusdt-2h.csv")),
};
const ints = {
  "BTC-USDT": integerCandlesOf(series["BTC-USDT"]),
  "ETH-USDT": integerCandlesOf(series["ETH-USDT"]),
};
/** Bars counted back from the data's last one (both markets' data end at the same bar). */
const indexOf = (m: Market, back: number) => series[m].candles.length - 1 - back;
const openOf = (back: number) => series["BTC-USDT"].candles[indexOf("BTC-USDT", back)].time / 1000;
const timely = (back: number) => openOf(back) + 7200 + 60;
/** 15 bars, 20 to 6 bars back; 17 back is missed. */
const FIRST = 20;
const LAST = 6;
const MISSED = 17;
const INITIAL_NUM = BigInt(model.policy.calibrationNum) << 8n;

const work = mkdtempSync(join(tmpdir(), "zkrisk-adaptive-batch-"));
let dir: string;
let prover: SignedBatchProver;
let oracle: Contract;
let governor: Signer;
let domain: bigint;
let key: PublisherKey;
let set: PublisherSet;
let fromBlock: number;

const windowOf = (m: Market, back: number) => ({
  market: m,
  window: buildWindow(series[m], marketIdOf(m), indexOf(m, back), WINDOW_BARS, ints[m]),
});

/** The priors the oracle reports for bar `back`, at the block time of a timely submission. */
async function priorsAt(back: number): Promise<Map<string, AdaptivePriorState>> {
  await rpc("evm_mine", [timely(back) - 1]);
  const priors = new Map<string, AdaptivePriorState>();
  for (const m of MARKETS) {
    const p = await readAdaptivePrior(oracle, marketIdOf(m), BigInt(openOf(back)));
    priors.set(m, { state: { num: p.num, outcomes: p.outcomes }, marginS: p.marginS, lag: p.lag });
  }
  return priors;
}

async function signedAt(back: number): Promise<SignedBatch> {
  const signed = await signBatch(
    key,
    MARKETS.map((m) => windowOf(m, back)),
  );
  writeSignedBatch(join(work, "batches", `${openOf(back)}.json`), signed);
  return signed;
}

async function submitAt(p: ProvedSignedBatch, back: number): Promise<TransactionReceipt> {
  await setNextBlockTime(timely(back));
  return submitAdaptiveBatch(oracle, p);
}

beforeAll(async () => {
  dir = (await adaptiveBatchArtifacts(MODEL, CALIBRATIONS, 2)).dir;
  prover = SignedBatchProver.open(dir, { mode: "constant", batchSize: 2, quorum: 1 }, { modelPath: MODEL });
  [governor] = await hre.ethers.getSigners();
  const me = await governor.getAddress();
  oracle = await deployOracle(governor, me);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  const privateKey = new Uint8Array(32).fill(5);
  key = { privateKey, publicKey: await publicKeyOf(privateKey) };
  set = await makePublisherSet([key.publicKey], 1);
  // A market's publisher set needs a signed-update verifier (its statement base); batches never call it.
  const single = await (await deployVerifier(governor, await standInArtifacts())).getAddress();
  const commitment = await commitModel(model);
  fromBlock = await hre.ethers.provider.getBlockNumber();
  for (const m of MARKETS) {
    await registerMarket(oracle, marketIdOf(m), {
      publishers: {
        verifier: single,
        modelCommitment: commitment,
        publisherSet: await publisherSetCommitment(set),
        quorum: 1,
      },
      guardian: me,
      limits: DEFAULT_LIMITS,
    });
    await setAdaptiveCalibration(oracle, marketIdOf(m), INITIAL_NUM);
  }
  const batchVerifier = await (await deployVerifier(governor, dir)).getAddress();
  await setAdaptiveBatchVerifier(oracle, commitment, 2, batchVerifier);
}, 1_800_000);

afterAll(async () => {
  await prover?.close();
  await releaseCurves();
});

describe("adaptive markets in a real signed batch (N = 2, k = 1, constant weights)", () => {
  it("accepts 14 batches from the oracle's priors; each market's state and margins are its own engine's", async () => {
    const state: Record<Market, AdaptiveState> = {
      "BTC-USDT": initialState(model.policy.calibrationNum),
      "ETH-USDT": initialState(model.policy.calibrationNum),
    };
    const accepted = new Map<string, bigint>();
    let outcomes = 0;
    let receipt: TransactionReceipt | undefined;
    for (let back = FIRST; back >= LAST; back--) {
      if (back === MISSED) continue;
      const priors = await priorsAt(back);
      for (const m of MARKETS) {
        // the oracle's prior is the engine's: the state so far and bar t - 12's margin at lag 0 (0 after the
        // missed bar)
        expect(priors.get(m)!.state, `${m} ${back}`).toEqual(state[m]);
        expect(priors.get(m)!.marginS, `${m} ${back}`).toBe(accepted.get(`${m} ${back + 12}`) ?? 0n);
        expect(priors.get(m)!.lag, `${m} ${back}`).toBe(0);
      }
      const proof = await prover.prove({ batches: [await signedAt(back)], publishers: set, domain }, priors);
      if (back === 7) {
        // A proof from a prior that is not the oracle's (BTC's outcome count one more, as a stale or forged
        // state would be): refused, naming the market; nothing is written.
        const btc = priors.get("BTC-USDT")!;
        const forgedPriors = new Map(priors);
        forgedPriors.set("BTC-USDT", { ...btc, state: { ...btc.state, outcomes: btc.state.outcomes + 1 } });
        const forged = await prover.prove(
          { batches: [await signedAt(back)], publishers: set, domain },
          forgedPriors,
        );
        await setNextBlockTime(timely(back));
        const err = (await submitAdaptiveBatch(oracle, forged).catch((e: unknown) => e)) as OracleError;
        expect(err.reason).toBe("OracleAdaptiveStateMismatch");
        expect(err.message).toContain(`OracleAdaptiveStateMismatch(${marketIdOf("BTC-USDT")}, `);
      }
      receipt = await submitAt(proof, back);
      for (const [i, m] of MARKETS.entries()) {
        const w = windowOf(m, back).window;
        const y = inferInteger(model, windowFeatures(w)).output;
        const step = adaptiveWindowUpdate(model.policy, y, w.bars, priors.get(m)!, RULE);
        expect(proof.markets[i].adaptive?.next, `${m} ${back}`).toEqual({
          num: step.after.num.toString(),
          outcomes: step.after.outcomes,
        });
        const [num, count] = (await oracle.adaptiveState(marketIdOf(m))) as bigint[];
        expect([num, Number(count)], `${m} ${back}`).toEqual([step.after.num, step.after.outcomes]);
        const [mm, im] = (await oracle.parameters(marketIdOf(m))) as bigint[];
        expect([mm, im], `${m} ${back}`).toEqual([
          step.margins.maintenanceMarginBps,
          step.margins.initialMarginBps,
        ]);
        if (step.outcome !== null) outcomes++;
        state[m] = step.after;
        accepted.set(`${m} ${back}`, step.margins.maintenanceMarginBps);
      }
      const events = receipt.logs
        .map((l) => oracle.interface.parseLog(l))
        .filter((e) => e?.name === "AdaptiveBatchParametersUpdated");
      expect(events.map((e) => unpackAdaptiveUpdate(BigInt(e!.args.update)).dataTimestamp)).toEqual([
        BigInt(openOf(back)),
        BigInt(openOf(back)),
      ]);
    }
    // outcomes: t 8..6 bars back (s 20..18 back, all accepted), each market
    expect(outcomes).toBe(2 * 3);
    console.log(`submitAdaptiveBatch, 2 adaptive markets, a later batch: ${receipt!.gasUsed} gas`);
  }, 1_800_000);

  it("audits every market of every batch: batch checks at the proven calibration and the adaptive replay", async () => {
    const report = await auditOracle({
      provider: hre.ethers.provider,
      oracle: await oracle.getAddress(),
      fromBlock,
      model,
      modelPath: MODEL,
      batchSources: [WindowDirectory.open(join(work, "batches"))],
      adaptive: { rule: RULE, source: CALIBRATIONS },
      publisherSets: [{ file: "set.json", set, commitment: await publisherSetCommitment(set) }],
    });
    expect(report.updates).toHaveLength(2 * 14);
    for (const u of report.updates) {
      expect(u.kind, u.market).toBe("batch");
      expect([u.status, u.reasons, u.missing], `${u.market} ${u.dataTimestamp}`).toEqual(["ok", [], []]);
      expect(u.adaptive?.replay).toBe("ok");
    }
    expect(
      report.updates.filter((u) => u.adaptive?.outcome === "breach" || u.adaptive?.outcome === "covered"),
    ).toHaveLength(6);
  }, 600_000);
});
