/**
 * The prover service's off-chain guards (service/guards.ts).
 *
 * 1. `precheck` alone: each refusal at its exact boundary (refused one unit past the limit, accepted at it), the
 *    first update without change or interval limits, the contract's check order, and the reasons' wording.
 * 2. `readMarketState` and `precheck` against the real RiskOracle on Hardhat's in-process network. The market's
 *    verifier is zkrisk's, generated for the signed-update STAND-IN circuit (test/helpers/signed-update-stand-in.ts:
 *    real Groth16 proofs of any margins, a 2 s setup), and a batch verifier of one market is the signed batch
 *    stand-in's. The oracle checks the guards before the pairing check, so a call with the zero proof and a chosen
 *    update reverts with the first failing guard's error, or with the proof's error when every guard passes. For
 *    each scenario of a table, precheck's error must be the one `submitSignedBatch` reverts with (a batch of that
 *    one market; "no refusal" = `OracleInvalidBatchProof`) and the one `submitSignedUpdate` reverts with ("no
 *    refusal" = `OracleInvalidProof`). The exception is another model: a single update carries its model only in
 *    its statement key, so the table records `OracleInvalidProof` for that path, and the scenario sends a real
 *    stand-in proof of the candidate that the verifier accepts for the candidate's own statement. The "previous
 *    update" is a real stand-in proof of bar A, accepted.
 *
 * Bar A opens 2024-06-20 10:00 UTC and closes 2 h later; it is submitted one minute after its close.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserProvider, ZeroAddress, type Contract } from "ethers";
import { packBatchUpdate } from "../../circuits/batch-statement";
import { UPDATE_SIGNAL_INDEX } from "../../circuits/public-signals";
import { packUpdate, statementKey, type StatementParts } from "../../circuits/statement";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { inProcessChain, type Chain } from "../../onchain/chain";
import {
  DEFAULT_LIMITS,
  OracleError,
  decodeRevert,
  deployOracle,
  deployVerifier,
  registerMarket,
  setBatchVerifier,
  setPublisherSet,
  signedUpdateArgs,
  submitSignedUpdate,
  type MarketLimits,
} from "../../onchain/oracle";
import { releaseCurves } from "../../setup";
import {
  GUARD_ERRORS,
  precheck,
  readMarketState,
  type Candidate,
  type GuardError,
  type OracleMarketState,
  type Refusal,
} from "../../service/guards";
import { batchStandInArtifacts } from "../helpers/signed-batch-stand-in";
import { proveStandIn, standInArtifacts, type StandInProof } from "../helpers/signed-update-stand-in";
import { BAR_SECONDS, HOUR, MARKET_ID, hre, rpc, utc } from "../contracts/fixture";

/** Guards of every market here: the default bounds, and rise and fall limits small enough to reach. */
const LIMITS: MarketLimits = { ...DEFAULT_LIMITS, maxIncreaseBps: 300, maxDecreaseBps: 200 };
const MODEL = 123_456_789n;

// ------------------------------------------------------------------------------------------ precheck alone

