/**
 * Signed batches of the risk oracle (`submitSignedBatch`, `setBatchVerifier`): one proof, one publisher set, n
 * markets each under its own model (one batch verifier approved for every model of the batch), all or nothing,
 * on Hardhat's in-process network with real Groth16 proofs and zkrisk's batch verifiers
 * (onchain/signed-batch-verifier.ts) of STAND-IN circuits with the batch's public signals
 * (test/helpers/signed-batch-stand-in.ts, a test fixture, not sound), kept because they are cheap: they prove any
 * varying signals and constants, so every guard below is tested as the oracle's refusal of a proof its
 * verifier accepts, and the stored batch bases (one per composition) are tested against proofs of another. The
 * REAL signed batch circuit on chain (real signed windows, the soundness attacks with real proofs) is
 * signed-batch-real.test.ts; the circuit-level forgeries are test/circuits/signed-batch-circuit.test.ts.
 *
 * Markets: BTC-USDT < ETH-USDT < SOL-USDT by id, each registered with publisher set SET and model MODEL (tests of
 * batches under several models rotate some to OTHER_MODEL or THIRD_MODEL); XRP-USDT never registered. Bars open
 * at T, T + 2 h, ...; a batch is submitted one minute after its bar closes. Every test starts from the same chain
 * snapshot: oracle deployed, markets registered, batch verifiers of MODEL for n = 1, 2 and 3 set, no update yet.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Contract, ContractFactory, ZeroAddress, type Signer, type TransactionReceipt } from "ethers";
import { BATCH_PACKING, type BatchMargins } from "../../circuits/batch-statement";
import { batchSignalLayout } from "../../circuits/public-signals";
import { FIELD_MODULUS } from "../../crypto/field";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { compileOracleContracts } from "../../onchain/solc";
import { BASE_FIELD_MODULUS, VerifierKeyError } from "../../onchain/groth16-verifier-source";
import { batchSizeOfKey, generateSignedBatchVerifier } from "../../onchain/signed-batch-verifier";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { VerificationKey } from "../../setup";
import { deployVerifier, registerMarket, setPublisherSet } from "../../onchain/oracle";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { releaseCurves } from "../../setup";
import {
  batchStandInArtifacts,
  proveBatchStandIn,
  type BatchStandInProof,
  type BatchStandInStatement,
} from "../helpers/signed-batch-stand-in";
import {
  BAR_SECONDS,
  DEFAULT_LIMITS,
  HOUR,
  hre,
  revertOf,
  rpc,
  setNextBlockTime,
  utc,
  type MarketLimits,
  fromSnapshotEachTest,
} from "./fixture";

const MAINTENANCE = 0n;
const INITIAL = 1n;
const BTC = marketIdOf("BTC-USDT");
const ETH = marketIdOf("ETH-USDT");
const SOL = marketIdOf("SOL-USDT");
const XRP = marketIdOf("XRP-USDT"); // never registered; sorts after the others
/** Model and publisher-set commitments (any field elements: the stand-in does not check them). */
const MODEL = 123_456_789n;
const OTHER_MODEL = 987_654_321n;
const THIRD_MODEL = 192_837_465n;
const SET = 555_555n;
const OTHER_SET = 666_666n;
const DIGEST = 777_777n; // the batch digest's low bits

/** The calls the oracle makes into a batch verifier, and its errors (contracts/interfaces/ISignedBatchVerifier.sol). */
const oracleLikeVerifierAbi = [
  "function batchSize() pure returns (uint256)",
  "function batchBase(uint256[] constants) view returns (uint256 x, uint256 y)",
  "function verifyProof(uint256[2] pA, uint256[2][2] pB, uint256[2] pC, uint256[] update, uint256 baseX, uint256 baseY) view returns (bool)",
  "error VerifierScalarNotInField(uint256 scalar)",
  "error VerifierConstantCount(uint256 count, uint256 expected)",
];

const T = utc(2024, 6, 20, 10);
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

let oracle: Contract;
let governor: Signer;
let guardian: Signer;
let stranger: Signer;
let domain: bigint;
/** Stand-in artifact directories and deployed verifiers by n. */
const dirs: Record<number, string> = {};
const verifiers: Record<number, string> = {};
/** A deployed signed-update verifier (of the single-update stand-in), for the markets' publisher sets. */
let signedVerifier = "";
/** Gas of an accepted batch (first update of each market) by n. */
const batchGas: Record<number, bigint> = {};
/** Gas of accepted batches of 3 markets, one model or three: the first (computes the base) and a later one. */
const gasOf3: Partial<
  Record<"shared first" | "shared later" | "per-market first" | "per-market later", bigint>
> = {};

type Entry = BatchMargins & { marketId: bigint };

const entry = (marketId: bigint, mm: number, im: number): Entry => ({
  marketId,
  mm: BigInt(mm),
  im: BigInt(im),
});

/** The three markets, with margins (mm, 2 mm) for mm = base, base + 10, base + 20. */
const three = (base = 100): Entry[] => [
  entry(BTC, base, 2 * base),
  entry(ETH, base + 10, 2 * (base + 10)),
  entry(SOL, base + 20, 2 * (base + 20)),
];

/**
 * A stand-in proof of `markets` (given order) at bar `t` with the constants of this oracle (MODEL for every market),
 * `patch` applied.
 */
function proveBatch(
  markets: Entry[],
  t: number,
  patch: Partial<Omit<BatchStandInStatement, "markets" | "dataTimestamp">> = {},
): Promise<BatchStandInProof> {
  return proveBatchStandIn(dirs[markets.length], {
    markets,
    dataTimestamp: BigInt(t),
    digest: DIGEST,
    modelCommitments: markets.map(() => MODEL),
    publisherSet: SET,
    domain,
    ...patch,
  });
}

/** `submitSignedBatch`'s arguments other than the proof, as a proof's public signals give them. */
interface BatchArgs {
  marketIds: readonly (bigint | string)[];
  modelCommitments: readonly (bigint | string)[];
  publisherSet: bigint | string;
  update: readonly (bigint | string)[];
}

