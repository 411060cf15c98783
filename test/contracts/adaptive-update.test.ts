/**
 * The oracle's adaptive markets (`setAdaptiveCalibration`, `submitSignedUpdate` of an adaptive market,
 * `adaptivePrior`, `adaptiveState`) on Hardhat's in-process network with real Groth16 proofs of the two-signal
 * STAND-IN circuit (test/helpers/signed-update-stand-in.ts, not sound on purpose: it proves any packed update), so
 * every check the ORACLE makes is tested as the refusal of a proof its verifier accepts: the prior (num, outcomes,
 * the oldest pending bar s's margin and its lag) must be the one built from storage, the ring of pending margins
 * over bars with and without updates (models/adaptive.ts `PendingOutcomes`), bar alignment, the 253-bit bound,
 * governance (a model change only through plain, verifiers whose answers do not decode) and the batch path's
 * refusal. adaptive-pending.test.ts drives the ring through long runs against the
 * reference; the real adaptive circuit end to end (its proofs, a forged state with a real proof, gas) is
 * adaptive-update-real.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Contract, Signer } from "ethers";
import { marketIdOf } from "../../candles/market-id";
import { PendingOutcomes } from "../../models/adaptive";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import {
  packAdaptivePrior,
  packAdaptiveUpdate,
  unpackAdaptiveUpdate,
  type AdaptiveUpdateValues,
  type StatementParts,
} from "../../circuits/statement";
import { oracleDomain } from "../../prover/domain";
import { compileGeneratedSource } from "../../onchain/solc";
import {
  compileArtifactsVerifier,
  readAdaptivePrior,
  registerMarket,
  setAdaptiveCalibration,
  setPublisherSet,
} from "../../onchain/oracle";
import { releaseCurves } from "../../setup";
import {
  adaptiveStandInArtifacts,
  proveStandIn,
  standInArtifacts,
  type StandInProof,
} from "../helpers/signed-update-stand-in";
import {
  BAR_SECONDS,
  DEFAULT_LIMITS,
  MARKET_ID,
  deployRiskOracle,
  hre,
  revertOf,
  rpc,
  setNextBlockTime,
  utc,
} from "./fixture";

const NUM = 49021n << 8n;
const T0 = utc(2024, 6, 20, 0);
const bar = (k: number) => T0 + k * BAR_SECONDS;
/** The ring of `adaptiveState` with no pending margin. */
const EMPTY = Array.from({ length: 24 }, () => 0n);
/** A prior: the state, bar s's margin and its lag (as the packed update carries them). */
type Prior = { num: bigint; outcomes: bigint; marginS: bigint; lag: bigint };

/** `adaptiveState` as [num, outcomes, ring] with the ring as a plain array. */
async function stateOf(marketId = MARKET_ID): Promise<[bigint, bigint, bigint[]]> {
  const [num, outcomes, ring] = (await oracle.adaptiveState(marketId)) as [bigint, bigint, bigint[]];
  return [num, outcomes, [...ring]];
}

/** The ring with `margins` (bar open time -> MM) at their entries (bar mod 24), 0 elsewhere. */
function ringOf(margins: [t: number, mm: bigint][]): bigint[] {
  const ring = [...EMPTY];
  for (const [t, mm] of margins) ring[(t / BAR_SECONDS) % 24] = mm;
  return ring;
}
/** Block time of a submission for the bar opening at `t`: a minute after its close, after the last block. */
let lastBlock = 0;
const timely = (t: number) => {
  lastBlock = Math.max(t + BAR_SECONDS + 60, lastBlock + 1);
  return lastBlock;
};

/** The adaptive stand-in's artifacts (its verifier has the adaptive layout), and the plain stand-in's. */
let dir: string;
let plainDir: string;
let oracle: Contract;
let governor: Signer;
let stranger: Signer;
let verifierAddress: string;
let plainVerifierAddress: string;
let domain: bigint;
let MODEL: bigint;
let SET: bigint;
let snapshot: string | undefined;

const parts = (marketId = MARKET_ID): StatementParts => ({
  marketId,
  modelCommitment: MODEL,
  publisherSet: SET,
  domain,
});

/**
 * The stand-in proof of an adaptive update (its packed update, whatever it states) for the adaptive verifier, for
 * the market's statement with MODEL and SET unless `statement` says otherwise.
 */
async function proveAdaptive(
  u: AdaptiveUpdateValues,
  marketId = MARKET_ID,
  statement: Partial<StatementParts> = {},
): Promise<StandInProof> {
  const packed = packAdaptiveUpdate(u);
  return proveStandIn(dir, {
    mm: u.mm,
    im: u.im,
    dataTimestamp: u.dataTimestamp,
    digest: packed >> 72n,
    statement: { ...parts(marketId), ...statement },
  });
}

/** An update for bar `t` with margins (mm, 2 mm), starting from `prior`, moving num by `step`. */
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
    digest: BigInt(t) * 7n,
  };
}

async function submit(p: StandInProof, t: number) {
  await setNextBlockTime(timely(t));
  const c = p.calldata;
  return (await oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0])).wait();
}

async function revertAt(p: StandInProof, t: number, update?: bigint) {
  await setNextBlockTime(timely(t));
  const c = p.calldata;
  return revertOf(oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, update ?? c.input[0]), oracle);
}