describe("precheck", () => {
  const T0 = utc(2024, 6, 1, 10);
  /** A market whose last update used the bar opening at T0 and was accepted at T0 + 2 h 1 min. */
  const STATE: OracleMarketState = {
    marketId: MARKET_ID,
    paused: false,
    modelCommitment: MODEL,
    limits: LIMITS,
    last: {
      maintenanceMarginBps: 1000,
      initialMarginBps: 1500,
      dataTimestamp: T0,
      updatedAt: T0 + 2 * HOUR + 60,
    },
  };
  const LAST = STATE.last!;
  /** The next bar, submitted one minute after its close: passes every guard. */
  const NEXT: Candidate = {
    modelCommitment: MODEL,
    dataTimestamp: T0 + 2 * HOUR,
    maintenanceMarginBps: 1100,
    initialMarginBps: 1650,
  };
  const NEXT_TIME = T0 + 4 * HOUR + 60;
  const FIRST: OracleMarketState = { ...STATE, last: null };

  const check = (patch: Partial<Candidate>, time = NEXT_TIME, state = STATE) =>
    precheck(state, { ...NEXT, ...patch }, time)?.error;
  const withLimits = (patch: Partial<MarketLimits>, state = STATE): OracleMarketState => ({
    ...state,
    limits: { ...state.limits, ...patch },
  });

  it("accepts an update that passes every guard", () => {
    expect(precheck(STATE, NEXT, NEXT_TIME)).toBeUndefined();
  });

  it("OracleMarketPaused: a paused market refuses everything", () => {
    const paused = { ...STATE, paused: true };
    expect(precheck(paused, NEXT, NEXT_TIME)).toEqual({
      error: "OracleMarketPaused",
      reason: `market BTC-USDT (id ${MARKET_ID}) is paused: its guardian or governance must unpause it`,
    });
    expect(check({}, NEXT_TIME, { ...FIRST, paused: true })).toBe("OracleMarketPaused");
  });

  it("OracleModelCommitmentMismatch: any other commitment", () => {
    expect(check({ modelCommitment: MODEL + 1n })).toBe("OracleModelCommitmentMismatch");
    expect(check({ modelCommitment: MODEL - 1n })).toBe("OracleModelCommitmentMismatch");
    expect(precheck(STATE, { ...NEXT, modelCommitment: 7n }, NEXT_TIME)?.reason).toBe(
      `the update is computed by model 7, but market BTC-USDT (id ${MARKET_ID}) is registered with model ${MODEL}`,
    );
  });

  it("OracleNotNewer: at the last data timestamp, not one second after it", () => {
    expect(check({ dataTimestamp: LAST.dataTimestamp })).toBe("OracleNotNewer");
    expect(check({ dataTimestamp: LAST.dataTimestamp - 1 })).toBe("OracleNotNewer");
    expect(check({ dataTimestamp: LAST.dataTimestamp + 1 })).toBeUndefined();
    expect(precheck(STATE, { ...NEXT, dataTimestamp: T0 }, NEXT_TIME)?.reason).toBe(
      "data of 2024-06-01T10:00:00Z is not newer than the last accepted update's data of 2024-06-01T10:00:00Z",
    );
  });

  it("OracleNotNewer: a first update needs a positive data timestamp", () => {
    const ancient = withLimits({ maxDataAge: 2 ** 32 - 1 }, FIRST);
    expect(check({ dataTimestamp: 0 }, 100, ancient)).toBe("OracleNotNewer");
    expect(check({ dataTimestamp: 1 }, 100, ancient)).toBeUndefined();
  });

  it("OracleFutureData: one second after the block time, not at it", () => {
    expect(check({ dataTimestamp: NEXT_TIME + 1 })).toBe("OracleFutureData");
    expect(check({ dataTimestamp: NEXT_TIME })).toBeUndefined();
    expect(precheck(STATE, { ...NEXT, dataTimestamp: NEXT_TIME + 90 }, NEXT_TIME)?.reason).toBe(
      "data of 2024-06-01T14:02:30Z is 1 min 30 s ahead of block time 2024-06-01T14:01:00Z; " +
        "the oracle refuses data from the future",
    );
  });

  it("OracleStaleData: at age maxDataAge + 1, not at maxDataAge", () => {
    const ts = NEXT.dataTimestamp;
    expect(check({}, ts + LIMITS.maxDataAge + 1)).toBe("OracleStaleData");
    expect(check({}, ts + LIMITS.maxDataAge)).toBeUndefined();
    expect(precheck(STATE, NEXT, ts + LIMITS.maxDataAge + 1)?.reason).toBe(
      "data of 2024-06-01T12:00:00Z is 6 h 1 s old at block time 2024-06-01T18:00:01Z; the oracle accepts at most 6 h",
    );
    // The example of the brief: 7.2 h old.
    expect(precheck(FIRST, { ...NEXT, dataTimestamp: T0 }, T0 + 7 * HOUR + 12 * 60)?.reason).toBe(
      "data of 2024-06-01T10:00:00Z is 7 h 12 min old at block time 2024-06-01T17:12:00Z; " +
        "the oracle accepts at most 6 h",
    );
  });

  it("OracleUpdateTooSoon: data less than minUpdateInterval newer, at updatedAt + minUpdateInterval - 1, not at + minUpdateInterval", () => {
    const earliest = LAST.updatedAt + LIMITS.minUpdateInterval;
    const close: Partial<Candidate> = { dataTimestamp: LAST.dataTimestamp + LIMITS.minUpdateInterval - 1 };
    expect(check(close, earliest - 1)).toBe("OracleUpdateTooSoon");
    expect(check(close, earliest)).toBeUndefined();
    expect(precheck(STATE, { ...NEXT, ...close }, earliest - 1)?.reason).toBe(
      "the last update was accepted at 2024-06-01T12:01:00Z, 59 min 59 s before block time 2024-06-01T13:00:59Z, " +
        "and its data is only 59 min 59 s older than this update's; the oracle needs 1 h between updates unless " +
        "the data is at least that much newer, so not before 2024-06-01T13:01:00Z",
    );
  });

  it("data at least minUpdateInterval newer is never too soon: an older window sent first does not hold the next back", () => {
    const soon = LAST.updatedAt + 1;
    expect(check({ dataTimestamp: LAST.dataTimestamp + LIMITS.minUpdateInterval }, soon)).toBeUndefined();
    expect(check({}, soon)).toBeUndefined();
  });

  it("a first update has no interval to wait", () => {
    expect(check({}, LAST.updatedAt + 1, FIRST)).toBeUndefined();
  });

  it("OracleMarginOutOfBounds: one below the minimum or one above the maximum, of either margin", () => {
    const b = LIMITS;
    // First updates: no change limits in the way.
    const first = (mm: number, im: number) =>
      check({ maintenanceMarginBps: mm, initialMarginBps: im }, NEXT_TIME, FIRST);
    expect(first(b.minMaintenanceMarginBps - 1, 1000)).toBe("OracleMarginOutOfBounds");
    expect(first(b.minMaintenanceMarginBps, 1000)).toBeUndefined();
    expect(first(b.maxMaintenanceMarginBps + 1, 6000)).toBe("OracleMarginOutOfBounds");
    expect(first(b.maxMaintenanceMarginBps, 6000)).toBeUndefined();
    expect(first(b.minMaintenanceMarginBps, b.minInitialMarginBps - 1)).toBe("OracleMarginOutOfBounds");
    expect(first(b.minMaintenanceMarginBps, b.minInitialMarginBps)).toBeUndefined();
    const narrow = withLimits({ maxInitialMarginBps: 8000 }, FIRST);
    expect(check({ initialMarginBps: 8001 }, NEXT_TIME, narrow)).toBe("OracleMarginOutOfBounds");
    expect(check({ initialMarginBps: 8000 }, NEXT_TIME, narrow)).toBeUndefined();
    expect(
      precheck(FIRST, { ...NEXT, maintenanceMarginBps: 5001, initialMarginBps: 6000 }, NEXT_TIME)?.reason,
    ).toBe("maintenance margin 5001 bps is outside the market's bounds [50, 5000] bps");
    expect(precheck(FIRST, { ...NEXT, initialMarginBps: 99 }, NEXT_TIME)?.reason).toBe(
      "initial margin 99 bps is outside the market's bounds [100, 10000] bps",
    );
  });

  it("OracleInitialBelowMaintenance: IM = MM - 1, not IM = MM", () => {
    expect(check({ initialMarginBps: NEXT.maintenanceMarginBps - 1 }, NEXT_TIME, FIRST)).toBe(
      "OracleInitialBelowMaintenance",
    );
    expect(check({ initialMarginBps: NEXT.maintenanceMarginBps }, NEXT_TIME, FIRST)).toBeUndefined();
    expect(precheck(FIRST, { ...NEXT, initialMarginBps: 1099 }, NEXT_TIME)?.reason).toBe(
      "initial margin 1099 bps is below maintenance margin 1100 bps",
    );
  });

  it("OracleMarginIncreaseTooLarge: a rise of maxIncrease is fine, maxIncrease + 1 is not, for either margin", () => {
    const up = LIMITS.maxIncreaseBps;
    const mm = LAST.maintenanceMarginBps;
    const im = LAST.initialMarginBps;
    expect(check({ maintenanceMarginBps: mm + up, initialMarginBps: im })).toBeUndefined();
    expect(check({ maintenanceMarginBps: mm + up + 1, initialMarginBps: im })).toBe(
      "OracleMarginIncreaseTooLarge",
    );
    expect(check({ maintenanceMarginBps: mm, initialMarginBps: im + up })).toBeUndefined();
    expect(check({ maintenanceMarginBps: mm, initialMarginBps: im + up + 1 })).toBe(
      "OracleMarginIncreaseTooLarge",
    );
    expect(
      precheck(STATE, { ...NEXT, maintenanceMarginBps: 1301, initialMarginBps: 1500 }, NEXT_TIME)?.reason,
    ).toBe(
      "maintenance margin would rise from 1000 to 1301 bps (+301); the oracle allows at most +300 bps per update",
    );
  });

  it("OracleMarginDecreaseTooLarge: a fall of maxDecrease is fine, maxDecrease + 1 is not, for either margin", () => {
    const down = LIMITS.maxDecreaseBps;
    const mm = LAST.maintenanceMarginBps;
    const im = LAST.initialMarginBps;
    expect(check({ maintenanceMarginBps: mm - down, initialMarginBps: im })).toBeUndefined();
    expect(check({ maintenanceMarginBps: mm - down - 1, initialMarginBps: im })).toBe(
      "OracleMarginDecreaseTooLarge",
    );
    expect(check({ maintenanceMarginBps: mm, initialMarginBps: im - down })).toBeUndefined();
    expect(check({ maintenanceMarginBps: mm, initialMarginBps: im - down - 1 })).toBe(
      "OracleMarginDecreaseTooLarge",
    );
    expect(
      precheck(STATE, { ...NEXT, maintenanceMarginBps: 1000, initialMarginBps: 1299 }, NEXT_TIME)?.reason,
    ).toBe(
      "initial margin would fall from 1500 to 1299 bps (-201); the oracle allows at most -200 bps per update",
    );
  });

  it("a change is measured from the last margin moved inside the bounds in force, as the oracle does", () => {
    const raised = withLimits({ minMaintenanceMarginBps: 2000, minInitialMarginBps: 2500 });
    expect(check({ maintenanceMarginBps: 2300, initialMarginBps: 2800 }, NEXT_TIME, raised)).toBeUndefined();
    expect(
      precheck(raised, { ...NEXT, maintenanceMarginBps: 2301, initialMarginBps: 2800 }, NEXT_TIME)?.reason,
    ).toBe(
      "maintenance margin would rise from 2000 (the last accepted 1000 bps, taken inside the bounds [2000, 5000]) to " +
        "2301 bps (+301); the oracle allows at most +300 bps per update",
    );
    const lowered = withLimits({ maxMaintenanceMarginBps: 700, maxInitialMarginBps: 1200 });
    expect(check({ maintenanceMarginBps: 500, initialMarginBps: 1000 }, NEXT_TIME, lowered)).toBeUndefined();
    expect(check({ maintenanceMarginBps: 499, initialMarginBps: 1000 }, NEXT_TIME, lowered)).toBe(
      "OracleMarginDecreaseTooLarge",
    );
  });

  it("a first update has no change limits", () => {
    expect(check({ maintenanceMarginBps: 5000, initialMarginBps: 10000 }, NEXT_TIME, FIRST)).toBeUndefined();
    expect(check({ maintenanceMarginBps: 50, initialMarginBps: 100 }, NEXT_TIME, FIRST)).toBeUndefined();
  });

  it("names the first failing guard in the contract's order", () => {
    const cases: [string, Partial<Candidate>, number, OracleMarketState, GuardError][] = [
      [
        "paused and another model",
        { modelCommitment: 1n },
        NEXT_TIME,
        { ...STATE, paused: true },
        "OracleMarketPaused",
      ],
      [
        "another model and a replay",
        { modelCommitment: 1n, dataTimestamp: T0 },
        NEXT_TIME,
        STATE,
        "OracleModelCommitmentMismatch",
      ],
      ["a replay and stale", { dataTimestamp: T0 }, T0 + 7 * HOUR, STATE, "OracleNotNewer"],
      ["stale and too soon", {}, LAST.updatedAt + 1, withLimits({ maxDataAge: 30 }), "OracleStaleData"],
      [
        "too soon and out of bounds",
        { maintenanceMarginBps: 1, dataTimestamp: T0 + 1 },
        LAST.updatedAt + 1,
        STATE,
        "OracleUpdateTooSoon",
      ],
      [
        "MM out of bounds and IM below MM",
        { maintenanceMarginBps: 5001, initialMarginBps: 1000 },
        NEXT_TIME,
        STATE,
        "OracleMarginOutOfBounds",
      ],
      [
        "IM below MM and a large rise",
        { maintenanceMarginBps: 2000, initialMarginBps: 1900 },
        NEXT_TIME,
        STATE,
        "OracleInitialBelowMaintenance",
      ],
      [
        "MM and IM rise too much",
        { maintenanceMarginBps: 1301, initialMarginBps: 1801 },
        NEXT_TIME,
        STATE,
        "OracleMarginIncreaseTooLarge",
      ],
      [
        "MM falls too much, IM rises too much",
        { maintenanceMarginBps: 799, initialMarginBps: 1801 },
        NEXT_TIME,
        STATE,
        "OracleMarginDecreaseTooLarge",
      ],
    ];
    for (const [name, patch, time, state, expected] of cases) {
      expect(check(patch, time, state), name).toBe(expected);
    }
  });
});

