/**
 * The oracle's signed-update path (`registerMarket` and `setPublisherSet`, `submitSignedUpdate`) on Hardhat's in-process network, with
 * real Groth16 proofs and zkrisk's verifier (onchain/signed-update-verifier.ts) of a two-signal STAND-IN
 * circuit (test/helpers/signed-update-stand-in.ts, a test fixture, not sound), kept because it is cheap: it proves
 * any margins, timestamp and digest bits, so every guard boundary below is tested as the oracle's refusal of a
 * proof its verifier accepts; only its statement key is computed as the real circuit computes it. The REAL
 * signed-update circuit end to end on chain (real signed windows, the attacks of issue 10 with real proofs) and
 * the gas with its verifier are in signed-update-real.test.ts.
 *
 * Bars (open times of a window's last bar, 2024-06-20): A 10:00, B 12:00, C 14:00; an update is submitted one
 * minute after its bar's close. Every test starts from the same snapshot: BTC-USDT and ETH-USDT registered with
 * publisher set SET_1 (statement keys from the TypeScript client), BTC-USDT also on a second oracle.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZeroAddress, type Contract, type Signer, type TransactionReceipt } from "ethers";
import { FIELD_MODULUS } from "../../crypto/field";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import { digestSignal, UPDATE_SIGNALS } from "../../circuits/public-signals";
import { statementKey, type StatementParts } from "../../circuits/statement";
import { marketIdOf } from "../../candles/market-id";
import { UsageError } from "../../core/errors";
import { toVerifierCalldata, type VerifierCalldata } from "../../prover/calldata";
import { oracleDomain } from "../../prover/domain";
import {
  compileArtifactsVerifier,
  OracleError,
  readRegisteredPublisherSet,
  registerMarket,
  setPublisherSet,
  signedUpdatesOf,
  submitSignedUpdate,
  type PublisherSetConfig,
} from "../../onchain/oracle";
import { compileVerifier } from "../../onchain/solc";
import { releaseCurves, snarkjs } from "../../setup";
import {
  proveStandIn,
  standInArtifacts,
  type StandInProof,
  type StandInStatement,
} from "../helpers/signed-update-stand-in";
import {
  BAD_PUBLISHER_SET_FIELDS,
  deployRiskOracle,
  BAR_SECONDS,
  DEFAULT_LIMITS,
  HOUR,
  MARKET_ID,
  hre,
  revertOf,
  rpc,
  setNextBlockTime,
  utc,
  type MarketLimits,
  fromSnapshotEachTest,
} from "./fixture";

const ETH_USDT = marketIdOf("ETH-USDT");
const MAINTENANCE = 0n;
const INITIAL = 1n;
/** BN254 base field modulus (coordinates of proof points). */
const BASE_FIELD_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

const T_A = utc(2024, 6, 20, 10);
const T_B = T_A + BAR_SECONDS;
const T_C = T_B + BAR_SECONDS;
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

let dir: string;
let oracle: Contract;
let otherOracle: Contract;
let verifier: Contract;
let verifierAddress: string;
let governor: Signer;
let guardian: Signer;
let stranger: Signer;
let chainId: bigint;
let domain: bigint;
let MODEL: bigint;
let SET_1: bigint;
let SET_2: bigint;
/** BTC-USDT's publisher set as registered by the client in `beforeAll`, and that call's receipt. */
let btcConfig: PublisherSetConfig;
let btcReceipt: TransactionReceipt;
/** BTC-USDT's statement on this oracle with SET_1; `patch` changes a part. */
const parts = (patch: Partial<StatementParts> = {}): StatementParts => ({
  marketId: MARKET_ID,
  modelCommitment: MODEL,
  publisherSet: SET_1,
  domain,
  ...patch,
});

/** A digest-like field element per bar, and its low 180 bits (what the update carries). */
const fullDigestOf = (t: number) => poseidonSponge([BigInt(t), 7n]);
const digestOf = async (t: number) => digestSignal(await fullDigestOf(t));

/** A stand-in proof of margins (mm, im) on the bar opening at `t`, for `statement` (BTC-USDT, SET_1 by default). */
async function prove(
  t: number,
  mm: number,
  im: number,
  statement: StatementParts = parts(),
  patch: Partial<StandInStatement> = {},
): Promise<StandInProof> {
  return proveStandIn(dir, {
    mm: BigInt(mm),
    im: BigInt(im),
    dataTimestamp: BigInt(t),
    digest: await digestOf(t),
    statement,
    ...patch,
  });
}

