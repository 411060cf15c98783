/**
 * Batched updates of the risk oracle (`submitBatch`): one proof, one model, n markets, all or nothing.
 *
 * MOCK VERIFIER: the batch circuit and its prover do not exist yet, so these tests drive the contract with a mock
 * batch verifier, written below in Solidity and compiled with solc-js. This is acceptable here only until the real
 * batch verifier exists; real-proof tests will be added then. The mock has the signature snarkjs generates for a
 * batch of n markets (`verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n+3])`) and returns true only for
 * the exact arguments it was told to expect, so the tests also check the oracle's hand-made ABI encoding of the
 * call. Its verification cost (a keccak) is far below a real pairing check, so the gas figures printed here are
 * the oracle's own cost per market, not a real batch's.
 *
 * Markets (all under one model): BTC-USDT < ETH-USDT < SOL-USDT by id. Bars open at T, T + 2 h, ...; an update is
 * submitted one minute after its bar closes. Every test starts from the same chain snapshot: oracle deployed,
 * the three markets registered, batch verifiers for n = 2 and 3 set, no update yet.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AbiCoder, ContractFactory, ZeroAddress, keccak256, type Contract, type Signer } from "ethers";
import { FIELD_MODULUS } from "../../circuits/field";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { compileOracleContracts, compileSolidity, type CompiledContract } from "../../prover/onchain/solc";
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
const XRP = marketIdOf("XRP-USDT"); // never registered; sorts after SOL-USDT
/** Two model commitments (any field elements: the mock does not check them). */
const MODEL = 123_456_789n;
const OTHER_MODEL = 987_654_321n;
const INPUT_COMMITMENT = 555_555n;

const T = utc(2024, 6, 20, 10);
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

/** A mock batch verifier for n markets (see the file comment): test-only, stands in for the snarkjs one. */
function mockSource(n: number): string {
  return `
// Test-only mock of a snarkjs batch verifier for ${n} markets (the real one does not exist yet).
contract MockBatchVerifier${n} {
    bytes32 public expected;
    bool public reverts;

    function set(bytes32 expected_, bool reverts_) external {
        expected = expected_;
        reverts = reverts_;
    }

    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[${n + 3}] calldata pubSignals
    ) external view returns (bool) {
        require(!reverts, "mock reverts");
        return keccak256(abi.encode(pA, pB, pC, pubSignals)) == expected;
    }
}
`;
}

/** One market's entry of a batch. */
interface Entry {
  marketId: bigint;
  mm: bigint;
  im: bigint;
  dataTimestamp: bigint;
}

/** A batch's arguments to `submitBatch`. */
interface Batch {
  a: bigint[];
  b: bigint[][];
  c: bigint[];
  input: bigint[];
  features: bigint[];
}

/** `mm + im * 2^16 + dataTimestamp * 2^32 + marketId * 2^72`, as the batch circuit packs a market. */
const pack = (e: Entry): bigint => e.mm + (e.im << 16n) + (e.dataTimestamp << 32n) + (e.marketId << 72n);

const PROOF = {
  a: [11n, 12n],
  b: [
    [21n, 22n],
    [23n, 24n],
  ],
  c: [31n, 32n],
};

let dir: string;
let oracle: Contract;
let governor: Signer;
let guardian: Signer;
let stranger: Signer;
let domain: bigint;
/** Mock batch verifiers by n. */
const mocks: Record<number, Contract> = {};
let snapshot: string | undefined;
/** Gas of an accepted batch by n: the transaction's total (from the receipt) and that over n. */
const batchGas: Record<number, bigint> = {};

/** A batch of `entries` (given order) with `perMarket` features each; `patch` edits the public signals. */
function batchOf(entries: Entry[], perMarket = 3, patch: (input: bigint[]) => void = () => {}): Batch {
  const input = [...entries.map(pack), MODEL, INPUT_COMMITMENT, domain];
  patch(input);
  const features = entries.flatMap((_, i) =>
    Array.from({ length: perMarket }, (_v, j) => BigInt(1000 * (i + 1) + j)),
  );
  return { ...PROOF, input, features };
}

/** What the mock for `batch` must receive: keccak256 of the ABI encoding of its four arguments. */
function expectedHash(batch: Batch): string {
  const n = batch.input.length - 3;
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["uint256[2]", "uint256[2][2]", "uint256[2]", `uint256[${n + 3}]`],
      [batch.a, batch.b, batch.c, batch.input],
    ),
  );
}

