/**
 * The risk oracle and its example consumer on Hardhat's in-process network, with real Groth16 proofs of the
 * shipped model (constant weights): one compile and one trusted setup per run (fixture.ts), then every test
 * starts from the same chain snapshot (oracle deployed, BTC-USDT registered, no update yet).
 *
 * Bars used (2024-06-20, open times): A 10:00, B 12:00 (MM rises from A), C 14:00 (MM falls from B). A bar's
 * data is complete when it closes 2 h after it opens, so updates are submitted one minute after the close.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ZeroAddress, type Contract, type Signer } from "ethers";
import { FIELD_MODULUS } from "../../circuits/field";
import { inputCommitment } from "../../circuits/commitments";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import type { ProvedUpdate } from "../../prover/prove-update";
import { releaseCurves } from "../../prover/setup";
import {
  BAR_SECONDS,
  DEFAULT_LIMITS,
  HOUR,
  MARKET_ID,
  buildProvingArtifacts,
  deploy,
  featureFieldElements,
  hre,
  mineAt,
  proveBarAt,
  revertOf,
  rpc,
  setNextBlockTime,
  submit,
  submitAt,
  utc,
  type Deployment,
  type MarketLimits,
} from "./fixture";

/** BN254 base field modulus (coordinates of proof points). */
const BASE_FIELD_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const MAINTENANCE = 0n;
const INITIAL = 1n;
const ETH_USDT = marketIdOf("ETH-USDT");

const T_A = utc(2024, 6, 20, 10);
const T_B = T_A + BAR_SECONDS;
const T_C = T_B + BAR_SECONDS;
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

let artifactsDir: string | undefined;
let d: Deployment;
let oracle: Contract;
let governor: Signer;
let guardian: Signer;
let stranger: Signer;
/** A second oracle on the same chain, with the same market registered. */
let otherOracle: Contract;
let pA: ProvedUpdate;
/** Bar A proved again: the same public signals, fresh proof bytes. */
let pA2: ProvedUpdate;
let pB: ProvedUpdate;
let pC: ProvedUpdate;
/** Bar A proved for `otherOracle`. */
let pAOtherOracle: ProvedUpdate;
/** Bar A proved for this oracle's address on another chain. */
let pAOtherChain: ProvedUpdate;
let snapshot: string | undefined;
/** Gas used by the first and by a later accepted update (for the report). */
const gas: { first?: bigint; later?: bigint } = {};

const mm = (u: ProvedUpdate) => BigInt(u.parameters.maintenanceMarginBps);
const im = (u: ProvedUpdate) => BigInt(u.parameters.initialMarginBps);
const limitsWith = (patch: Partial<MarketLimits>): MarketLimits => ({ ...DEFAULT_LIMITS, ...patch });
const as = (signer: Signer, c: Contract = oracle) => c.connect(signer) as Contract;

/** A market's config as a plain object (ethers refuses its frozen Result as a call argument). */
async function configOf(marketId: bigint): Promise<Record<string, unknown>> {
  return (await oracle.marketConfig(marketId)).toObject(true);
}

async function setLimits(patch: Partial<MarketLimits>): Promise<void> {
  await (await oracle.setLimits(MARKET_ID, limitsWith(patch))).wait();
}

/**
 * Call `action` in a block at `time` and return the decoded custom error. Hardhat mines reverted transactions
 * too, so every call in a test needs a later time than the one before (governance calls in between take the
 * next second).
 */
async function revertAt(time: number, action: () => Promise<unknown>, abi: Contract = oracle) {
  await setNextBlockTime(time);
  return revertOf(action(), abi);
}

