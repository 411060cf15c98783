/**
 * The risk oracle's deployment and governance, and its example consumer, on Hardhat's in-process network. The
 * updates the consumer reads are real Groth16 proofs checked by zkrisk's verifier of the two-signal signed-update
 * STAND-IN circuit (test/helpers/signed-update-stand-in.ts, a test fixture, not sound): it proves any margins, so
 * the consumer's thresholds are tested at exact values. The guards of the update paths are in
 * signed-update.test.ts and signed-batch.test.ts; the real circuits on chain in signed-*-real.test.ts.
 *
 * Every test starts from the same chain snapshot: the stand-in's verifier and two oracles deployed by the first
 * signer (governance), BTC-USDT registered on both through the TypeScript client with publisher set SET, model
 * MODEL and the second signer as guardian; no update yet. Bars (open times of a window's last bar, 2024-06-20):
 * A 10:00, B 12:00; an update is submitted one minute after its bar's close.
 */
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ZeroAddress, type Contract, type Signer, type TransactionReceipt } from "ethers";
import { FIELD_MODULUS } from "../../crypto/field";
import { statementKey } from "../../circuits/statement";
import { marketIdOf } from "../../candles/market-id";
import { UsageError } from "../../core/errors";
import { oracleDomain } from "../../prover/domain";
import {
  deployVerifier,
  OracleError,
  readRegisteredPublisherSet,
  registerMarket,
  type MarketRegistration,
  type PublisherSetConfig,
} from "../../onchain/oracle";
import { compileVerifier } from "../../onchain/solc";
import { releaseCurves } from "../../setup";
import { proveStandIn, standInArtifacts, type StandInProof } from "../helpers/signed-update-stand-in";
import {
  BAD_PUBLISHER_SET_FIELDS,
  deployRiskOracle,
  BAR_SECONDS,
  DEFAULT_LIMITS,
  HOUR,
  MARKET_ID,
  hre,
  mineAt,
  revertOf,
  setNextBlockTime,
  utc,
  type MarketLimits,
  fromSnapshotEachTest,
} from "./fixture";

const MAINTENANCE = 0n;
const INITIAL = 1n;
const ETH_USDT = marketIdOf("ETH-USDT");
/** Model and publisher-set commitments: any nonzero field elements (the stand-in only hashes them). */
const MODEL = 123_456_789n;
const SET = 555_555n;
const OTHER_SET = 666_666n;

const T_A = utc(2024, 6, 20, 10);
const T_B = T_A + BAR_SECONDS;
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

let dir: string;
let oracle: Contract;
/** A second oracle on the same chain, with BTC-USDT registered the same way. */
let otherOracle: Contract;
let verifierAddress: string;
let governor: Signer;
let guardian: Signer;
let stranger: Signer;
let chainId: bigint;
let domain: bigint;
/** BTC-USDT's publisher set as the client registered it on `oracle`. */
let btcPublishers: PublisherSetConfig;
const as = (signer: Signer, c: Contract = oracle) => c.connect(signer) as Contract;
const limitsWith = (patch: Partial<MarketLimits>): MarketLimits => ({ ...DEFAULT_LIMITS, ...patch });
/** Limits as ethers decodes them (every field a bigint). */
const decodedLimits = (l: MarketLimits) =>
  Object.fromEntries(Object.entries(l).map(([k, v]) => [k, BigInt(v)]));
/** A publisher set as ethers decodes it (the quorum a bigint). */
const decodedPublishers = (p: PublisherSetConfig) => ({ ...p, quorum: BigInt(p.quorum) });

/** The registration of a market with SET, MODEL and the stand-in's verifier; `patch` changes a part. */
async function registration(patch: Partial<MarketRegistration> = {}): Promise<MarketRegistration> {
  return {
    publishers: { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET, quorum: 2 },
    guardian: await guardian.getAddress(),
    limits: DEFAULT_LIMITS,
    ...patch,
  };
}