async function prior(t: number): Promise<Prior> {
  await rpc("evm_mine", [timely(t)]);
  const p = await readAdaptivePrior(oracle, MARKET_ID, BigInt(t));
  return { num: p.num, outcomes: BigInt(p.outcomes), marginS: p.marginS, lag: BigInt(p.lag) };
}

beforeAll(async () => {
  dir = await adaptiveStandInArtifacts();
  plainDir = await standInArtifacts();
  [governor, stranger] = await hre.ethers.getSigners();
  const deploy = async (d: string) => {
    const compiled = compileArtifactsVerifier(d);
    const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
    return (await (await factory.deploy()).waitForDeployment()).getAddress();
  };
  verifierAddress = await deploy(dir);
  plainVerifierAddress = await deploy(plainDir);
  oracle = await deployRiskOracle(governor);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  MODEL = await poseidonSponge([1n, 2n, 3n]);
  SET = await poseidonSponge([4n, 5n, 6n]);
  await registerMarket(oracle, MARKET_ID, {
    publishers: { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET, quorum: 1 },
    guardian: await governor.getAddress(),
    limits: { ...DEFAULT_LIMITS, minUpdateInterval: 0 },
  });
  await setAdaptiveCalibration(oracle, MARKET_ID, NUM);
}, 600_000);

beforeEach(async () => {
  if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
  snapshot = await rpc<string>("evm_snapshot");
  lastBlock = 0;
});

afterAll(async () => {
  await releaseCurves();
});

describe("setAdaptiveCalibration", () => {
  it("sets the initial state (no outcomes, empty ring) and emits AdaptiveCalibrationSet; num 0 makes the market plain", async () => {
    expect(await stateOf()).toEqual([NUM, 0n, EMPTY]);
    const receipt = await setAdaptiveCalibration(oracle, MARKET_ID, NUM + 1234n);
    const log = receipt.logs
      .map((l) => oracle.interface.parseLog(l))
      .find((e) => e?.name === "AdaptiveCalibrationSet");
    expect(log?.args.toArray()).toEqual([MARKET_ID, NUM + 1234n]);
    await setAdaptiveCalibration(oracle, MARKET_ID, 0n);
    expect(await stateOf()).toEqual([0n, 0n, EMPTY]);
  });

  it("is governance's, takes a num below 2^27 and a registered market", async () => {
    const asStranger = oracle.connect(stranger) as Contract;
    expect((await revertOf(asStranger.setAdaptiveCalibration(MARKET_ID, NUM), oracle)).name).toBe(
      "AccessControlUnauthorizedAccount",
    );
    expect(await revertOf(oracle.setAdaptiveCalibration(MARKET_ID, 1n << 27n), oracle)).toEqual({
      name: "OracleInvalidAdaptiveNum",
      args: [1n << 27n],
    });
    expect(await revertOf(oracle.setAdaptiveCalibration(99n, NUM), oracle)).toEqual({
      name: "OracleUnknownMarket",
      args: [99n],
    });
  });
});

describe("the num an adaptive market holds lies in its adaptive verifier's clamp", () => {
  /** The adaptive stand-in's clamp: models/calibrations.json's minNum and maxNum (scales 0.25 and 4) * 2^8. */
  const MIN = 16384n << 8n;
  const MAX = 262144n << 8n;
  const outOfRange = (num: bigint) => ({
    name: "OracleAdaptiveNumOutOfRange",
    args: [MARKET_ID, num, MIN, MAX],
  });
  const rotateTo = (verifier: string) =>
    setPublisherSet(oracle, MARKET_ID, { verifier, modelCommitment: MODEL, publisherSet: SET, quorum: 1 });

  it("setAdaptiveCalibration takes the clamp's ends and refuses one past either, naming the clamp", async () => {
    const bounds = new hre.ethers.Contract(
      verifierAddress,
      ["function adaptiveNumBounds() view returns (uint256, uint256)"],
      governor,
    );
    expect([...(await bounds.adaptiveNumBounds())]).toEqual([MIN, MAX]);
    // a num forgetting the 2^8 of the state (the model's calibrationNum itself) is the likely slip
    for (const num of [MIN - 1n, MAX + 1n, 49021n]) {
      expect(await revertOf(oracle.setAdaptiveCalibration(MARKET_ID, num), oracle)).toEqual(outOfRange(num));
    }
    expect(await stateOf()).toEqual([NUM, 0n, EMPTY]);
    for (const num of [MIN, MAX]) {
      await setAdaptiveCalibration(oracle, MARKET_ID, num);
      expect((await oracle.adaptiveState(MARKET_ID))[0]).toBe(num);
    }
  });

  it("with a plain verifier the num is not checked, but a rotation to an adaptive verifier is, until governance sets a num inside", async () => {
    await rotateTo(plainVerifierAddress);
    await setAdaptiveCalibration(oracle, MARKET_ID, 49021n);
    await expect(rotateTo(verifierAddress)).rejects.toMatchObject({
      reason: "OracleAdaptiveNumOutOfRange",
      message: `the oracle refused: OracleAdaptiveNumOutOfRange(${MARKET_ID}, 49021, ${MIN}, ${MAX})`,
    });
    await setAdaptiveCalibration(oracle, MARKET_ID, NUM);
    await rotateTo(verifierAddress);
    expect(await stateOf()).toEqual([NUM, 0n, EMPTY]);
    // a plain market is not checked on rotation (it holds no num)
    await setAdaptiveCalibration(oracle, MARKET_ID, 0n);
    await rotateTo(plainVerifierAddress);
    await rotateTo(verifierAddress);
  });
});

