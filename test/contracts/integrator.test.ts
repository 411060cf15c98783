/**
 * The oracle as a perp protocol reads it, on Hardhat's in-process network: the example consumer at its edges (every
 * uint256 size, the exact staleness boundary, margins of 0 and 10000), and what `IRiskOracle.parameters` and
 * `isFresh` promise a consumer in their NatSpec (values, times, which calls change them and with which event, a
 * paused or rotated market, market ids, the gas of a read), and `readings`, which reads many markets in one
 * call that never reverts, each with its status, including from a third party's contract compiled against the
 * interface alone. Updates are real Groth16 proofs of the two-signal STAND-IN circuits
 * (test/helpers/signed-update-stand-in.ts, not sound: they prove any margins), checked by zkrisk's verifiers.
 *
 * Markets: BTC-USDT plain (lower bounds 0, no minimum interval), ETH-USDT adaptive, SOL-USDT registered and never
 * updated. Bars (open times of a window's last bar, 2024-06-20): A 10:00, B 12:00, C 14:00; an update is submitted
 * one minute after its bar's close.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBytes32String, type Contract, type Signer, type TransactionReceipt } from "ethers";
import { marketIdOf } from "../../candles/market-id";
import { packAdaptiveUpdate, type AdaptiveUpdateValues } from "../../circuits/statement";
import { oracleDomain } from "../../prover/domain";
import { compileSolidity } from "../../onchain/solc";
import {
  deployVerifier,
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
  HOUR,
  MARKET_ID as BTC,
  deployRiskOracle,
  hre,
  mineAt,
  revertOf,
  setNextBlockTime,
  utc,
  fromSnapshotEachTest,
} from "./fixture";

const ETH = marketIdOf("ETH-USDT");
const SOL = marketIdOf("SOL-USDT");
const BPS = 10_000n;
const MAX = (1n << 256n) - 1n;
/** Model and publisher-set commitments: any nonzero field elements (the stand-ins only hash them). */
const MODEL = 123_456_789n;
const SET = 555_555n;
/** ETH-USDT's initial adaptive num, inside the adaptive stand-in verifier's clamp. */
const NUM = 49021n << 8n;
const MAX_AGE = 6 * HOUR;
/** The events that carry an accepted update: the only way `parameters` changes. */
const UPDATE_EVENTS = [
  "SignedParametersUpdated",
  "SignedBatchParametersUpdated",
  "AdaptiveParametersUpdated",
  "AdaptiveBatchParametersUpdated",
];

const T_A = utc(2024, 6, 20, 10);
const T_B = T_A + BAR_SECONDS;
const T_C = T_B + BAR_SECONDS;
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

/**
 * A third party's consumer, compiled against `IRiskOracle.sol` alone: the market id as the NatSpec writes it, a
 * read of many markets that `isFresh` guards (no revert for an unknown, unset or stale one), the same by `readings`,
 * and the gas of one `parameters` call and of one `readings` call from a contract.
 */
const INTEGRATOR_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRiskOracle} from "contracts/interfaces/IRiskOracle.sol";