/** The arguments a proof's public signals give (`batchSignalLayout`). */
function argsOf(p: BatchStandInProof): BatchArgs {
  const signals = p.publicSignals;
  const l = batchSignalLayout(signals.length === 0 ? 1 : nOf(signals.length));
  return {
    marketIds: signals.slice(l.marketId, l.marketId + l.n),
    modelCommitments: signals.slice(l.modelCommitment, l.modelCommitment + l.n),
    publisherSet: signals[l.publisherSet],
    update: signals.slice(0, l.varying),
  };
}

/** The batch size of a proof with `count` public signals. */
function nOf(count: number): number {
  for (let n = 1; n <= 32; n++) if (batchSignalLayout(n).count === count) return n;
  throw new Error(`no batch has ${count} public signals`);
}

/** Send `submitSignedBatch` (no pre-flight call); `args` overrides the arguments the proof's signals give. */
function send(p: BatchStandInProof, opts: { args?: Partial<BatchArgs>; from?: Signer } = {}) {
  const c = p.calldata;
  const o = opts.from ? as(opts.from) : oracle;
  const a = { ...argsOf(p), ...opts.args };
  return o.submitSignedBatch(
    c.a,
    c.b,
    c.c,
    a.marketIds,
    a.modelCommitments,
    a.publisherSet,
    a.update,
  ) as Promise<{
    wait(): Promise<TransactionReceipt | null>;
  }>;
}

/** Submit in a block at `time`, return the receipt. */
async function submitAt(p: BatchStandInProof, time: number, opts: Parameters<typeof send>[1] = {}) {
  await setNextBlockTime(time);
  const receipt = await (await send(p, opts)).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt;
}

/** Send in a block at `time`; the decoded custom error. */
async function revertAt(p: BatchStandInProof, time: number, opts: Parameters<typeof send>[1] = {}) {
  await setNextBlockTime(time);
  return revertOf(send(p, opts), oracle);
}

async function parametersOf(marketId: bigint): Promise<bigint[]> {
  return [...(await oracle.parameters(marketId))].map(BigInt);
}

/** Every market has no parameters (OracleNoParameters): nothing was written. */
async function expectNoneUpdated(): Promise<void> {
  for (const id of [BTC, ETH, SOL]) {
    expect(await revertOf(oracle.parameters(id), oracle)).toEqual({ name: "OracleNoParameters", args: [id] });
  }
}

const as = (signer: Signer) => oracle.connect(signer) as Contract;

/**
 * Register `marketId` through the client with SET (quorum 1) and MODEL, the guardian and the default limits. A
 * publisher set needs a signed-update verifier (its statement base); batches never call it.
 */
async function register(marketId: bigint): Promise<void> {
  await registerMarket(oracle, marketId, {
    publishers: { verifier: signedVerifier, modelCommitment: MODEL, publisherSet: SET, quorum: 1 },
    guardian: await guardian.getAddress(),
    limits: DEFAULT_LIMITS,
  });
}

/** Rotate `marketId` to `model` (its own calibration), keeping SET: a batch must then give it `model`. */
async function setModel(marketId: bigint, model: bigint): Promise<void> {
  await setPublisherSet(oracle, marketId, {
    verifier: signedVerifier,
    modelCommitment: model,
    publisherSet: SET,
    quorum: 1,
  });
}

async function setLimits(marketId: bigint, patch: Partial<MarketLimits>): Promise<void> {
  await (await oracle.setLimits(marketId, { ...DEFAULT_LIMITS, ...patch })).wait();
}

beforeAll(async () => {
  [governor, guardian, stranger] = await hre.ethers.getSigners();
  const deployCompiled = async (c: { abi: unknown; bytecode: string }, args: unknown[] = []) =>
    (await (
      await new ContractFactory(c.abi as never, c.bytecode, governor).deploy(...args)
    ).waitForDeployment()) as Contract;
  for (const n of [1, 2, 3, 5]) {
    dirs[n] = await batchStandInArtifacts(n);
    verifiers[n] = await (await deployVerifier(governor, dirs[n])).getAddress();
  }
  signedVerifier = await (await deployVerifier(governor, await standInArtifacts())).getAddress();
  oracle = await deployCompiled(compileOracleContracts().RiskOracle, [await governor.getAddress()]);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  for (const id of [BTC, ETH, SOL]) await register(id);
  for (const n of [1, 2, 3]) await (await oracle.setBatchVerifier(MODEL, n, verifiers[n])).wait();
}, 600_000);

fromSnapshotEachTest();

afterAll(async () => {
  const figures = Object.entries(batchGas).map(([n, g]) => `n=${n}: ${g} total, ${g / BigInt(n)} per market`);
  if (figures.length > 0) {
    console.log(
      `submitSignedBatch gas with the stand-in verifiers (first update of each market; the real circuit's ` +
        `signals): ${figures.join("; ")}`,
    );
  }
  const of3 = Object.entries(gasOf3).map(([what, g]) => `${what} ${g}`);
  if (of3.length > 0) {
    console.log(
      `submitSignedBatch gas of 3 markets with the stand-in verifier, one model (shared) or three (per-market), ` +
        `the composition's first batch and a later one: ${of3.join("; ")}`,
    );
  }
  await releaseCurves();
});

