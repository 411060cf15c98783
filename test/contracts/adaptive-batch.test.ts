/**
 * Adaptive signed batches of the risk oracle (`submitAdaptiveBatch`, `setAdaptiveBatchVerifier`): one proof for n
 * adaptive markets at one bar close, each carrying its own adaptive update (margins, prior, new state), on
 * Hardhat's in-process network with real Groth16 proofs of STAND-IN circuits (not sound, on purpose): the adaptive
 * batch stand-in (test/helpers/adaptive-batch-stand-in.ts, with zkrisk's batch verifier of its key) and, for the
 * reference, the single signed-update stand-in (test/helpers/signed-update-stand-in.ts). So every check below is
 * the ORACLE's refusal of a proof its verifier accepts.
 *
 * The reference: a second oracle (`single`) with the same markets takes the same updates one by one through
 * `submitSignedUpdate`, in the same block as the batch, and every market's state afterwards (`adaptiveState`,
 * `adaptivePrior`, `parameters`, and the raw slots 2, 8 and 9) must be exactly the same on both: over missed bars,
 * outcomes processed on time and late (lag, models/adaptive.ts `PendingOutcomes`), a late update that spills to
 * slot 2, a gap that drops pending outcomes, and an outcome pending past its bar s + 12 (slot 9).
 *
 * Markets: BTC-USDT < ETH-USDT < SOL-USDT by id, each registered with MODEL and SET and made adaptive with NUM;
 * XRP-USDT never registered (sorts after them). Adaptive batch verifiers of MODEL for n = 2 and 3 are set. Every test
 * starts from the same chain snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AbiCoder,
  keccak256,
  ZeroAddress,
  type Contract,
  type Signer,
  type TransactionReceipt,
  type TransactionResponse,
} from "ethers";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { marketIdOf } from "../../candles/market-id";
import { PendingOutcomes } from "../../models/adaptive";
import { batchSignalLayout } from "../../circuits/public-signals";
import {
  packAdaptivePrior,
  packAdaptiveUpdate,
  type AdaptiveUpdateValues,
  type StatementParts,
} from "../../circuits/statement";
import { FIELD_MODULUS } from "../../crypto/field";
import {
  adaptiveBatchArguments,
  deployVerifier,
  OracleError,
  readAdaptivePrior,
  registerMarket,
  setAdaptiveBatchVerifier,
  setAdaptiveCalibration,
  setPublisherSet,
  signedBatchSize,
  submitAdaptiveBatch,
} from "../../onchain/oracle";
import { VerifierKeyError } from "../../onchain/groth16-verifier-source";
import { batchSizeOfKey, generateSignedBatchVerifier } from "../../onchain/signed-batch-verifier";
import { oracleDomain } from "../../prover/domain";
import { releaseCurves, type VerificationKey } from "../../setup";
import { readManifest } from "../../setup/artifacts";
import { adaptiveBatchStandInArtifacts, proveAdaptiveBatchStandIn } from "../helpers/adaptive-batch-stand-in";
import { batchStandInArtifacts, type BatchStandInProof } from "../helpers/signed-batch-stand-in";
import { adaptiveStandInArtifacts, proveStandIn } from "../helpers/signed-update-stand-in";
import {
  BAR_SECONDS,
  DEFAULT_LIMITS,
  deployRiskOracle,
  hre,
  revertOf,
  rpc,
  setNextBlockTime,
  utc,
  type MarketLimits,
  fromSnapshotEachTest,
} from "./fixture";

const BTC = marketIdOf("BTC-USDT");
const ETH = marketIdOf("ETH-USDT");
const SOL = marketIdOf("SOL-USDT");
const XRP = marketIdOf("XRP-USDT"); // never registered; sorts after the others
const IDS = [BTC, ETH, SOL];
/** Model and publisher-set commitments (any field elements: the stand-ins do not check them). */
const MODEL = 123_456_789n;
const OTHER_MODEL = 987_654_321n;
const SET = 555_555n;
const OTHER_SET = 666_666n;
/** The batch digest's low 87 bits, every market's digest part in a batch. */
const DIGEST = 777_777n;
const NUM = 49021n << 8n;
/** A limit on the data's age that lets an update be accepted later than slot 8 holds (2^17 - 1 s). */
const LONG_AGE = 2 ** 18;

const T0 = utc(2024, 6, 20, 0);
const bar = (k: number) => T0 + k * BAR_SECONDS;
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

let oracle: Contract;
/** The reference oracle: the same markets, updated one by one with `submitSignedUpdate`. */
let single: Contract;
let governor: Signer;
let stranger: Signer;
let domain: bigint;
let singleDomain: bigint;
/** Adaptive batch stand-in directories and deployed verifiers by n. */
const dirs: Record<number, string> = {};
const verifiers: Record<number, string> = {};
/** A plain batch verifier of 2 and of 3 markets (signed-batch stand-in), which adaptive batches must never reach. */
const plainVerifiers: Record<number, string> = {};
let updateDir: string;
let signedVerifier = "";
/** Gas from receipts: the batch, and the same markets' single adaptive updates in the same block. */
const gasLog: { what: string; batch: bigint; singles: bigint[] }[] = [];