/** Make the mock for n accept exactly `batch`. */
async function accept(batch: Batch): Promise<void> {
  await (await mocks[batch.input.length - 3].set(expectedHash(batch), false)).wait();
}

function send(batch: Batch, from: Contract = oracle) {
  return from.submitBatch(batch.a, batch.b, batch.c, batch.input, batch.features) as Promise<{
    wait(): Promise<{ gasUsed: bigint; logs: readonly { topics: readonly string[]; data: string }[] } | null>;
  }>;
}

/** Have the mock accept `batch`, submit it in a block at `time`, return the receipt. */
async function submitBatchAt(batch: Batch, time: number, from: Contract = oracle) {
  await accept(batch);
  await setNextBlockTime(time);
  const receipt = await (await send(batch, from)).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt;
}

/** Submit `batch` in a block at `time` (mock told to accept it unless `accepting` is false); the decoded error. */
async function batchRevertAt(batch: Batch, time: number, accepting = true) {
  if (accepting && batch.input.length - 3 in mocks) await accept(batch);
  await setNextBlockTime(time);
  return revertOf(send(batch), oracle);
}

const entry = (marketId: bigint, mm: number, im: number, dataTimestamp: number): Entry => ({
  marketId,
  mm: BigInt(mm),
  im: BigInt(im),
  dataTimestamp: BigInt(dataTimestamp),
});

/** The three markets at bar `t`, with margins (mm, 2 mm) for mm = base, base + 10, base + 20. */
const three = (t: number, base = 100): Entry[] => [
  entry(BTC, base, 2 * base, t),
  entry(ETH, base + 10, 2 * (base + 10), t),
  entry(SOL, base + 20, 2 * (base + 20), t),
];

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

async function setLimits(marketId: bigint, patch: Partial<MarketLimits>): Promise<void> {
  await (await oracle.setLimits(marketId, { ...DEFAULT_LIMITS, ...patch })).wait();
}

beforeAll(async () => {
  [governor, guardian, stranger] = await hre.ethers.getSigners();
  dir = mkdtempSync(join(tmpdir(), "zkrisk-batch-mock-"));
  const file = join(dir, "MockBatchVerifiers.sol");
  writeFileSync(
    file,
    `// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\n${[1, 2, 3].map(mockSource).join("")}`,
  );
  const compiled = compileSolidity([file]);
  const deploy = async (c: CompiledContract, args: unknown[] = []) =>
    (await (
      await new ContractFactory(c.abi as never, c.bytecode, governor).deploy(...args)
    ).waitForDeployment()) as Contract;
  for (const n of [1, 2, 3]) mocks[n] = await deploy(compiled[`MockBatchVerifier${n}`]);
  oracle = await deploy(compileOracleContracts().RiskOracle, [await governor.getAddress()]);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  for (const id of [BTC, ETH, SOL]) {
    await (
      await oracle.registerMarket(id, {
        // The single-update verifier is never called here; any contract passes registration.
        verifier: await mocks[1].getAddress(),
        modelCommitment: MODEL,
        guardian: await guardian.getAddress(),
        limits: DEFAULT_LIMITS,
      })
    ).wait();
  }
  for (const n of [1, 2, 3]) {
    await (await oracle.setBatchVerifier(MODEL, n, await mocks[n].getAddress())).wait();
  }
}, 600_000);

beforeEach(async () => {
  if (snapshot !== undefined) await rpc("evm_revert", [snapshot]);
  snapshot = await rpc<string>("evm_snapshot");
});