/**
 * An adaptive market's state (num, outcomes, pending margins) was earned under its registered model, so a rotation
 * to another model is refused while the market is adaptive (OracleAdaptiveModelChange); one that keeps the model
 * (another publisher set, another verifier) keeps the state. The way to another model: plain
 * (`setAdaptiveCalibration(market, 0)`, its adaptive verifier then takes no update), the rotation, adaptive again
 * from the new model's num.
 */
describe("the model of an adaptive market", () => {
  let other: bigint;
  let otherSet: bigint;
  const publishers = (
    patch: { verifier?: string; modelCommitment?: bigint; publisherSet?: bigint } = {},
  ) => ({
    verifier: verifierAddress,
    modelCommitment: MODEL,
    publisherSet: SET,
    quorum: 1,
    ...patch,
  });

  beforeAll(async () => {
    other = await poseidonSponge([7n, 8n, 9n]);
    otherSet = await poseidonSponge([10n, 11n, 12n]);
  });

  /** Block times after the latest block: governance's calls mine blocks of their own. */
  async function afterGovernance(): Promise<void> {
    lastBlock = Math.max(lastBlock, (await hre.ethers.provider.getBlock("latest"))!.timestamp);
  }

  /** Accept bars 0 .. k - 1 with the market's statement (MODEL, SET): margins pending, outcomes from bar 12 on. */
  async function acceptBars(k: number): Promise<void> {
    for (let i = 0; i < k; i++) {
      await submit(await proveAdaptive(values(bar(i), 700n + BigInt(i), await prior(bar(i)))), bar(i));
    }
  }

  it("refuses another model while the market is adaptive, naming both, with or without a new set or verifier", async () => {
    await acceptBars(13);
    const state = await stateOf();
    expect(state[1]).toBe(1n); // bar 12 processed bar 0's outcome
    const refusal = {
      reason: "OracleAdaptiveModelChange",
      message: `the oracle refused: OracleAdaptiveModelChange(${MARKET_ID}, ${MODEL}, ${other})`,
    };
    await expect(
      setPublisherSet(oracle, MARKET_ID, publishers({ modelCommitment: other })),
    ).rejects.toMatchObject(refusal);
    await expect(
      setPublisherSet(
        oracle,
        MARKET_ID,
        publishers({ modelCommitment: other, publisherSet: otherSet, verifier: plainVerifierAddress }),
      ),
    ).rejects.toMatchObject(refusal);
    expect(await stateOf()).toEqual(state);
    expect((await oracle.publisherSet(MARKET_ID)).modelCommitment).toBe(MODEL);
  });

  it("takes a rotation that keeps the model (another publisher set and verifier): the state carries over", async () => {
    await acceptBars(13);
    const state = await stateOf();
    const again = compileArtifactsVerifier(dir);
    const factory = new hre.ethers.ContractFactory(again.abi as never, again.bytecode, governor);
    const second = await (await (await factory.deploy()).waitForDeployment()).getAddress();
    await setPublisherSet(oracle, MARKET_ID, publishers({ verifier: second, publisherSet: otherSet }));
    expect(await stateOf()).toEqual(state);
    await afterGovernance();
    // the next update, proven for the new set, starts from the state held (bar 13 processes bar 1)
    const p = await prior(bar(13));
    expect(p).toMatchObject({ num: state[0], outcomes: 1n, marginS: 701n, lag: 0n });
    await submit(
      await proveAdaptive(values(bar(13), 900n, p), MARKET_ID, { publisherSet: otherSet }),
      bar(13),
    );
    expect((await stateOf())[1]).toBe(2n);
  });

  it("changes it by the documented way: plain, the rotation, adaptive again from the new model's num", async () => {
    await acceptBars(13);
    const last = [...(await oracle.parameters(MARKET_ID))];
    const stale = await proveAdaptive(values(bar(13), 900n, await prior(bar(13))));
    // 1. plain: the adaptive verifier's proofs are refused until the market is adaptive again
    await setAdaptiveCalibration(oracle, MARKET_ID, 0n);
    await afterGovernance();
    expect(await revertAt(stale, bar(13))).toEqual({
      name: "OracleAdaptiveLayoutMismatch",
      args: [MARKET_ID, false, true],
    });
    // 2. the rotation to the new model (the same adaptive verifier)
    await setPublisherSet(oracle, MARKET_ID, publishers({ modelCommitment: other }));
    expect((await oracle.publisherSet(MARKET_ID)).modelCommitment).toBe(other);
    // 3. adaptive from the new model's num: a fresh state, the last update kept
    const NEW_NUM = 50_000n << 8n;
    await setAdaptiveCalibration(oracle, MARKET_ID, NEW_NUM);
    expect(await stateOf()).toEqual([NEW_NUM, 0n, EMPTY]);
    expect([...(await oracle.parameters(MARKET_ID))]).toEqual(last);
    await afterGovernance();
    const fresh = await prior(bar(13));
    expect(fresh).toEqual({ num: NEW_NUM, outcomes: 0n, marginS: 0n, lag: 0n });
    // a proof under the old model is refused, one under the new model accepted
    const oldModel = await proveAdaptive(values(bar(13), 900n, fresh));
    expect(await revertAt(oldModel, bar(13))).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
    const u = values(bar(13), 900n, fresh);
    await submit(await proveAdaptive(u, MARKET_ID, { modelCommitment: other }), bar(13));
    expect((await oracle.parameters(MARKET_ID)).slice(0, 3)).toEqual([900n, 1800n, BigInt(bar(13))]);
    expect(await stateOf()).toEqual([NEW_NUM, 0n, ringOf([[bar(13), 900n]])]);
  });
});