// ------------------------------------------------------------------------------ against the real contract

const T_A = utc(2024, 6, 20, 10);
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;
const ETH_USDT = marketIdOf("ETH-USDT");
/** The model governance rotates to, or that a candidate claims, in the model scenarios. */
const OTHER_MODEL = MODEL + 1n;
/** Commitment to the market's publishers and quorum (any nonzero field element: the stand-ins check no signatures). */
const PUBLISHERS = 987_654_321n;
/** Low 180 bits of a window digest, carried by every single update here (no guard reads it). */
const DIGEST = 0xd16e57n;
/** Update A's margins (bps): the "previous update" of the scenarios after A. */
const A_MM = 1000;
const A_IM = 1500;
/** Update A's candidate. */
const A: Candidate = {
  modelCommitment: MODEL,
  dataTimestamp: T_A,
  maintenanceMarginBps: A_MM,
  initialMarginBps: A_IM,
};

let updateDir: string;
let chain: Chain;
let uncached: BrowserProvider | undefined;
let oracle: Contract;
let verifier: Contract;
let verifierAddress: string;
let domain: bigint;
/** Bar A, proved with the signed-update stand-in for this oracle: the accepted update. */
let proofA: StandInProof;
/** Chain snapshot: the market registered, no update yet. */
let registered: string;