/** A market's update in a batch: its id and adaptive update. */
interface Entry {
  marketId: bigint;
  update: AdaptiveUpdateValues;
}

/** The prior of a market's update at bar `t` on `o`, as the proof carries it. */
async function priorOf(o: Contract, marketId: bigint, t: number): Promise<Prior> {
  const p = await readAdaptivePrior(o, marketId, BigInt(t));
  return { num: p.num, outcomes: BigInt(p.outcomes), marginS: p.marginS, lag: BigInt(p.lag) };
}

/** A prior: the state, the oldest pending bar s's margin and its lag (as the packed update carries them). */
type Prior = { num: bigint; outcomes: bigint; marginS: bigint; lag: bigint };

/** An update at bar `t` with margins (mm, 2 mm) from `prior`, num moved by `step` when an outcome is processed. */
function values(t: number, mm: bigint, prior: Prior, step = -5n): AdaptiveUpdateValues {
  const processed = prior.marginS !== 0n;
  return {
    mm,
    im: 2n * mm,
    dataTimestamp: BigInt(t),
    before: { num: prior.num, outcomes: prior.outcomes },
    marginS: prior.marginS,
    lag: prior.lag,
    after: {
      num: processed ? prior.num + step : prior.num,
      outcomes: processed ? prior.outcomes + 1n : prior.outcomes,
    },
    digest: DIGEST,
  };
}

/** Entries of `ids` at bar `t` from `oracle`'s priors, market j's MM `mm + 10 j`. */
async function entries(ids: bigint[], t: number, mm = 800): Promise<Entry[]> {
  return Promise.all(
    ids.map(async (marketId, j) => ({
      marketId,
      update: values(t, BigInt(mm + 10 * j), await priorOf(oracle, marketId, t)),
    })),
  );
}

/** A stand-in proof of `batch` with this oracle's constants (MODEL for every market), `patch` applied. */
function prove(
  batch: Entry[],
  patch: { modelCommitments?: bigint[]; publisherSet?: bigint; domain?: bigint; update?: bigint[] } = {},
): Promise<BatchStandInProof> {
  return proveAdaptiveBatchStandIn(dirs[batch.length], {
    markets: batch,
    modelCommitments: batch.map(() => MODEL),
    publisherSet: SET,
    domain,
    ...patch,
  });
}

/** `submitAdaptiveBatch`'s arguments other than the proof. */
interface BatchArgs {
  marketIds: readonly (bigint | string)[];
  modelCommitments: readonly (bigint | string)[];
  publisherSet: bigint | string;
  update: readonly (bigint | string)[];
}

/** The arguments the proof's signals give (`adaptiveBatchArguments`), with `patch`. */
function argsOf(p: BatchStandInProof, patch: Partial<BatchArgs> = {}) {
  const n = (p.publicSignals.length - 2) / 3;
  const [pA, pB, pC, marketIds, modelCommitments, publisherSet, update] = adaptiveBatchArguments({
    ...p,
    markets: Array.from({ length: n }),
  });
  const a = { marketIds, modelCommitments, publisherSet, update, ...patch };
  return [pA, pB, pC, a.marketIds, a.modelCommitments, a.publisherSet, a.update] as const;
}

/** Send `submitAdaptiveBatch` (no pre-flight call). */
function send(
  p: BatchStandInProof,
  patch: Partial<BatchArgs> = {},
  from?: Signer,
): Promise<TransactionResponse> {
  const o = from ? (oracle.connect(from) as Contract) : oracle;
  return o.submitAdaptiveBatch(...argsOf(p, patch)) as Promise<TransactionResponse>;
}

async function submitAt(p: BatchStandInProof, time: number, patch: Partial<BatchArgs> = {}) {
  await setNextBlockTime(time);
  const receipt = await (await send(p, patch)).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt;
}

async function revertAt(p: BatchStandInProof, time: number, patch: Partial<BatchArgs> = {}) {
  await setNextBlockTime(time);
  return revertOf(send(p, patch), oracle);
}

/** Every market's state on `o`: its views and raw slots 2, 8 and 9. */
async function stateOf(o: Contract, marketId: bigint, nextBar: number) {
  const base = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [marketId, 1n])));
  const slot = (k: bigint) => hre.ethers.provider.getStorage(o.target as string, base + k);
  const parameters = await o.parameters(marketId).then(
    (r: unknown[]) => [...r],
    () => "none",
  );
  return {
    parameters,
    adaptiveState: await o
      .adaptiveState(marketId)
      .then(([num, outcomes, ring]: [bigint, bigint, bigint[]]) => [num, outcomes, [...ring]]),
    prior: await priorOf(o, marketId, nextBar),
    priorIn12: await priorOf(o, marketId, nextBar + 12 * BAR_SECONDS),
    slot2: await slot(2n),
    slot8: await slot(8n),
    slot9: await slot(9n),
  };
}