describe("submitSignedUpdate of an adaptive market (stand-in proofs)", () => {
  it("accepts the update that starts from the stored prior, stores the proven state and emits the packed update", async () => {
    const first = await prior(bar(0));
    expect(first).toEqual({ num: NUM, outcomes: 0n, marginS: 0n, lag: 0n });
    const u = values(bar(0), 800n, first);
    const receipt = await submit(await proveAdaptive(u), bar(0));
    const log = receipt.logs
      .map((l: never) => oracle.interface.parseLog(l))
      .find((e: { name: string } | null) => e?.name === "AdaptiveParametersUpdated");
    expect(unpackAdaptiveUpdate(log.args.update as bigint)).toEqual(u);
    const [mm, im, ts] = (await oracle.parameters(MARKET_ID)) as bigint[];
    expect([mm, im, ts]).toEqual([800n, 1600n, BigInt(bar(0))]);
    // bar 0's margin is pending, at the ring's entry bar mod 24; num and outcomes as proven (no outcome: unchanged)
    expect(await stateOf()).toEqual([NUM, 0n, ringOf([[bar(0), 800n]])]);
  });

  it("refuses a forged prior: another num, another outcome count, 'no outcome' for a bar with one, another margin or lag", async () => {
    // bars 0..11 accepted: bar 12's update processes bar 0's margin (lag 0)
    let state = { num: NUM, outcomes: 0n };
    for (let k = 0; k < 12; k++) {
      const p = await prior(bar(k));
      const u = values(bar(k), 700n + BigInt(k), p);
      await submit(await proveAdaptive(u), bar(k));
      state = u.after;
    }
    const honest = await prior(bar(12));
    expect(honest).toEqual({ ...state, marginS: 700n, lag: 0n });
    const expected = packAdaptivePrior(state, 700n, 0n);
    for (const [name, forged] of [
      ["num - 1", { ...honest, num: honest.num - 1n }],
      ["outcomes + 1", { ...honest, outcomes: honest.outcomes + 1n }],
      ["no outcome", { ...honest, marginS: 0n }],
      ["another margin", { ...honest, marginS: 5000n }],
      ["another lag", { ...honest, lag: 1n }],
    ] as const) {
      const p = await proveAdaptive(values(bar(12), 900n, forged));
      expect(await revertAt(p, bar(12)), name).toEqual({
        name: "OracleAdaptiveStateMismatch",
        args: [
          MARKET_ID,
          expected,
          packAdaptivePrior({ num: forged.num, outcomes: forged.outcomes }, forged.marginS, forged.lag),
        ],
      });
    }
    // bar 12 accepted, 13 .. 24 skipped: bar 25 processes the oldest pending bar of 2 .. 13 (25 - 23 .. 25 - 12),
    // bar 2 at lag 11, and drops bar 1 (lost). "No outcome", bar 13's (none) and the dropped bar 1's margin (lag 12
    // packs no update) are refused.
    await submit(await proveAdaptive(values(bar(12), 900n, honest)), bar(12));
    const at25 = await prior(bar(25));
    expect([at25.marginS, at25.lag]).toEqual([702n, 11n]);
    for (const forged of [
      { ...at25, marginS: 0n, lag: 0n },
      { ...at25, marginS: 713n, lag: 0n },
      { ...at25, marginS: 701n, lag: 11n },
    ]) {
      const claimed = await proveAdaptive(values(bar(25), 900n, forged));
      expect((await revertAt(claimed, bar(25))).name).toBe("OracleAdaptiveStateMismatch");
    }
    await submit(await proveAdaptive(values(bar(25), 900n, at25)), bar(25));
    // bars 0 and 2 processed, bar 1 dropped; 3 .. 12 and 25 pending
    const pending = Array.from({ length: 9 }, (_, i) => [bar(3 + i), 703n + BigInt(i)] as [number, bigint]);
    const [, outcomes, ring] = await stateOf();
    expect(outcomes).toBe(2n);
    expect(ring).toEqual(ringOf([...pending, [bar(12), 900n], [bar(25), 900n]]));
  });

  it("processes the oldest pending outcome: skipped bars catch up with a lag, a gap of 24 bars or more drops all", async () => {
    // updates at bars 0, 1, 2, 4, 5, 9 (3, 6, 7, 8 missed); then 13 .. 17, 30 and 60, against the reference
    const reference = new PendingOutcomes();
    const lags: bigint[] = [];
    for (const k of [0, 1, 2, 4, 5, 9, 13, 14, 15, 16, 17, 30, 60]) {
      const p = await prior(bar(k));
      expect({ marginS: p.marginS, lag: Number(p.lag) }, `bar ${k}`).toEqual(reference.prior(k));
      const mm = 600n + BigInt(k);
      await submit(await proveAdaptive(values(bar(k), mm, p)), bar(k));
      if (p.marginS !== 0n) lags.push(p.lag);
      const lost = reference.accept(k, mm).map((l) => l.bar);
      expect(lost, `bar ${k}`).toEqual(k === 60 ? [13, 14, 15, 16, 17, 30] : []);
    }
    // 13 processes bar 0 one bar late (its s + 12 = 12 got no update), 14 bar 1, 15 bar 2; 16 and 17 bars 4 and 5
    // on time; 30 bar 9 at lag 9; 60 none of the pending bars 13 .. 30 (all before 60 - 23): they are dropped
    expect(lags).toEqual([1n, 1n, 1n, 0n, 0n, 9n]);
    expect(await stateOf()).toEqual([NUM - 30n, 6n, ringOf([[bar(60), 660n]])]);
  });

  it("refuses an unaligned bar, a malformed update and a bar not after the last one", async () => {
    const p = await prior(bar(0));
    const unaligned = await proveAdaptive(values(bar(0) + 3600, 800n, p));
    expect(await revertAt(unaligned, bar(0) + 3600)).toEqual({
      name: "OracleUnalignedBar",
      args: [BigInt(bar(0) + 3600)],
    });
    const ok = await proveAdaptive(values(bar(0), 800n, p));
    const big = BigInt(ok.calldata.input[0]) + (1n << 253n);
    expect(await revertAt(ok, bar(0), big)).toEqual({ name: "OracleMalformedUpdate", args: [big] });
    await submit(ok, bar(0));
    expect((await revertOf(oracle.adaptivePrior(MARKET_ID, bar(0)), oracle)).name).toBe("OracleNotNewer");
    expect((await revertAt(ok, bar(0))).name).toBe("OracleNotNewer");
  });

  it("a proof made for one prior does not verify for another: the oracle refuses it as an invalid proof", async () => {
    const p = await prior(bar(0));
    const proof = await proveAdaptive(values(bar(0), 800n, { ...p, num: p.num + 1n }));
    // the update edited to carry the stored prior: the prior check passes, the proof does not
    const edited = BigInt(proof.calldata.input[0]) - (1n << 72n);
    expect(await revertAt(proof, bar(0), edited)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
  });
});

/**
 * An adaptive market keeps its last accepted update in its state slot (the margins in the ring and beside it, the
 * bar, the acceptance time as a delay after the bar's open, up to 2^17 - 1 s), and in slot 2 when accepted later
 * than that or when governance resets the state. Every guard reads it from there with the same meaning as for a
 * plain market: these tests check the block-time interval, the rate of change, the views, the late update and the
 * switches between plain and adaptive.
 */
describe("an adaptive market's last update (guards, views, switches)", () => {
  const LATE = 2 ** 17; // the first acceptance delay the state slot does not hold
  const limits = (changes: Partial<typeof DEFAULT_LIMITS>) =>
    oracle
      .setLimits(MARKET_ID, { ...DEFAULT_LIMITS, minUpdateInterval: 0, ...changes })
      .then((t) => t.wait());

  /** Submit `u` at block time `at`, whatever it is. */
  async function submitAtTime(u: AdaptiveUpdateValues, at: number) {
    const p = await proveAdaptive(u);
    await setNextBlockTime(at);
    const c = p.calldata;
    return (await oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0])).wait();
  }

  async function revertAtTime(u: AdaptiveUpdateValues, at: number) {
    const p = await proveAdaptive(u);
    await setNextBlockTime(at);
    const c = p.calldata;
    return revertOf(oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0]), oracle);
  }

  const priorAt = async (t: number): Promise<Prior> => {
    const p = await readAdaptivePrior(oracle, MARKET_ID, BigInt(t));
    return { num: p.num, outcomes: BigInt(p.outcomes), marginS: p.marginS, lag: BigInt(p.lag) };
  };

  it("refuses an update sooner than the minimum interval after the last acceptance, by block time", async () => {
    await limits({ minUpdateInterval: BAR_SECONDS + 100 });
    const accepted = bar(0) + BAR_SECONDS + 60;
    await submitAtTime(values(bar(0), 800n, await priorAt(bar(0))), accepted);
    const next = values(bar(1), 800n, await priorAt(bar(1)));
    const earliest = accepted + BAR_SECONDS + 100;
    expect(await revertAtTime(next, earliest - 1)).toEqual({
      name: "OracleUpdateTooSoon",
      args: [MARKET_ID, BigInt(accepted), BigInt(earliest)],
    });
    await submitAtTime(next, earliest);
    expect(await oracle.parameters(MARKET_ID)).toEqual([800n, 1600n, BigInt(bar(1)), BigInt(earliest)]);
  });

  it("limits the rate of change from the last accepted margins", async () => {
    // IM = 2 MM, so IM moves twice as far: the bounds are wide enough for IM's move
    await limits({ maxIncreaseBps: 100, maxDecreaseBps: 60 });
    await submitAtTime(values(bar(0), 800n, await priorAt(bar(0))), bar(0) + BAR_SECONDS + 60);
    const at = bar(1) + BAR_SECONDS + 60;
    expect(await revertAtTime(values(bar(1), 901n, await priorAt(bar(1))), at)).toEqual({
      name: "OracleMarginIncreaseTooLarge",
      args: [0n, 800n, 901n, 100n],
    });
    expect(await revertAtTime(values(bar(1), 739n, await priorAt(bar(1))), at + 10)).toEqual({
      name: "OracleMarginDecreaseTooLarge",
      args: [0n, 800n, 739n, 60n],
    });
    await submitAtTime(values(bar(1), 850n, await priorAt(bar(1))), at + 20);
    expect((await oracle.parameters(MARKET_ID)).slice(0, 2)).toEqual([850n, 1700n]);
  });

  it("reports the last update in parameters and isFresh, at every acceptance delay the state holds and beyond", async () => {
    await limits({ maxDataAge: 3 * LATE });
    // delay 2^17 - 1: the last the state slot holds; then 2^17 and 2^17 + 1: slot 2 holds the update
    const cases: [number, number, bigint][] = [
      [0, bar(0) + LATE - 1, 800n],
      [1, bar(1) + LATE, 810n],
      [2, bar(2) + LATE + 1, 820n],
    ];
    const check = async (k: number, at: number, mm: bigint) => {
      const t = bar(k);
      expect(await oracle.parameters(MARKET_ID), `bar ${k}`).toEqual([mm, 2n * mm, BigInt(t), BigInt(at)]);
      expect(await oracle.isFresh(MARKET_ID, 2n ** 32n)).toBe(true);
      expect(await oracle.isFresh(MARKET_ID, 0n)).toBe(false);
    };
    for (const [k, at, mm] of cases) {
      await submitAtTime(values(bar(k), mm, await priorAt(bar(k))), at);
      await check(k, at, mm);
    }
    // the ring kept every bar's margin, wherever the update itself was stored, and the next prior reads it: bar 13
    // processes bar 0 (its bar 12 had no update) at lag 1
    const [, , ring] = await stateOf();
    expect(ring).toEqual(
      ringOf([
        [bar(0), 800n],
        [bar(1), 810n],
        [bar(2), 820n],
      ]),
    );
    expect(await priorAt(bar(13))).toMatchObject({ marginS: 800n, lag: 1n });
    // back in the state slot after a late one
    await submitAtTime(values(bar(25), 830n, await priorAt(bar(25))), bar(25) + BAR_SECONDS);
    await check(25, bar(25) + BAR_SECONDS, 830n);
  });

  it("a late update (slot 2), then a reset, then a gap of more than 12 bars: every guard and prior from storage", async () => {
    // an interval longer than 12 bars: data 12 bars newer is still too soon by it
    const interval = 13 * BAR_SECONDS;
    await limits({ maxDataAge: 3 * LATE, minUpdateInterval: interval, maxIncreaseBps: 100 });
    // bar 0 accepted 2^17 s after it opened: its last update lives in slot 2, the ring still has its margin
    const late = bar(0) + LATE;
    await submitAtTime(values(bar(0), 800n, await priorAt(bar(0))), late);
    const last = [800n, 1600n, BigInt(bar(0)), BigInt(late)];
    expect(await oracle.parameters(MARKET_ID)).toEqual(last);
    // governance resets the state in between: the last update stays, the ring and outcomes are cleared
    await setAdaptiveCalibration(oracle, MARKET_ID, NUM + 256n);
    expect(await oracle.parameters(MARKET_ID)).toEqual(last);
    expect(await stateOf()).toEqual([NUM + 256n, 0n, EMPTY]);
    // bar 12's prior no longer sees bar 0's margin (cleared by the reset), and the guards still read the late update
    const reset = { num: NUM + 256n, outcomes: 0n, marginS: 0n, lag: 0n };
    expect(await priorAt(bar(12))).toEqual(reset);
    expect((await revertAtTime(values(bar(12), 800n, reset), late + interval - 1)).name).toBe(
      "OracleUpdateTooSoon",
    );
    expect(await revertAtTime(values(bar(12), 800n, { ...reset, marginS: 800n }), late + interval)).toEqual({
      name: "OracleAdaptiveStateMismatch",
      args: [MARKET_ID, packAdaptivePrior(reset, 0n, 0n), packAdaptivePrior(reset, 800n, 0n)],
    });
    expect((await revertAtTime(values(bar(12), 851n, reset), late + interval + 1)).name).toBe(
      "OracleMarginIncreaseTooLarge",
    );
    // 19 bars after the late one: accepted, in the state slot again, the ring holding its margin only
    await submitAtTime(values(bar(19), 840n, reset), late + interval + 2);
    expect(await oracle.parameters(MARKET_ID)).toEqual([
      840n,
      1680n,
      BigInt(bar(19)),
      BigInt(late + interval + 2),
    ]);
    expect((await stateOf())[2]).toEqual(ringOf([[bar(19), 840n]]));
    expect(await priorAt(bar(31))).toMatchObject({ marginS: 840n, lag: 0n });
  });

  it("carries the last update over a reset of the state and back to a plain market", async () => {
    const at = bar(0) + BAR_SECONDS + 60;
    await submitAtTime(values(bar(0), 800n, await priorAt(bar(0))), at);
    const last = [800n, 1600n, BigInt(bar(0)), BigInt(at)];
    await setAdaptiveCalibration(oracle, MARKET_ID, NUM + 256n);
    expect(await oracle.parameters(MARKET_ID)).toEqual(last);
    expect(await stateOf()).toEqual([NUM + 256n, 0n, EMPTY]);
    // replay protection and the rate of change carry over
    await limits({ maxIncreaseBps: 10 });
    const reset = { num: NUM + 256n, outcomes: 0n, marginS: 0n, lag: 0n };
    expect((await revertAtTime(values(bar(0), 800n, reset), at + 100)).name).toBe("OracleNotNewer");
    expect((await revertAtTime(values(bar(1), 900n, reset), at + BAR_SECONDS)).name).toBe(
      "OracleMarginIncreaseTooLarge",
    );
    await setAdaptiveCalibration(oracle, MARKET_ID, 0n);
    expect(await oracle.parameters(MARKET_ID)).toEqual(last);
    expect(await stateOf()).toEqual([0n, 0n, EMPTY]);
    // a plain update: refused while the market's verifier is still the adaptive one, then, with the plain verifier,
    // checked against the same last update
    const plain = await proveStandIn(plainDir, {
      mm: 805n,
      im: 1610n,
      dataTimestamp: BigInt(bar(0)),
      digest: 1n,
      statement: parts(),
    });
    await setNextBlockTime(at + 2 * BAR_SECONDS);
    const c = plain.calldata;
    expect(await revertOf(oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0]), oracle)).toEqual({
      name: "OracleAdaptiveLayoutMismatch",
      args: [MARKET_ID, false, true],
    });
    await setPublisherSet(oracle, MARKET_ID, {
      verifier: plainVerifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 1,
    });
    expect(
      (await revertOf(oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0]), oracle)).name,
    ).toBe("OracleNotNewer");
  });
});