contract IntegratorReader {
    IRiskOracle private immutable _oracle;

    constructor(IRiskOracle oracle) {
        _oracle = oracle;
    }

    function btcUsdt() external pure returns (uint256) {
        return uint256(uint64(bytes8("BTC-USDT")));
    }

    function freshMargins(
        uint256[] calldata ids,
        uint64 maxAge
    ) external view returns (uint16[] memory mm, uint16[] memory im, bool[] memory fresh) {
        (mm, im, fresh) = (new uint16[](ids.length), new uint16[](ids.length), new bool[](ids.length));
        for (uint256 i = 0; i < ids.length; ++i) {
            fresh[i] = _oracle.isFresh(ids[i], maxAge);
            if (fresh[i]) (mm[i], im[i], , ) = _oracle.parameters(ids[i]);
        }
    }

    function parametersGas(uint256 marketId) external view returns (uint256 used) {
        uint256 before = gasleft();
        _oracle.parameters(marketId);
        used = before - gasleft();
    }

    function freshReadings(uint256[] calldata ids, uint64 maxAge) external view returns (uint16[] memory mm) {
        IRiskOracle.Reading[] memory r = _oracle.readings(ids, maxAge);
        mm = new uint16[](r.length);
        for (uint256 i = 0; i < r.length; ++i) {
            if (r[i].status == IRiskOracle.ReadingStatus.Fresh) mm[i] = r[i].maintenanceMarginBps;
        }
    }

    function readingsGas(uint256[] calldata ids, uint64 maxAge) external view returns (uint256 used) {
        uint256 before = gasleft();
        _oracle.readings(ids, maxAge);
        used = before - gasleft();
    }
}
`;

let dir: string;
let adaptiveDir: string;
let oracle: Contract;
let consumer: Contract;
let reader: Contract;
let governor: Signer;
let guardian: Signer;
let plainVerifier: string;
let domain: bigint;
/** A stand-in proof of margins (mm, im) on the bar opening at `t`, for BTC-USDT. */
function prove(t: number, mm: bigint, im: bigint): Promise<StandInProof> {
  return proveStandIn(dir, {
    mm,
    im,
    dataTimestamp: BigInt(t),
    digest: BigInt(t) * 7n,
    statement: { marketId: BTC, modelCommitment: MODEL, publisherSet: SET, domain },
  });
}

/** A stand-in proof of an adaptive update of ETH-USDT (margins (mm, im) on the bar opening at `t`, no outcome). */
function proveAdaptive(t: number, mm: bigint, im: bigint, digest: bigint): Promise<StandInProof> {
  const u: AdaptiveUpdateValues = {
    mm,
    im,
    dataTimestamp: BigInt(t),
    before: { num: NUM, outcomes: 0n },
    marginS: 0n,
    lag: 0n,
    after: { num: NUM, outcomes: 0n },
    digest,
  };
  return proveStandIn(adaptiveDir, {
    mm,
    im,
    dataTimestamp: u.dataTimestamp,
    digest: packAdaptiveUpdate(u) >> 72n,
    statement: { marketId: ETH, modelCommitment: MODEL, publisherSet: SET, domain },
  });
}

/** Submit a proof for `marketId` in a block at `time` and wait for the receipt. */
async function submitAt(p: StandInProof, time: number, marketId = BTC): Promise<TransactionReceipt> {
  await setNextBlockTime(time);
  const c = p.calldata;
  return (await (
    await oracle.submitSignedUpdate(marketId, c.a, c.b, c.c, c.input[0])
  ).wait()) as TransactionReceipt;
}

/** The names of the oracle's update events in a receipt. */
function updateEvents(receipt: TransactionReceipt): string[] {
  return receipt.logs
    .map((log) => oracle.interface.parseLog(log)?.name)
    .filter((name): name is string => name !== undefined && UPDATE_EVENTS.includes(name));
}

/** ceil(notional * bps / 10000): the least collateral covering the margin. */
const required = (notional: bigint, bps: bigint) => (notional * bps + BPS - 1n) / BPS;

beforeAll(async () => {
  dir = await standInArtifacts();
  adaptiveDir = await adaptiveStandInArtifacts();
  [governor, guardian] = await hre.ethers.getSigners();
  plainVerifier = await (await deployVerifier(governor, dir)).getAddress();
  const adaptiveVerifier = await (await deployVerifier(governor, adaptiveDir)).getAddress();
  oracle = await deployRiskOracle(governor);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  const limits = {
    ...DEFAULT_LIMITS,
    minMaintenanceMarginBps: 0,
    minInitialMarginBps: 0,
    minUpdateInterval: 0,
  };
  const publishers = (verifier: string) => ({
    verifier,
    modelCommitment: MODEL,
    publisherSet: SET,
    quorum: 1,
  });
  const guardianAddress = await guardian.getAddress();
  for (const [id, verifier] of [
    [BTC, plainVerifier],
    [ETH, adaptiveVerifier],
    [SOL, plainVerifier],
  ] as const) {
    await registerMarket(oracle, id, { publishers: publishers(verifier), guardian: guardianAddress, limits });
  }
  await setAdaptiveCalibration(oracle, ETH, NUM);
  const oracleAddress = await oracle.getAddress();
  consumer = (await hre.ethers.deployContract("PerpMarginCheck", [
    oracleAddress,
    BTC,
    MAX_AGE,
  ])) as unknown as Contract;
  const source = join(mkdtempSync(join(tmpdir(), "zkrisk-integrator-")), "IntegratorReader.sol");
  writeFileSync(source, INTEGRATOR_SOURCE);
  const compiled = compileSolidity([source]).IntegratorReader;
  const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
  reader = (await (await factory.deploy(oracleAddress)).waitForDeployment()) as unknown as Contract;
}, 600_000);

fromSnapshotEachTest();

afterAll(async () => {
  await releaseCurves();
});

describe("PerpMarginCheck at the edges", () => {
  it("compares exactly for every uint256 size: no overflow of notional * bps or collateral * 10000", async () => {
    const [mm, im] = [2400n, 3600n];
    await submitAt(await prove(T_A, mm, im), timely(T_A));
    // Seeded: a fixed linear congruential sequence of sizes from 1 to 256 bits, then the extremes.
    let seed = 12_345n;
    const next = () =>
      (seed = (seed * 6_364_136_223_846_793_005n + 1_442_695_040_888_963_407n) % (1n << 64n));
    const sized = () => {
      const bits = next() % 256n;
      return (next() * next() * next() * next()) & ((1n << (bits + 1n)) - 1n);
    };
    const notionals = [0n, 1n, 7n, MAX / BPS, MAX / BPS + 1n, MAX / im + 1n, MAX - 1n, MAX];
    for (let k = 0; k < 16; k++) notionals.push(sized());
    for (const n of notionals) {
      for (const c of [
        0n,
        1n,
        required(n, im) - 1n,
        required(n, im),
        required(n, mm) - 1n,
        required(n, mm),
        MAX,
      ]) {
        if (c < 0n) continue;
        const what = `notional ${n}, collateral ${c}`;
        expect(await consumer.canOpen(n, c), what).toBe(c * BPS >= n * im);
        expect(await consumer.isLiquidatable(n, c), what).toBe(c * BPS < n * mm);
      }
    }
  });

  it("at IM = 10000 a position needs its whole notional, up to 2^256 - 1; at MM = IM = 0 every check passes", async () => {
    await submitAt(await prove(T_A, 5000n, 10_000n), timely(T_A));
    expect(await consumer.canOpen(MAX, MAX)).toBe(true);
    expect(await consumer.canOpen(MAX, MAX - 1n)).toBe(false);
    expect(await consumer.isLiquidatable(MAX, MAX / 2n)).toBe(true);
    expect(await consumer.isLiquidatable(MAX, MAX / 2n + 1n)).toBe(false);
    // The bounds allow 0 here (lower bounds 0): the oracle takes it, and a consumer that needs a floor sets one.
    await submitAt(await prove(T_B, 0n, 0n), timely(T_B));
    expect((await oracle.parameters(BTC)).slice(0, 2)).toEqual([0n, 0n]);
    expect(await consumer.canOpen(MAX, 0n)).toBe(true);
    expect(await consumer.isLiquidatable(MAX, 0n)).toBe(false);
  });
});

describe("IRiskOracle.parameters and isFresh, as a consumer reads them", () => {
  it("dataTimestamp is the bar's open time, updatedAt the block's; isFresh and the consumer are fresh at exactly maxAge", async () => {
    const receipt = await submitAt(await prove(T_A, 2400n, 3600n), timely(T_A));
    expect(await oracle.parameters(BTC)).toEqual([2400n, 3600n, BigInt(T_A), BigInt(timely(T_A))]);
    expect(updateEvents(receipt)).toEqual(["SignedParametersUpdated"]);
    // Measured from the open time: a maxAge of one bar interval is already missed when the update lands.
    expect(await oracle.isFresh(BTC, BAR_SECONDS)).toBe(false);
    await mineAt(T_A + MAX_AGE);
    expect(await oracle.isFresh(BTC, MAX_AGE)).toBe(true);
    expect(await consumer.isLiquidatable(1n, 1n)).toBe(false);
    await mineAt(T_A + MAX_AGE + 1);
    expect(await oracle.isFresh(BTC, MAX_AGE)).toBe(false);
    expect(await revertOf(consumer.isLiquidatable(1n, 1n), consumer)).toEqual({
      name: "PerpStaleParameters",
      args: [BTC, BigInt(T_A), BigInt(MAX_AGE)],
    });
    expect(await oracle.isFresh(BTC, (1n << 64n) - 1n)).toBe(true); // no overflow of dataTimestamp + maxAge
  });

  it("an unknown and an unset market: parameters reverts with two errors, isFresh is false for both", async () => {
    expect(await revertOf(oracle.parameters(SOL), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [SOL],
    });
    const unknown = marketIdOf("DOGE-USDT");
    expect(await revertOf(oracle.parameters(unknown), oracle)).toEqual({
      name: "OracleUnknownMarket",
      args: [unknown],
    });
    for (const id of [SOL, unknown, 0n]) expect(await oracle.isFresh(id, (1n << 64n) - 1n)).toBe(false);
  });

  it("no governance call moves them: setLimits past them, a rotation, a guardian change and a pause emit no update", async () => {
    await submitAt(await prove(T_A, 2400n, 3600n), timely(T_A));
    const before = await oracle.parameters(BTC);
    const calls: [string, () => Promise<TransactionReceipt>][] = [
      [
        "setLimits above them",
        async () =>
          (await (
            await oracle.setLimits(BTC, {
              ...DEFAULT_LIMITS,
              minMaintenanceMarginBps: 3000,
              minInitialMarginBps: 4000,
            })
          ).wait()) as TransactionReceipt,
      ],
      [
        "setPublisherSet",
        async () =>
          (
            await setPublisherSet(oracle, BTC, {
              verifier: plainVerifier,
              modelCommitment: MODEL + 1n,
              publisherSet: SET + 1n,
              quorum: 2,
            })
          ).receipt,
      ],
      [
        "setGuardian",
        async () =>
          (await (await oracle.setGuardian(BTC, await governor.getAddress())).wait()) as TransactionReceipt,
      ],
      ["pauseMarket", async () => (await (await oracle.pauseMarket(BTC)).wait()) as TransactionReceipt],
    ];
    for (const [what, call] of calls) {
      expect(updateEvents(await call()), what).toEqual([]);
      expect(await oracle.parameters(BTC), what).toEqual(before);
    }
    // Outside the bounds now in force, still fresh, and the market is paused: only isPaused tells.
    expect((await oracle.marketConfig(BTC)).limits.minMaintenanceMarginBps).toBe(3000n);
    expect(await oracle.isFresh(BTC, MAX_AGE)).toBe(true);
    expect(await oracle.isPaused(BTC)).toBe(true);
    expect(await consumer.canOpen(10_000n, 3600n)).toBe(true);
  });

  it("an adaptive market: its event's low 72 bits are what parameters reads; setAdaptiveCalibration keeps them", async () => {
    const receipt = await submitAt(await proveAdaptive(T_A, 1200n, 2400n, 99n), timely(T_A), ETH);
    expect(updateEvents(receipt)).toEqual(["AdaptiveParametersUpdated"]);
    const update = oracle.interface.parseLog(receipt.logs[0])!.args.update as bigint;
    const unpacked = [update & 0xffffn, (update >> 16n) & 0xffffn, (update >> 32n) & ((1n << 40n) - 1n)];
    const read = await oracle.parameters(ETH);
    expect(read).toEqual([...unpacked, BigInt(timely(T_A))]);
    expect(unpacked).toEqual([1200n, 2400n, BigInt(T_A)]);
    for (const num of [NUM + 256n, 0n]) {
      expect(updateEvents(await setAdaptiveCalibration(oracle, ETH, num))).toEqual([]);
      expect(await oracle.parameters(ETH)).toEqual(read);
    }
  });
});

describe("a third party's contract compiled against IRiskOracle.sol", () => {
  it("names BTC-USDT as uint256(uint64(bytes8(label))), not uint256(bytes32(label)), which no market has", async () => {
    expect(await reader.btcUsdt()).toBe(BTC);
    const naive = BigInt(encodeBytes32String("BTC-USDT"));
    expect(await revertOf(oracle.parameters(naive), oracle)).toEqual({
      name: "OracleUnknownMarket",
      args: [naive],
    });
  });

  it("reads many markets guarded by isFresh, and one read costs about 8,300 gas (plain) or 10,900 (adaptive)", async () => {
    await submitAt(await prove(T_B, 2400n, 3600n), timely(T_B));
    const [mm, im, fresh] = (await reader.freshMargins([BTC, ETH, SOL, 0n], MAX_AGE)) as bigint[][];
    expect([mm, im, fresh]).toEqual([
      [2400n, 0n, 0n, 0n],
      [3600n, 0n, 0n, 0n],
      [true, false, false, false],
    ]);
    await mineAt(T_C + MAX_AGE + 1);
    expect((await reader.freshMargins([BTC], MAX_AGE))[2]).toEqual([false]);
    // Each eth_call is a new transaction, so the oracle's account and slots are cold: the call (2,600), slots 0
    // and 2 (2,100 each; slot 8 too for an adaptive market), the rest decoding, copying and,
    // for an adaptive market, the ring's arithmetic.
    const plain = (await reader.parametersGas(BTC)) as bigint;
    expect(plain).toBeGreaterThan(8_000n); // 8,282 measured
    expect(plain).toBeLessThan(8_600n);
    await submitAt(await proveAdaptive(T_C + MAX_AGE, 1200n, 2400n, 1n), T_C + MAX_AGE + 60, ETH);
    const adaptive = (await reader.parametersGas(ETH)) as bigint;
    expect(adaptive - plain).toBeGreaterThan(2_100n);
    expect(adaptive).toBeLessThan(11_200n); // 10,854 measured
  });
});

/** `readings`' statuses, numbered as `IRiskOracle.ReadingStatus`. */
const UNKNOWN_MARKET = 0n;
const NO_PARAMETERS = 1n;
const PAUSED = 2n;
const STALE = 3n;
const FRESH = 4n;

/** `readings(ids, maxAge)` as plain [mm, im, dataTimestamp, updatedAt, status] arrays. */
async function readingsOf(ids: bigint[], maxAge: number | bigint): Promise<bigint[][]> {
  const values = (await oracle.readings(ids, maxAge)) as Iterable<bigint>[];
  return values.map((r) => [...r]);
}

describe("IRiskOracle.readings: many markets in one call, each with its status", () => {
  const unknown = marketIdOf("DOGE-USDT");
  const none = (status: bigint) => [0n, 0n, 0n, 0n, status];

  it("unknown, unset, fresh, stale (past maxAge, as isFresh) and paused markets, in the order asked; never reverts", async () => {
    const ids = [BTC, ETH, SOL, unknown, 0n, BTC];
    expect(await readingsOf(ids, MAX_AGE)).toEqual(
      [NO_PARAMETERS, NO_PARAMETERS, NO_PARAMETERS, UNKNOWN_MARKET, UNKNOWN_MARKET, NO_PARAMETERS].map(none),
    );
    expect(await readingsOf([], MAX_AGE)).toEqual([]);
    await submitAt(await prove(T_A, 2400n, 3600n), timely(T_A));
    const btc = [...((await oracle.parameters(BTC)) as Iterable<bigint>)];
    expect(btc).toEqual([2400n, 3600n, BigInt(T_A), BigInt(timely(T_A))]);
    expect(await readingsOf(ids, MAX_AGE)).toEqual([
      [...btc, FRESH],
      none(NO_PARAMETERS),
      none(NO_PARAMETERS),
      none(UNKNOWN_MARKET),
      none(UNKNOWN_MARKET),
      [...btc, FRESH],
    ]);
    // The boundary is isFresh's: fresh at exactly maxAge, stale one second later (values kept).
    await mineAt(T_A + MAX_AGE);
    expect(await oracle.isFresh(BTC, MAX_AGE)).toBe(true);
    expect(await readingsOf([BTC], MAX_AGE)).toEqual([[...btc, FRESH]]);
    await mineAt(T_A + MAX_AGE + 1);
    expect(await oracle.isFresh(BTC, MAX_AGE)).toBe(false);
    expect(await readingsOf([BTC], MAX_AGE)).toEqual([[...btc, STALE]]);
    expect(await readingsOf([BTC], (1n << 64n) - 1n)).toEqual([[...btc, FRESH]]); // no overflow
    // A pause says Paused whatever the age (isFresh does not see it); an unset market stays NoParameters.
    for (const id of [BTC, SOL]) await (await oracle.pauseMarket(id)).wait();
    expect(await oracle.isFresh(BTC, (1n << 64n) - 1n)).toBe(true);
    expect(await readingsOf([BTC, SOL], (1n << 64n) - 1n)).toEqual([[...btc, PAUSED], none(NO_PARAMETERS)]);
    await (await oracle.unpauseMarket(BTC)).wait();
    expect(await readingsOf([BTC], MAX_AGE)).toEqual([[...btc, STALE]]);
  });

  it("an adaptive market reads as parameters does; from a contract a further market costs about 3,700 gas (6,500 adaptive)", async () => {
    await submitAt(await prove(T_A, 2400n, 3600n), timely(T_A));
    await submitAt(await proveAdaptive(T_A, 1200n, 2400n, 5n), timely(T_A) + 1, ETH);
    const eth = [...((await oracle.parameters(ETH)) as Iterable<bigint>)];
    expect(eth).toEqual([1200n, 2400n, BigInt(T_A), BigInt(timely(T_A) + 1)]);
    const ids = [BTC, ETH, SOL, unknown];
    expect(await readingsOf([ETH], MAX_AGE)).toEqual([[...eth, FRESH]]);
    // The third party's contract keeps the fresh margins only.
    expect(await reader.freshReadings(ids, MAX_AGE)).toEqual([2400n, 1200n, 0n, 0n]);
    await mineAt(T_A + MAX_AGE + 1);
    expect(await reader.freshReadings(ids, MAX_AGE)).toEqual([0n, 0n, 0n, 0n]);
    // One call: the cold call once, then a cold slot a market (slot 2; slot 8 too for the adaptive one).
    const gas = async (of: bigint[]) => (await reader.readingsGas(of, MAX_AGE)) as bigint;
    const one = await gas([BTC]);
    const [plain, adaptive, four] = [
      (await gas([BTC, SOL])) - one,
      (await gas([BTC, ETH])) - one,
      await gas(ids),
    ];
    console.log(
      `readings gas: BTC ${one}, a further plain market ${plain}, adaptive ${adaptive}; four ${four}`,
    );
    expect(one).toBeLessThan(9_000n); // 8,498 measured
    expect(plain).toBeLessThan(4_000n); // 3,697 measured: a parameters call costs 8,282
    expect(adaptive).toBeLessThan(6_800n); // 6,471 measured: a parameters call costs about 10,650
    expect(adaptive - plain).toBeGreaterThan(2_100n); // slot 8's cold read
    expect(four).toBeLessThan(one + 2n * plain + adaptive + 200n); // 22,280 measured (memory grows a little)
  });
});