beforeAll(async () => {
  artifactsDir = await buildProvingArtifacts();
  d = await deploy(artifactsDir);
  oracle = d.oracle;
  [governor, guardian, stranger] = await hre.ethers.getSigners();

  otherOracle = (await hre.ethers.deployContract("RiskOracle", [
    await governor.getAddress(),
  ])) as unknown as Contract;
  await (await otherOracle.registerMarket(MARKET_ID, await configOf(MARKET_ID))).wait();

  pA = await proveBarAt(d, T_A, { domain: d.domain });
  pA2 = await proveBarAt(d, T_A, { domain: d.domain });
  pB = await proveBarAt(d, T_B, { domain: d.domain });
  pC = await proveBarAt(d, T_C, { domain: d.domain });
  pAOtherOracle = await proveBarAt(d, T_A, {
    domain: oracleDomain(d.chainId, await otherOracle.getAddress()),
  });
  pAOtherChain = await proveBarAt(d, T_A, { domain: oracleDomain(1n, await oracle.getAddress()) });
}, 600_000);

beforeEach(async () => {
  if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
  snapshot = await rpc<string>("evm_snapshot");
});

afterAll(async () => {
  if (gas.first !== undefined) {
    console.log(`submitUpdate gas: first update ${gas.first}, later update ${gas.later ?? "n/a"}`);
  }
  await d?.prover.close();
  await releaseCurves();
  if (artifactsDir !== undefined) rmSync(artifactsDir, { recursive: true, force: true });
});

describe("the bars used", () => {
  it("have the margins the tests rely on: MM rises from A to B and falls from B to C", () => {
    expect(pA2.publicSignals).toEqual(pA.publicSignals);
    expect(pA2.calldata.a).not.toEqual(pA.calldata.a);
    expect(mm(pB)).toBeGreaterThan(mm(pA));
    expect(im(pB)).toBeGreaterThan(im(pA));
    expect(mm(pC)).toBeLessThan(mm(pB));
    expect(im(pC)).toBeLessThan(im(pB));
    // The policy makes IM = ceil(1.5 MM), so IM moves further than MM.
    expect(im(pB) - im(pA)).toBeGreaterThan(mm(pB) - mm(pA));
    expect(im(pB) - im(pC)).toBeGreaterThan(mm(pB) - mm(pC));
  });
});