/** Snapshot of every market's state on both oracles. */
async function expectSameState(nextBar: number, what: string): Promise<void> {
  for (const id of IDS) {
    expect(await stateOf(oracle, id, nextBar), `${what}, market ${id}`).toEqual(
      await stateOf(single, id, nextBar),
    );
  }
}

const parts = (marketId: bigint): StatementParts => ({
  marketId,
  modelCommitment: MODEL,
  publisherSet: SET,
  domain: singleDomain,
});

/**
 * Bar k: the batch of `ids` on `oracle` and the same updates one by one on `single`, all in one block at `time`,
 * market j's MM `mm + 10 j + 3 k`. Returns the batch and the receipts (the batch's first).
 */
async function batchAndSingles(ids: bigint[], k: number, time: number, mm: number) {
  const t = bar(k);
  const batch = await Promise.all(
    ids.map(async (marketId, j) => {
      const p = await priorOf(oracle, marketId, t);
      expect(await priorOf(single, marketId, t), `prior of ${marketId} at bar ${k}`).toEqual(p);
      return { marketId, update: values(t, BigInt(mm + 10 * j + 3 * k), p, -3n * BigInt(j + 1)) };
    }),
  );
  const proof = await prove(batch);
  const singles = await Promise.all(
    batch.map(async (e) =>
      proveStandIn(updateDir, {
        mm: e.update.mm,
        im: e.update.im,
        dataTimestamp: e.update.dataTimestamp,
        digest: packAdaptiveUpdate(e.update) >> 72n,
        statement: parts(e.marketId),
      }),
    ),
  );
  const gasLimit = 3_000_000;
  await rpc("evm_setAutomine", [false]);
  const sent: TransactionResponse[] = [];
  try {
    sent.push(await oracle.submitAdaptiveBatch(...argsOf(proof), { gasLimit }));
    for (const [j, s] of singles.entries()) {
      const c = s.calldata;
      sent.push(await single.submitSignedUpdate(batch[j].marketId, c.a, c.b, c.c, c.input[0], { gasLimit }));
    }
    await rpc("evm_mine", [time]);
  } finally {
    await rpc("evm_setAutomine", [true]);
  }
  const receipts = (await Promise.all(sent.map((tx) => tx.wait()))) as TransactionReceipt[];
  // the single updates carry exactly the batch's varying signals
  expect(singles.map((s) => s.calldata.input[0])).toEqual(argsOf(proof)[6]);
  return { batch, receipts };
}

async function setLimits(o: Contract, marketId: bigint, patch: Partial<MarketLimits>): Promise<void> {
  await (await o.setLimits(marketId, { ...DEFAULT_LIMITS, minUpdateInterval: 0, ...patch })).wait();
}

/**
 * Give an adaptive market another model as governance must (the oracle refuses the rotation while it is adaptive,
 * OracleAdaptiveModelChange): plain, rotated, adaptive again from NUM, its state restarted (no outcome, no margin
 * pending). Only `oracle`'s market: `single`, the reference, then holds another state for it.
 */
async function setModel(marketId: bigint, model: bigint): Promise<void> {
  await setAdaptiveCalibration(oracle, marketId, 0n);
  await setPublisherSet(oracle, marketId, {
    verifier: signedVerifier,
    modelCommitment: model,
    publisherSet: SET,
    quorum: 1,
  });
  await setAdaptiveCalibration(oracle, marketId, NUM);
}

/** The markets' states (views) on the batch oracle. */
async function statesNow() {
  return Promise.all(IDS.map((id) => stateOf(oracle, id, bar(40))));
}

beforeAll(async () => {
  [governor, stranger] = await hre.ethers.getSigners();
  for (const n of [2, 3]) {
    dirs[n] = await adaptiveBatchStandInArtifacts(n);
    verifiers[n] = await (await deployVerifier(governor, dirs[n])).getAddress();
    plainVerifiers[n] = await (await deployVerifier(governor, await batchStandInArtifacts(n))).getAddress();
  }
  updateDir = await adaptiveStandInArtifacts();
  signedVerifier = await (await deployVerifier(governor, updateDir)).getAddress();
  oracle = await deployRiskOracle(governor);
  single = await deployRiskOracle(governor);
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  domain = oracleDomain(chainId, await oracle.getAddress());
  singleDomain = oracleDomain(chainId, await single.getAddress());
  for (const o of [oracle, single]) {
    for (const id of IDS) {
      await registerMarket(o, id, {
        publishers: { verifier: signedVerifier, modelCommitment: MODEL, publisherSet: SET, quorum: 1 },
        guardian: await governor.getAddress(),
        limits: { ...DEFAULT_LIMITS, minUpdateInterval: 0 },
      });
      await setAdaptiveCalibration(o, id, NUM);
    }
  }
  for (const n of [2, 3]) await setAdaptiveBatchVerifier(oracle, MODEL, n, verifiers[n]);
}, 600_000);