const as = (signer: Signer, c: Contract = oracle) => c.connect(signer) as Contract;

/** Register `marketId` on `on` through the client: SET_1 (quorum 2), MODEL, the guardian, the default limits. */
async function register(on: Contract, marketId: bigint) {
  return registerMarket(on, marketId, {
    publishers: { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET_1, quorum: 2 },
    guardian: await guardian.getAddress(),
    limits: DEFAULT_LIMITS,
  });
}
const limitsWith = (patch: Partial<MarketLimits>): MarketLimits => ({ ...DEFAULT_LIMITS, ...patch });

/** Send `submitSignedUpdate` (no pre-flight call) with `calldata`; `update` overrides its packed update. */
function send(
  p: { calldata: VerifierCalldata },
  opts: { marketId?: bigint; update?: string | bigint; from?: Signer } = {},
): Promise<unknown> {
  const c = p.calldata;
  const o = opts.from ? as(opts.from) : oracle;
  return o.submitSignedUpdate(opts.marketId ?? MARKET_ID, c.a, c.b, c.c, opts.update ?? c.input[0]);
}

/** Whether the deployed verifier accepts `p` for the statement key `key` (through its statement base). */
async function verifies(p: { calldata: VerifierCalldata }, key: bigint): Promise<boolean> {
  const [x, y] = (await verifier.statementBase(key)) as [bigint, bigint];
  const c = p.calldata;
  return verifier.verifyProof(c.a, c.b, c.c, c.input[0], x, y) as Promise<boolean>;
}

/** Submit in a block at `time` and wait for the receipt. */
async function submitAt(p: StandInProof, time: number, opts: Parameters<typeof send>[1] = {}) {
  await setNextBlockTime(time);
  const tx = (await send(p, opts)) as { wait(): Promise<TransactionReceipt> };
  return tx.wait();
}

/** Send in a block at `time`; the decoded custom error. */
async function revertAt(
  time: number,
  p: { calldata: VerifierCalldata },
  opts: Parameters<typeof send>[1] = {},
) {
  await setNextBlockTime(time);
  return revertOf(send(p, opts), oracle);
}

/**
 * A re-randomised proof of the same statement: (r A, B / r, C) for a random r (e(rA, B/r) = e(A, B)), so the
 * pairing equation still holds and the proof bytes change.
 */
async function rerandomise(p: StandInProof): Promise<StandInProof> {
  type G = {
    fromObject(o: bigint[] | bigint[][]): unknown;
    toObject(a: unknown): bigint[] | bigint[][];
    toAffine(a: unknown): unknown;
    timesFr(a: unknown, s: unknown): unknown;
  };
  const curve = (await snarkjs.curves.getCurveFromName("bn128")) as unknown as {
    G1: G;
    G2: G;
    Fr: { e(v: bigint): unknown; inv(v: unknown): unknown };
  };
  const r = curve.Fr.e(0x1234567890abcdefn * 3n + 1n);
  const big = (v: string[] | string[][]) =>
    v.map((x) => (Array.isArray(x) ? x.map(BigInt) : BigInt(x))) as bigint[] | bigint[][];
  const str = (v: bigint[] | bigint[][]) =>
    v.map((x) => (Array.isArray(x) ? x.map(String) : String(x))) as string[] & string[][];
  const a = curve.G1.timesFr(curve.G1.fromObject(big(p.proof.pi_a)), r);
  const b = curve.G2.timesFr(curve.G2.fromObject(big(p.proof.pi_b)), curve.Fr.inv(r));
  const proof = {
    ...p.proof,
    pi_a: str(curve.G1.toObject(curve.G1.toAffine(a))) as string[],
    pi_b: str(curve.G2.toObject(curve.G2.toAffine(b))) as string[][],
  };
  return { proof, publicSignals: p.publicSignals, calldata: toVerifierCalldata(proof, p.publicSignals) };
}

