/**
 * Signed batches of the risk oracle (`submitSignedBatch`, `setBatchVerifier`): one proof, one model, one
 * publisher set, n markets, all or nothing, on Hardhat's in-process network with real Groth16 proofs and the
 * snarkjs-generated verifiers of STAND-IN circuits with the batch's n + 4 public signals
 * (test/helpers/signed-batch-stand-in.ts, a test fixture, not sound), kept because they are cheap: they prove any
 * packed markets and batch-level signals, so every guard below is tested as the oracle's refusal of a proof its
 * verifier accepts. The REAL signed batch circuit on chain (real signed windows, the soundness attacks with real
 * proofs) is signed-batch-real.test.ts; the circuit-level forgeries are test/circuits/signed-batch-circuit.test.ts.
 *
 * Markets: BTC-USDT < ETH-USDT < SOL-USDT by id, each registered with publisher set SET and model MODEL;
 * XRP-USDT never registered. Bars open at T, T + 2 h, ...; a batch is
 * submitted one minute after its bar closes. Every test starts from the same chain snapshot: oracle deployed,
 * markets registered, batch verifiers for n = 1, 2 and 3 set, no update yet.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ContractFactory, ZeroAddress, type Contract, type Signer, type TransactionReceipt } from "ethers";
import type { BatchUpdateValues } from "../../circuits/batch-statement";
import { FIELD_MODULUS } from "../../crypto/field";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { compileOracleContracts, compileVerifier } from "../../onchain/solc";
import { deployVerifier, registerMarket, setPublisherSet } from "../../onchain/oracle";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { releaseCurves } from "../../setup";
import {
  batchStandInArtifacts,
  proveBatchStandIn,
  type BatchStandInProof,
  type BatchStandInStatement,
} from "../helpers/signed-batch-stand-in";
import { join } from "node:path";
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
const SET = 555_555n;
const OTHER_SET = 666_666n;
const DIGEST = 777_777n;

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
let snapshot: string | undefined;
/** Gas of an accepted batch (first update of each market) by n. */
const batchGas: Record<number, bigint> = {};

const entry = (marketId: bigint, mm: number, im: number, dataTimestamp: number): BatchUpdateValues => ({
  marketId,
  mm: BigInt(mm),
  im: BigInt(im),
  dataTimestamp: BigInt(dataTimestamp),
});

/** The three markets at bar `t`, with margins (mm, 2 mm) for mm = base, base + 10, base + 20. */
const three = (t: number, base = 100): BatchUpdateValues[] => [
  entry(BTC, base, 2 * base, t),
  entry(ETH, base + 10, 2 * (base + 10), t),
  entry(SOL, base + 20, 2 * (base + 20), t),
];

/** A stand-in proof of `markets` (given order) with the batch-level signals of this oracle, `patch` applied. */
function proveBatch(
  markets: BatchStandInStatement["markets"],
  patch: Partial<Omit<BatchStandInStatement, "markets">> = {},
): Promise<BatchStandInProof> {
  return proveBatchStandIn(dirs[markets.length], {
    markets,
    batchDigest: DIGEST,
    modelCommitment: MODEL,
    publisherSet: SET,
    domain,
    ...patch,
  });
}