const ZERO_PROOF = [
  [0n, 0n],
  [
    [0n, 0n],
    [0n, 0n],
  ],
  [0n, 0n],
] as const;

/** The statement of a stand-in proof of `c` for `MARKET_ID` on this oracle, with the registered publishers. */
const statementOf = (c: Candidate): StatementParts => ({
  marketId: MARKET_ID,
  modelCommitment: c.modelCommitment,
  publisherSet: PUBLISHERS,
  domain,
});

/** A real stand-in proof of `c` (its margins, data timestamp and model) for this oracle. */
function proveCandidate(c: Candidate): Promise<StandInProof> {
  return proveStandIn(updateDir, {
    mm: BigInt(c.maintenanceMarginBps),
    im: BigInt(c.initialMarginBps),
    dataTimestamp: BigInt(c.dataTimestamp),
    digest: DIGEST,
    statement: statementOf(c),
  });
}

/** The custom error a static call reverts with, or "accepted". */
async function verdict(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    return decodeRevert(err, oracle.interface).reason;
  }
  return "accepted";
}

/**
 * What `submitSignedUpdate` says of `c` at the latest block: with the zero proof and `c` packed, or with `proof`.
 * The packed update carries no model (the statement key does, through the proof), so `c.modelCommitment` reaches
 * the contract only in a real proof.
 */