beforeAll(async () => {
  dir = await standInArtifacts();
  [governor, guardian, stranger] = await hre.ethers.getSigners();
  const compiled = compileArtifactsVerifier(dir);
  const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
  verifier = (await (await factory.deploy()).waitForDeployment()) as Contract;
  verifierAddress = await verifier.getAddress();
  oracle = await deployRiskOracle(governor);
  otherOracle = await deployRiskOracle(governor);
  chainId = (await hre.ethers.provider.getNetwork()).chainId;
  domain = oracleDomain(chainId, await oracle.getAddress());
  MODEL = await poseidonSponge([1n, 2n, 3n]);
  SET_1 = await poseidonSponge([4n, 5n, 6n]);
  SET_2 = await poseidonSponge([4n, 5n, 7n]);
  ({ receipt: btcReceipt, publishers: btcConfig } = await register(oracle, MARKET_ID));
  await register(oracle, ETH_USDT);
  await register(otherOracle, MARKET_ID);
}, 600_000);

fromSnapshotEachTest();

afterAll(async () => {
  await releaseCurves();
});

describe("registerMarket and setPublisherSet", () => {
  it("registration stores the set with the key of (market, model, set, domain); the event lets an auditor recompute it", async () => {
    expect(btcConfig).toEqual({
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET_1,
      quorum: 2,
      statementKey: await statementKey(parts()),
    });
    expect(await readRegisteredPublisherSet(oracle, MARKET_ID)).toEqual(btcConfig);
    const logs = btcReceipt.logs.map((l) => oracle.interface.parseLog(l));
    expect(logs.map((l) => l?.name)).toEqual(["MarketRegistered", "PublisherSetChanged"]);
    const event = logs[1]!.args;
    expect(event.marketId).toBe(MARKET_ID);
    // Before: nothing.
    expect(event.previous.toObject()).toEqual({
      verifier: ZeroAddress,
      modelCommitment: 0n,
      publisherSet: 0n,
      quorum: 0n,
      statementKey: 0n,
    });
    expect(event.config.toObject()).toEqual({ ...btcConfig, quorum: 2n });
    // What an auditor does: recompute the key from the event's parts and the oracle's domain.
    const recomputed = await statementKey({
      marketId: event.marketId as bigint,
      modelCommitment: event.config.modelCommitment as bigint,
      publisherSet: event.config.publisherSet as bigint,
      domain: (await oracle.domain()) as bigint,
    });
    expect(recomputed).toBe(event.config.statementKey);
  });

  it("the key made in the circuit is the key the client registered", async () => {
    const p = await prove(T_A, 2400, 3600);
    expect(BigInt(p.publicSignals[UPDATE_SIGNALS.indexOf("statement")])).toBe(btcConfig.statementKey);
  });

  it("a rotation emits the old and new set, quorum and key", async () => {
    const { receipt, config } = await setPublisherSet(oracle, MARKET_ID, {
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET_2,
      quorum: 3,
    });
    const event = oracle.interface.parseLog(receipt.logs[0])!.args;
    expect(event.previous.toObject()).toEqual({ ...btcConfig, quorum: 2n });
    expect(event.config.toObject()).toEqual({ ...config, quorum: 3n });
    expect(config.statementKey).toBe(await statementKey(parts({ publisherSet: SET_2 })));
    expect(await readRegisteredPublisherSet(oracle, MARKET_ID)).toEqual(config);
  });

  describe("refuses a bad configuration", () => {
    const config = (patch: Partial<PublisherSetConfig> = {}) => ({ ...btcConfig, ...patch });
    it.each(BAD_PUBLISHER_SET_FIELDS)("%s: %o", async (name, patch, arg) => {
      expect(await revertOf(oracle.setPublisherSet(MARKET_ID, config(patch)), oracle)).toEqual({
        name,
        args: [arg],
      });
    });

    it("OracleInvalidVerifier: a verifier without a statement base (snarkjs's, for the same circuit)", async () => {
      const compiled = compileVerifier(join(dir, "Groth16Verifier.sol"));
      const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
      const snarkjsVerifier = await (await factory.deploy()).waitForDeployment();
      const address = await snarkjsVerifier.getAddress();
      expect(
        await revertOf(oracle.setPublisherSet(MARKET_ID, config({ verifier: address })), oracle),
      ).toEqual({
        name: "OracleInvalidVerifier",
        args: [address],
      });
    });

    it("OracleInvalidVerifier: an account without code", async () => {
      const eoa = await stranger.getAddress();
      expect(await revertOf(oracle.setPublisherSet(MARKET_ID, config({ verifier: eoa })), oracle)).toEqual({
        name: "OracleInvalidVerifier",
        args: [eoa],
      });
    });

    it("OracleUnknownMarket", async () => {
      const unknown = marketIdOf("XRP-USDT");
      expect(await revertOf(oracle.setPublisherSet(unknown, config()), oracle)).toEqual({
        name: "OracleUnknownMarket",
        args: [unknown],
      });
      expect(await revertOf(oracle.publisherSet(unknown), oracle)).toEqual({
        name: "OracleUnknownMarket",
        args: [unknown],
      });
    });

    it("AccessControlUnauthorizedAccount for the guardian and anyone else", async () => {
      const role: string = await oracle.GOVERNOR_ROLE();
      for (const who of [guardian, stranger]) {
        expect(await revertOf(as(who).setPublisherSet(MARKET_ID, config()), oracle)).toEqual({
          name: "AccessControlUnauthorizedAccount",
          args: [await who.getAddress(), role],
        });
      }
    });

    it("the client refuses a quorum outside [1, 255] and a commitment outside [1, p) before sending", async () => {
      const base = { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET_2, quorum: 1 };
      for (const [patch, message] of [
        [{ quorum: 0 }, /quorum: 0 is not an integer in \[1, 255\]/],
        [{ quorum: 256 }, /quorum: 256/],
        [{ publisherSet: FIELD_MODULUS }, /publisherSet: .* is not a nonzero field element/],
        [{ modelCommitment: 0n }, /modelCommitment: 0 is not a nonzero field element/],
      ] as const) {
        const call = setPublisherSet(oracle, MARKET_ID, { ...base, ...patch });
        await expect(call).rejects.toThrow(UsageError);
        await expect(setPublisherSet(oracle, MARKET_ID, { ...base, ...patch })).rejects.toThrow(message);
      }
      expect(await readRegisteredPublisherSet(oracle, MARKET_ID)).toEqual(btcConfig);
    });
  });
});