describe("setBatchVerifier (governance)", () => {
  it("sets, reads and removes a batch verifier, with BatchVerifierSet", async () => {
    const set = (await (
      await oracle.setBatchVerifier(OTHER_MODEL, 2, verifiers[2])
    ).wait()) as TransactionReceipt;
    const events = set.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => e.name)).toEqual(["BatchVerifierSet"]);
    expect([...events[0].args]).toEqual([OTHER_MODEL, 2n, verifiers[2]]);
    expect(await oracle.batchVerifier(OTHER_MODEL, 2)).toBe(verifiers[2]);
    expect(await oracle.batchVerifier(OTHER_MODEL, 3)).toBe(ZeroAddress);

    const removed = (await (
      await oracle.setBatchVerifier(OTHER_MODEL, 2, ZeroAddress)
    ).wait()) as TransactionReceipt;
    expect([...oracle.interface.parseLog(removed.logs[0])!.args]).toEqual([OTHER_MODEL, 2n, ZeroAddress]);
    expect(await oracle.batchVerifier(OTHER_MODEL, 2)).toBe(ZeroAddress);
  });

  it("only the governor may set one (AccessControlUnauthorizedAccount)", async () => {
    for (const signer of [guardian, stranger]) {
      expect(await revertOf(as(signer).setBatchVerifier(MODEL, 2, verifiers[2]), oracle)).toEqual({
        name: "AccessControlUnauthorizedAccount",
        args: [await signer.getAddress(), await oracle.GOVERNOR_ROLE()],
      });
    }
  });

  it.each([0n, 33n])("OracleInvalidBatchSize: n = %i", async (n) => {
    expect(await revertOf(oracle.setBatchVerifier(MODEL, n, verifiers[2]), oracle)).toEqual({
      name: "OracleInvalidBatchSize",
      args: [n],
    });
  });

  it("OracleInvalidModelCommitment: zero or not a field element", async () => {
    for (const model of [0n, FIELD_MODULUS]) {
      expect(await revertOf(oracle.setBatchVerifier(model, 2, verifiers[2]), oracle)).toEqual({
        name: "OracleInvalidModelCommitment",
        args: [model],
      });
    }
  });

  it("OracleInvalidVerifier: an address without code, a verifier of another batch size, not a batch verifier", async () => {
    const eoa = await stranger.getAddress();
    for (const v of [eoa, verifiers[3], signedVerifier]) {
      expect(await revertOf(oracle.setBatchVerifier(MODEL, 2, v), oracle)).toEqual({
        name: "OracleInvalidVerifier",
        args: [v],
      });
    }
  });
});

describe("submitSignedBatch: accepted batches", () => {
  it("a batch of 2 from anyone: stored parameters, one event per market with the digest bits and its index", async () => {
    const entries = [entry(BTC, 120, 180), entry(SOL, 300, 450)];
    const at = timely(T);
    const receipt = await submitAt(await proveBatch(entries, T), at, { from: stranger });
    batchGas[2] = receipt.gasUsed;
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => e.name)).toEqual([
      "SignedBatchParametersUpdated",
      "SignedBatchParametersUpdated",
    ]);
    entries.forEach((e, i) => {
      expect(events[i].args.toObject()).toEqual({
        marketId: e.marketId,
        maintenanceMarginBps: e.mm,
        initialMarginBps: e.im,
        dataTimestamp: BigInt(T),
        batchDigestBits: DIGEST,
        index: BigInt(i),
      });
    });
    expect(await parametersOf(BTC)).toEqual([120n, 180n, BigInt(T), BigInt(at)]);
    expect(await parametersOf(SOL)).toEqual([300n, 450n, BigInt(T), BigInt(at)]);
    expect(await revertOf(oracle.parameters(ETH), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [ETH],
    });
    expect(await oracle.isFresh(SOL, BigInt(at - T))).toBe(true);
  });

  it("a batch of 3, then a later batch within the rate limits (each against its own market's last values)", async () => {
    const receipt = await submitAt(await proveBatch(three(), T), timely(T));
    batchGas[3] = gasOf3["shared first"] = receipt.gasUsed;
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => [e.args.marketId, e.args.index])).toEqual([
      [BTC, 0n],
      [ETH, 1n],
      [SOL, 2n],
    ]);
    for (const e of three()) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
    }
    // Next bar: BTC up 10 (IM up 20), ETH unchanged, SOL down 20 (IM down 40); limits allow exactly that.
    for (const id of [BTC, ETH, SOL]) await setLimits(id, { maxIncreaseBps: 20, maxDecreaseBps: 40 });
    const t2 = T + BAR_SECONDS;
    const next = [entry(BTC, 110, 220), entry(ETH, 110, 220), entry(SOL, 100, 200)];
    const later = await submitAt(await proveBatch(next, t2), timely(t2));
    gasOf3["shared later"] = later.gasUsed;
    for (const e of next) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(t2), BigInt(timely(t2))]);
    }
    // The later batch reads the composition's stored base instead of computing it (three multiplications less).
    expect(later.gasUsed).toBeLessThan(receipt.gasUsed - 15_000n);
  });

  it("a batch of 1, then a batch of 2 in which one market's last update is older than the other's", async () => {
    const one = await submitAt(await proveBatch([entry(ETH, 100, 150)], T), timely(T));
    batchGas[1] = one.gasUsed;
    expect(await parametersOf(ETH)).toEqual([100n, 150n, BigInt(T), BigInt(timely(T))]);
    const t2 = T + BAR_SECONDS;
    await submitAt(await proveBatch([entry(BTC, 100, 150), entry(ETH, 100, 150)], t2), timely(t2));
    expect((await parametersOf(BTC))[2]).toBe(BigInt(t2));
    expect((await parametersOf(ETH))[2]).toBe(BigInt(t2));
  });

  it("a batch of 5: the margins of market 4 in the second varying signal", async () => {
    const FIVE = [BTC, ETH, SOL, XRP, marketIdOf("ZZZ-USDT")].sort((x, y) => (x < y ? -1 : 1));
    for (const id of FIVE.filter((id) => ![BTC, ETH, SOL].includes(id))) await register(id);
    await (await oracle.setBatchVerifier(MODEL, 5, verifiers[5])).wait();
    const entries = FIVE.map((id, i) => entry(id, 100 + i, 200 + 3 * i));
    const p = await proveBatch(entries, T);
    expect(argsOf(p).update.length).toBe(2);
    await submitAt(p, timely(T));
    for (const e of entries) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
    }
  });

  it("markets under three models (one calibration each), the batch verifier set for each: every market stored", async () => {
    await setModel(ETH, OTHER_MODEL);
    await setModel(SOL, THIRD_MODEL);
    for (const model of [OTHER_MODEL, THIRD_MODEL]) {
      await (await oracle.setBatchVerifier(model, 3, verifiers[3])).wait();
    }
    const models = [MODEL, OTHER_MODEL, THIRD_MODEL];
    const receipt = await submitAt(await proveBatch(three(), T, { modelCommitments: models }), timely(T));
    gasOf3["per-market first"] = receipt.gasUsed;
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => [e.name, e.args.marketId, e.args.index])).toEqual([
      ["SignedBatchParametersUpdated", BTC, 0n],
      ["SignedBatchParametersUpdated", ETH, 1n],
      ["SignedBatchParametersUpdated", SOL, 2n],
    ]);
    for (const e of three()) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
    }
    // A later batch of the same composition reads its stored base.
    const t2 = T + BAR_SECONDS;
    const later = await submitAt(await proveBatch(three(110), t2, { modelCommitments: models }), timely(t2));
    gasOf3["per-market later"] = later.gasUsed;
    for (const e of three(110)) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(t2), BigInt(timely(t2))]);
    }
  });

  it("a model shared by markets that are not adjacent (MODEL, OTHER_MODEL, MODEL): each checked against its own", async () => {
    await setModel(ETH, OTHER_MODEL);
    await (await oracle.setBatchVerifier(OTHER_MODEL, 3, verifiers[3])).wait();
    const models = [MODEL, OTHER_MODEL, MODEL];
    await submitAt(await proveBatch(three(), T, { modelCommitments: models }), timely(T));
    for (const e of three()) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
    }
  });

  it("every market at a guard's boundary; a first batch meets no rate limit, a later one the limits exactly", async () => {
    // No change allowed at all: a market's first update is checked against the bounds only.
    for (const id of [BTC, ETH, SOL]) await setLimits(id, { maxIncreaseBps: 0, maxDecreaseBps: 0 });
    const { minMaintenanceMarginBps: minMm, maxMaintenanceMarginBps: maxMm } = DEFAULT_LIMITS;
    const { minInitialMarginBps: minIm, maxInitialMarginBps: maxIm } = DEFAULT_LIMITS;
    const at = timely(T);
    // BTC: data exactly its maxDataAge old, IM = MM; ETH: both margins at their minimums; SOL: at their maximums.
    await setLimits(BTC, { maxIncreaseBps: 0, maxDecreaseBps: 0, maxDataAge: at - T });
    const first = [entry(BTC, 200, 200), entry(ETH, minMm, minIm), entry(SOL, maxMm, maxIm)];
    await submitAt(await proveBatch(first, T), at);
    for (const e of first) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(at)]);
    }
    // Then exactly the minimum interval later, each margin moving exactly its limit (or not at all).
    const interval = 3 * HOUR;
    for (const id of [BTC, ETH, SOL]) {
      await setLimits(id, { minUpdateInterval: interval, maxIncreaseBps: 10, maxDecreaseBps: 20 });
    }
    const t2 = T + BAR_SECONDS;
    const next = [entry(BTC, 210, 210), entry(ETH, minMm, minIm), entry(SOL, maxMm - 20, maxIm - 20)];
    await submitAt(await proveBatch(next, t2), at + interval);
    for (const e of next) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(t2), BigInt(at + interval)]);
    }
  });
});