function singleVerdict(c: Candidate, proof?: StandInProof): Promise<string> {
  if (proof !== undefined) {
    return verdict(oracle.submitSignedUpdate.staticCall(...signedUpdateArgs(MARKET_ID, proof.calldata)));
  }
  const update = packUpdate({
    mm: BigInt(c.maintenanceMarginBps),
    im: BigInt(c.initialMarginBps),
    dataTimestamp: BigInt(c.dataTimestamp),
    digest: DIGEST,
  });
  return verdict(oracle.submitSignedUpdate.staticCall(MARKET_ID, ...ZERO_PROOF, update));
}

/**
 * What `submitSignedBatch` says of a batch of one market, `c`, at the latest block: the zero proof with `c`'s
 * margins and data timestamp packed, digest bits, `c`'s model and the registered publishers (a batch verifier of
 * one market is registered for MODEL and OTHER_MODEL, so the market's guards are reached).
 */
function batchVerdict(c: Candidate): Promise<string> {
  const update = packBatchUpdate({
    dataTimestamp: BigInt(c.dataTimestamp),
    digest: DIGEST,
    markets: [{ mm: BigInt(c.maintenanceMarginBps), im: BigInt(c.initialMarginBps) }],
  });
  return verdict(
    oracle.submitSignedBatch.staticCall(...ZERO_PROOF, [MARKET_ID], [c.modelCommitment], PUBLISHERS, update),
  );
}

/** Whether the deployed verifier accepts `p` for the statement of `c` (through that statement's base). */
async function verifiesFor(p: StandInProof, c: Candidate): Promise<boolean> {
  const [x, y] = (await verifier.statementBase(await statementKey(statementOf(c)))) as [bigint, bigint];
  const k = p.calldata;
  return (await verifier.verifyProof(k.a, k.b, k.c, k.input[UPDATE_SIGNAL_INDEX.update], x, y)) as boolean;
}

/** Start from the market registered and, for "afterA", update A accepted. */
async function startFrom(from: "fresh" | "afterA"): Promise<void> {
  // Reverting consumes the snapshot (and every later one), so it is taken again.
  expect(await rpc<boolean>("evm_revert", [registered])).toBe(true);
  registered = await rpc<string>("evm_snapshot");
  if (from === "afterA") await acceptA();
}

/**
 * Submit update A one minute after its bar closes (through the library's `submitSignedUpdate`, which throws if
 * the oracle refuses it); return what `precheck` said of it just before. The static call before the transaction
 * runs at the latest block's time, so a block is mined just before.
 */
async function acceptA(): Promise<Refusal | undefined> {
  await mineAt(timely(T_A) - 1);
  const refusal = precheck(await readMarketState(oracle, MARKET_ID), A, timely(T_A));
  expect(await chain.setNextBlockTime(timely(T_A))).toBe(true);
  await submitSignedUpdate(oracle, MARKET_ID, proofA.calldata);
  return refusal;
}

/** Mine a block at `t` (s), so that calls run at that time. */
async function mineAt(t: number): Promise<void> {
  expect(await chain.mineAt(t), `mine a block at ${t}`).toBe(true);
}

/** Governance rotates the market to `modelCommitment`, with the same verifier and publishers. */
async function rotateModel(modelCommitment: bigint): Promise<void> {
  await setPublisherSet(oracle, MARKET_ID, {
    verifier: verifierAddress,
    modelCommitment,
    publisherSet: PUBLISHERS,
    quorum: 2,
  });
}