describe("submitSignedUpdate accepts", () => {
  it("a valid update from anyone: stored parameters, freshness, and an event with market, margins, time and digest", async () => {
    const p = await prove(T_A, 2400, 3600);
    const at = timely(T_A);
    const receipt = await submitAt(p, at, { from: stranger });
    expect(receipt.logs.map((l) => oracle.interface.parseLog(l)?.name)).toEqual(["SignedParametersUpdated"]);
    expect(signedUpdatesOf(oracle, receipt)).toEqual([
      {
        marketId: MARKET_ID,
        maintenanceMarginBps: 2400,
        initialMarginBps: 3600,
        dataTimestamp: BigInt(T_A),
        windowDigest: digestSignal(await fullDigestOf(T_A)),
        submitter: await stranger.getAddress(),
        txHash: receipt.hash,
        blockNumber: receipt.blockNumber,
      },
    ]);
    // The event holds these five fields and nothing else.
    const fragment = oracle.interface.getEvent("SignedParametersUpdated")!;
    expect(fragment.inputs.map((i) => i.name)).toEqual([
      "marketId",
      "maintenanceMarginBps",
      "initialMarginBps",
      "dataTimestamp",
      "windowDigest",
    ]);
    expect([...(await oracle.parameters(MARKET_ID))]).toEqual([2400n, 3600n, BigInt(T_A), BigInt(at)]);
    expect(await oracle.isFresh(MARKET_ID, BigInt(at - T_A))).toBe(true);
    expect(await oracle.isFresh(MARKET_ID, BigInt(at - T_A - 1))).toBe(false);
  });

  it("a first and later updates through the client, with the rate-of-change and interval guards passing", async () => {
    for (const [t, mm, im] of [
      [T_A, 2400, 3600],
      [T_B, 2500, 3750],
      [T_C, 2450, 3675],
    ]) {
      // The client's pre-flight call runs at the latest block's time: mine one after the bar's close first.
      await rpc("evm_mine", [timely(t) - 1]);
      await setNextBlockTime(timely(t));
      const receipt = await submitSignedUpdate(oracle, MARKET_ID, (await prove(t, mm, im)).calldata);
      expect(signedUpdatesOf(oracle, receipt)[0]).toMatchObject({
        maintenanceMarginBps: mm,
        initialMarginBps: im,
        dataTimestamp: BigInt(t),
      });
    }
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 3)).toEqual([2450n, 3675n, BigInt(T_C)]);
  });

  it("data exactly maxDataAge old", async () => {
    const p = await prove(T_A, 2400, 3600);
    await submitAt(p, T_A + DEFAULT_LIMITS.maxDataAge);
    expect((await oracle.parameters(MARKET_ID))[2]).toBe(BigInt(T_A));
  });

  it("data of the block's own second (age 0)", async () => {
    await submitAt(await prove(T_A, 2400, 3600), T_A);
    expect([...(await oracle.parameters(MARKET_ID))].slice(2)).toEqual([BigInt(T_A), BigInt(T_A)]);
  });

  it("margins exactly at the bounds: both minimums, both maximums, then min = max", async () => {
    const { minMaintenanceMarginBps: minMm, maxMaintenanceMarginBps: maxMm } = DEFAULT_LIMITS;
    const { minInitialMarginBps: minIm, maxInitialMarginBps: maxIm } = DEFAULT_LIMITS;
    await submitAt(await prove(T_A, minMm, minIm), timely(T_A));
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 2)).toEqual([BigInt(minMm), BigInt(minIm)]);
    await submitAt(await prove(T_B, maxMm, maxIm), timely(T_B));
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 2)).toEqual([BigInt(maxMm), BigInt(maxIm)]);
    const pinned = { minMaintenanceMarginBps: 2400, maxMaintenanceMarginBps: 2400 };
    await (
      await oracle.setLimits(
        MARKET_ID,
        limitsWith({ ...pinned, minInitialMarginBps: 3600, maxInitialMarginBps: 3600 }),
      )
    ).wait();
    await submitAt(await prove(T_C, 2400, 3600), timely(T_C));
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 2)).toEqual([2400n, 3600n]);
  });

  it("IM equal to MM", async () => {
    await submitAt(await prove(T_A, 2400, 2400), timely(T_A));
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 2)).toEqual([2400n, 2400n]);
  });

  it("a first update checked against the bounds only: no rate-of-change limit applies before it", async () => {
    await (await oracle.setLimits(MARKET_ID, limitsWith({ maxIncreaseBps: 0, maxDecreaseBps: 0 }))).wait();
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    expect((await oracle.parameters(MARKET_ID))[0]).toBe(2400n);
    // From the second on, the same limits refuse any change.
    expect(await revertAt(timely(T_B), await prove(T_B, 2401, 3602))).toEqual({
      name: "OracleMarginIncreaseTooLarge",
      args: [MAINTENANCE, 2400n, 2401n, 0n],
    });
  });
});