describe("submitSignedBatch: batch-specific reverts", () => {
  it.each([0, 33])("OracleInvalidBatchSize: %i markets", async (n) => {
    const p = await proveBatch(three(), T);
    const marketIds = Array.from({ length: n }, (_, i) => BigInt(i + 1));
    expect(await revertAt(p, timely(T), { args: { marketIds } })).toEqual({
      name: "OracleInvalidBatchSize",
      args: [BigInt(n)],
    });
  });

  it.each([0, 2])("OracleInvalidBatchSignalCount: 3 markets with %i varying signals", async (count) => {
    const p = await proveBatch(three(), T);
    const update = Array.from({ length: count }, () => 1n);
    expect(await revertAt(p, timely(T), { args: { update } })).toEqual({
      name: "OracleInvalidBatchSignalCount",
      args: [3n, BigInt(count)],
    });
  });

  it("OracleSignalNotInField: a varying signal plus p", async () => {
    const p = await proveBatch(three(), T);
    const update = [BigInt(argsOf(p).update[0]) + FIELD_MODULUS];
    expect(await revertAt(p, timely(T), { args: { update } })).toEqual({
      name: "OracleSignalNotInField",
      args: [0n, update[0]],
    });
  });

  it("OracleNoBatchVerifier: another model, and a removed verifier", async () => {
    const others = [OTHER_MODEL, OTHER_MODEL, OTHER_MODEL];
    expect(await revertAt(await proveBatch(three(), T, { modelCommitments: others }), timely(T))).toEqual({
      name: "OracleNoBatchVerifier",
      args: [OTHER_MODEL, 3n],
    });
    await (await oracle.setBatchVerifier(MODEL, 3, ZeroAddress)).wait();
    expect(await revertAt(await proveBatch(three(), T), timely(T) + 60)).toEqual({
      name: "OracleNoBatchVerifier",
      args: [MODEL, 3n],
    });
  });

  it("OracleBatchModelCount: fewer or more model commitments than markets", async () => {
    const p = await proveBatch(three(), T);
    for (const [k, modelCommitments] of [[], [MODEL, MODEL], [MODEL, MODEL, MODEL, MODEL]].entries()) {
      expect(await revertAt(p, timely(T) + 60 * k, { args: { modelCommitments } })).toEqual({
        name: "OracleBatchModelCount",
        args: [3n, BigInt(modelCommitments.length)],
      });
    }
  });

  it("OracleNoBatchVerifier: a further model of the batch without the batch's verifier for n", async () => {
    // ETH under THIRD_MODEL, which has no batch verifier of 3 markets (one of 2 does not count).
    await setModel(ETH, THIRD_MODEL);
    await (await oracle.setBatchVerifier(THIRD_MODEL, 2, verifiers[2])).wait();
    const models = [MODEL, THIRD_MODEL, MODEL];
    expect(await revertAt(await proveBatch(three(), T, { modelCommitments: models }), timely(T))).toEqual({
      name: "OracleNoBatchVerifier",
      args: [THIRD_MODEL, 3n],
    });
    // Given one, then removed: refused again.
    await (await oracle.setBatchVerifier(THIRD_MODEL, 3, verifiers[3])).wait();
    await (await oracle.setBatchVerifier(THIRD_MODEL, 3, ZeroAddress)).wait();
    expect(
      await revertAt(await proveBatch(three(), T, { modelCommitments: models }), timely(T) + 60),
    ).toEqual({
      name: "OracleNoBatchVerifier",
      args: [THIRD_MODEL, 3n],
    });
    await expectNoneUpdated();
  });

  it("OracleBatchVerifierMismatch: a further model whose batch verifier is another (not approved for this one)", async () => {
    // Another deployment of the same key: it would verify the proof, but governance approved it for OTHER_MODEL
    // only, and the batch's verifier (MODEL's, its first market's) is not approved for OTHER_MODEL.
    const again = await (await deployVerifier(governor, dirs[3])).getAddress();
    await setModel(ETH, OTHER_MODEL);
    await (await oracle.setBatchVerifier(OTHER_MODEL, 3, again)).wait();
    const p = await proveBatch(three(), T, { modelCommitments: [MODEL, OTHER_MODEL, MODEL] });
    expect(await revertAt(p, timely(T))).toEqual({
      name: "OracleBatchVerifierMismatch",
      args: [OTHER_MODEL, 3n, verifiers[3], again],
    });
    // The first market's model decides the batch's verifier: BTC under OTHER_MODEL, ETH under MODEL.
    await setModel(BTC, OTHER_MODEL);
    await setModel(ETH, MODEL);
    const q = await proveBatch(three(), T, { modelCommitments: [OTHER_MODEL, MODEL, MODEL] });
    expect(await revertAt(q, timely(T) + 60)).toEqual({
      name: "OracleBatchVerifierMismatch",
      args: [MODEL, 3n, again, verifiers[3]],
    });
    await expectNoneUpdated();
    // Once governance approves MODEL's verifier for OTHER_MODEL, the batch passes.
    await (await oracle.setBatchVerifier(OTHER_MODEL, 3, verifiers[3])).wait();
    await submitAt(q, timely(T) + 120);
    expect((await parametersOf(BTC))[2]).toBe(BigInt(T));
  });

  it("OracleBatchNotSorted: ids out of order, and a market twice", async () => {
    const [btc, eth, sol] = three();
    expect(await revertAt(await proveBatch([btc, sol, eth], T), timely(T))).toEqual({
      name: "OracleBatchNotSorted",
      args: [2n, SOL, ETH],
    });
    expect(await revertAt(await proveBatch([btc, eth, { ...eth, mm: 150n }], T), timely(T) + 60)).toEqual({
      name: "OracleBatchNotSorted",
      args: [2n, ETH, ETH],
    });
    await expectNoneUpdated();
  });

  it("OracleUnknownMarket: an unregistered market after a registered one", async () => {
    expect(
      await revertAt(await proveBatch([entry(BTC, 100, 150), entry(XRP, 100, 150)], T), timely(T)),
    ).toEqual({
      name: "OracleUnknownMarket",
      args: [XRP],
    });
    await expectNoneUpdated();
  });

  it("OracleModelCommitmentMismatch: a market whose registered model is another", async () => {
    await setPublisherSet(oracle, ETH, {
      verifier: signedVerifier,
      modelCommitment: OTHER_MODEL,
      publisherSet: SET,
      quorum: 1,
    });
    expect(await revertAt(await proveBatch(three(), T), timely(T))).toEqual({
      name: "OracleModelCommitmentMismatch",
      args: [ETH, OTHER_MODEL, MODEL],
    });
    await expectNoneUpdated();
  });

  it("OracleModelCommitmentMismatch: the model the proof gives market i is not its registered one", async () => {
    // BTC under MODEL, ETH under OTHER_MODEL, SOL under MODEL; every model has the batch verifier.
    await setModel(ETH, OTHER_MODEL);
    for (const model of [OTHER_MODEL, THIRD_MODEL]) {
      await (await oracle.setBatchVerifier(model, 3, verifiers[3])).wait();
    }
    const cases: [models: bigint[], market: bigint, registered: bigint, proven: bigint][] = [
      // SOL given ETH's model
      [[MODEL, OTHER_MODEL, OTHER_MODEL], SOL, MODEL, OTHER_MODEL],
      // BTC and ETH's models swapped: BTC, the first, is named
      [[OTHER_MODEL, MODEL, MODEL], BTC, MODEL, OTHER_MODEL],
      // SOL given a model no market is registered with (its pair has no batch group)
      [[MODEL, OTHER_MODEL, THIRD_MODEL], SOL, MODEL, THIRD_MODEL],
    ];
    for (const [k, [models, market, registered, proven]] of cases.entries()) {
      const p = await proveBatch(three(), T, { modelCommitments: models });
      expect(await revertAt(p, timely(T) + 60 * k), `case ${k}`).toEqual({
        name: "OracleModelCommitmentMismatch",
        args: [market, registered, proven],
      });
    }
    await expectNoneUpdated();
  });

  it("OracleBatchPublisherSetMismatch: a market whose registered publisher set differs from the proof's", async () => {
    // ETH rotated to another set (e.g. another quorum): a batch signed by SET's publishers is refused for it.
    await setPublisherSet(oracle, ETH, {
      verifier: signedVerifier,
      modelCommitment: MODEL,
      publisherSet: OTHER_SET,
      quorum: 2,
    });
    expect(await revertAt(await proveBatch(three(), T), timely(T))).toEqual({
      name: "OracleBatchPublisherSetMismatch",
      args: [ETH, OTHER_SET, SET],
    });
    // A batch proven for OTHER_SET is refused for the markets still on SET.
    expect(await revertAt(await proveBatch(three(), T, { publisherSet: OTHER_SET }), timely(T) + 60)).toEqual(
      {
        name: "OracleBatchPublisherSetMismatch",
        args: [BTC, SET, OTHER_SET],
      },
    );
    await expectNoneUpdated();
  });

  it("OracleBatchPublisherSetMismatch: a pair (model, set) no market was registered with", async () => {
    const THIRD_SET = 888_888n;
    expect(await revertAt(await proveBatch(three(), T, { publisherSet: THIRD_SET }), timely(T))).toEqual({
      name: "OracleBatchPublisherSetMismatch",
      args: [BTC, SET, THIRD_SET],
    });
    await expectNoneUpdated();
  });

  it("checks a market's pair by its batch group: rotated away and back, the market takes batches again", async () => {
    const publishers = { verifier: signedVerifier, modelCommitment: MODEL, quorum: 1 };
    await setPublisherSet(oracle, ETH, { ...publishers, publisherSet: OTHER_SET });
    expect((await revertAt(await proveBatch(three(), T), timely(T))).name).toBe(
      "OracleBatchPublisherSetMismatch",
    );
    await setPublisherSet(oracle, ETH, { ...publishers, publisherSet: SET });
    await submitAt(await proveBatch(three(), T), timely(T) + 60);
    expect((await parametersOf(ETH))[2]).toBe(BigInt(T));
  });

  it("OracleTooManyBatchGroups: a new pair once 65,535 pairs have a group; a known pair still registers", async () => {
    // _batchGroupCount (slot 4: AccessControl's roles, markets, batch verifiers, groups, then the count) is 1:
    // every market so far uses (MODEL, SET)
    const address = await oracle.getAddress();
    expect(BigInt(await hre.ethers.provider.getStorage(address, 4))).toBe(1n);
    await rpc("hardhat_setStorageAt", [address, "0x4", "0x" + 0xffffn.toString(16).padStart(64, "0")]);
    const publishers = { verifier: signedVerifier, modelCommitment: MODEL, quorum: 1 };
    // the client decodes the revert (OracleError, reason: the custom error's name)
    await expect(
      setPublisherSet(oracle, ETH, { ...publishers, publisherSet: OTHER_SET }),
    ).rejects.toMatchObject({
      reason: "OracleTooManyBatchGroups",
    });
    await setPublisherSet(oracle, ETH, { ...publishers, publisherSet: SET });
  });

  it("OracleInvalidBatchProof: changed digest bits or margins, a tampered proof", async () => {
    const p = await proveBatch(three(), T);
    const update0 = BigInt(argsOf(p).update[0]);
    // Every guard passes, the pairing check fails.
    for (const [k, bit] of [BATCH_PACKING.digestShift, BATCH_PACKING.marketsShift + 28 + 1].entries()) {
      const update = [update0 ^ (1n << BigInt(bit))];
      expect(await revertAt(p, timely(T) + 30 * k, { args: { update } })).toEqual({
        name: "OracleInvalidBatchProof",
        args: [verifiers[3], 3n],
      });
    }
    const tampered: BatchStandInProof = {
      ...p,
      calldata: { ...p.calldata, a: [p.calldata.a[0], (BigInt(p.calldata.a[1]) + 1n).toString()] as never },
    };
    expect(await revertAt(tampered, timely(T) + 90)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[3], 3n],
    });
    await expectNoneUpdated();
  });
});