/**
 * A complete `IRiskOracle.MarketConfig` for ETH-USDT on `oracle` as the contract takes it (statement key computed),
 * `publishers` and `rest` patching it: for calls the client would refuse before sending.
 */
async function rawConfig(
  publishers: Partial<PublisherSetConfig> = {},
  rest: { guardian?: string; limits?: MarketLimits } = {},
) {
  const key = await statementKey({ marketId: ETH_USDT, modelCommitment: MODEL, publisherSet: SET, domain });
  return {
    publishers: {
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 2,
      statementKey: key,
      ...publishers,
    },
    guardian: rest.guardian ?? ZeroAddress,
    limits: rest.limits ?? DEFAULT_LIMITS,
  };
}

/** A stand-in proof of margins (mm, im) on the bar opening at `t`, for BTC-USDT on `oracle`. */
function prove(t: number, mm: number, im: number): Promise<StandInProof> {
  return proveStandIn(dir, {
    mm: BigInt(mm),
    im: BigInt(im),
    dataTimestamp: BigInt(t),
    digest: BigInt(t) * 7n,
    statement: { marketId: MARKET_ID, modelCommitment: MODEL, publisherSet: SET, domain },
  });
}

/** Submit `p` for BTC-USDT in a block at `time` and wait for the receipt. */
async function submitAt(p: StandInProof, time: number): Promise<TransactionReceipt> {
  await setNextBlockTime(time);
  const c = p.calldata;
  const tx = (await oracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0])) as {
    wait(): Promise<TransactionReceipt>;
  };
  return tx.wait();
}

beforeAll(async () => {
  dir = await standInArtifacts();
  [governor, guardian, stranger] = await hre.ethers.getSigners();
  verifierAddress = await (await deployVerifier(governor, dir)).getAddress();
  oracle = await deployRiskOracle(governor);
  otherOracle = await deployRiskOracle(governor);
  chainId = (await hre.ethers.provider.getNetwork()).chainId;
  domain = oracleDomain(chainId, await oracle.getAddress());
  ({ publishers: btcPublishers } = await registerMarket(oracle, MARKET_ID, await registration()));
  await registerMarket(otherOracle, MARKET_ID, await registration());
}, 600_000);

fromSnapshotEachTest();

afterAll(async () => {
  await releaseCurves();
});

describe("RiskOracle: deployment", () => {
  it("computes the same domain as prover/domain.ts, and it depends on chain and address", async () => {
    const address = await oracle.getAddress();
    expect(await oracle.domain()).toBe(domain);
    expect(domain).toBe(oracleDomain(chainId, address.toLowerCase()));
    expect(domain).toBeLessThan(FIELD_MODULUS);
    expect(await otherOracle.domain()).toBe(oracleDomain(chainId, await otherOracle.getAddress()));
    expect(await otherOracle.domain()).not.toBe(domain);
    expect(oracleDomain(1n, address)).not.toBe(domain);
  });

  it("gives the governor the admin and governor roles, and nobody else", async () => {
    for (const role of [await oracle.GOVERNOR_ROLE(), await oracle.DEFAULT_ADMIN_ROLE()]) {
      expect(await oracle.hasRole(role, await governor.getAddress())).toBe(true);
      expect(await oracle.hasRole(role, await guardian.getAddress())).toBe(false);
    }
  });

  it("refuses a zero governor", async () => {
    const factory = await hre.ethers.getContractFactory("RiskOracle");
    expect(await revertOf(factory.deploy(ZeroAddress), oracle)).toEqual({
      name: "OracleInvalidGovernor",
      args: [],
    });
  });
});