describe("submitSignedUpdate refuses another statement: OracleInvalidProof (the market's statement base)", () => {
  it("another market's proof (valid for that market); the client names the mismatch first", async () => {
    const eth = await prove(T_A, 2400, 3600, parts({ marketId: ETH_USDT }));
    const ethKey = await statementKey(parts({ marketId: ETH_USDT }));
    expect(await verifies(eth, ethKey)).toBe(true);
    expect(await verifies(eth, btcConfig.statementKey)).toBe(false);
    expect(await revertAt(timely(T_A), eth)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
    await rpc("evm_mine", [timely(T_A) + 1]);
    const refused = submitSignedUpdate(oracle, MARKET_ID, eth.calldata);
    await expect(refused).rejects.toThrow(OracleError);
    await expect(submitSignedUpdate(oracle, MARKET_ID, eth.calldata)).rejects.toMatchObject({
      reason: "StatementMismatch",
    });
    await submitAt(eth, timely(T_A) + 2, { marketId: ETH_USDT });
    expect((await oracle.parameters(ETH_USDT))[0]).toBe(2400n);
  });

  it.each([
    ["another oracle", () => ({ domain: oracleDomain(chainId, String(otherOracle.target)) })],
    ["another chain", () => ({ domain: oracleDomain(1n, String(oracle.target)) })],
    ["another model", () => ({ modelCommitment: MODEL + 1n })],
    ["another publisher set", () => ({ publisherSet: SET_2 })],
  ])("a proof for %s", async (_name, patch) => {
    const statement = parts(patch());
    const p = await prove(T_A, 2400, 3600, statement);
    expect(await verifies(p, await statementKey(statement))).toBe(true);
    expect(await revertAt(timely(T_A), p)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
  });

  it("the other oracle's proof, refused here, is accepted by that oracle", async () => {
    const p = await prove(
      T_A,
      2400,
      3600,
      parts({ domain: oracleDomain(chainId, String(otherOracle.target)) }),
    );
    expect(await revertAt(timely(T_A), p)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
    await setNextBlockTime(timely(T_A) + 1);
    const c = p.calldata;
    await (await otherOracle.submitSignedUpdate(MARKET_ID, c.a, c.b, c.c, c.input[0])).wait();
    expect([...(await otherOracle.parameters(MARKET_ID))].slice(0, 3)).toEqual([2400n, 3600n, BigInt(T_A)]);
  });

  it("after a rotation, a proof made for the old set; the new set's proof is accepted, replay protection carries over", async () => {
    const old = await prove(T_B, 2500, 3750);
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    await setPublisherSet(oracle, MARKET_ID, {
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET_2,
      quorum: 2,
    });
    // The same proof would be accepted at this time without the rotation (see the last line).
    expect(await revertAt(timely(T_B), old)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
    const rotatedA = await prove(T_A, 2400, 3600, parts({ publisherSet: SET_2 }));
    expect(await revertAt(timely(T_B) + 1, rotatedA)).toEqual({
      name: "OracleNotNewer",
      args: [MARKET_ID, BigInt(T_A), BigInt(T_A)],
    });
    await submitAt(await prove(T_B, 2500, 3750, parts({ publisherSet: SET_2 })), timely(T_B) + 2);
    expect((await oracle.parameters(MARKET_ID))[2]).toBe(BigInt(T_B));
  });

  it("without the rotation, that old-set proof is accepted at the same time", async () => {
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    await submitAt(await prove(T_B, 2500, 3750), timely(T_B));
    expect((await oracle.parameters(MARKET_ID))[2]).toBe(BigInt(T_B));
  });
});

describe("submitSignedUpdate refuses malformed signals and invalid proofs", () => {
  it("OracleMalformedUpdate: a packed update with bits at or above 252, though the verifier accepts the proof", async () => {
    const digest = await digestOf(T_A);
    const p = await prove(T_A, 2400, 3600, parts(), { digest: (1n << 180n) + digest });
    const packed = BigInt(p.publicSignals[0]);
    expect(packed >> 252n).toBe(1n);
    expect(await verifies(p, btcConfig.statementKey)).toBe(true);
    expect(await revertAt(timely(T_A), p)).toEqual({ name: "OracleMalformedUpdate", args: [packed] });
    // Read without the check, it would be bar A's update: the digest bits truncated to 180.
    expect(packed % (1n << 252n)).toBe(BigInt((await prove(T_A, 2400, 3600)).publicSignals[0]));
  });

  it("OracleMalformedUpdate: the update plus p", async () => {
    const p = await prove(T_A, 2400, 3600);
    const update = BigInt(p.calldata.input[0]) + FIELD_MODULUS;
    expect(await revertAt(timely(T_A), p, { update })).toEqual({
      name: "OracleMalformedUpdate",
      args: [update],
    });
  });

  it("OracleInvalidProof: the packed update edited (digest bits, timestamp or margins), or another proof's point A", async () => {
    const p = await prove(T_A, 2400, 3600);
    const other = await prove(T_A, 2500, 3750);
    const packed = BigInt(p.calldata.input[0]);
    const edits = [packed ^ (1n << 72n), packed ^ (1n << 251n), packed + 1n, BigInt(other.calldata.input[0])];
    for (const [k, update] of edits.entries()) {
      expect(await revertAt(timely(T_A) + k, p, { update })).toEqual({
        name: "OracleInvalidProof",
        args: [MARKET_ID],
      });
    }
    const mixed = { calldata: { ...p.calldata, a: other.calldata.a } };
    expect(await revertAt(timely(T_A) + 5, mixed)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
  });

  it("OracleInvalidProof: proof point A negated (still on the curve)", async () => {
    const p = await prove(T_A, 2400, 3600);
    const [x, y] = p.calldata.a;
    const a: [string, string] = [x, (BASE_FIELD_MODULUS - BigInt(y)).toString()];
    const negated = { calldata: { ...p.calldata, a } };
    expect(await revertAt(timely(T_A), negated)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
    await submitAt(p, timely(T_A) + 1);
  });
});

describe("submitSignedUpdate guards", () => {
  it("OracleUnknownMarket", async () => {
    const p = await prove(T_A, 2400, 3600);
    const unknown = marketIdOf("XRP-USDT");
    expect(await revertAt(timely(T_A), p, { marketId: unknown })).toEqual({
      name: "OracleUnknownMarket",
      args: [unknown],
    });
  });

  it("OracleMarketPaused, until unpaused", async () => {
    await (await as(guardian).pauseMarket(MARKET_ID)).wait();
    const p = await prove(T_A, 2400, 3600);
    expect(await revertAt(timely(T_A), p)).toEqual({
      name: "OracleMarketPaused",
      args: [MARKET_ID],
    });
    await (await as(guardian).unpauseMarket(MARKET_ID)).wait();
    await submitAt(p, timely(T_A) + 60);
    expect((await oracle.parameters(MARKET_ID))[0]).toBe(2400n);
  });

  it("OracleFutureData: a bar that opens after the block", async () => {
    expect(await revertAt(T_A - 1, await prove(T_A, 2400, 3600))).toEqual({
      name: "OracleFutureData",
      args: [BigInt(T_A), BigInt(T_A - 1)],
    });
  });

  it("OracleStaleData: data one second older than maxDataAge", async () => {
    const at = T_A + DEFAULT_LIMITS.maxDataAge + 1;
    expect(await revertAt(at, await prove(T_A, 2400, 3600))).toEqual({
      name: "OracleStaleData",
      args: [BigInt(T_A), BigInt(at), BigInt(DEFAULT_LIMITS.maxDataAge)],
    });
  });

  it("OracleUpdateTooSoon: less than minUpdateInterval after the last update; exactly the interval is accepted", async () => {
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    await (await oracle.setLimits(MARKET_ID, limitsWith({ minUpdateInterval: 3 * HOUR }))).wait();
    const p = await prove(T_B, 2500, 3750);
    const earliest = timely(T_A) + 3 * HOUR;
    for (const at of [timely(T_B), earliest - 1]) {
      expect(await revertAt(at, p)).toEqual({
        name: "OracleUpdateTooSoon",
        args: [MARKET_ID, BigInt(timely(T_A)), BigInt(earliest)],
      });
    }
    await submitAt(p, earliest);
    expect([...(await oracle.parameters(MARKET_ID))].slice(2)).toEqual([BigInt(T_B), BigInt(earliest)]);
  });

  it("an older, still fresh bar sent first does not hold the newest back: data the interval newer is never too soon", async () => {
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    // When C closes, a submitter who wants B's margins sends B (4 h old, inside maxDataAge); C follows a second later.
    await submitAt(await prove(T_B, 2300, 3450), timely(T_C));
    await submitAt(await prove(T_C, 2500, 3750), timely(T_C) + 1);
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 3)).toEqual([2500n, 3750n, BigInt(T_C)]);
  });

  it.each([
    ["MM below its minimum", 49, 100, MAINTENANCE, 49n, 50n, 5000n],
    ["MM above its maximum", 5001, 7502, MAINTENANCE, 5001n, 50n, 5000n],
    ["IM below its minimum", 50, 99, INITIAL, 99n, 100n, 10000n],
    ["IM above its maximum", 4000, 10001, INITIAL, 10001n, 100n, 10000n],
  ])("OracleMarginOutOfBounds: %s", async (_name, mmBps, imBps, margin, value, min, max) => {
    expect(await revertAt(timely(T_A), await prove(T_A, mmBps, imBps))).toEqual({
      name: "OracleMarginOutOfBounds",
      args: [margin, value, min, max],
    });
  });

  it("OracleInitialBelowMaintenance", async () => {
    expect(await revertAt(timely(T_A), await prove(T_A, 2400, 2399))).toEqual({
      name: "OracleInitialBelowMaintenance",
      args: [2399n, 2400n],
    });
  });

  // From (2400, 3600) with at most +100 and -50 bps per update: each margin one bps past each limit.
  it.each([
    ["OracleMarginIncreaseTooLarge", "MM", 2501, 3650, MAINTENANCE, 2400n, 2501n, 100n],
    ["OracleMarginIncreaseTooLarge", "IM", 2450, 3701, INITIAL, 3600n, 3701n, 100n],
    ["OracleMarginDecreaseTooLarge", "MM", 2349, 3600, MAINTENANCE, 2400n, 2349n, 50n],
    ["OracleMarginDecreaseTooLarge", "IM", 2400, 3549, INITIAL, 3600n, 3549n, 50n],
  ])("%s: %s one bps past the limit", async (name, _margin, mmBps, imBps, margin, previous, next, limit) => {
    await (await oracle.setLimits(MARKET_ID, limitsWith({ maxIncreaseBps: 100, maxDecreaseBps: 50 }))).wait();
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    expect(await revertAt(timely(T_B), await prove(T_B, mmBps, imBps))).toEqual({
      name,
      args: [margin, previous, next, limit],
    });
  });

  it("changes exactly at the rate limits are accepted; the decrease limit does not bound a rise, nor the reverse", async () => {
    await (await oracle.setLimits(MARKET_ID, limitsWith({ maxIncreaseBps: 100, maxDecreaseBps: 0 }))).wait();
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    await submitAt(await prove(T_B, 2500, 3700), timely(T_B));
    await (await oracle.setLimits(MARKET_ID, limitsWith({ maxIncreaseBps: 0, maxDecreaseBps: 50 }))).wait();
    await submitAt(await prove(T_C, 2450, 3650), timely(T_C));
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 3)).toEqual([2450n, 3650n, BigInt(T_C)]);
  });

  it("bounds moved past the last margins: the change is measured from the nearer bound, so the market never freezes", async () => {
    await (await oracle.setLimits(MARKET_ID, limitsWith({ maxIncreaseBps: 100, maxDecreaseBps: 50 }))).wait();
    await submitAt(await prove(T_A, 2400, 3600), timely(T_A));
    // Governance raises the MM floor to 3000 and the IM floor to 4000: from 2400 / 3600 no update could reach them.
    const raised = {
      minMaintenanceMarginBps: 3000,
      minInitialMarginBps: 4000,
      maxIncreaseBps: 100,
      maxDecreaseBps: 50,
    };
    await (await oracle.setLimits(MARKET_ID, limitsWith(raised))).wait();
    expect(await revertAt(timely(T_B), await prove(T_B, 3101, 4000))).toEqual({
      name: "OracleMarginIncreaseTooLarge",
      args: [MAINTENANCE, 3000n, 3101n, 100n],
    });
    await submitAt(await prove(T_B, 3100, 4100), timely(T_B) + 1);
    // Then it lowers the caps to 2000 / 3000, below the margins just accepted.
    const lowered = {
      maxMaintenanceMarginBps: 2000,
      maxInitialMarginBps: 3000,
      maxIncreaseBps: 100,
      maxDecreaseBps: 50,
    };
    await (await oracle.setLimits(MARKET_ID, limitsWith(lowered))).wait();
    expect(await revertAt(timely(T_C), await prove(T_C, 1950, 2949))).toEqual({
      name: "OracleMarginDecreaseTooLarge",
      args: [INITIAL, 3000n, 2949n, 50n],
    });
    await submitAt(await prove(T_C, 1950, 2950), timely(T_C) + 1);
    expect([...(await oracle.parameters(MARKET_ID))].slice(0, 3)).toEqual([1950n, 2950n, BigInt(T_C)]);
  });
});

describe("submitSignedUpdate refuses replays of an applied update: OracleNotNewer", () => {
  it("the same proof, a re-randomised proof, a second proof of the same statement, and an older bar", async () => {
    const p = await prove(T_A, 2400, 3600);
    await submitAt(p, timely(T_A));
    const rerandomised = await rerandomise(p);
    const reproved = await prove(T_A, 2400, 3600);
    for (const q of [rerandomised, reproved]) {
      expect(q.calldata.input).toEqual(p.calldata.input);
      expect(q.calldata.a).not.toEqual(p.calldata.a);
      expect(await verifies(q, btcConfig.statementKey)).toBe(true);
    }
    const older = await prove(T_A - BAR_SECONDS, 2400, 3600);
    for (const [k, q] of [p, rerandomised, reproved, older].entries()) {
      const t = k === 3 ? T_A - BAR_SECONDS : T_A;
      expect(await revertAt(timely(T_B) + k, q)).toEqual({
        name: "OracleNotNewer",
        args: [MARKET_ID, BigInt(t), BigInt(T_A)],
      });
    }
  });
});