describe("RiskOracle: deployment and governance", () => {
  it("computes the same domain as prover/domain.ts, and it depends on chain and address", async () => {
    const address = await oracle.getAddress();
    expect(await oracle.domain()).toBe(d.domain);
    expect(d.domain).toBe(oracleDomain(d.chainId, address.toLowerCase()));
    expect(d.domain).toBeLessThan(FIELD_MODULUS);
    expect(await otherOracle.domain()).not.toBe(d.domain);
    expect(oracleDomain(1n, address)).not.toBe(d.domain);
  });

  it("refuses a zero governor", async () => {
    const factory = await hre.ethers.getContractFactory("RiskOracle");
    expect(await revertOf(factory.deploy(ZeroAddress), oracle)).toEqual({
      name: "OracleInvalidGovernor",
      args: [],
    });
  });

  it("registers a market: event, config, not paused, no parameters yet", async () => {
    const config = {
      verifier: await d.verifier.getAddress(),
      modelCommitment: d.prover.modelCommitment,
      guardian: await guardian.getAddress(),
      limits: limitsWith({ maxIncreaseBps: 300, maxDecreaseBps: 200 }),
    };
    const receipt = await (await oracle.registerMarket(ETH_USDT, config)).wait();
    const event = oracle.interface.parseLog(receipt.logs[0]);
    expect(event?.name).toBe("MarketRegistered");
    expect(event?.args.marketId).toBe(ETH_USDT);
    expect(event?.args.config.toObject(true)).toEqual({
      ...config,
      limits: Object.fromEntries(Object.entries(config.limits).map(([k, v]) => [k, BigInt(v)])),
    });
    const stored = (await oracle.marketConfig(ETH_USDT)).toObject(true);
    expect(stored).toEqual(event?.args.config.toObject(true));
    expect(await oracle.isPaused(ETH_USDT)).toBe(false);
    expect(await oracle.isFresh(ETH_USDT, 2n ** 63n)).toBe(false);
    expect(await revertOf(oracle.parameters(ETH_USDT), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [ETH_USDT],
    });
  });

  describe("registerMarket refuses a bad market or config", () => {
    const config = async (patch: Record<string, unknown> = {}) => ({
      verifier: await d.verifier.getAddress(),
      modelCommitment: d.prover.modelCommitment,
      guardian: ZeroAddress,
      limits: DEFAULT_LIMITS,
      ...patch,
    });

    it.each([
      ["zero", 0n],
      ["p", FIELD_MODULUS],
    ])("OracleInvalidMarketId: %s", async (_name, id) => {
      expect(await revertOf(oracle.registerMarket(id, await config()), oracle)).toEqual({
        name: "OracleInvalidMarketId",
        args: [id],
      });
    });

    it("OracleMarketExists", async () => {
      expect(await revertOf(oracle.registerMarket(MARKET_ID, await config()), oracle)).toEqual({
        name: "OracleMarketExists",
        args: [MARKET_ID],
      });
    });

    it("OracleInvalidVerifier: an account without code", async () => {
      const eoa = await stranger.getAddress();
      expect(
        await revertOf(oracle.registerMarket(ETH_USDT, await config({ verifier: eoa })), oracle),
      ).toEqual({
        name: "OracleInvalidVerifier",
        args: [eoa],
      });
    });

    it.each([
      ["zero", 0n],
      ["p", FIELD_MODULUS],
    ])("OracleInvalidModelCommitment: %s", async (_name, commitment) => {
      expect(
        await revertOf(
          oracle.registerMarket(ETH_USDT, await config({ modelCommitment: commitment })),
          oracle,
        ),
      ).toEqual({ name: "OracleInvalidModelCommitment", args: [commitment] });
    });

    it.each([
      [
        "MM min > max",
        { minMaintenanceMarginBps: 600, maxMaintenanceMarginBps: 500 },
        MAINTENANCE,
        600n,
        500n,
      ],
      ["MM max > 10000", { maxMaintenanceMarginBps: 10001 }, MAINTENANCE, 50n, 10001n],
      ["IM min > max", { minInitialMarginBps: 600, maxInitialMarginBps: 500 }, INITIAL, 600n, 500n],
      ["IM max > 10000", { maxInitialMarginBps: 10001 }, INITIAL, 100n, 10001n],
    ])("OracleInvalidBounds: %s", async (_name, patch, margin, min, max) => {
      expect(
        await revertOf(oracle.registerMarket(ETH_USDT, await config({ limits: limitsWith(patch) })), oracle),
      ).toEqual({ name: "OracleInvalidBounds", args: [margin, min, max] });
    });

    it("OracleInvalidMaxDataAge", async () => {
      expect(
        await revertOf(
          oracle.registerMarket(ETH_USDT, await config({ limits: limitsWith({ maxDataAge: 0 }) })),
          oracle,
        ),
      ).toEqual({ name: "OracleInvalidMaxDataAge", args: [] });
    });

    it("setLimits validates the same way", async () => {
      expect(
        await revertOf(oracle.setLimits(MARKET_ID, limitsWith({ maxInitialMarginBps: 10001 })), oracle),
      ).toEqual({ name: "OracleInvalidBounds", args: [INITIAL, 100n, 10001n] });
    });

    it("setModel validates the same way", async () => {
      const eoa = await stranger.getAddress();
      expect(await revertOf(oracle.setModel(MARKET_ID, eoa, 1n), oracle)).toEqual({
        name: "OracleInvalidVerifier",
        args: [eoa],
      });
      expect(await revertOf(oracle.setModel(MARKET_ID, await d.verifier.getAddress(), 0n), oracle)).toEqual({
        name: "OracleInvalidModelCommitment",
        args: [0n],
      });
    });
  });

  it("every per-market call refuses an unknown market with OracleUnknownMarket", async () => {
    const unknown = ETH_USDT;
    const verifier = await d.verifier.getAddress();
    const calls: [string, () => Promise<unknown>][] = [
      ["setModel", () => oracle.setModel(unknown, verifier, 1n)],
      ["setLimits", () => oracle.setLimits(unknown, DEFAULT_LIMITS)],
      ["setGuardian", () => oracle.setGuardian(unknown, ZeroAddress)],
      ["pauseMarket", () => oracle.pauseMarket(unknown)],
      ["unpauseMarket", () => oracle.unpauseMarket(unknown)],
      ["parameters", () => oracle.parameters(unknown)],
      ["marketConfig", () => oracle.marketConfig(unknown)],
      ["isPaused", () => oracle.isPaused(unknown)],
    ];
    for (const [name, call] of calls) {
      expect(await revertOf(call(), oracle), name).toEqual({ name: "OracleUnknownMarket", args: [unknown] });
    }
    expect(await oracle.isFresh(unknown, 2n ** 63n)).toBe(false);
  });

  it("governance calls from any other account revert with AccessControlUnauthorizedAccount", async () => {
    const role: string = await oracle.GOVERNOR_ROLE();
    const adminRole: string = await oracle.DEFAULT_ADMIN_ROLE();
    const config = await configOf(MARKET_ID);
    const verifier = await d.verifier.getAddress();
    for (const who of [guardian, stranger]) {
      const account = await who.getAddress();
      const calls: [string, () => Promise<unknown>, string][] = [
        ["registerMarket", () => as(who).registerMarket(ETH_USDT, config), role],
        ["setModel", () => as(who).setModel(MARKET_ID, verifier, 1n), role],
        ["setLimits", () => as(who).setLimits(MARKET_ID, DEFAULT_LIMITS), role],
        ["setGuardian", () => as(who).setGuardian(MARKET_ID, account), role],
        ["grantRole", () => as(who).grantRole(role, account), adminRole],
      ];
      for (const [name, call, needed] of calls) {
        expect(await revertOf(call(), oracle), name).toEqual({
          name: "AccessControlUnauthorizedAccount",
          args: [account, needed],
        });
      }
    }
  });

  it("setModel, setLimits and setGuardian emit their events and change the config", async () => {
    const verifier = await d.verifier.getAddress();
    const before = await oracle.marketConfig(MARKET_ID);
    const newCommitment = d.prover.modelCommitment + 1n;
    const limits = limitsWith({ maxIncreaseBps: 250, minUpdateInterval: 2 * HOUR });
    const newGuardian = await stranger.getAddress();
    const events = [];
    for (const tx of [
      await oracle.setModel(MARKET_ID, verifier, newCommitment),
      await oracle.setLimits(MARKET_ID, limits),
      await oracle.setGuardian(MARKET_ID, newGuardian),
    ]) {
      const receipt = await tx.wait();
      events.push(oracle.interface.parseLog(receipt.logs[0]));
    }
    expect(events.map((e) => e?.name)).toEqual(["ModelChanged", "LimitsChanged", "GuardianChanged"]);
    expect([...(events[0]?.args ?? [])]).toEqual([
      MARKET_ID,
      verifier,
      verifier,
      d.prover.modelCommitment,
      newCommitment,
    ]);
    expect(events[1]?.args.limits.toObject()).toEqual(
      Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, BigInt(v)])),
    );
    expect([...(events[2]?.args ?? [])]).toEqual([MARKET_ID, before.guardian, newGuardian]);
    const after = await oracle.marketConfig(MARKET_ID);
    expect(after.modelCommitment).toBe(newCommitment);
    expect(after.guardian).toBe(newGuardian);
    expect(after.limits.toObject()).toEqual(events[1]?.args.limits.toObject());
  });

  it("the guardian or governance pauses and unpauses; nobody else; no double pause or unpause", async () => {
    const guardianAddress = await guardian.getAddress();
    const receipt = await (await as(guardian).pauseMarket(MARKET_ID)).wait();
    expect(oracle.interface.parseLog(receipt.logs[0])?.args.toArray()).toEqual([MARKET_ID, guardianAddress]);
    expect(await oracle.isPaused(MARKET_ID)).toBe(true);
    expect(await revertOf(as(guardian).pauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleMarketPaused",
      args: [MARKET_ID],
    });
    const strangerAddress = await stranger.getAddress();
    expect(await revertOf(as(stranger).unpauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleNotGuardian",
      args: [MARKET_ID, strangerAddress],
    });
    await (await oracle.unpauseMarket(MARKET_ID)).wait(); // governance
    expect(await oracle.isPaused(MARKET_ID)).toBe(false);
    expect(await revertOf(as(guardian).unpauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleMarketNotPaused",
      args: [MARKET_ID],
    });
    expect(await revertOf(as(stranger).pauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleNotGuardian",
      args: [MARKET_ID, strangerAddress],
    });
    // A replaced guardian loses the power.
    await (await oracle.setGuardian(MARKET_ID, strangerAddress)).wait();
    expect(await revertOf(as(guardian).pauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleNotGuardian",
      args: [MARKET_ID, guardianAddress],
    });
    await (await as(stranger).pauseMarket(MARKET_ID)).wait();
    expect(await oracle.isPaused(MARKET_ID)).toBe(true);
  });
});