fromSnapshotEachTest();

afterAll(async () => {
  for (const { what, batch, singles } of gasLog) {
    const sum = singles.reduce((a, b) => a + b, 0n);
    const n = BigInt(singles.length);
    console.log(
      `submitAdaptiveBatch gas (stand-in verifier), ${what}: ${batch} (${batch / n} a market); the same ` +
        `markets' single adaptive updates: ${singles.join(" + ")} = ${sum} (${sum / n} a market)`,
    );
  }
  await releaseCurves();
});

describe("the adaptive batch verifier and its artifacts", () => {
  it("deployVerifier reads the adaptive rule and the batch shape of circuit.json; the key's size needs the flag", async () => {
    const manifest = readManifest(dirs[3]);
    expect(manifest.adaptive).toBeDefined();
    expect(signedBatchSize(manifest)).toBe(3);
    // the same shape without the adaptive rule is no batch the oracle takes
    expect(signedBatchSize({ ...manifest, adaptive: undefined })).toBeUndefined();
    const vkey = JSON.parse(readFileSync(join(dirs[3], "verification_key.json"), "utf8")) as VerificationKey;
    expect(batchSizeOfKey(vkey, true)).toBe(3);
    // 11 public signals: an adaptive batch of 3 (3n + 2), or a plain batch of 4 (1 + 2n + 2)
    expect(batchSizeOfKey(vkey)).toBe(4);
    const vkey2 = JSON.parse(readFileSync(join(dirs[2], "verification_key.json"), "utf8")) as VerificationKey;
    expect(() => batchSizeOfKey(vkey2)).toThrow(VerifierKeyError);
    expect(() => generateSignedBatchVerifier(vkey2, 2)).toThrow(VerifierKeyError);
    const source = generateSignedBatchVerifier(vkey2, 2, true);
    expect(source).toContain("uint256 private constant VARYING = 2;");
    expect(source).toContain("adaptive signed batch circuit of 2 market(s)");
  });
});

describe("setAdaptiveBatchVerifier (governance)", () => {
  it("sets, reads and removes an adaptive batch verifier, with AdaptiveBatchVerifierSet, apart from the plain registry", async () => {
    const receipt = await setAdaptiveBatchVerifier(oracle, OTHER_MODEL, 2, verifiers[2]);
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => [e.name, ...e.args])).toEqual([
      ["AdaptiveBatchVerifierSet", OTHER_MODEL, 2n, verifiers[2]],
    ]);
    expect(await oracle.adaptiveBatchVerifier(OTHER_MODEL, 2)).toBe(verifiers[2]);
    expect(await oracle.batchVerifier(OTHER_MODEL, 2)).toBe(ZeroAddress);
    expect(await oracle.adaptiveBatchVerifier(OTHER_MODEL, 3)).toBe(ZeroAddress);
    const removed = await setAdaptiveBatchVerifier(oracle, OTHER_MODEL, 2, ZeroAddress);
    expect([...oracle.interface.parseLog(removed.logs[0])!.args]).toEqual([OTHER_MODEL, 2n, ZeroAddress]);
    expect(await oracle.adaptiveBatchVerifier(OTHER_MODEL, 2)).toBe(ZeroAddress);
    // and a plain verifier set for a model stays out of the adaptive registry
    await (await oracle.setBatchVerifier(OTHER_MODEL, 2, plainVerifiers[2])).wait();
    expect(await oracle.adaptiveBatchVerifier(OTHER_MODEL, 2)).toBe(ZeroAddress);
  });

  it("refuses n < 2 or n > 32, a verifier of another size or without code, a bad model, anyone but the governor", async () => {
    for (const n of [0n, 1n, 33n]) {
      expect(await revertOf(oracle.setAdaptiveBatchVerifier(MODEL, n, verifiers[2]), oracle)).toEqual({
        name: "OracleInvalidBatchSize",
        args: [n],
      });
    }
    const eoa = await stranger.getAddress();
    for (const v of [verifiers[3], plainVerifiers[3], eoa, signedVerifier]) {
      expect(await revertOf(oracle.setAdaptiveBatchVerifier(MODEL, 2, v), oracle)).toEqual({
        name: "OracleInvalidVerifier",
        args: [v],
      });
    }
    for (const model of [0n, FIELD_MODULUS]) {
      expect(await revertOf(oracle.setAdaptiveBatchVerifier(model, 2, verifiers[2]), oracle)).toEqual({
        name: "OracleInvalidModelCommitment",
        args: [model],
      });
    }
    const asStranger = oracle.connect(stranger) as Contract;
    expect(await revertOf(asStranger.setAdaptiveBatchVerifier(MODEL, 2, verifiers[2]), oracle)).toEqual({
      name: "AccessControlUnauthorizedAccount",
      args: [eoa, await oracle.GOVERNOR_ROLE()],
    });
    // the client decodes the refusal
    await expect(setAdaptiveBatchVerifier(oracle, MODEL, 1, verifiers[2])).rejects.toMatchObject({
      reason: "OracleInvalidBatchSize",
    });
  });
});