/** Send `submitSignedBatch` (no pre-flight call); `input` overrides the public signals. */
function send(p: BatchStandInProof, opts: { input?: readonly (bigint | string)[]; from?: Signer } = {}) {
  const c = p.calldata;
  const o = opts.from ? as(opts.from) : oracle;
  return o.submitSignedBatch(c.a, c.b, c.c, opts.input ?? c.input) as Promise<{
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

async function setLimits(marketId: bigint, patch: Partial<MarketLimits>): Promise<void> {
  await (await oracle.setLimits(marketId, { ...DEFAULT_LIMITS, ...patch })).wait();
}

beforeAll(async () => {
  [governor, guardian, stranger] = await hre.ethers.getSigners();
  const deployCompiled = async (c: { abi: unknown; bytecode: string }, args: unknown[] = []) =>
    (await (
      await new ContractFactory(c.abi as never, c.bytecode, governor).deploy(...args)
    ).waitForDeployment()) as Contract;
  for (const n of [1, 2, 3]) {
    dirs[n] = await batchStandInArtifacts(n);
    verifiers[n] = await (
      await deployCompiled(compileVerifier(join(dirs[n], "Groth16Verifier.sol")))
    ).getAddress();
  }
  signedVerifier = await (await deployVerifier(governor, await standInArtifacts())).getAddress();
  oracle = await deployCompiled(compileOracleContracts().RiskOracle, [await governor.getAddress()]);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  for (const id of [BTC, ETH, SOL]) await register(id);
  for (const n of [1, 2, 3]) await (await oracle.setBatchVerifier(MODEL, n, verifiers[n])).wait();
}, 600_000);

beforeEach(async () => {
  if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
  snapshot = await rpc<string>("evm_snapshot");
});

afterAll(async () => {
  const figures = Object.entries(batchGas).map(([n, g]) => `n=${n}: ${g} total, ${g / BigInt(n)} per market`);
  if (figures.length > 0) {
    console.log(
      `submitSignedBatch gas with the stand-in verifiers (first update of each market; n + 4 signals as the real ` +
        `circuit's): ${figures.join("; ")}`,
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

  it("OracleInvalidVerifier: an address without code", async () => {
    const eoa = await stranger.getAddress();
    expect(await revertOf(oracle.setBatchVerifier(MODEL, 2, eoa), oracle)).toEqual({
      name: "OracleInvalidVerifier",
      args: [eoa],
    });
  });
});

describe("submitSignedBatch: accepted batches", () => {
  it("a batch of 2 from anyone: stored parameters, one event per market with the batch digest and its index", async () => {
    const entries = [entry(BTC, 120, 180, T), entry(SOL, 300, 450, T)];
    const at = timely(T);
    const receipt = await submitAt(await proveBatch(entries), at, { from: stranger });
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
        dataTimestamp: e.dataTimestamp,
        batchDigest: DIGEST,
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
    const receipt = await submitAt(await proveBatch(three(T)), timely(T));
    batchGas[3] = receipt.gasUsed;
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => [e.args.marketId, e.args.index])).toEqual([
      [BTC, 0n],
      [ETH, 1n],
      [SOL, 2n],
    ]);
    for (const e of three(T)) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
    }
    // Next bar: BTC up 10 (IM up 20), ETH unchanged, SOL down 20 (IM down 40); limits allow exactly that.
    for (const id of [BTC, ETH, SOL]) await setLimits(id, { maxIncreaseBps: 20, maxDecreaseBps: 40 });
    const t2 = T + BAR_SECONDS;
    const next = [entry(BTC, 110, 220, t2), entry(ETH, 110, 220, t2), entry(SOL, 100, 200, t2)];
    await submitAt(await proveBatch(next), timely(t2));
    for (const e of next) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(t2), BigInt(timely(t2))]);
    }
  });

  it("a batch of 1, and a market's data timestamp may differ from the others'", async () => {
    const one = await submitAt(await proveBatch([entry(ETH, 100, 150, T)]), timely(T));
    batchGas[1] = one.gasUsed;
    expect(await parametersOf(ETH)).toEqual([100n, 150n, BigInt(T), BigInt(timely(T))]);
    const t2 = T + BAR_SECONDS;
    await submitAt(await proveBatch([entry(BTC, 100, 150, T), entry(ETH, 100, 150, t2)]), timely(t2));
    expect((await parametersOf(BTC))[2]).toBe(BigInt(T));
    expect((await parametersOf(ETH))[2]).toBe(BigInt(t2));
  });
  it("every market at a guard's boundary; a first batch meets no rate limit, a later one the limits exactly", async () => {
    // No change allowed at all: a market's first update is checked against the bounds only.
    for (const id of [BTC, ETH, SOL]) await setLimits(id, { maxIncreaseBps: 0, maxDecreaseBps: 0 });
    const { maxDataAge, minMaintenanceMarginBps: minMm, maxMaintenanceMarginBps: maxMm } = DEFAULT_LIMITS;
    const { minInitialMarginBps: minIm, maxInitialMarginBps: maxIm } = DEFAULT_LIMITS;
    const at = timely(T);
    // BTC: data exactly maxDataAge old, IM = MM; ETH: both margins at their minimums; SOL: at their maximums.
    const first = [
      entry(BTC, 200, 200, at - maxDataAge),
      entry(ETH, minMm, minIm, T),
      entry(SOL, maxMm, maxIm, T),
    ];
    await submitAt(await proveBatch(first), at);
    for (const e of first) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, e.dataTimestamp, BigInt(at)]);
    }
    // Then exactly the minimum interval later, each margin moving exactly its limit (or not at all).
    const interval = 3 * HOUR;
    for (const id of [BTC, ETH, SOL]) {
      await setLimits(id, { minUpdateInterval: interval, maxIncreaseBps: 10, maxDecreaseBps: 20 });
    }
    const t2 = T + BAR_SECONDS;
    const next = [
      entry(BTC, 210, 210, t2),
      entry(ETH, minMm, minIm, t2),
      entry(SOL, maxMm - 20, maxIm - 20, t2),
    ];
    await submitAt(await proveBatch(next), at + interval);
    for (const e of next) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(t2), BigInt(at + interval)]);
    }
  });
});