describe("submitSignedBatch: the stored batch base of each composition", () => {
  it("a proof for one composition fails against another's base: other ids, another domain", async () => {
    // (BTC, ETH) accepted at bar T: its base is stored.
    await submitAt(await proveBatch([entry(BTC, 100, 200), entry(ETH, 100, 200)], T), timely(T));
    const t2 = T + BAR_SECONDS;
    const btcEth = await proveBatch([entry(BTC, 100, 200), entry(ETH, 100, 200)], t2);
    const btcSol = await proveBatch([entry(BTC, 100, 200), entry(SOL, 100, 200)], t2);
    // Each passes every guard of the composition it is submitted as; only the proof check refuses it.
    expect(await revertAt(btcSol, timely(t2), { args: { marketIds: [BTC, ETH] } }), "stored base").toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    expect(await revertAt(btcEth, timely(t2) + 60, { args: { marketIds: [BTC, SOL] } }), "new base").toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    const otherDomain = await proveBatch([entry(BTC, 100, 200), entry(ETH, 100, 200)], t2, {
      domain: oracleDomain(1n, await oracle.getAddress()),
    });
    expect(await revertAt(otherDomain, timely(t2) + 120), "another oracle's domain").toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    // The honest later batch passes against the stored base.
    await submitAt(btcEth, timely(t2) + 180);
    expect((await parametersOf(ETH))[2]).toBe(BigInt(t2));
  });

  it("the verifier: a proof verifies against its own composition's base only (reordered ids, another model, set or domain)", async () => {
    const verifier = new Contract(verifiers[2], oracleLikeVerifierAbi, governor);
    const stand = {
      vkey: JSON.parse(readFileSync(join(dirs[2], "verification_key.json"), "utf8")) as VerificationKey,
    };
    // Two models, so that swapping them is another composition. The constants: ids, models, set, domain.
    const p = await proveBatch([entry(BTC, 100, 200), entry(ETH, 100, 200)], T, {
      modelCommitments: [MODEL, OTHER_MODEL],
    });
    const { update } = argsOf(p);
    const c = p.calldata;
    const verifies = async (constants: bigint[]) => {
      const [x, y] = (await verifier.batchBase(constants)) as [bigint, bigint];
      return (await verifier.verifyProof(c.a, c.b, c.c, update, x, y)) as boolean;
    };
    const own = [BTC, ETH, MODEL, OTHER_MODEL, SET, domain];
    expect(await verifies(own)).toBe(true);
    for (const [what, constants] of [
      ["reordered ids", [ETH, BTC, MODEL, OTHER_MODEL, SET, domain]],
      ["another id", [BTC, SOL, MODEL, OTHER_MODEL, SET, domain]],
      ["another model for market 0", [BTC, ETH, THIRD_MODEL, OTHER_MODEL, SET, domain]],
      ["another model for market 1", [BTC, ETH, MODEL, MODEL, SET, domain]],
      ["models swapped", [BTC, ETH, OTHER_MODEL, MODEL, SET, domain]],
      ["ids and models swapped", [MODEL, OTHER_MODEL, BTC, ETH, SET, domain]],
      ["another set", [BTC, ETH, MODEL, OTHER_MODEL, OTHER_SET, domain]],
      ["another domain", [BTC, ETH, MODEL, OTHER_MODEL, SET, domain + 1n]],
      ["model and set swapped", [BTC, ETH, MODEL, SET, OTHER_MODEL, domain]],
    ] as const) {
      expect(await verifies([...constants]), what).toBe(false);
    }
    // batchBase's own refusals: a constant not below r, and another number of constants (2n + 2 = 6).
    expect(await revertOf(verifier.batchBase([...own.slice(0, 5), FIELD_MODULUS]), verifier)).toEqual({
      name: "VerifierScalarNotInField",
      args: [FIELD_MODULUS],
    });
    for (const constants of [
      [BTC, ETH, MODEL, SET, domain],
      [...own, 1n],
    ]) {
      expect(await revertOf(verifier.batchBase(constants), verifier)).toEqual({
        name: "VerifierConstantCount",
        args: [BigInt(constants.length), 6n],
      });
    }
    expect(await verifier.batchSize()).toBe(2n);
    // verifyProof's own refusals (false, never a revert): another number of varying signals, a signal plus r, a
    // base coordinate not below q, a base off the curve.
    const [x, y] = (await verifier.batchBase(own)) as [bigint, bigint];
    const u = BigInt(update[0]);
    for (const [what, varying, bx, by] of [
      ["two varying signals", [u, 0n], x, y],
      ["the signal plus r", [u + FIELD_MODULUS], x, y],
      ["baseX + q", [u], x + BASE_FIELD_MODULUS, y],
      ["a base off the curve", [u], x, y + 1n],
    ] as const) {
      expect(await verifier.verifyProof(c.a, c.b, c.c, [...varying], bx, by), what).toBe(false);
    }
    expect(() => generateSignedBatchVerifier(stand.vkey, 3)).toThrow(VerifierKeyError);
    expect(batchSizeOfKey(stand.vkey)).toBe(2);
  });

  it("another model or publisher set in the proof than the composition submitted: refused by the proof check", async () => {
    // ETH and SOL move to (OTHER_MODEL, SET) and (MODEL, OTHER_SET) so each submitted composition's guards pass:
    // the proof's constants are another composition's, and only its base tells them apart.
    await (await oracle.setBatchVerifier(OTHER_MODEL, 1, verifiers[1])).wait();
    const publishers = { verifier: signedVerifier, quorum: 1 };
    await setPublisherSet(oracle, ETH, { ...publishers, modelCommitment: OTHER_MODEL, publisherSet: SET });
    await setPublisherSet(oracle, SOL, { ...publishers, modelCommitment: MODEL, publisherSet: OTHER_SET });
    // A proof for (BTC; MODEL, SET) submitted as (ETH; OTHER_MODEL, SET) and as (SOL; MODEL, OTHER_SET).
    const btc = await proveBatch([entry(BTC, 100, 200)], T);
    expect(
      await revertAt(btc, timely(T), { args: { marketIds: [ETH], modelCommitments: [OTHER_MODEL] } }),
    ).toEqual({ name: "OracleInvalidBatchProof", args: [verifiers[1], 1n] });
    expect(
      await revertAt(btc, timely(T) + 60, { args: { marketIds: [SOL], publisherSet: OTHER_SET } }),
    ).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[1], 1n],
    });
    // A proof for (BTC; OTHER_MODEL) submitted for BTC under MODEL (its own composition), and for ETH whose
    // composition it names but whose id it does not carry.
    const otherModel = await proveBatch([entry(BTC, 100, 200)], T, { modelCommitments: [OTHER_MODEL] });
    expect(await revertAt(otherModel, timely(T) + 120, { args: { modelCommitments: [MODEL] } })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[1], 1n],
    });
    expect(await revertAt(otherModel, timely(T) + 180, { args: { marketIds: [ETH] } })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[1], 1n],
    });
    await submitAt(btc, timely(T) + 240);
    expect((await parametersOf(BTC))[2]).toBe(BigInt(T));
  });

  it("the stored base is keyed by the models too: a proof for models (A, B) is refused as (A, A), and back", async () => {
    // (BTC, ETH) under (MODEL, MODEL) accepted at bar T: that composition's base is stored.
    const pair = (mm: number) => [entry(BTC, mm, 2 * mm), entry(ETH, mm, 2 * mm)];
    await submitAt(await proveBatch(pair(100), T), timely(T));
    // ETH to OTHER_MODEL: a proof for (MODEL, MODEL) submitted as (MODEL, OTHER_MODEL) passes every guard, and
    // the new composition's base, computed from the submitted models, refuses it.
    await setModel(ETH, OTHER_MODEL);
    await (await oracle.setBatchVerifier(OTHER_MODEL, 2, verifiers[2])).wait();
    const t2 = T + BAR_SECONDS;
    const mixed = [MODEL, OTHER_MODEL];
    const shared = await proveBatch(pair(100), t2);
    expect(await revertAt(shared, timely(t2), { args: { modelCommitments: mixed } })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    // The honest (MODEL, OTHER_MODEL) proof is accepted: its base is not the stored (MODEL, MODEL) one, which a key
    // without the models would have served it.
    await submitAt(await proveBatch(pair(100), t2, { modelCommitments: mixed }), timely(t2) + 60);
    expect((await parametersOf(ETH))[2]).toBe(BigInt(t2));
    // ETH back to MODEL: a proof for (MODEL, OTHER_MODEL) submitted as (MODEL, MODEL) meets the stored base of
    // (MODEL, MODEL), and the honest one passes against it.
    await setModel(ETH, MODEL);
    const t3 = t2 + BAR_SECONDS;
    const forMixed = await proveBatch(pair(100), t3, { modelCommitments: mixed });
    expect(await revertAt(forMixed, timely(t3), { args: { modelCommitments: [MODEL, MODEL] } })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [verifiers[2], 2n],
    });
    await submitAt(await proveBatch(pair(100), t3), timely(t3) + 60);
    expect((await parametersOf(ETH))[2]).toBe(BigInt(t3));
  });

  it("a replaced verifier is a new composition: its base is computed from its own key", async () => {
    await submitAt(await proveBatch([entry(BTC, 100, 200)], T), timely(T));
    // Another deployment of the same key, then a later batch: computed again, and it verifies.
    const again = await (await deployVerifier(governor, dirs[1])).getAddress();
    await (await oracle.setBatchVerifier(MODEL, 1, again)).wait();
    const t2 = T + BAR_SECONDS;
    await submitAt(await proveBatch([entry(BTC, 100, 200)], t2), timely(t2));
    expect((await parametersOf(BTC))[2]).toBe(BigInt(t2));
  });
});