describe("submitAdaptiveBatch: accepted batches leave exactly the state of the same single updates", () => {
  it("batches of 3 and 2 over missed bars, outcomes on time and late, a late update in slot 2, gaps, slot 9", async () => {
    for (const o of [oracle, single]) for (const id of IDS) await setLimits(o, id, { maxDataAge: LONG_AGE });
    // the raw slots compared are the markets' (`_markets` after AccessControl's roles: slot 1)
    const base = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [BTC, 1n])));
    const slot0 = await hre.ethers.provider.getStorage(await oracle.getAddress(), base);
    expect(BigInt(slot0) & ((1n << 160n) - 1n)).toBe(BigInt(signedVerifier));
    const ALL = IDS;
    // bar k: the markets of the batch and the block time (a late one: its delay does not fit slot 8)
    const steps: [k: number, ids: bigint[], time?: number][] = [
      [0, ALL],
      [1, [BTC, ETH]], // SOL misses bar 1
      [2, ALL],
      [4, [ETH, SOL]], // BTC misses bars 3 and 4
      [7, [BTC, ETH]],
      [9, ALL],
      [12, ALL], // s = 0: every market's bar-0 margin is an outcome
      [13, ALL], // s = 1: SOL had none (nor any other bar of 1 - 11 .. 1 pending): no outcome
      [14, ALL, bar(14) + 2 ** 17 + 5], // accepted 2^17 + 5 s after the bar opened: slot 2 holds it
      [33, ALL], // 19 bars later: bar 12 at lag 9, bars before 10 dropped
      [34, [BTC, ETH]],
      [45, [BTC, SOL]], // ETH skips bar 45, its bar 33's s + 12
      [46, ALL], // ETH: bar 33 at lag 1, bar 34 moves to slot 9
      [47, ALL], // ETH: bar 34 at lag 1, read from slot 9
    ];
    const gasSteps: Record<number, string> = {
      0: "n = 3, first batch (the composition's base computed; each market's first update)",
      2: "n = 3, later batch",
      1: "n = 2, first batch (the composition's base computed)",
      7: "n = 2, later batch",
      47: "n = 3, later batch, one market's outcome pending past its bar s + 12 (slot 9)",
    };
    const references = new Map(IDS.map((id) => [id, new PendingOutcomes()]));
    let lateAt = 0n;
    let ethSlot9 = 0n;
    const slotOf = (marketId: bigint, k: bigint) =>
      BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [marketId, 1n]))) + k;
    const lags: Record<string, bigint[]> = { BTC: [], ETH: [], SOL: [] };
    const names = new Map([
      [BTC, "BTC"],
      [ETH, "ETH"],
      [SOL, "SOL"],
    ]);
    for (const [k, ids, time] of steps) {
      const { batch, receipts } = await batchAndSingles(ids, k, time ?? timely(bar(k)), 700);
      // every market's prior is the reference's (bars as numbers: k's differences are the bars')
      for (const e of batch) {
        const reference = references.get(e.marketId)!;
        const u = e.update;
        expect({ marginS: u.marginS, lag: Number(u.lag) }, `bar ${k}`).toEqual(reference.prior(k));
        reference.accept(k, u.mm);
        if (u.marginS !== 0n) lags[names.get(e.marketId)!].push(u.lag);
      }
      const [batchReceipt, ...singleReceipts] = receipts;
      if (gasSteps[k] !== undefined) {
        gasLog.push({
          what: gasSteps[k],
          batch: batchReceipt.gasUsed,
          singles: singleReceipts.map((r) => r.gasUsed),
        });
      }
      // one event per market with its update and index; the single path's AdaptiveParametersUpdated the same
      const events = batchReceipt.logs.map((l) => oracle.interface.parseLog(l)!);
      expect(events.map((e) => [e.name, ...e.args])).toEqual(
        batch.map((e, i) => [
          "AdaptiveBatchParametersUpdated",
          e.marketId,
          packAdaptiveUpdate(e.update),
          BigInt(i),
        ]),
      );
      const singleEvents = singleReceipts.map((r) => single.interface.parseLog(r.logs[0])!);
      expect(singleEvents.map((e) => [e.name, ...e.args])).toEqual(
        batch.map((e) => ["AdaptiveParametersUpdated", e.marketId, packAdaptiveUpdate(e.update)]),
      );
      await expectSameState(bar(k + 1), `after bar ${k}`);
      if (k === 14) lateAt = ((await oracle.parameters(BTC)) as bigint[])[3];
      if (k === 46)
        ethSlot9 = BigInt(await hre.ethers.provider.getStorage(await oracle.getAddress(), slotOf(ETH, 9n)));
    }
    // what the steps covered: each market's outcomes and their lags (bar 12 processed at lag 9 by bar 33, whose
    // window is 10 .. 21; ETH's bars 33 and 34 one bar late after its skipped bar 45)
    expect(lags).toEqual({
      BTC: [0n, 0n, 0n, 9n, 9n, 0n, 0n],
      ETH: [0n, 0n, 0n, 9n, 9n, 1n, 1n],
      SOL: [0n, 0n, 9n, 0n],
    });
    expect(lateAt).toBe(BigInt(bar(14) + 2 ** 17 + 5));
    // after bar 46, ETH's bar 34 (MM 700 + 10 + 3 * 34) was in slot 9's digit 0 (position 12)
    expect(ethSlot9 & ((1n << 173n) - 1n)).toBe(812n);
  });

  it("through the client (submitAdaptiveBatch): accepted from anyone; a refusal is an OracleError naming the reason", async () => {
    const batch = await entries([BTC, ETH], bar(0));
    const proof = await prove(batch);
    await setNextBlockTime(timely(bar(0)));
    await rpc("evm_mine");
    const receipt = await submitAdaptiveBatch(oracle.connect(stranger) as Contract, {
      ...proof,
      markets: batch,
    });
    expect(receipt.from).toBe(await stranger.getAddress());
    expect(((await oracle.parameters(ETH)) as bigint[]).slice(0, 3)).toEqual([810n, 1620n, BigInt(bar(0))]);
    const err = await submitAdaptiveBatch(oracle, { ...proof, markets: batch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OracleError);
    expect((err as OracleError).reason).toBe("OracleNotNewer");
    expect(() => adaptiveBatchArguments({ ...proof, markets: [batch[0]] })).toThrow(/3n \+ 2|has 5/);
  });
});