beforeAll(async () => {
  updateDir = await standInArtifacts();
  const batchDir = await batchStandInArtifacts(1);
  chain = await inProcessChain();
  // ethers answers identical requests made within 250 ms from a cache. The scenarios revert the chain to a snapshot
  // and mine the same block numbers again, so the oracle is driven through a provider without that cache.
  uncached = new BrowserProvider(hre.network.provider as never, undefined, { cacheTimeout: -1 });
  const signer = await uncached.getSigner(0);
  verifier = await deployVerifier(signer, updateDir);
  verifierAddress = await verifier.getAddress();
  oracle = await deployOracle(signer, await signer.getAddress());
  await registerMarket(oracle, MARKET_ID, {
    publishers: { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: PUBLISHERS, quorum: 2 },
    guardian: ZeroAddress,
    limits: LIMITS,
  });
  const batchVerifier = await (await deployVerifier(signer, batchDir)).getAddress();
  for (const model of [MODEL, OTHER_MODEL]) await setBatchVerifier(oracle, model, 1, batchVerifier);
  domain = oracleDomain(chain.chainId, await oracle.getAddress());
  proofA = await proveCandidate(A);
  registered = await rpc<string>("evm_snapshot");
}, 600_000);

afterAll(async () => {
  uncached?.destroy();
  await chain?.close();
  await releaseCurves();
});

describe("readMarketState", () => {
  it("before the first update: config, not paused, no last update", async () => {
    await startFrom("fresh");
    expect(await readMarketState(oracle, MARKET_ID)).toEqual({
      marketId: MARKET_ID,
      paused: false,
      modelCommitment: MODEL,
      limits: LIMITS,
      last: null,
    });
  });

  it("after an update: its margins, data timestamp and block time", async () => {
    await startFrom("afterA");
    const state = await readMarketState(oracle, MARKET_ID);
    expect(state.last).toEqual({
      maintenanceMarginBps: A_MM,
      initialMarginBps: A_IM,
      dataTimestamp: T_A,
      updatedAt: timely(T_A),
    });
    expect(state.paused).toBe(false);
  });

  it("a paused market, and governance's later changes of model and limits", async () => {
    await startFrom("afterA");
    await (await oracle.pauseMarket(MARKET_ID)).wait();
    await rotateModel(OTHER_MODEL);
    const limits = { ...LIMITS, maxDataAge: 3 * HOUR, minUpdateInterval: 0 };
    await (await oracle.setLimits(MARKET_ID, limits)).wait();
    const state = await readMarketState(oracle, MARKET_ID);
    expect(state).toMatchObject({ paused: true, modelCommitment: OTHER_MODEL, limits });
    expect(state.last?.dataTimestamp).toBe(T_A);
  });

  it("an unknown market: an OracleError naming the market", async () => {
    await startFrom("fresh");
    const failure = await readMarketState(oracle, ETH_USDT).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OracleError);
    expect(failure).toMatchObject({
      code: "ORACLE_REJECTED",
      reason: "OracleUnknownMarket",
      message: `market ETH-USDT (id ${ETH_USDT}) is not registered on the oracle at ${await oracle.getAddress()}`,
    });
  });
});