describe("submitSignedBatch: batch-specific reverts", () => {
  it.each([0, 1, 4, 37])("OracleInvalidBatchSignalCount: %i signals", async (count) => {
    const p = await proveBatch(three(T));
    const input = Array.from({ length: count }, () => 1n);
    expect(await revertAt(p, timely(T), { input })).toEqual({
      name: "OracleInvalidBatchSignalCount",
      args: [BigInt(count)],
    });
  });

  it.each([
    ["a packed market", 1],
    ["the batch digest", 3],
    ["the model commitment", 4],
    ["the publisher set", 5],
    ["the domain", 6],
  ])("OracleSignalNotInField: %s (index %i) plus p", async (_name, index) => {
    const p = await proveBatch(three(T));
    const input = p.calldata.input.map(BigInt);
    input[index] += FIELD_MODULUS;
    expect(await revertAt(p, timely(T), { input })).toEqual({
      name: "OracleSignalNotInField",
      args: [BigInt(index), input[index]],
    });
  });

  it("OracleDomainMismatch: a batch proven for another oracle", async () => {
    const other = oracleDomain(1n, await oracle.getAddress());
    expect(await revertAt(await proveBatch(three(T), { domain: other }), timely(T))).toEqual({
      name: "OracleDomainMismatch",
      args: [domain, other],
    });
  });

  it("OracleNoBatchVerifier: another model, and a removed verifier", async () => {
    expect(await revertAt(await proveBatch(three(T), { modelCommitment: OTHER_MODEL }), timely(T))).toEqual({
      name: "OracleNoBatchVerifier",
      args: [OTHER_MODEL, 3n],
    });
    await (await oracle.setBatchVerifier(MODEL, 3, ZeroAddress)).wait();
    expect(await revertAt(await proveBatch(three(T)), timely(T) + 60)).toEqual({
      name: "OracleNoBatchVerifier",
      args: [MODEL, 3n],
    });
  });

  it("OracleBatchNotSorted: ids out of order, and a market twice", async () => {
    const [btc, eth, sol] = three(T);
    expect(await revertAt(await proveBatch([btc, sol, eth]), timely(T))).toEqual({
      name: "OracleBatchNotSorted",
      args: [2n, SOL, ETH],
    });
    expect(await revertAt(await proveBatch([btc, eth, { ...eth, mm: 150n }]), timely(T) + 60)).toEqual({
      name: "OracleBatchNotSorted",
      args: [2n, ETH, ETH],
    });
    await expectNoneUpdated();
  });

  it("OracleUnknownMarket: an unregistered market after a registered one", async () => {
    expect(
      await revertAt(await proveBatch([entry(BTC, 100, 150, T), entry(XRP, 100, 150, T)]), timely(T)),
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
    expect(await revertAt(await proveBatch(three(T)), timely(T))).toEqual({
      name: "OracleModelCommitmentMismatch",
      args: [ETH, OTHER_MODEL, MODEL],
    });
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
    expect(await revertAt(await proveBatch(three(T)), timely(T))).toEqual({
      name: "OracleBatchPublisherSetMismatch",
      args: [ETH, OTHER_SET, SET],
    });
    // A batch proven for OTHER_SET is refused for the markets still on SET.
    expect(await revertAt(await proveBatch(three(T), { publisherSet: OTHER_SET }), timely(T) + 60)).toEqual({
      name: "OracleBatchPublisherSetMismatch",
      args: [BTC, SET, OTHER_SET],
    });
    await expectNoneUpdated();
  });

  it("OracleBatchPublisherSetMismatch: a pair (model, set) no market was registered with", async () => {
    const THIRD_SET = 888_888n;
    expect(await revertAt(await proveBatch(three(T), { publisherSet: THIRD_SET }), timely(T))).toEqual({
      name: "OracleBatchPublisherSetMismatch",
      args: [BTC, SET, THIRD_SET],
    });
    await expectNoneUpdated();
  });

  it("checks a market's pair by its batch group: rotated away and back, the market takes batches again", async () => {
    const publishers = { verifier: signedVerifier, modelCommitment: MODEL, quorum: 1 };
    await setPublisherSet(oracle, ETH, { ...publishers, publisherSet: OTHER_SET });
    expect((await revertAt(await proveBatch(three(T)), timely(T))).name).toBe(
      "OracleBatchPublisherSetMismatch",
    );
    await setPublisherSet(oracle, ETH, { ...publishers, publisherSet: SET });
    await submitAt(await proveBatch(three(T)), timely(T) + 60);
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

  it("OracleInvalidBatchProof: a changed signal, a tampered proof, a verifier of another batch size", async () => {
    const p = await proveBatch(three(T));
    // The batch digest changed: every guard passes, the pairing check fails.
    const input = p.calldata.input.map(BigInt);
    input[3] += 1n;
    expect(await revertAt(p, timely(T), { input })).toEqual({
      name: "OracleInvalidBatchProof",
      args: [MODEL, 3n],
    });
    const tampered: BatchStandInProof = {
      ...p,
      calldata: { ...p.calldata, a: [p.calldata.a[0], (BigInt(p.calldata.a[1]) + 1n).toString()] as never },
    };
    expect(await revertAt(tampered, timely(T) + 60)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [MODEL, 3n],
    });
    // The n = 2 verifier registered for n = 3: the oracle calls a selector it does not have.
    await (await oracle.setBatchVerifier(MODEL, 3, verifiers[2])).wait();
    expect(await revertAt(p, timely(T) + 120)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [MODEL, 3n],
    });
    await expectNoneUpdated();
  });
});

describe("submitSignedBatch: all or nothing (market 2 of 3 fails its guards)", () => {
  it("OracleMarketPaused: nothing is written; the same batch passes once unpaused", async () => {
    await (await as(guardian).pauseMarket(ETH)).wait();
    const p = await proveBatch(three(T));
    expect(await revertAt(p, timely(T))).toEqual({ name: "OracleMarketPaused", args: [ETH] });
    await expectNoneUpdated();
    await (await as(guardian).unpauseMarket(ETH)).wait();
    await submitAt(p, timely(T) + 60);
    expect((await parametersOf(ETH))[0]).toBe(110n);
  });

  it("OracleAdaptiveMarket: a batch does not carry the adaptive state; the same batch passes once ETH is plain again", async () => {
    await (await oracle.setAdaptiveCalibration(ETH, 49021n << 8n)).wait();
    const p = await proveBatch(three(T));
    expect(await revertAt(p, timely(T))).toEqual({ name: "OracleAdaptiveMarket", args: [ETH] });
    await expectNoneUpdated();
    await (await oracle.setAdaptiveCalibration(ETH, 0n)).wait();
    await submitAt(p, timely(T) + 60);
    expect((await parametersOf(ETH))[0]).toBe(110n);
  });

  it("OracleStaleData", async () => {
    const entries = three(T);
    entries[1] = { ...entries[1], dataTimestamp: BigInt(T - DEFAULT_LIMITS.maxDataAge) };
    const at = timely(T);
    expect(await revertAt(await proveBatch(entries), at)).toEqual({
      name: "OracleStaleData",
      args: [BigInt(T - DEFAULT_LIMITS.maxDataAge), BigInt(at), BigInt(DEFAULT_LIMITS.maxDataAge)],
    });
    await expectNoneUpdated();
  });

  it("OracleFutureData", async () => {
    const entries = three(T);
    const at = timely(T);
    entries[1] = { ...entries[1], dataTimestamp: BigInt(at + 1) };
    expect(await revertAt(await proveBatch(entries), at)).toEqual({
      name: "OracleFutureData",
      args: [BigInt(at + 1), BigInt(at)],
    });
    await expectNoneUpdated();
  });

  it("OracleMarginOutOfBounds and OracleInitialBelowMaintenance", async () => {
    await setLimits(ETH, { maxMaintenanceMarginBps: 109 });
    expect(await revertAt(await proveBatch(three(T)), timely(T))).toEqual({
      name: "OracleMarginOutOfBounds",
      args: [MAINTENANCE, 110n, BigInt(DEFAULT_LIMITS.minMaintenanceMarginBps), 109n],
    });
    await setLimits(ETH, {});
    const entries = three(T);
    entries[1] = { ...entries[1], mm: 300n, im: 200n };
    expect(await revertAt(await proveBatch(entries), timely(T) + 60)).toEqual({
      name: "OracleInitialBelowMaintenance",
      args: [200n, 300n],
    });
    await expectNoneUpdated();
  });

  describe("after an accepted batch at bar T", () => {
    const t2 = T + BAR_SECONDS;
    let first: BatchStandInProof;
    beforeEach(async () => {
      first = await proveBatch(three(T));
      await submitAt(first, timely(T));
    });

    /** The markets' parameters are still those of the first batch. */
    async function expectFirstBatchKept(): Promise<void> {
      for (const e of three(T)) {
        expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
      }
    }

    it("OracleMarginIncreaseTooLarge: the other markets keep their values", async () => {
      await setLimits(ETH, { maxIncreaseBps: 20 });
      const entries = three(t2);
      entries[1] = { ...entries[1], mm: 131n, im: 220n }; // MM +21 > 20
      expect(await revertAt(await proveBatch(entries), timely(t2))).toEqual({
        name: "OracleMarginIncreaseTooLarge",
        args: [MAINTENANCE, 110n, 131n, 20n],
      });
      await expectFirstBatchKept();
    });

    it("OracleMarginDecreaseTooLarge", async () => {
      await setLimits(ETH, { maxDecreaseBps: 10 });
      const entries = three(t2);
      entries[1] = { ...entries[1], mm: 105n, im: 209n }; // MM -5, IM -11 > 10
      expect(await revertAt(await proveBatch(entries), timely(t2))).toEqual({
        name: "OracleMarginDecreaseTooLarge",
        args: [INITIAL, 220n, 209n, 10n],
      });
      await expectFirstBatchKept();
    });

    it("OracleNotNewer: the same batch re-submitted (a replay), a new proof of it, and market 2 not newer", async () => {
      expect(await revertAt(first, timely(t2))).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
      expect(await revertAt(await proveBatch(three(T)), timely(t2) + 60)).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
      const entries = three(t2);
      entries[1] = { ...entries[1], dataTimestamp: BigInt(T) };
      expect(await revertAt(await proveBatch(entries), timely(t2) + 120)).toEqual({
        name: "OracleNotNewer",
        args: [ETH, BigInt(T), BigInt(T)],
      });
      await expectFirstBatchKept();
    });

    it("OracleUpdateTooSoon", async () => {
      await setLimits(ETH, { minUpdateInterval: 3 * HOUR });
      expect(await revertAt(await proveBatch(three(t2)), timely(t2))).toEqual({
        name: "OracleUpdateTooSoon",
        args: [ETH, BigInt(timely(T)), BigInt(timely(T) + 3 * HOUR)],
      });
      await expectFirstBatchKept();
    });
  });
});