describe("submitSignedBatch: all or nothing (market 2 of 3 fails its guards)", () => {
  it("OracleMarketPaused: nothing is written; the same batch passes once unpaused", async () => {
    await (await as(guardian).pauseMarket(ETH)).wait();
    const p = await proveBatch(three(), T);
    expect(await revertAt(p, timely(T))).toEqual({ name: "OracleMarketPaused", args: [ETH] });
    await expectNoneUpdated();
    await (await as(guardian).unpauseMarket(ETH)).wait();
    await submitAt(p, timely(T) + 60);
    expect((await parametersOf(ETH))[0]).toBe(110n);
  });

  it("OracleAdaptiveMarket: a batch does not carry the adaptive state; the same batch passes once ETH is plain again", async () => {
    await (await oracle.setAdaptiveCalibration(ETH, 49021n << 8n)).wait();
    const p = await proveBatch(three(), T);
    expect(await revertAt(p, timely(T))).toEqual({ name: "OracleAdaptiveMarket", args: [ETH] });
    await expectNoneUpdated();
    await (await oracle.setAdaptiveCalibration(ETH, 0n)).wait();
    await submitAt(p, timely(T) + 60);
    expect((await parametersOf(ETH))[0]).toBe(110n);
  });

  it("OracleStaleData: the batch's data too old for market 2's maximum age", async () => {
    const at = timely(T);
    const maxDataAge = at - T - 1;
    await setLimits(ETH, { maxDataAge });
    expect(await revertAt(await proveBatch(three(), T), at)).toEqual({
      name: "OracleStaleData",
      args: [BigInt(T), BigInt(at), BigInt(maxDataAge)],
    });
    await expectNoneUpdated();
  });

  it("OracleFutureData", async () => {
    const at = timely(T);
    expect(await revertAt(await proveBatch(three(), at + 1), at)).toEqual({
      name: "OracleFutureData",
      args: [BigInt(at + 1), BigInt(at)],
    });
    await expectNoneUpdated();
  });

  it("OracleMarginOutOfBounds and OracleInitialBelowMaintenance", async () => {
    await setLimits(ETH, { maxMaintenanceMarginBps: 109 });
    expect(await revertAt(await proveBatch(three(), T), timely(T))).toEqual({
      name: "OracleMarginOutOfBounds",
      args: [MAINTENANCE, 110n, BigInt(DEFAULT_LIMITS.minMaintenanceMarginBps), 109n],
    });
    await setLimits(ETH, {});
    const entries = three();
    entries[1] = { ...entries[1], mm: 300n, im: 200n };
    expect(await revertAt(await proveBatch(entries, T), timely(T) + 60)).toEqual({
      name: "OracleInitialBelowMaintenance",
      args: [200n, 300n],
    });
    await expectNoneUpdated();
  });

  describe("after an accepted batch at bar T", () => {
    const t2 = T + BAR_SECONDS;
    let first: BatchStandInProof;
    beforeEach(async () => {
      first = await proveBatch(three(), T);
      await submitAt(first, timely(T));
    });

    /** The markets' parameters are still those of the first batch. */
    async function expectFirstBatchKept(): Promise<void> {
      for (const e of three()) {
        expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
      }
    }

    it("OracleMarginIncreaseTooLarge: the other markets keep their values", async () => {
      await setLimits(ETH, { maxIncreaseBps: 20 });
      const entries = three();
      entries[1] = { ...entries[1], mm: 131n, im: 220n }; // MM +21 > 20
      expect(await revertAt(await proveBatch(entries, t2), timely(t2))).toEqual({
        name: "OracleMarginIncreaseTooLarge",
        args: [MAINTENANCE, 110n, 131n, 20n],
      });
      await expectFirstBatchKept();
    });

    it("OracleMarginDecreaseTooLarge", async () => {
      await setLimits(ETH, { maxDecreaseBps: 10 });
      const entries = three();
      entries[1] = { ...entries[1], mm: 105n, im: 209n }; // MM -5, IM -11 > 10
      expect(await revertAt(await proveBatch(entries, t2), timely(t2))).toEqual({
        name: "OracleMarginDecreaseTooLarge",
        args: [INITIAL, 220n, 209n, 10n],
      });
      await expectFirstBatchKept();
    });

    it("OracleNotNewer: the same batch re-submitted (a replay), a new proof of it, and market 2 updated since", async () => {
      expect(await revertAt(first, timely(t2))).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
      expect(await revertAt(await proveBatch(three(), T), timely(t2) + 60)).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
      // ETH alone at bar t2, then the three at bar t2: ETH's data is not newer.
      await submitAt(await proveBatch([entry(ETH, 110, 220)], t2), timely(t2) + 120);
      expect(await revertAt(await proveBatch(three(), t2), timely(t2) + 180)).toEqual({
        name: "OracleNotNewer",
        args: [ETH, BigInt(t2), BigInt(t2)],
      });
      for (const e of [three()[0], three()[2]]) {
        expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
      }
    });

    it("OracleUpdateTooSoon", async () => {
      await setLimits(ETH, { minUpdateInterval: 3 * HOUR });
      expect(await revertAt(await proveBatch(three(), t2), timely(t2))).toEqual({
        name: "OracleUpdateTooSoon",
        args: [ETH, BigInt(timely(T)), BigInt(timely(T) + 3 * HOUR)],
      });
      await expectFirstBatchKept();
    });
  });
});