describe("submitUpdate with real proofs", () => {
  it("accepts a valid update: event, stored parameters, freshness; the features hash to the input commitment", async () => {
    const at = timely(T_A);
    const submitter = await stranger.getAddress(); // permissionless
    const receipt = await submitAt(as(stranger), pA, at);
    gas.first = receipt.gasUsed;
    expect(receipt.gasUsed).toBeLessThan(350_000n);

    const logs = receipt.logs.map((l) => oracle.interface.parseLog(l));
    expect(logs.map((l) => l?.name)).toEqual(["ParametersUpdated"]);
    const event = logs[0]!.args;
    expect(event.toObject()).toEqual({
      marketId: MARKET_ID,
      maintenanceMarginBps: mm(pA),
      initialMarginBps: im(pA),
      modelCommitment: d.prover.modelCommitment,
      inputCommitment: BigInt(pA.parameters.inputCommitment),
      dataTimestamp: BigInt(T_A),
      submitter,
      features: featureFieldElements(pA),
    });
    // What an auditor does: recompute the input commitment from the published features.
    expect(await inputCommitment([...event.features])).toBe(event.inputCommitment);

    expect([...(await oracle.parameters(MARKET_ID))]).toEqual([mm(pA), im(pA), BigInt(T_A), BigInt(at)]);
    const age = BigInt(at - T_A);
    expect(await oracle.isFresh(MARKET_ID, age)).toBe(true);
    expect(await oracle.isFresh(MARKET_ID, age - 1n)).toBe(false);
  });

  it("accepts a later update within the limits and replaces the parameters", async () => {
    await setLimits({ maxIncreaseBps: Number(im(pB) - im(pA)), maxDecreaseBps: Number(im(pB) - im(pC)) });
    await submitAt(oracle, pA, timely(T_A));
    const receipt = await submitAt(oracle, pB, timely(T_B));
    gas.later = receipt.gasUsed;
    expect([...(await oracle.parameters(MARKET_ID))]).toEqual([
      mm(pB),
      im(pB),
      BigInt(T_B),
      BigInt(timely(T_B)),
    ]);
    await submitAt(oracle, pC, timely(T_C));
    expect([...(await oracle.parameters(MARKET_ID))]).toEqual([
      mm(pC),
      im(pC),
      BigInt(T_C),
      BigInt(timely(T_C)),
    ]);
  });

  it("OracleUnknownMarket", async () => {
    expect(await revertAt(timely(T_A), () => submit(oracle, pA, { marketId: ETH_USDT }))).toEqual({
      name: "OracleUnknownMarket",
      args: [ETH_USDT],
    });
  });

  it("OracleMarketPaused, until unpaused", async () => {
    await (await as(guardian).pauseMarket(MARKET_ID)).wait();
    expect(await revertAt(timely(T_A), () => submit(oracle, pA))).toEqual({
      name: "OracleMarketPaused",
      args: [MARKET_ID],
    });
    await (await as(guardian).unpauseMarket(MARKET_ID)).wait();
    await submitAt(oracle, pA, timely(T_A) + 60);
  });

  it.each([0, 1, 2, 3, 4, 5, 6])(
    "OracleSignalNotInField: public signal %i plus p, before the verifier is called",
    async (i) => {
      const input = pA.publicSignals.map(BigInt);
      input[i] += FIELD_MODULUS;
      expect(await revertAt(timely(T_A), () => submit(oracle, pA, { input }))).toEqual({
        name: "OracleSignalNotInField",
        args: [BigInt(i), input[i]],
      });
    },
  );

  it("OracleMarketIdMismatch: a BTC-USDT proof submitted for another registered market", async () => {
    await (await oracle.registerMarket(ETH_USDT, await configOf(MARKET_ID))).wait();
    expect(await revertAt(timely(T_A), () => submit(oracle, pA, { marketId: ETH_USDT }))).toEqual({
      name: "OracleMarketIdMismatch",
      args: [ETH_USDT, MARKET_ID],
    });
  });

  it("OracleModelCommitmentMismatch after governance registers another model (ModelChanged)", async () => {
    const other = d.prover.modelCommitment + 1n;
    await (await oracle.setModel(MARKET_ID, await d.verifier.getAddress(), other)).wait();
    expect(await revertAt(timely(T_A), () => submit(oracle, pA))).toEqual({
      name: "OracleModelCommitmentMismatch",
      args: [MARKET_ID, other, d.prover.modelCommitment],
    });
  });

  it("OracleDomainMismatch: a proof made for another oracle, which that oracle accepts", async () => {
    const proven = BigInt(pAOtherOracle.parameters.domain);
    expect(await revertAt(timely(T_A), () => submit(oracle, pAOtherOracle))).toEqual({
      name: "OracleDomainMismatch",
      args: [d.domain, proven],
    });
    await submitAt(otherOracle, pAOtherOracle, timely(T_A) + 1);
    expect((await otherOracle.parameters(MARKET_ID))[0]).toBe(mm(pA));
  });

  it("OracleDomainMismatch: a proof made for this oracle's address on another chain", async () => {
    expect(await revertAt(timely(T_A), () => submit(oracle, pAOtherChain))).toEqual({
      name: "OracleDomainMismatch",
      args: [d.domain, oracleDomain(1n, await oracle.getAddress())],
    });
  });

  it("OracleFutureData: the data timestamp is after the block time", async () => {
    expect(await revertAt(T_A - 1, () => submit(oracle, pA))).toEqual({
      name: "OracleFutureData",
      args: [BigInt(T_A), BigInt(T_A - 1)],
    });
  });

  it("OracleStaleData: data older than the maximum age", async () => {
    const maxAge = DEFAULT_LIMITS.maxDataAge;
    expect(await revertAt(T_A + maxAge + 1, () => submit(oracle, pA))).toEqual({
      name: "OracleStaleData",
      args: [BigInt(T_A), BigInt(T_A + maxAge + 1), BigInt(maxAge)],
    });
  });

  it("data exactly the maximum age old is accepted", async () => {
    await submitAt(oracle, pA, T_A + DEFAULT_LIMITS.maxDataAge);
  });

  it("OracleNotNewer: the same update again, a re-proved one (new proof bytes), and an older bar", async () => {
    await submitAt(oracle, pB, timely(T_B));
    const later = timely(T_B) + DEFAULT_LIMITS.minUpdateInterval; // not too soon, still fresh
    for (const [i, replay] of [pB, await proveBarAt(d, T_B, { domain: d.domain })].entries()) {
      expect(await revertAt(later + i, () => submit(oracle, replay))).toEqual({
        name: "OracleNotNewer",
        args: [MARKET_ID, BigInt(T_B), BigInt(T_B)],
      });
    }
    expect(await revertAt(later + 2, () => submit(oracle, pA))).toEqual({
      name: "OracleNotNewer",
      args: [MARKET_ID, BigInt(T_A), BigInt(T_B)],
    });
  });

  it("OracleNotNewer: a re-randomised proof of an update already applied", async () => {
    await submitAt(oracle, pA, timely(T_A));
    expect(pA2.calldata).not.toEqual(pA.calldata);
    expect(await revertAt(timely(T_A) + 2 * HOUR, () => submit(oracle, pA2))).toEqual({
      name: "OracleNotNewer",
      args: [MARKET_ID, BigInt(T_A), BigInt(T_A)],
    });
  });

  it("OracleUpdateTooSoon: within the minimum interval; exactly the interval is accepted", async () => {
    await setLimits({ minUpdateInterval: 3 * HOUR });
    const first = timely(T_A);
    await submitAt(oracle, pA, first);
    expect(await revertAt(timely(T_B), () => submit(oracle, pB))).toEqual({
      name: "OracleUpdateTooSoon",
      args: [MARKET_ID, BigInt(first), BigInt(first + 3 * HOUR)],
    });
    await submitAt(oracle, pB, first + 3 * HOUR);
  });

  it.each([
    ["MM below min", () => ({ minMaintenanceMarginBps: Number(mm(pA)) + 1 }), MAINTENANCE, "min"],
    ["MM above max", () => ({ maxMaintenanceMarginBps: Number(mm(pA)) - 1 }), MAINTENANCE, "max"],
    ["IM below min", () => ({ minInitialMarginBps: Number(im(pA)) + 1 }), INITIAL, "min"],
    ["IM above max", () => ({ maxInitialMarginBps: Number(im(pA)) - 1 }), INITIAL, "max"],
  ] as const)("OracleMarginOutOfBounds: %s", async (_name, patch, margin, _side) => {
    const limits = limitsWith(patch());
    await setLimits(limits);
    const [value, min, max] =
      margin === MAINTENANCE
        ? [mm(pA), limits.minMaintenanceMarginBps, limits.maxMaintenanceMarginBps]
        : [im(pA), limits.minInitialMarginBps, limits.maxInitialMarginBps];
    expect(await revertAt(timely(T_A), () => submit(oracle, pA))).toEqual({
      name: "OracleMarginOutOfBounds",
      args: [margin, value, BigInt(min), BigInt(max)],
    });
  });

  it("the bounds are inclusive", async () => {
    await setLimits({
      minMaintenanceMarginBps: Number(mm(pA)),
      maxMaintenanceMarginBps: Number(mm(pA)),
      minInitialMarginBps: Number(im(pA)),
      maxInitialMarginBps: Number(im(pA)),
    });
    await submitAt(oracle, pA, timely(T_A));
  });

  it("OracleInitialBelowMaintenance: IM < MM (unreachable by the shipped policy, so signals are forged)", async () => {
    // The check runs before the verifier, so a forged statement (MM and IM swapped) reaches it.
    const input = pA.publicSignals.map(BigInt);
    [input[0], input[1]] = [input[1], input[0]];
    expect(await revertAt(timely(T_A), () => submit(oracle, pA, { input }))).toEqual({
      name: "OracleInitialBelowMaintenance",
      args: [mm(pA), im(pA)],
    });
  });

  it("the first update is checked against the bounds only, not the rate limits", async () => {
    await setLimits({ maxIncreaseBps: 0, maxDecreaseBps: 0 });
    await submitAt(oracle, pA, timely(T_A));
  });

  it("OracleMarginIncreaseTooLarge: MM, then IM (which moves 1.5x as far)", async () => {
    const dMm = mm(pB) - mm(pA);
    const dIm = im(pB) - im(pA);
    await submitAt(oracle, pA, timely(T_A));
    await setLimits({ maxIncreaseBps: Number(dMm) - 1 });
    expect(await revertAt(timely(T_B), () => submit(oracle, pB))).toEqual({
      name: "OracleMarginIncreaseTooLarge",
      args: [MAINTENANCE, mm(pA), mm(pB), dMm - 1n],
    });
    await setLimits({ maxIncreaseBps: Number(dIm) - 1 });
    expect(await revertAt(timely(T_B) + 60, () => submit(oracle, pB))).toEqual({
      name: "OracleMarginIncreaseTooLarge",
      args: [INITIAL, im(pA), im(pB), dIm - 1n],
    });
    // The decrease limit does not apply to a rise.
    await setLimits({ maxIncreaseBps: Number(dIm), maxDecreaseBps: 0 });
    await submitAt(oracle, pB, timely(T_B) + 120);
  });

  it("OracleMarginDecreaseTooLarge: MM, then IM", async () => {
    const dMm = mm(pB) - mm(pC);
    const dIm = im(pB) - im(pC);
    await submitAt(oracle, pB, timely(T_B));
    await setLimits({ maxDecreaseBps: Number(dMm) - 1 });
    expect(await revertAt(timely(T_C), () => submit(oracle, pC))).toEqual({
      name: "OracleMarginDecreaseTooLarge",
      args: [MAINTENANCE, mm(pB), mm(pC), dMm - 1n],
    });
    await setLimits({ maxDecreaseBps: Number(dIm) - 1 });
    expect(await revertAt(timely(T_C) + 60, () => submit(oracle, pC))).toEqual({
      name: "OracleMarginDecreaseTooLarge",
      args: [INITIAL, im(pB), im(pC), dIm - 1n],
    });
    // The increase limit does not apply to a fall.
    await setLimits({ maxDecreaseBps: Number(dIm), maxIncreaseBps: 0 });
    await submitAt(oracle, pC, timely(T_C) + 120);
  });

  it("OracleInvalidProof: proof point A negated (still on the curve)", async () => {
    const [x, y] = pA.calldata.a;
    const a = [x, (BASE_FIELD_MODULUS - BigInt(y)).toString()];
    expect(await revertAt(timely(T_A), () => submit(oracle, pA, { a }))).toEqual({
      name: "OracleInvalidProof",
      args: [MARKET_ID],
    });
  });

  it("OracleInvalidProof: another statement's proof with these public signals", async () => {
    expect(
      await revertAt(timely(T_A), () =>
        submit(oracle, {
          ...pB,
          publicSignals: pA.publicSignals,
          calldata: { ...pB.calldata, input: pA.calldata.input },
        }),
      ),
    ).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
  });
});