describe("registerMarket", () => {
  it("emits MarketRegistered, then PublisherSetChanged from an all-zero previous set; the config reads back", async () => {
    const limits = limitsWith({ maxIncreaseBps: 300, maxDecreaseBps: 200, minUpdateInterval: 2 * HOUR });
    const { receipt, publishers } = await registerMarket(oracle, ETH_USDT, await registration({ limits }));
    expect(publishers).toEqual({
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 2,
      statementKey: await statementKey({
        marketId: ETH_USDT,
        modelCommitment: MODEL,
        publisherSet: SET,
        domain,
      }),
    });
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => e.name)).toEqual(["MarketRegistered", "PublisherSetChanged"]);
    const guardianAddress = await guardian.getAddress();
    expect(events[0].args.marketId).toBe(ETH_USDT);
    expect(events[0].args.guardian).toBe(guardianAddress);
    expect(events[0].args.limits.toObject()).toEqual(decodedLimits(limits));
    expect(events[1].args.marketId).toBe(ETH_USDT);
    expect(events[1].args.previous.toObject()).toEqual({
      verifier: ZeroAddress,
      modelCommitment: 0n,
      publisherSet: 0n,
      quorum: 0n,
      statementKey: 0n,
    });
    expect(events[1].args.config.toObject()).toEqual(decodedPublishers(publishers));

    expect((await oracle.marketConfig(ETH_USDT)).toObject(true)).toEqual({
      publishers: decodedPublishers(publishers),
      guardian: guardianAddress,
      limits: decodedLimits(limits),
    });
    expect(await readRegisteredPublisherSet(oracle, ETH_USDT)).toEqual(publishers);
    expect(await oracle.isPaused(ETH_USDT)).toBe(false);
    expect(await oracle.isFresh(ETH_USDT, 2n ** 63n)).toBe(false);
    expect(await revertOf(oracle.parameters(ETH_USDT), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [ETH_USDT],
    });
    // Registering one market leaves the other as it was.
    expect(await readRegisteredPublisherSet(oracle, MARKET_ID)).toEqual(btcPublishers);
  });

  it("takes the raw config the client builds (statement key included) and a zero guardian", async () => {
    await (await oracle.registerMarket(ETH_USDT, await rawConfig())).wait();
    expect((await oracle.marketConfig(ETH_USDT)).guardian).toBe(ZeroAddress);
    expect((await readRegisteredPublisherSet(oracle, ETH_USDT)).statementKey).toBe(
      (await rawConfig()).publishers.statementKey,
    );
  });

  it("OracleStatementKeyInUse: another market's statement key, which would take that market's proofs", async () => {
    // a raw registration that copied BTC-USDT's key (the client computes each market's own): BTC-USDT's proofs, of
    // BTC-USDT's candles, would verify against ETH-USDT's stored base and set ETH-USDT's margins
    const copied = await rawConfig({ statementKey: btcPublishers.statementKey });
    expect(await revertOf(oracle.registerMarket(ETH_USDT, copied), oracle)).toEqual({
      name: "OracleStatementKeyInUse",
      args: [btcPublishers.statementKey, MARKET_ID],
    });
    await (await oracle.registerMarket(ETH_USDT, await rawConfig())).wait();
    expect(await revertOf(oracle.setPublisherSet(ETH_USDT, copied.publishers), oracle)).toEqual({
      name: "OracleStatementKeyInUse",
      args: [btcPublishers.statementKey, MARKET_ID],
    });
    // a market takes its own key again after a rotation away from it
    const own = (await rawConfig()).publishers;
    await (await oracle.setPublisherSet(ETH_USDT, { ...own, statementKey: own.statementKey + 1n })).wait();
    await (await oracle.setPublisherSet(ETH_USDT, own)).wait();
    expect((await readRegisteredPublisherSet(oracle, ETH_USDT)).statementKey).toBe(own.statementKey);
  });

  describe("refuses a bad market or config, storing nothing", () => {
    /** `call` reverts with `expected`, and ETH-USDT is still unknown. */
    async function expectRefused(call: Promise<unknown>, expected: { name: string; args: unknown[] }) {
      expect(await revertOf(call, oracle)).toEqual(expected);
      expect(await revertOf(oracle.marketConfig(ETH_USDT), oracle)).toEqual({
        name: "OracleUnknownMarket",
        args: [ETH_USDT],
      });
    }

    it.each([
      ["zero", 0n],
      ["p", FIELD_MODULUS],
    ])("OracleInvalidMarketId: %s", async (_name, id) => {
      expect(await revertOf(oracle.registerMarket(id, await rawConfig()), oracle)).toEqual({
        name: "OracleInvalidMarketId",
        args: [id],
      });
    });

    it("OracleMarketExists, also through the client (an OracleError naming it); the market is unchanged", async () => {
      expect(await revertOf(oracle.registerMarket(MARKET_ID, await rawConfig()), oracle)).toEqual({
        name: "OracleMarketExists",
        args: [MARKET_ID],
      });
      const other = await registration({
        publishers: { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: OTHER_SET, quorum: 1 },
      });
      const call = registerMarket(oracle, MARKET_ID, other);
      await expect(call).rejects.toThrow(OracleError);
      await expect(registerMarket(oracle, MARKET_ID, other)).rejects.toMatchObject({
        reason: "OracleMarketExists",
      });
      expect(await readRegisteredPublisherSet(oracle, MARKET_ID)).toEqual(btcPublishers);
    });

    it("OracleInvalidVerifier: an account without code", async () => {
      const eoa = await stranger.getAddress();
      await expectRefused(oracle.registerMarket(ETH_USDT, await rawConfig({ verifier: eoa })), {
        name: "OracleInvalidVerifier",
        args: [eoa],
      });
    });

    it("OracleInvalidVerifier: a verifier without a statement base (snarkjs's, for the same circuit)", async () => {
      const compiled = compileVerifier(join(dir, "Groth16Verifier.sol"));
      const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
      const address = await (await (await factory.deploy()).waitForDeployment()).getAddress();
      await expectRefused(oracle.registerMarket(ETH_USDT, await rawConfig({ verifier: address })), {
        name: "OracleInvalidVerifier",
        args: [address],
      });
    });

    it.each(BAD_PUBLISHER_SET_FIELDS)("%s: %o", async (name, patch, arg) => {
      await expectRefused(oracle.registerMarket(ETH_USDT, await rawConfig(patch)), { name, args: [arg] });
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
      await expectRefused(
        oracle.registerMarket(ETH_USDT, await rawConfig({}, { limits: limitsWith(patch) })),
        {
          name: "OracleInvalidBounds",
          args: [margin, min, max],
        },
      );
    });

    it("OracleInitialBoundBelowMaintenance: a highest IM below the lowest MM, which no update could meet", async () => {
      // min MM 3000, max IM 2000: every update would need IM >= MM >= 3000 > 2000
      const limits = limitsWith({ minMaintenanceMarginBps: 3000, maxInitialMarginBps: 2000 });
      await expectRefused(oracle.registerMarket(ETH_USDT, await rawConfig({}, { limits })), {
        name: "OracleInitialBoundBelowMaintenance",
        args: [2000n, 3000n],
      });
      // at equality one pair meets them: MM = IM = 3000
      const edge = limitsWith({ minMaintenanceMarginBps: 3000, maxInitialMarginBps: 3000 });
      await (await oracle.registerMarket(ETH_USDT, await rawConfig({}, { limits: edge }))).wait();
      expect((await oracle.marketConfig(ETH_USDT)).limits.toObject()).toEqual(decodedLimits(edge));
    });

    it("the client refuses the guards the oracle would refuse before sending, naming the fields", async () => {
      const publishers = { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET, quorum: 1 };
      for (const [patch, message] of [
        [
          { minMaintenanceMarginBps: 3000, maxInitialMarginBps: 2000 },
          "maxInitialMarginBps 2000 is below minMaintenanceMarginBps 3000",
        ],
        [
          { minMaintenanceMarginBps: 600, maxMaintenanceMarginBps: 500 },
          "minMaintenanceMarginBps 600 is above maxMaintenanceMarginBps 500",
        ],
        [{ maxInitialMarginBps: 10001 }, "maxInitialMarginBps: 10001 bps is above 10000"],
        [{ maxDataAge: 0 }, "maxDataAge: 0 s would refuse every update"],
        [{ maxIncreaseBps: 1.5 }, "maxIncreaseBps: 1.5 is not an integer in [0, 65535]"],
      ] as const) {
        const bad = await registration({ publishers, limits: limitsWith(patch) });
        await expect(registerMarket(oracle, ETH_USDT, bad)).rejects.toMatchObject({
          code: "USAGE",
          message: expect.stringContaining(message),
        });
      }
      expect((await revertOf(oracle.marketConfig(ETH_USDT), oracle)).name).toBe("OracleUnknownMarket");
    });

    it("accepts bounds at their edges: min = max = 10000, and min = 0", async () => {
      const limits = limitsWith({
        minMaintenanceMarginBps: 10000,
        maxMaintenanceMarginBps: 10000,
        minInitialMarginBps: 0,
        maxInitialMarginBps: 10000,
      });
      await (await oracle.registerMarket(ETH_USDT, await rawConfig({}, { limits }))).wait();
      expect((await oracle.marketConfig(ETH_USDT)).limits.toObject()).toEqual(decodedLimits(limits));
    });

    it("OracleInvalidMaxDataAge", async () => {
      await expectRefused(
        oracle.registerMarket(ETH_USDT, await rawConfig({}, { limits: limitsWith({ maxDataAge: 0 }) })),
        { name: "OracleInvalidMaxDataAge", args: [] },
      );
    });

    it("the client refuses a quorum outside [1, 255] or a commitment outside [1, p) before sending", async () => {
      const publishers = { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET, quorum: 1 };
      for (const patch of [
        { quorum: 0 },
        { quorum: 256 },
        { publisherSet: 0n },
        { modelCommitment: FIELD_MODULUS },
      ]) {
        const bad = await registration({ publishers: { ...publishers, ...patch } });
        await expect(registerMarket(oracle, ETH_USDT, bad)).rejects.toThrow(UsageError);
      }
      expect(await revertOf(oracle.marketConfig(ETH_USDT), oracle)).toEqual({
        name: "OracleUnknownMarket",
        args: [ETH_USDT],
      });
    });
  });
});