describe("submitAdaptiveBatch: reverts", () => {
  const T = bar(0);

  it("OracleInvalidBatchSize: 1 or 33 markets", async () => {
    const p = await prove(await entries([BTC, ETH], T));
    const u = argsOf(p)[6];
    expect(
      await revertAt(p, timely(T), { marketIds: [BTC], modelCommitments: [MODEL], update: [u[0]] }),
    ).toEqual({
      name: "OracleInvalidBatchSize",
      args: [1n],
    });
    const many = Array.from({ length: 33 }, (_, i) => BigInt(i + 1));
    expect(await revertAt(p, timely(T) + 10, { marketIds: many })).toEqual({
      name: "OracleInvalidBatchSize",
      args: [33n],
    });
  });

  it("OracleBatchModelCount and OracleInvalidBatchSignalCount", async () => {
    const p = await prove(await entries([BTC, ETH], T));
    const u = argsOf(p)[6];
    for (const [k, modelCommitments] of [[MODEL], [MODEL, MODEL, MODEL]].entries()) {
      expect(await revertAt(p, timely(T) + 10 * k, { modelCommitments })).toEqual({
        name: "OracleBatchModelCount",
        args: [2n, BigInt(modelCommitments.length)],
      });
    }
    for (const [k, update] of [[u[0]], [...u, u[1]]].entries()) {
      expect(await revertAt(p, timely(T) + 30 + 10 * k, { update })).toEqual({
        name: "OracleInvalidBatchSignalCount",
        args: [2n, BigInt(update.length)],
      });
    }
  });

  it("OracleMalformedUpdate: an update at or above 2^253 (market 2's)", async () => {
    const p = await prove(await entries([BTC, ETH], T));
    const u = argsOf(p)[6];
    const big = BigInt(u[1]) + (1n << 253n);
    expect(await revertAt(p, timely(T), { update: [u[0], big] })).toEqual({
      name: "OracleMalformedUpdate",
      args: [big],
    });
  });

  it("OracleNoAdaptiveBatchVerifier: a model without one, a removed one, and one set only in the plain registry", async () => {
    const batch = await entries([BTC, ETH], T);
    await setModel(BTC, OTHER_MODEL);
    await setModel(ETH, OTHER_MODEL);
    // a plain batch verifier of OTHER_MODEL for 2 markets: not an adaptive batch's
    await (await oracle.setBatchVerifier(OTHER_MODEL, 2, plainVerifiers[2])).wait();
    const other = await prove(batch, { modelCommitments: [OTHER_MODEL, OTHER_MODEL] });
    expect(await revertAt(other, timely(T))).toEqual({
      name: "OracleNoAdaptiveBatchVerifier",
      args: [OTHER_MODEL, 2n],
    });
    await setModel(BTC, MODEL);
    await setModel(ETH, MODEL);
    await setAdaptiveBatchVerifier(oracle, MODEL, 2, ZeroAddress);
    expect(await revertAt(await prove(batch), timely(T) + 60)).toEqual({
      name: "OracleNoAdaptiveBatchVerifier",
      args: [MODEL, 2n],
    });
  });

  it("OracleNoAdaptiveBatchVerifier and OracleAdaptiveBatchVerifierMismatch: a further model without the batch's verifier", async () => {
    await setModel(ETH, OTHER_MODEL);
    const p = await prove(await entries([BTC, ETH], T), { modelCommitments: [MODEL, OTHER_MODEL] });
    expect(await revertAt(p, timely(T))).toEqual({
      name: "OracleNoAdaptiveBatchVerifier",
      args: [OTHER_MODEL, 2n],
    });
    // another deployment of the same key, approved for OTHER_MODEL only
    const again = await (await deployVerifier(governor, dirs[2])).getAddress();
    await setAdaptiveBatchVerifier(oracle, OTHER_MODEL, 2, again);
    expect(await revertAt(p, timely(T) + 60)).toEqual({
      name: "OracleAdaptiveBatchVerifierMismatch",
      args: [OTHER_MODEL, 2n, verifiers[2], again],
    });
    // approved for both: accepted
    await setAdaptiveBatchVerifier(oracle, OTHER_MODEL, 2, verifiers[2]);
    await submitAt(p, timely(T) + 120);
    expect(((await oracle.parameters(ETH)) as bigint[])[2]).toBe(BigInt(T));
  });

  it("OracleNotAdaptiveMarket: a plain market in the batch; nothing is written", async () => {
    const batch = await entries(IDS, T);
    await setAdaptiveCalibration(oracle, ETH, 0n);
    const before = await statesNow();
    expect(await revertAt(await prove(batch), timely(T))).toEqual({
      name: "OracleNotAdaptiveMarket",
      args: [ETH],
    });
    expect(await statesNow()).toEqual(before);
  });

  it("OracleAdaptiveStateMismatch: market 2's prior is not the stored one; nothing is written (all or nothing)", async () => {
    // an accepted batch first, so the markets have a state to keep
    await submitAt(await prove(await entries(IDS, T)), timely(T));
    const t = bar(1);
    const batch = await entries(IDS, t, 820);
    const honest = batch[1].update;
    const forged = { ...honest, before: { ...honest.before, num: honest.before.num + 1n } };
    batch[1] = { marketId: ETH, update: forged };
    const before = await statesNow();
    expect(await revertAt(await prove(batch), timely(t))).toEqual({
      name: "OracleAdaptiveStateMismatch",
      args: [
        ETH,
        packAdaptivePrior(honest.before, honest.marginS, honest.lag),
        packAdaptivePrior(forged.before, forged.marginS, forged.lag),
      ],
    });
    expect(await statesNow()).toEqual(before);
  });

  it("OracleUnalignedBar: a data timestamp that is not a bar's open time", async () => {
    const t = T + 3600;
    const batch = await Promise.all(
      [BTC, ETH].map(async (marketId) => ({
        marketId,
        update: values(t, 800n, await priorOf(oracle, marketId, T)),
      })),
    );
    expect(await revertAt(await prove(batch), timely(t))).toEqual({
      name: "OracleUnalignedBar",
      args: [BigInt(t)],
    });
  });

  it("OracleMarketPaused, OracleUnknownMarket, OracleBatchNotSorted", async () => {
    const batch = await entries(IDS, T);
    await (await oracle.pauseMarket(ETH)).wait();
    expect(await revertAt(await prove(batch), timely(T))).toEqual({
      name: "OracleMarketPaused",
      args: [ETH],
    });
    await (await oracle.unpauseMarket(ETH)).wait();
    const xrp = { marketId: XRP, update: values(T, 800n, { num: NUM, outcomes: 0n, marginS: 0n, lag: 0n }) };
    expect(await revertAt(await prove([batch[0], xrp]), timely(T) + 60)).toEqual({
      name: "OracleUnknownMarket",
      args: [XRP],
    });
    expect(await revertAt(await prove([batch[1], batch[0]]), timely(T) + 120)).toEqual({
      name: "OracleBatchNotSorted",
      args: [1n, ETH, BTC],
    });
    expect(await revertAt(await prove([batch[0], batch[0]]), timely(T) + 180)).toEqual({
      name: "OracleBatchNotSorted",
      args: [1n, BTC, BTC],
    });
  });

  it("OracleModelCommitmentMismatch and OracleBatchPublisherSetMismatch", async () => {
    const batch = await entries([BTC, ETH], T);
    // OTHER_MODEL approved for the batch's verifier, but ETH is registered with MODEL
    await setAdaptiveBatchVerifier(oracle, OTHER_MODEL, 2, verifiers[2]);
    expect(await revertAt(await prove(batch, { modelCommitments: [MODEL, OTHER_MODEL] }), timely(T))).toEqual(
      {
        name: "OracleModelCommitmentMismatch",
        args: [ETH, MODEL, OTHER_MODEL],
      },
    );
    expect(await revertAt(await prove(batch, { publisherSet: OTHER_SET }), timely(T) + 60)).toEqual({
      name: "OracleBatchPublisherSetMismatch",
      args: [BTC, SET, OTHER_SET],
    });
  });

  it("OracleInvalidBatchProof: another market's update, a tampered proof", async () => {
    const p = await prove(await entries([BTC, ETH], T));
    const [u0, u1] = argsOf(p)[6];
    // the two updates swapped: both pass every check (the same prior and bar), the proof does not
    const swapped = await prove(await entries([BTC, ETH], T, 810));
    expect(await revertAt(swapped, timely(T), { update: [u1, u0] })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    const tampered: BatchStandInProof = {
      ...p,
      calldata: { ...p.calldata, a: [p.calldata.a[0], (BigInt(p.calldata.a[1]) + 1n).toString()] as never },
    };
    expect(await revertAt(tampered, timely(T) + 60)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
  });

  it("timing and margin guards: stale, future, bounds; then not newer, too soon, rate of change", async () => {
    const batch = await entries([BTC, ETH], T);
    const at = timely(T);
    await setLimits(oracle, ETH, { maxDataAge: at - T - 1 });
    expect(await revertAt(await prove(batch), at)).toEqual({
      name: "OracleStaleData",
      args: [BigInt(T), BigInt(at), BigInt(at - T - 1)],
    });
    await setLimits(oracle, ETH, {});
    const future = await entries([BTC, ETH], bar(2));
    expect(await revertAt(await prove(future), bar(2) - 1)).toEqual({
      name: "OracleFutureData",
      args: [BigInt(bar(2)), BigInt(bar(2) - 1)],
    });
    await setLimits(oracle, ETH, { maxMaintenanceMarginBps: 809 });
    expect(await revertAt(await prove(batch), bar(2) + 10)).toEqual({
      name: "OracleMarginOutOfBounds",
      args: [0n, 810n, BigInt(DEFAULT_LIMITS.minMaintenanceMarginBps), 809n],
    });
    await setLimits(oracle, ETH, {});
    const accepted = bar(2) + 20;
    await submitAt(await prove(batch), accepted);
    // the same batch again, and a new proof of it: not newer
    expect(await revertAt(await prove(batch), accepted + 60)).toEqual({
      name: "OracleNotNewer",
      args: [BTC, BigInt(T), BigInt(T)],
    });
    const t2 = bar(1);
    await setLimits(oracle, ETH, { minUpdateInterval: 3 * 3600, maxIncreaseBps: 20 });
    const next = await entries([BTC, ETH], t2, 900);
    expect(await revertAt(await prove(next), accepted + 120)).toEqual({
      name: "OracleUpdateTooSoon",
      args: [ETH, BigInt(accepted), BigInt(accepted + 3 * 3600)],
    });
    expect(await revertAt(await prove(next), accepted + 3 * 3600)).toEqual({
      name: "OracleMarginIncreaseTooLarge",
      args: [0n, 810n, 910n, 20n],
    });
  });
});

describe("submitAdaptiveBatch: the stored base of each composition", () => {
  it("is keyed by the models: a proof for (MODEL, MODEL) is refused as (MODEL, OTHER_MODEL), and back", async () => {
    const T = bar(0);
    await submitAt(await prove(await entries([BTC, ETH], T)), timely(T));
    await setModel(ETH, OTHER_MODEL);
    await setAdaptiveBatchVerifier(oracle, OTHER_MODEL, 2, verifiers[2]);
    const t2 = bar(1);
    const mixed = [MODEL, OTHER_MODEL];
    const shared = await prove(await entries([BTC, ETH], t2));
    expect(await revertAt(shared, timely(t2), { modelCommitments: mixed })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    await submitAt(await prove(await entries([BTC, ETH], t2), { modelCommitments: mixed }), timely(t2) + 60);
    await setModel(ETH, MODEL);
    const t3 = bar(2);
    const forMixed = await prove(await entries([BTC, ETH], t3), { modelCommitments: mixed });
    expect(await revertAt(forMixed, timely(t3), { modelCommitments: [MODEL, MODEL] })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    await submitAt(await prove(await entries([BTC, ETH], t3)), timely(t3) + 60);
    expect(((await oracle.parameters(ETH)) as bigint[])[2]).toBe(BigInt(t3));
  });

  it("a proof for another oracle's domain is refused by the proof check", async () => {
    const T = bar(0);
    const p = await prove(await entries([BTC, ETH], T), { domain: singleDomain });
    expect(await revertAt(p, timely(T))).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
  });
});

describe("plain signed batches still refuse adaptive markets", () => {
  it("OracleAdaptiveMarket from submitSignedBatch, whatever verifier", async () => {
    await (await oracle.setBatchVerifier(MODEL, 2, plainVerifiers[2])).wait();
    const l = batchSignalLayout(2);
    const update = Array.from({ length: l.varying }, () => 0n);
    const p = await prove(await entries([BTC, ETH], bar(0)));
    const c = p.calldata;
    await setNextBlockTime(timely(bar(0)));
    expect(
      await revertOf(
        oracle.submitSignedBatch(c.a, c.b, c.c, [BTC, ETH], [MODEL, MODEL], SET, update),
        oracle,
      ),
    ).toEqual({ name: "OracleAdaptiveMarket", args: [BTC] });
  });
});