/**
 * A market takes an update only where its mode (plain or adaptive, `setAdaptiveCalibration`) and its verifier's
 * layout (`adaptiveLayout()`, read by `setPublisherSet`) agree. Otherwise a plain market whose verifier is the
 * adaptive circuit's (between `registerMarket` and `setAdaptiveCalibration` of `zkrisk register-market --adaptive`,
 * or after `zkrisk set-adaptive --off` until the verifier is rotated) would take an adaptive proof through the
 * plain path, which never compares its prior: any num the circuit's clamp allows, so margins at a calibration the
 * oracle never held.
 */
describe("a market's mode and its verifier's layout", () => {
  const ETH = marketIdOf("ETH-USDT");
  /** The adaptive rule's smallest num (models/calibrations.json minNum * 2^8): a prior the oracle never held. */
  const FORGED = { num: 16384n << 8n, outcomes: 0n, marginS: 0n, lag: 0n };

  async function registerEth(verifier: string) {
    await registerMarket(oracle, ETH, {
      publishers: { verifier, modelCommitment: MODEL, publisherSet: SET, quorum: 1 },
      guardian: await governor.getAddress(),
      limits: { ...DEFAULT_LIMITS, minUpdateInterval: 0 },
    });
  }

  /** `timely(t)`, after the latest block too: a refused update mines none, and governance's calls mine theirs. */
  async function after(t: number) {
    const latest = (await hre.ethers.provider.getBlock("latest"))?.timestamp ?? 0;
    lastBlock = Math.max(lastBlock, latest);
    await setNextBlockTime(timely(t));
  }

  async function revertEth(p: StandInProof, t: number) {
    await after(t);
    const c = p.calldata;
    return revertOf(oracle.submitSignedUpdate(ETH, c.a, c.b, c.c, c.input[0]), oracle);
  }

  it("a plain market with the adaptive verifier refuses an adaptive proof with a forged prior, until made adaptive", async () => {
    await registerEth(verifierAddress);
    // the forged proof's update is below 2^252 (its digest bits are small), so the plain path would unpack it
    const forged = await proveAdaptive(values(bar(0), 800n, FORGED), ETH);
    expect(BigInt(forged.calldata.input[0]) >> 252n).toBe(0n);
    expect(await revertEth(forged, bar(0))).toEqual({
      name: "OracleAdaptiveLayoutMismatch",
      args: [ETH, false, true],
    });
    await expect(oracle.parameters(ETH)).rejects.toThrow();
    // made adaptive, the same proof is refused for its prior, and the one from the stored prior is accepted
    await setAdaptiveCalibration(oracle, ETH, NUM);
    expect((await revertEth(forged, bar(0))).name).toBe("OracleAdaptiveStateMismatch");
    const honest = { num: NUM, outcomes: 0n, marginS: 0n, lag: 0n };
    await after(bar(0));
    const c = (await proveAdaptive(values(bar(0), 800n, honest), ETH)).calldata;
    await (await oracle.submitSignedUpdate(ETH, c.a, c.b, c.c, c.input[0])).wait();
    expect((await oracle.parameters(ETH)).slice(0, 3)).toEqual([800n, 1600n, BigInt(bar(0))]);
  });

  it("an adaptive market with the plain verifier refuses every update, until the adaptive verifier is set", async () => {
    await registerEth(plainVerifierAddress);
    await setAdaptiveCalibration(oracle, ETH, NUM);
    const honest = { num: NUM, outcomes: 0n, marginS: 0n, lag: 0n };
    const plainProof = async (u: AdaptiveUpdateValues) =>
      proveStandIn(plainDir, {
        mm: u.mm,
        im: u.im,
        dataTimestamp: u.dataTimestamp,
        digest: packAdaptiveUpdate(u) >> 72n,
        statement: parts(ETH),
      });
    expect(await revertEth(await plainProof(values(bar(0), 800n, honest)), bar(0))).toEqual({
      name: "OracleAdaptiveLayoutMismatch",
      args: [ETH, true, false],
    });
    await setPublisherSet(oracle, ETH, {
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 1,
    });
    await after(bar(0));
    const c = (await proveAdaptive(values(bar(0), 800n, honest), ETH)).calldata;
    await (await oracle.submitSignedUpdate(ETH, c.a, c.b, c.c, c.input[0])).wait();
    expect((await oracle.parameters(ETH))[0]).toBe(800n);
  });

  it("every order of the switches: only a market and verifier that agree take an update", async () => {
    // register-market --adaptive's order (verifier, then mode), then set-adaptive --off's (mode, then verifier)
    await registerEth(verifierAddress);
    expect(await stateOf(ETH)).toEqual([0n, 0n, EMPTY]);
    await setAdaptiveCalibration(oracle, ETH, NUM);
    // a rotation to another adaptive verifier keeps the market adaptive
    await setPublisherSet(oracle, ETH, {
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 1,
    });
    const forged = await proveAdaptive(values(bar(0), 800n, FORGED), ETH);
    expect((await revertEth(forged, bar(0))).name).toBe("OracleAdaptiveStateMismatch");
    await setAdaptiveCalibration(oracle, ETH, 0n);
    expect(await revertEth(forged, bar(0))).toEqual({
      name: "OracleAdaptiveLayoutMismatch",
      args: [ETH, false, true],
    });
  });

  it("a verifier without adaptiveLayout() is refused at registration and rotation (OracleInvalidVerifier)", async () => {
    // a statement base (as a verifier generated before adaptiveLayout() gives one), but no layout to read
    const compiled = compileGeneratedSource(
      `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
contract NoLayoutVerifier {
    function statementBase(uint256) external pure returns (uint256 x, uint256 y) {
        return (1, 2);
    }
}
`,
      "NoLayoutVerifier",
    );
    const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
    const noLayout = await (await (await factory.deploy()).waitForDeployment()).getAddress();
    const publishers = {
      verifier: noLayout,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 1,
      statementKey: 1n,
    };
    const refusal = { name: "OracleInvalidVerifier", args: [noLayout] };
    const registration = { publishers, guardian: await governor.getAddress(), limits: DEFAULT_LIMITS };
    expect(await revertOf(oracle.registerMarket(ETH, registration), oracle)).toEqual(refusal);
    expect(await revertOf(oracle.setPublisherSet(MARKET_ID, publishers), oracle)).toEqual(refusal);
  });

  it("a verifier whose answers do not decode is refused with OracleInvalidVerifier, not a revert without reason", async () => {
    // Each answers a call that succeeds with data a `try ... returns` would fail to decode in the oracle itself.
    const compiled = (name: string) =>
      compileGeneratedSource(
        `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
contract ShortBase {
    function statementBase(uint256) external pure returns (uint256) {
        return 1;
    }
}
contract LayoutTwo {
    function statementBase(uint256) external pure returns (uint256, uint256) {
        return (1, 2);
    }
    function adaptiveLayout() external pure returns (uint256) {
        return 2;
    }
}
contract ShortBounds {
    function statementBase(uint256) external pure returns (uint256, uint256) {
        return (1, 2);
    }
    function adaptiveLayout() external pure returns (bool) {
        return true;
    }
    function adaptiveNumBounds() external pure returns (uint256) {
        return 1;
    }
}
contract NoBatchSize {
    function batchSize() external pure {}
}
`,
        name,
      );
    const deploy = async (name: string) => {
      const c = compiled(name);
      const factory = new hre.ethers.ContractFactory(c.abi as never, c.bytecode, governor);
      return (await (await factory.deploy()).waitForDeployment()).getAddress();
    };
    const guardian = await governor.getAddress();
    const registration = (verifier: string) => ({
      publishers: { verifier, modelCommitment: MODEL, publisherSet: SET, quorum: 1, statementKey: 1n },
      guardian,
      limits: DEFAULT_LIMITS,
    });
    for (const name of ["ShortBase", "LayoutTwo"]) {
      const verifier = await deploy(name);
      const refusal = { name: "OracleInvalidVerifier", args: [verifier] };
      expect(await revertOf(oracle.registerMarket(ETH, registration(verifier)), oracle), name).toEqual(
        refusal,
      );
      expect(
        await revertOf(oracle.setPublisherSet(MARKET_ID, registration(verifier).publishers), oracle),
        name,
      ).toEqual(refusal);
    }
    // the clamp is read where the market is adaptive: at setAdaptiveCalibration and at a rotation
    const shortBounds = await deploy("ShortBounds");
    await (await oracle.registerMarket(ETH, registration(shortBounds))).wait();
    expect(await revertOf(oracle.setAdaptiveCalibration(ETH, NUM), oracle)).toEqual({
      name: "OracleInvalidVerifier",
      args: [shortBounds],
    });
    const keyOfBtc = { ...registration(shortBounds).publishers, statementKey: 2n };
    expect(await revertOf(oracle.setPublisherSet(MARKET_ID, keyOfBtc), oracle)).toEqual({
      name: "OracleInvalidVerifier",
      args: [shortBounds],
    });
    const noBatchSize = await deploy("NoBatchSize");
    for (const method of ["setBatchVerifier", "setAdaptiveBatchVerifier"]) {
      expect(await revertOf(oracle.getFunction(method)(MODEL, 2, noBatchSize), oracle), method).toEqual({
        name: "OracleInvalidVerifier",
        args: [noBatchSize],
      });
    }
  });
});