describe("precheck agrees with RiskOracle's signed update and batch paths", () => {
  it("finds nothing wrong with a real update, which the oracle then accepts", async () => {
    await startFrom("fresh");
    expect(await acceptA()).toBeUndefined();
    expect((await readMarketState(oracle, MARKET_ID)).last?.updatedAt).toBe(timely(T_A));
  });

  /** One scenario: a chain state, optional governance actions, a block time and a candidate. */
  interface Scenario {
    name: string;
    from: "fresh" | "afterA";
    /** Governance actions, run before the block at `time`. */
    setup?: () => Promise<void>;
    /** Block time of the call (s). */
    time: number;
    /** Changes to update A's candidate (or, after A, to the next bar's). */
    candidate: Partial<Candidate>;
    /** Change of MM and IM from update A's (bps), applied before `candidate`. */
    change?: readonly [number, number];
    /** The refusal expected of precheck and of the batch path, or undefined for "every guard passes". */
    expected: GuardError | undefined;
    /**
     * The single-update path's refusal where it differs from `expected`: another model is another statement key,
     * which `submitSignedUpdate` refuses only in the proof check. Such a scenario is sent with a real stand-in proof
     * of the candidate, which the verifier accepts for the candidate's own statement.
     */
    single?: "OracleInvalidProof";
  }

  const T_B = T_A + BAR_SECONDS;
  const EARLIEST = timely(T_A) + LIMITS.minUpdateInterval;
  const margins = (mm: number, im: number): Partial<Candidate> => ({
    maintenanceMarginBps: mm,
    initialMarginBps: im,
  });
  const pause = async () => {
    await (await oracle.pauseMarket(MARKET_ID)).wait();
  };
  const setBounds = async (bounds: Partial<MarketLimits>) => {
    await (await oracle.setLimits(MARKET_ID, { ...LIMITS, ...bounds })).wait();
  };

  const scenarios: Scenario[] = [
    // First update
    { name: "first update, timely", from: "fresh", time: timely(T_A), candidate: {}, expected: undefined },
    {
      name: "first update, paused",
      from: "fresh",
      setup: pause,
      time: timely(T_A),
      candidate: {},
      expected: "OracleMarketPaused",
    },
    {
      name: "first update, another model",
      from: "fresh",
      time: timely(T_A),
      candidate: { modelCommitment: OTHER_MODEL },
      expected: "OracleModelCommitmentMismatch",
      single: "OracleInvalidProof",
    },
    {
      name: "data timestamp 0",
      from: "fresh",
      time: timely(T_A),
      candidate: { dataTimestamp: 0 },
      expected: "OracleNotNewer",
    },
    {
      name: "data 1 s in the future",
      from: "fresh",
      time: T_A - 1,
      candidate: {},
      expected: "OracleFutureData",
    },
    { name: "data at block time", from: "fresh", time: T_A, candidate: {}, expected: undefined },
    {
      name: "data maxDataAge + 1 old",
      from: "fresh",
      time: T_A + LIMITS.maxDataAge + 1,
      candidate: {},
      expected: "OracleStaleData",
    },
    {
      name: "data maxDataAge old",
      from: "fresh",
      time: T_A + LIMITS.maxDataAge,
      candidate: {},
      expected: undefined,
    },
    {
      name: "MM one below the minimum",
      from: "fresh",
      time: timely(T_A),
      candidate: { maintenanceMarginBps: LIMITS.minMaintenanceMarginBps - 1 },
      expected: "OracleMarginOutOfBounds",
    },
    {
      name: "MM one above the maximum",
      from: "fresh",
      time: timely(T_A),
      candidate: margins(LIMITS.maxMaintenanceMarginBps + 1, 9000),
      expected: "OracleMarginOutOfBounds",
    },
    {
      name: "MM at the maximum, IM at the minimum allowed by MM (a first update: no change limits)",
      from: "fresh",
      time: timely(T_A),
      candidate: margins(LIMITS.maxMaintenanceMarginBps, LIMITS.maxMaintenanceMarginBps),
      expected: undefined,
    },
    {
      name: "IM one below the minimum",
      from: "fresh",
      time: timely(T_A),
      candidate: margins(LIMITS.minMaintenanceMarginBps, LIMITS.minInitialMarginBps - 1),
      expected: "OracleMarginOutOfBounds",
    },
    {
      name: "IM one above the maximum",
      from: "fresh",
      time: timely(T_A),
      candidate: { initialMarginBps: LIMITS.maxInitialMarginBps + 1 },
      expected: "OracleMarginOutOfBounds",
    },
    {
      name: "IM = MM - 1",
      from: "fresh",
      time: timely(T_A),
      candidate: margins(2000, 1999),
      expected: "OracleInitialBelowMaintenance",
    },
    {
      name: "paused, another model, stale and out of bounds: paused first",
      from: "fresh",
      setup: pause,
      time: T_A + LIMITS.maxDataAge + 1,
      candidate: { modelCommitment: OTHER_MODEL, maintenanceMarginBps: 1 },
      expected: "OracleMarketPaused",
    },

    // After update A (data T_A, accepted at timely(T_A))
    {
      name: "bar B, timely",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      expected: undefined,
    },
    { name: "replay of A", from: "afterA", time: timely(T_B), candidate: {}, expected: "OracleNotNewer" },
    {
      name: "data before A's",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_A - 1 },
      expected: "OracleNotNewer",
    },
    {
      name: "data 1 s after A's",
      from: "afterA",
      time: EARLIEST,
      candidate: { dataTimestamp: T_A + 1 },
      expected: undefined,
    },
    {
      name: "one second before the minimum interval, data less than the interval newer",
      from: "afterA",
      time: EARLIEST - 1,
      candidate: { dataTimestamp: T_A + LIMITS.minUpdateInterval - 1 },
      expected: "OracleUpdateTooSoon",
    },
    {
      name: "one second before the minimum interval, data the interval newer",
      from: "afterA",
      time: EARLIEST - 1,
      candidate: { dataTimestamp: T_A + LIMITS.minUpdateInterval },
      expected: undefined,
    },
    {
      name: "the next bar soon after A: its data is newer by more than the interval",
      from: "afterA",
      time: timely(T_A) + 1,
      candidate: { dataTimestamp: T_B },
      expected: undefined,
    },
    {
      name: "at the minimum interval",
      from: "afterA",
      time: EARLIEST,
      candidate: { dataTimestamp: T_B },
      expected: undefined,
    },
    {
      name: "too soon and stale: stale first",
      from: "afterA",
      time: EARLIEST - 1,
      candidate: { dataTimestamp: T_A + 1 },
      setup: async () => {
        await (await oracle.setLimits(MARKET_ID, { ...LIMITS, maxDataAge: 60 })).wait();
      },
      expected: "OracleStaleData",
    },
    {
      name: "governance rotated to another model: a proof for A's model is refused",
      from: "afterA",
      setup: () => rotateModel(OTHER_MODEL),
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      expected: "OracleModelCommitmentMismatch",
      single: "OracleInvalidProof",
    },
    {
      name: "MM rises by maxIncrease",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [LIMITS.maxIncreaseBps, 0],
      expected: undefined,
    },
    {
      name: "MM rises by maxIncrease + 1",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [LIMITS.maxIncreaseBps + 1, 0],
      expected: "OracleMarginIncreaseTooLarge",
    },
    {
      name: "IM rises by maxIncrease + 1",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [0, LIMITS.maxIncreaseBps + 1],
      expected: "OracleMarginIncreaseTooLarge",
    },
    {
      name: "MM falls by maxDecrease",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [-LIMITS.maxDecreaseBps, 0],
      expected: undefined,
    },
    {
      name: "MM falls by maxDecrease + 1",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [-(LIMITS.maxDecreaseBps + 1), 0],
      expected: "OracleMarginDecreaseTooLarge",
    },
    {
      name: "IM falls by maxDecrease + 1",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [0, -(LIMITS.maxDecreaseBps + 1)],
      expected: "OracleMarginDecreaseTooLarge",
    },
    {
      name: "IM falls by maxDecrease",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [0, -LIMITS.maxDecreaseBps],
      expected: undefined,
    },
    // Governance moved the bounds past A's margins: each change is measured from the nearer bound, not from A.
    {
      name: "bounds raised past A's margins: MM and IM at the new minimums + maxIncrease",
      from: "afterA",
      setup: () => setBounds({ minMaintenanceMarginBps: 2000, minInitialMarginBps: 2500 }),
      time: timely(T_B),
      candidate: {
        dataTimestamp: T_B,
        ...margins(2000 + LIMITS.maxIncreaseBps, 2500 + LIMITS.maxIncreaseBps),
      },
      expected: undefined,
    },
    {
      name: "bounds raised past A's margins: MM at the new minimum + maxIncrease + 1",
      from: "afterA",
      setup: () => setBounds({ minMaintenanceMarginBps: 2000, minInitialMarginBps: 2500 }),
      time: timely(T_B),
      candidate: { dataTimestamp: T_B, ...margins(2000 + LIMITS.maxIncreaseBps + 1, 2500) },
      expected: "OracleMarginIncreaseTooLarge",
    },
    {
      name: "bounds lowered past A's margins: MM and IM at the new maximums - maxDecrease",
      from: "afterA",
      setup: () => setBounds({ maxMaintenanceMarginBps: 700, maxInitialMarginBps: 1200 }),
      time: timely(T_B),
      candidate: {
        dataTimestamp: T_B,
        ...margins(700 - LIMITS.maxDecreaseBps, 1200 - LIMITS.maxDecreaseBps),
      },
      expected: undefined,
    },
    {
      name: "bounds lowered past A's margins: IM at the new maximum - maxDecrease - 1",
      from: "afterA",
      setup: () => setBounds({ maxMaintenanceMarginBps: 700, maxInitialMarginBps: 1200 }),
      time: timely(T_B),
      candidate: { dataTimestamp: T_B, ...margins(700, 1200 - LIMITS.maxDecreaseBps - 1) },
      expected: "OracleMarginDecreaseTooLarge",
    },
    {
      name: "MM falls too much and IM rises too much: MM's fall first",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B },
      change: [-(LIMITS.maxDecreaseBps + 1), LIMITS.maxIncreaseBps + 1],
      expected: "OracleMarginDecreaseTooLarge",
    },
    {
      name: "out of bounds and a large fall: bounds first",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B, maintenanceMarginBps: LIMITS.minMaintenanceMarginBps - 1 },
      expected: "OracleMarginOutOfBounds",
    },
    {
      name: "IM below MM and a large rise: IM below MM first",
      from: "afterA",
      time: timely(T_B),
      candidate: { dataTimestamp: T_B, ...margins(3000, 2999) },
      expected: "OracleInitialBelowMaintenance",
    },
  ];

  it("covers every guard error", () => {
    expect(new Set(scenarios.map((s) => s.expected))).toEqual(new Set([...GUARD_ERRORS, undefined]));
  });

  it.each(scenarios.map((s) => [s.name, s] as const))("%s", async (_name, s) => {
    await startFrom(s.from);
    await s.setup?.();
    await mineAt(s.time);
    const [dMm, dIm] = s.change ?? [0, 0];
    const candidate: Candidate = {
      ...A,
      maintenanceMarginBps: A_MM + dMm,
      initialMarginBps: A_IM + dIm,
      ...s.candidate,
    };
    const refusal = precheck(await readMarketState(oracle, MARKET_ID), candidate, s.time);
    expect(refusal?.error).toBe(s.expected);
    expect(await batchVerdict(candidate), "submitSignedBatch").toBe(
      refusal?.error ?? "OracleInvalidBatchProof",
    );
    if (s.single === undefined) {
      expect(await singleVerdict(candidate), "submitSignedUpdate").toBe(
        refusal?.error ?? "OracleInvalidProof",
      );
    } else {
      const proof = await proveCandidate(candidate);
      expect(await verifiesFor(proof, candidate), "the proof holds for its own statement").toBe(true);
      expect(await singleVerdict(candidate, proof), "submitSignedUpdate").toBe(s.single);
    }
  });
});