afterAll(() => {
  const figures = Object.entries(batchGas).map(([n, g]) => `n=${n}: ${g} total, ${g / BigInt(n)} per market`);
  if (figures.length > 0) {
    console.log(
      `submitBatch gas with the MOCK verifier (first update of each market; a real verifier's pairing check ` +
        `costs far more than the mock's keccak): ${figures.join("; ")}`,
    );
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("setBatchVerifier (governance)", () => {
  it("sets, reads and removes a batch verifier, with BatchVerifierSet", async () => {
    const mock = await mocks[2].getAddress();
    const set = await (await oracle.setBatchVerifier(OTHER_MODEL, 2, mock)).wait();
    const events = set.logs.map((l: never) => oracle.interface.parseLog(l));
    expect(events.map((e: { name: string } | null) => e?.name)).toEqual(["BatchVerifierSet"]);
    expect([...events[0].args]).toEqual([OTHER_MODEL, 2n, mock]);
    expect(await oracle.batchVerifier(OTHER_MODEL, 2)).toBe(mock);
    expect(await oracle.batchVerifier(OTHER_MODEL, 3)).toBe(ZeroAddress);

    const removed = await (await oracle.setBatchVerifier(OTHER_MODEL, 2, ZeroAddress)).wait();
    expect([...oracle.interface.parseLog(removed.logs[0])!.args]).toEqual([OTHER_MODEL, 2n, ZeroAddress]);
    expect(await oracle.batchVerifier(OTHER_MODEL, 2)).toBe(ZeroAddress);
  });

  it("only the governor may set one (AccessControlUnauthorizedAccount)", async () => {
    for (const signer of [guardian, stranger]) {
      expect(
        await revertOf(as(signer).setBatchVerifier(MODEL, 2, await mocks[2].getAddress()), oracle),
      ).toEqual({
        name: "AccessControlUnauthorizedAccount",
        args: [await signer.getAddress(), await oracle.GOVERNOR_ROLE()],
      });
    }
  });

  it.each([0n, 33n])("OracleInvalidBatchSize: n = %i", async (n) => {
    expect(await revertOf(oracle.setBatchVerifier(MODEL, n, await mocks[2].getAddress()), oracle)).toEqual({
      name: "OracleInvalidBatchSize",
      args: [n],
    });
  });

  it("OracleInvalidModelCommitment: zero or not a field element", async () => {
    for (const model of [0n, FIELD_MODULUS]) {
      expect(await revertOf(oracle.setBatchVerifier(model, 2, await mocks[2].getAddress()), oracle)).toEqual({
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

describe("submitBatch: accepted batches", () => {
  it("a batch of 2: stored parameters, one ParametersUpdated per market with its feature slice", async () => {
    const entries = [entry(BTC, 120, 180, T), entry(SOL, 300, 450, T)];
    const batch = batchOf(entries, 4);
    const at = timely(T);
    const submitter = await stranger.getAddress(); // permissionless
    const receipt = await submitBatchAt(batch, at, as(stranger));
    batchGas[2] = receipt.gasUsed;

    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => e.name)).toEqual(["ParametersUpdated", "ParametersUpdated"]);
    entries.forEach((e, i) => {
      expect(events[i].args.toObject()).toEqual({
        marketId: e.marketId,
        maintenanceMarginBps: e.mm,
        initialMarginBps: e.im,
        modelCommitment: MODEL,
        inputCommitment: INPUT_COMMITMENT,
        dataTimestamp: e.dataTimestamp,
        submitter,
        features: batch.features.slice(4 * i, 4 * (i + 1)),
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
    const first = batchOf(three(T), 2);
    const receipt = await submitBatchAt(first, timely(T));
    batchGas[3] = receipt.gasUsed;
    const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
    expect(events.map((e) => e.args.marketId)).toEqual([BTC, ETH, SOL]);
    expect(events.map((e) => [...e.args.features])).toEqual([
      [1000n, 1001n],
      [2000n, 2001n],
      [3000n, 3001n],
    ]);
    for (const e of three(T)) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(T), BigInt(timely(T))]);
    }

    // Next bar: BTC up 10 (IM up 20), ETH unchanged, SOL down 20 (IM down 40); limits allow exactly that.
    for (const id of [BTC, ETH, SOL]) await setLimits(id, { maxIncreaseBps: 20, maxDecreaseBps: 40 });
    const t2 = T + BAR_SECONDS;
    const next = [entry(BTC, 110, 220, t2), entry(ETH, 110, 220, t2), entry(SOL, 100, 200, t2)];
    await submitBatchAt(batchOf(next, 2), timely(t2));
    for (const e of next) {
      expect(await parametersOf(e.marketId)).toEqual([e.mm, e.im, BigInt(t2), BigInt(timely(t2))]);
    }
  });

  it("a batch of 1, and features may be empty (0 per market)", async () => {
    const batch = batchOf([entry(ETH, 100, 150, T)], 0);
    const receipt = await submitBatchAt(batch, timely(T));
    const event = oracle.interface.parseLog(receipt.logs[0])!;
    expect([...event.args.features]).toEqual([]);
    expect(await parametersOf(ETH)).toEqual([100n, 150n, BigInt(T), BigInt(timely(T))]);
  });

  it("a market's data timestamp may differ from the others' (each is checked on its own)", async () => {
    const entries = [entry(BTC, 100, 150, T - BAR_SECONDS), entry(ETH, 100, 150, T)];
    await submitBatchAt(batchOf(entries), timely(T));
    expect((await parametersOf(BTC))[2]).toBe(BigInt(T - BAR_SECONDS));
    expect((await parametersOf(ETH))[2]).toBe(BigInt(T));
  });
});

describe("submitBatch: batch-specific reverts", () => {
  it.each([0, 1, 3, 36])("OracleInvalidBatchSignalCount: %i signals", async (count) => {
    const batch = { ...PROOF, input: Array.from({ length: count }, () => 1n), features: [] };
    expect(await batchRevertAt(batch, timely(T), false)).toEqual({
      name: "OracleInvalidBatchSignalCount",
      args: [BigInt(count)],
    });
  });

  it.each([
    ["a packed market", 1],
    ["the model commitment", 3],
    ["the input commitment", 4],
    ["the domain", 5],
  ])("OracleSignalNotInField: %s (index %i) plus p", async (_name, index) => {
    const batch = batchOf(three(T), 1, (input) => {
      input[index] += FIELD_MODULUS;
    });
    expect(await batchRevertAt(batch, timely(T), false)).toEqual({
      name: "OracleSignalNotInField",
      args: [BigInt(index), batch.input[index]],
    });
  });

  it("OracleDomainMismatch: a batch for another oracle", async () => {
    const other = oracleDomain(1n, await oracle.getAddress());
    const batch = batchOf(three(T), 1, (input) => {
      input[5] = other;
    });
    expect(await batchRevertAt(batch, timely(T))).toEqual({
      name: "OracleDomainMismatch",
      args: [domain, other],
    });
  });

  it("OracleNoBatchVerifier: another model, and a removed verifier", async () => {
    const otherModel = batchOf(three(T), 1, (input) => {
      input[3] = OTHER_MODEL;
    });
    expect(await batchRevertAt(otherModel, timely(T), false)).toEqual({
      name: "OracleNoBatchVerifier",
      args: [OTHER_MODEL, 3n],
    });
    await (await oracle.setBatchVerifier(MODEL, 3, ZeroAddress)).wait();
    expect(await batchRevertAt(batchOf(three(T)), timely(T) + 60)).toEqual({
      name: "OracleNoBatchVerifier",
      args: [MODEL, 3n],
    });
  });

  it("OracleBatchFeatureCount: features not a multiple of n", async () => {
    const batch = { ...batchOf(three(T), 2) };
    batch.features = batch.features.slice(0, 5);
    expect(await batchRevertAt(batch, timely(T))).toEqual({
      name: "OracleBatchFeatureCount",
      args: [5n, 3n],
    });
  });

  it("OracleBatchNotSorted: ids out of order, and a market twice", async () => {
    const [btc, eth, sol] = three(T);
    expect(await batchRevertAt(batchOf([btc, sol, eth]), timely(T))).toEqual({
      name: "OracleBatchNotSorted",
      args: [2n, SOL, ETH],
    });
    expect(await batchRevertAt(batchOf([btc, eth, { ...eth, mm: 150n }]), timely(T) + 60)).toEqual({
      name: "OracleBatchNotSorted",
      args: [2n, ETH, ETH],
    });
    await expectNoneUpdated();
  });

  it("OracleUnknownMarket: an unregistered market in the batch", async () => {
    const batch = batchOf([entry(BTC, 100, 150, T), entry(XRP, 100, 150, T)]);
    expect(await batchRevertAt(batch, timely(T))).toEqual({ name: "OracleUnknownMarket", args: [XRP] });
  });

  it("OracleModelCommitmentMismatch: a market whose registered model is another", async () => {
    await (await oracle.setModel(ETH, await mocks[1].getAddress(), OTHER_MODEL)).wait();
    expect(await batchRevertAt(batchOf(three(T)), timely(T))).toEqual({
      name: "OracleModelCommitmentMismatch",
      args: [ETH, OTHER_MODEL, MODEL],
    });
    await expectNoneUpdated();
  });

  it("OracleInvalidBatchProof: the verifier returns false", async () => {
    const batch = batchOf(three(T));
    await accept(batch);
    const tampered = { ...batch, a: [11n, 13n] };
    expect(await batchRevertAt(tampered, timely(T), false)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [MODEL, 3n],
    });
    await expectNoneUpdated();
  });

  it("OracleInvalidBatchProof: the verifier reverts, or has another batch size (no such function)", async () => {
    const batch = batchOf(three(T));
    await (await mocks[3].set(expectedHash(batch), true)).wait();
    expect(await batchRevertAt(batch, timely(T), false)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [MODEL, 3n],
    });
    // The n = 2 mock registered for n = 3: the oracle calls a selector it does not have.
    await (await oracle.setBatchVerifier(MODEL, 3, await mocks[2].getAddress())).wait();
    await (await mocks[2].set(expectedHash(batch), false)).wait();
    expect(await batchRevertAt(batch, timely(T) + 60, false)).toEqual({
      name: "OracleInvalidBatchProof",
      args: [MODEL, 3n],
    });
    await expectNoneUpdated();
  });
});

describe("submitBatch: all or nothing (market 2 of 3 fails its guards)", () => {
  it("OracleMarketPaused: nothing is written; the same batch passes once unpaused", async () => {
    await (await as(guardian).pauseMarket(ETH)).wait();
    const batch = batchOf(three(T));
    expect(await batchRevertAt(batch, timely(T))).toEqual({ name: "OracleMarketPaused", args: [ETH] });
    await expectNoneUpdated();
    await (await as(guardian).unpauseMarket(ETH)).wait();
    await submitBatchAt(batch, timely(T) + 60);
    expect((await parametersOf(ETH))[0]).toBe(110n);
  });

  it("OracleStaleData", async () => {
    const entries = three(T);
    entries[1] = { ...entries[1], dataTimestamp: BigInt(T - DEFAULT_LIMITS.maxDataAge) };
    const at = timely(T);
    expect(await batchRevertAt(batchOf(entries), at)).toEqual({
      name: "OracleStaleData",
      args: [BigInt(T - DEFAULT_LIMITS.maxDataAge), BigInt(at), BigInt(DEFAULT_LIMITS.maxDataAge)],
    });
    await expectNoneUpdated();
  });

  it("OracleFutureData", async () => {
    const entries = three(T);
    const at = timely(T);
    entries[1] = { ...entries[1], dataTimestamp: BigInt(at + 1) };
    expect(await batchRevertAt(batchOf(entries), at)).toEqual({
      name: "OracleFutureData",
      args: [BigInt(at + 1), BigInt(at)],
    });
    await expectNoneUpdated();
  });

  it("OracleMarginOutOfBounds and OracleInitialBelowMaintenance", async () => {
    await setLimits(ETH, { maxMaintenanceMarginBps: 109 });
    expect(await batchRevertAt(batchOf(three(T)), timely(T))).toEqual({
      name: "OracleMarginOutOfBounds",
      args: [MAINTENANCE, 110n, BigInt(DEFAULT_LIMITS.minMaintenanceMarginBps), 109n],
    });
    await setLimits(ETH, {});
    const entries = three(T);
    entries[1] = { ...entries[1], mm: 300n, im: 200n };
    expect(await batchRevertAt(batchOf(entries), timely(T) + 60)).toEqual({
      name: "OracleInitialBelowMaintenance",
      args: [200n, 300n],
    });
    await expectNoneUpdated();
  });

  describe("after an accepted batch at bar T", () => {
    const t2 = T + BAR_SECONDS;
    beforeEach(async () => {
      await submitBatchAt(batchOf(three(T)), timely(T));
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
      expect(await batchRevertAt(batchOf(entries), timely(t2))).toEqual({
        name: "OracleMarginIncreaseTooLarge",
        args: [MAINTENANCE, 110n, 131n, 20n],
      });
      await expectFirstBatchKept();
    });

    it("OracleMarginDecreaseTooLarge", async () => {
      await setLimits(ETH, { maxDecreaseBps: 10 });
      const entries = three(t2);
      entries[1] = { ...entries[1], mm: 105n, im: 209n }; // MM -5, IM -11 > 10
      expect(await batchRevertAt(batchOf(entries), timely(t2))).toEqual({
        name: "OracleMarginDecreaseTooLarge",
        args: [INITIAL, 220n, 209n, 10n],
      });
      await expectFirstBatchKept();
    });

    it("OracleNotNewer: the same batch again (a replay), and market 2 not newer", async () => {
      expect(await batchRevertAt(batchOf(three(T)), timely(t2))).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
      const entries = three(t2);
      entries[1] = { ...entries[1], dataTimestamp: BigInt(T) };
      expect(await batchRevertAt(batchOf(entries), timely(t2) + 60)).toEqual({
        name: "OracleNotNewer",
        args: [ETH, BigInt(T), BigInt(T)],
      });
      await expectFirstBatchKept();
    });

    it("OracleUpdateTooSoon", async () => {
      await setLimits(ETH, { minUpdateInterval: 3 * HOUR });
      expect(await batchRevertAt(batchOf(three(t2)), timely(t2))).toEqual({
        name: "OracleUpdateTooSoon",
        args: [ETH, BigInt(timely(T)), BigInt(timely(T) + 3 * HOUR)],
      });
      await expectFirstBatchKept();
    });
  });
});