describe("PerpMarginCheck (example consumer)", () => {
  const MAX_AGE = 6 * HOUR;
  let consumer: Contract;

  beforeEach(async () => {
    consumer = (await hre.ethers.deployContract("PerpMarginCheck", [
      await oracle.getAddress(),
      MARKET_ID,
      MAX_AGE,
    ])) as unknown as Contract;
    await consumer.waitForDeployment();
  });

  it("refuses to work before the oracle has parameters (the oracle's OracleNoParameters)", async () => {
    expect(await revertOf(consumer.canOpen(10_000n, 10_000n), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [MARKET_ID],
    });
  });

  it("canOpen iff collateral >= notional * IM / 10000; isLiquidatable iff collateral < notional * MM / 10000", async () => {
    await submitAt(oracle, pA, timely(T_A));
    const notional = 10_000n * 1_000_000n; // 1e6 units per bps-of-notional step: exact thresholds
    const imRequired = (notional * im(pA)) / 10_000n;
    const mmRequired = (notional * mm(pA)) / 10_000n;
    expect(await consumer.canOpen(notional, imRequired)).toBe(true);
    expect(await consumer.canOpen(notional, imRequired - 1n)).toBe(false);
    expect(await consumer.isLiquidatable(notional, mmRequired)).toBe(false);
    expect(await consumer.isLiquidatable(notional, mmRequired - 1n)).toBe(true);
  });

  it("PerpStaleParameters once the data is older than its maximum age", async () => {
    await submitAt(oracle, pA, timely(T_A));
    await mineAt(T_A + MAX_AGE);
    expect(await consumer.isLiquidatable(1n, 1n)).toBe(false);
    await mineAt(T_A + MAX_AGE + 1);
    for (const call of [() => consumer.canOpen(1n, 1n), () => consumer.isLiquidatable(1n, 1n)]) {
      expect(await revertOf(call(), consumer)).toEqual({
        name: "PerpStaleParameters",
        args: [MARKET_ID, BigInt(T_A), BigInt(MAX_AGE)],
      });
    }
  });
});