describe("RiskOracle: governance of a registered market", () => {
  it("setLimits validates as registerMarket does", async () => {
    for (const [patch, expected] of [
      [{ maxInitialMarginBps: 10001 }, { name: "OracleInvalidBounds", args: [INITIAL, 100n, 10001n] }],
      [
        { minMaintenanceMarginBps: 600, maxMaintenanceMarginBps: 500 },
        { name: "OracleInvalidBounds", args: [MAINTENANCE, 600n, 500n] },
      ],
      [{ maxDataAge: 0 }, { name: "OracleInvalidMaxDataAge", args: [] }],
      [
        { minMaintenanceMarginBps: 3000, maxInitialMarginBps: 2000 },
        { name: "OracleInitialBoundBelowMaintenance", args: [2000n, 3000n] },
      ],
    ] as const) {
      expect(await revertOf(oracle.setLimits(MARKET_ID, limitsWith(patch)), oracle)).toEqual(expected);
    }
    expect((await oracle.marketConfig(MARKET_ID)).limits.toObject()).toEqual(decodedLimits(DEFAULT_LIMITS));
  });

  it("every per-market call refuses an unknown market with OracleUnknownMarket", async () => {
    const unknown = ETH_USDT;
    const config = (await rawConfig()).publishers;
    const zero = [0n, 0n];
    const calls: [string, () => Promise<unknown>][] = [
      ["setLimits", () => oracle.setLimits(unknown, DEFAULT_LIMITS)],
      ["setGuardian", () => oracle.setGuardian(unknown, ZeroAddress)],
      ["setPublisherSet", () => oracle.setPublisherSet(unknown, config)],
      ["pauseMarket", () => oracle.pauseMarket(unknown)],
      ["unpauseMarket", () => oracle.unpauseMarket(unknown)],
      ["submitSignedUpdate", () => oracle.submitSignedUpdate(unknown, zero, [zero, zero], zero, 1n)],
      ["parameters", () => oracle.parameters(unknown)],
      ["marketConfig", () => oracle.marketConfig(unknown)],
      ["publisherSet", () => oracle.publisherSet(unknown)],
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
    const config = await rawConfig();
    for (const who of [guardian, stranger]) {
      const account = await who.getAddress();
      const calls: [string, () => Promise<unknown>, string][] = [
        ["registerMarket", () => as(who).registerMarket(ETH_USDT, config), role],
        ["setPublisherSet", () => as(who).setPublisherSet(MARKET_ID, btcPublishers), role],
        ["setLimits", () => as(who).setLimits(MARKET_ID, DEFAULT_LIMITS), role],
        ["setGuardian", () => as(who).setGuardian(MARKET_ID, account), role],
        ["setBatchVerifier", () => as(who).setBatchVerifier(MODEL, 1, verifierAddress), role],
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

  it("setLimits and setGuardian emit their events and change only their part of the config", async () => {
    const before = await oracle.marketConfig(MARKET_ID);
    const limits = limitsWith({ maxIncreaseBps: 250, minUpdateInterval: 2 * HOUR });
    const newGuardian = await stranger.getAddress();
    const events = [];
    for (const tx of [
      await oracle.setLimits(MARKET_ID, limits),
      await oracle.setGuardian(MARKET_ID, newGuardian),
    ]) {
      const receipt = (await tx.wait()) as TransactionReceipt;
      expect(receipt.logs).toHaveLength(1);
      events.push(oracle.interface.parseLog(receipt.logs[0])!);
    }
    expect(events.map((e) => e.name)).toEqual(["LimitsChanged", "GuardianChanged"]);
    expect(events[0].args.marketId).toBe(MARKET_ID);
    expect(events[0].args.limits.toObject()).toEqual(decodedLimits(limits));
    expect([...events[1].args]).toEqual([MARKET_ID, before.guardian, newGuardian]);
    expect((await oracle.marketConfig(MARKET_ID)).toObject(true)).toEqual({
      publishers: decodedPublishers(btcPublishers),
      guardian: newGuardian,
      limits: decodedLimits(limits),
    });
  });

  it("the guardian or governance pauses and unpauses; nobody else; no double pause or unpause", async () => {
    const guardianAddress = await guardian.getAddress();
    const receipt = (await (await as(guardian).pauseMarket(MARKET_ID)).wait()) as TransactionReceipt;
    const paused = oracle.interface.parseLog(receipt.logs[0])!;
    expect(paused.name).toBe("MarketPaused");
    expect(paused.args.toArray()).toEqual([MARKET_ID, guardianAddress]);
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
    const unpaused = (await (await oracle.unpauseMarket(MARKET_ID)).wait()) as TransactionReceipt; // governance
    expect(oracle.interface.parseLog(unpaused.logs[0])!.name).toBe("MarketUnpaused");
    expect(oracle.interface.parseLog(unpaused.logs[0])!.args.toArray()).toEqual([
      MARKET_ID,
      await governor.getAddress(),
    ]);
    expect(await oracle.isPaused(MARKET_ID)).toBe(false);
    expect(await revertOf(as(guardian).unpauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleMarketNotPaused",
      args: [MARKET_ID],
    });
    expect(await revertOf(as(stranger).pauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleNotGuardian",
      args: [MARKET_ID, strangerAddress],
    });
    // A replaced guardian loses the power; the new one has it.
    await (await oracle.setGuardian(MARKET_ID, strangerAddress)).wait();
    expect(await revertOf(as(guardian).pauseMarket(MARKET_ID), oracle)).toEqual({
      name: "OracleNotGuardian",
      args: [MARKET_ID, guardianAddress],
    });
    await (await as(stranger).pauseMarket(MARKET_ID)).wait();
    expect(await oracle.isPaused(MARKET_ID)).toBe(true);
  });

  it("a market registered without a guardian is paused by governance only", async () => {
    await (await oracle.registerMarket(ETH_USDT, await rawConfig())).wait();
    for (const who of [guardian, stranger]) {
      expect(await revertOf(as(who).pauseMarket(ETH_USDT), oracle)).toEqual({
        name: "OracleNotGuardian",
        args: [ETH_USDT, await who.getAddress()],
      });
    }
    await (await oracle.pauseMarket(ETH_USDT)).wait();
    expect(await oracle.isPaused(ETH_USDT)).toBe(true);
  });
});

describe("PerpMarginCheck (example consumer), fed by signed updates", () => {
  const MAX_AGE = 6 * HOUR;
  /** The margins of bar A's update (bps). */
  const MM = 2400;
  const IM = 3600;
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
    for (const call of [() => consumer.canOpen(10_000n, 10_000n), () => consumer.isLiquidatable(1n, 1n)]) {
      expect(await revertOf(call(), oracle)).toEqual({ name: "OracleNoParameters", args: [MARKET_ID] });
    }
  });

  it("refuses a market the oracle does not know (the oracle's OracleUnknownMarket)", async () => {
    const unknown = (await hre.ethers.deployContract("PerpMarginCheck", [
      await oracle.getAddress(),
      ETH_USDT,
      MAX_AGE,
    ])) as unknown as Contract;
    expect(await revertOf(unknown.canOpen(1n, 1n), oracle)).toEqual({
      name: "OracleUnknownMarket",
      args: [ETH_USDT],
    });
  });

  it("canOpen iff collateral >= notional * IM / 10000; isLiquidatable iff collateral < notional * MM / 10000", async () => {
    await submitAt(await prove(T_A, MM, IM), timely(T_A));
    const notional = 10_000n * 1_000_000n; // 1e6 units per bps of notional: exact thresholds
    const imRequired = (notional * BigInt(IM)) / 10_000n;
    const mmRequired = (notional * BigInt(MM)) / 10_000n;
    expect(await consumer.canOpen(notional, imRequired)).toBe(true);
    expect(await consumer.canOpen(notional, imRequired - 1n)).toBe(false);
    expect(await consumer.isLiquidatable(notional, mmRequired)).toBe(false);
    expect(await consumer.isLiquidatable(notional, mmRequired - 1n)).toBe(true);
    // No rounding: a notional of 7 needs 2.52 of collateral to open and 1.68 to stay above maintenance.
    expect(await consumer.canOpen(7n, 2n)).toBe(false);
    expect(await consumer.canOpen(7n, 3n)).toBe(true);
    expect(await consumer.isLiquidatable(7n, 1n)).toBe(true);
    expect(await consumer.isLiquidatable(7n, 2n)).toBe(false);
  });

  it("follows the oracle: a later update moves the thresholds; a paused market's last parameters still apply", async () => {
    await submitAt(await prove(T_A, MM, IM), timely(T_A));
    const notional = 10_000n;
    expect(await consumer.canOpen(notional, BigInt(IM))).toBe(true);
    await submitAt(await prove(T_B, MM + 100, IM + 150), timely(T_B));
    expect(await consumer.canOpen(notional, BigInt(IM))).toBe(false);
    expect(await consumer.canOpen(notional, BigInt(IM + 150))).toBe(true);
    expect(await consumer.isLiquidatable(notional, BigInt(MM + 99))).toBe(true);
    await (await as(guardian).pauseMarket(MARKET_ID)).wait();
    expect(await consumer.isLiquidatable(notional, BigInt(MM + 100))).toBe(false);
  });

  it("PerpStaleParameters once the data is older than its maximum age", async () => {
    await submitAt(await prove(T_A, MM, IM), timely(T_A));
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
