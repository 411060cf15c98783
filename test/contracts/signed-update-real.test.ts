/**
 * The oracle's signed path end to end with the REAL signed-update circuit (circuits/generate-update-circuit.ts,
 * quorum 1, constant weights, the shipped model): compiled and set up with the development setup
 * (setup/signed-update-artifacts.ts, cached), zkrisk's two-signal verifier generated from its verification key
 * (onchain/signed-update-verifier.ts) and a RiskOracle deployed on Hardhat's in-process network, BTC-USDT
 * and ETH-USDT registered with publisher set {A}; real BTC windows signed by publisher keys from fixed seeds,
 * proved with SignedUpdateProver, submitted with the client's submitSignedUpdate. First, zkrisk's verifier against
 * snarkjs's (its generated Solidity verifier, its JS verifier and its CLI) on real and edited proofs. Then issue
 * 10's chain-level attacks, each with a real proof that the verifier accepts for its own statement: an
 * unregistered publisher's set, a proof for the set before a rotation, a replay, another market. The guard
 * boundaries (every revert of submitSignedUpdate) are tested cheaply with a stand-in in signed-update.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract, Signer, TransactionReceipt } from "ethers";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { FIELD_MODULUS } from "../../crypto/field";
import { digestSignal, UPDATE_SIGNALS } from "../../circuits/public-signals";
import { statementKey } from "../../circuits/statement";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { oracleDomain } from "../../prover/domain";
import {
  compileArtifactsVerifier,
  OracleError,
  registerMarket,
  setPublisherSet,
  signedUpdatesOf,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { compileVerifier } from "../../onchain/solc";
import { SignedUpdateProver, type ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { snarkjs } from "../../setup/snarkjs";
import { signedUpdateInput } from "../../prover/update-input";
import { publicKeyOf } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, publisherSetCommitment, type PublisherSet } from "../../publisher/publisher-set";
import { signWindow } from "../../publisher/signed-window";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { measureSignedUpdateGas } from "../../bench/signed-update-gas";
import {
  DATA,
  DEFAULT_LIMITS,
  MARKET,
  MARKET_ID,
  MODEL,
  hre,
  revertOf,
  rpc,
  setNextBlockTime,
  fromSnapshotEachTest,
} from "./fixture";

const ETH_USDT = marketIdOf("ETH-USDT");
const series = loadCandles(DATA);
const last = series.candles.length - 1;
/** Bars A and B: the windows ending 3 and 2 bars before the last bar of the shipped data (open times, s). */
const BAR_A = last - 3;
const BAR_B = last - 2;
const openOf = (index: number) => series.candles[index].time / 1000;
/** Block time of a timely submission of the bar at `index`: one minute after its close. */
const timely = (index: number) => openOf(index) + series.intervalMs / 1000 + 60;

let prover: SignedUpdateProver;
let oracle: Contract;
let governor: Signer;
let domain: bigint;
let MODEL_COMMITMENT: bigint;
let verifierAddress: string;
/** zkrisk's verifier (the one the oracle uses) and snarkjs's generated verifier of the same key. */
let verifier: Contract;
let snarkjsVerifier: Contract;
let artifactsDir: string;
/** Registered publisher A, unregistered B, and C (the set after a rotation); keys from fixed seeds. */
let a: PublisherKey;
let b: PublisherKey;
let c: PublisherKey;
let setA: PublisherSet;
let setB: PublisherSet;
let setC: PublisherSet;
/** Real proofs: bar A signed by A (set {A}) and by B (set {B}); bar B signed by A and by C. */
let proofAbyA: ProvedSignedUpdate;
let proofAbyB: ProvedSignedUpdate;
let proofBbyA: ProvedSignedUpdate;
let proofBbyC: ProvedSignedUpdate;
/** A publisher key from a fixed seed byte (tests only). */
async function publisher(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

/** A real proof of the BTC window ending at bar `index`, signed by `key`, for publisher set `set`. */
async function prove(index: number, key: PublisherKey, set: PublisherSet): Promise<ProvedSignedUpdate> {
  const window = buildWindow(series, MARKET_ID, index, WINDOW_BARS);
  return prover.prove(
    { windows: [await signWindow(key, MARKET, window)], publishers: set, domain },
    { market: MARKET },
  );
}

/** The publisher set config of `set` (quorum 1) with this circuit's verifier and the shipped model. */
async function publishersOf(set: PublisherSet) {
  return {
    verifier: verifierAddress,
    modelCommitment: MODEL_COMMITMENT,
    publisherSet: await publisherSetCommitment(set),
    quorum: set.quorum,
  };
}

/** Rotate `marketId` on the oracle to `set` (quorum 1). */
async function register(marketId: bigint, set: PublisherSet) {
  return setPublisherSet(oracle, marketId, await publishersOf(set));
}

/** The statement key of BTC-USDT (or `marketId`) with `set` on this oracle. */
async function keyOf(set: PublisherSet, marketId = MARKET_ID): Promise<bigint> {
  return statementKey({
    marketId,
    modelCommitment: MODEL_COMMITMENT,
    publisherSet: await publisherSetCommitment(set),
    domain,
  });
}

/** Send `p` for `marketId` in a block at `time` (no pre-flight call); the decoded custom error. */
async function revertAt(time: number, p: ProvedSignedUpdate, marketId = MARKET_ID) {
  await setNextBlockTime(time);
  const c = p.calldata;
  return revertOf(oracle.submitSignedUpdate(marketId, c.a, c.b, c.c, c.input[0]), oracle);
}

/** Submit `p` through the client in a block at `time` (an empty block first for its pre-flight call). */
async function submitAt(
  p: ProvedSignedUpdate,
  time: number,
  marketId = MARKET_ID,
): Promise<TransactionReceipt> {
  await rpc("evm_mine", [time - 1]);
  await setNextBlockTime(time);
  return submitSignedUpdate(oracle, marketId, p.calldata);
}

const statementOf = (p: ProvedSignedUpdate) => BigInt(p.publicSignals[UPDATE_SIGNALS.indexOf("statement")]);

/**
 * Whether `p`'s proof verifies for public signals `signals` ([update, statement], decimal) with zkrisk's verifier
 * (through the statement base of `signals[1]`), snarkjs's Solidity verifier and snarkjs's JS verifier.
 */
async function accepts(
  signals: readonly string[],
  p: ProvedSignedUpdate,
): Promise<[boolean, boolean, boolean]> {
  const c = p.calldata;
  const key = BigInt(signals[1]);
  const [x, y] = (await verifier.statementBase(key)) as [bigint, bigint];
  const ours = (await verifier.verifyProof(c.a, c.b, c.c, signals[0], x, y)) as boolean;
  const theirs = (await snarkjsVerifier.verifyProof(c.a, c.b, c.c, [...signals])) as boolean;
  const js = await snarkjs.groth16.verify(prover.vkey, [...signals], p.proof);
  return [ours, theirs, js];
}

beforeAll(async () => {
  const model = MODEL;
  const artifacts = await signedUpdateArtifacts(model, "constant", 1);
  prover = SignedUpdateProver.open(artifacts.dir, { mode: "constant", quorum: 1 }, { modelPath: model });
  MODEL_COMMITMENT = await commitModel(loadQuantizedModel(model));
  [governor] = await hre.ethers.getSigners();
  artifactsDir = artifacts.dir;
  const deploy = async (compiled: { abi: unknown[]; bytecode: string }) => {
    const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
    return (await (await factory.deploy()).waitForDeployment()) as unknown as Contract;
  };
  verifier = await deploy(compileArtifactsVerifier(artifacts.dir));
  snarkjsVerifier = await deploy(compileVerifier(join(artifacts.dir, "Groth16Verifier.sol")));
  verifierAddress = await verifier.getAddress();
  oracle = (await hre.ethers.deployContract("RiskOracle", [
    await governor.getAddress(),
  ])) as unknown as Contract;
  await oracle.waitForDeployment();
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  [a, b, c] = await Promise.all([publisher(1), publisher(2), publisher(3)]);
  [setA, setB, setC] = await Promise.all([a, b, c].map((k) => makePublisherSet([k.publicKey], 1)));
  for (const id of [MARKET_ID, ETH_USDT]) {
    await registerMarket(oracle, id, {
      publishers: await publishersOf(setA),
      guardian: await governor.getAddress(),
      limits: DEFAULT_LIMITS,
    });
  }
  // One proof at a time: the witness calculator and the curve are shared.
  proofAbyA = await prove(BAR_A, a, setA);
  proofAbyB = await prove(BAR_A, b, setB);
  proofBbyA = await prove(BAR_B, a, setA);
  proofBbyC = await prove(BAR_B, c, setC);
}, 1_800_000);

fromSnapshotEachTest();

afterAll(async () => {
  await prover?.close();
});

describe("submitSignedUpdate with the real signed-update circuit (k = 1, constant weights)", () => {
  it("the proof states the key the client registered, and the verifier accepts it", async () => {
    expect(statementOf(proofAbyA)).toBe(await keyOf(setA));
    expect(proofAbyA.parameters.modelCommitment).toBe(MODEL_COMMITMENT.toString());
    expect(await accepts(proofAbyA.calldata.input, proofAbyA)).toEqual([true, true, true]);
  });

  it("zkrisk's verifier agrees with snarkjs's Solidity and JS verifiers on real and edited proofs", async () => {
    const honest = [proofAbyA, proofAbyB, proofBbyA, proofBbyC];
    for (const p of honest) expect(await accepts(p.calldata.input, p)).toEqual([true, true, true]);
    const [update, statement] = proofAbyA.calldata.input.map(BigInt);
    const edits: [string, bigint[]][] = [
      ["MM + 1", [update + 1n, statement]],
      ["one digest bit flipped", [update ^ (1n << 100n), statement]],
      ["the timestamp one bar later", [update + (7200n << 32n), statement]],
      ["another publisher set's statement", [update, statementOf(proofAbyB)]],
      ["the update plus r (the same scalar mod r)", [update + FIELD_MODULUS, statement]],
      ["another bar's update", [BigInt(proofBbyA.calldata.input[0]), statement]],
    ];
    for (const [name, signals] of edits) {
      expect(await accepts(signals.map(String), proofAbyA), name).toEqual([false, false, false]);
    }
    // Another proof's C with this proof's A and B.
    const mixed = { ...proofAbyA, calldata: { ...proofAbyA.calldata, c: proofBbyA.calldata.c } };
    const mixedProof = { ...proofAbyA.proof, pi_c: proofBbyA.proof.pi_c };
    expect(await accepts(proofAbyA.calldata.input, { ...mixed, proof: mixedProof })).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("the snarkjs CLI verifies the proof with its two public signals [update, statement]", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-snarkjs-cli-"));
    try {
      const cli = (signals: readonly string[]) => {
        writeFileSync(join(dir, "public.json"), JSON.stringify(signals));
        writeFileSync(join(dir, "proof.json"), JSON.stringify(proofAbyA.proof));
        return spawnSync(
          process.execPath,
          [
            // snarkjs's CLI, as `npx snarkjs` runs it (its package exports do not list the file).
            join(__dirname, "../../node_modules/snarkjs/build/cli.cjs"),
            "groth16",
            "verify",
            join(artifactsDir, "verification_key.json"),
            join(dir, "public.json"),
            join(dir, "proof.json"),
          ],
          { encoding: "utf8" },
        );
      };
      expect(proofAbyA.publicSignals).toHaveLength(2);
      const ok = cli(proofAbyA.publicSignals);
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/OK/);
      const edited = cli([
        (BigInt(proofAbyA.publicSignals[0]) ^ (1n << 100n)).toString(),
        proofAbyA.publicSignals[1],
      ]);
      expect(edited.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stores the engine's MM and IM of a signed BTC window, and the next bar's after it", async () => {
    for (const [index, p] of [
      [BAR_A, proofAbyA],
      [BAR_B, proofBbyA],
    ] as const) {
      const window = buildWindow(series, MARKET_ID, index, WINDOW_BARS);
      const built = await signedUpdateInput(prover.model, "constant", {
        windows: [await signWindow(a, MARKET, window)],
        publishers: setA,
        domain,
      });
      const mm = Number(built.trace.maintenanceMarginBps);
      const im = Number(built.trace.initialMarginBps);
      expect(p.parameters).toMatchObject({ maintenanceMarginBps: mm, initialMarginBps: im });
      const receipt = await submitAt(p, timely(index));
      expect(signedUpdatesOf(oracle, receipt)[0]).toMatchObject({
        marketId: MARKET_ID,
        maintenanceMarginBps: mm,
        initialMarginBps: im,
        dataTimestamp: BigInt(openOf(index)),
        windowDigest: digestSignal(BigInt(p.parameters.windowDigest)),
      });
      expect([...(await oracle.parameters(MARKET_ID))]).toEqual([
        BigInt(mm),
        BigInt(im),
        BigInt(openOf(index)),
        BigInt(timely(index)),
      ]);
    }
  });

  it("refuses a proof for a publisher the market did not register: OracleInvalidProof", async () => {
    expect(await accepts(proofAbyB.calldata.input, proofAbyB)).toEqual([true, true, true]);
    expect(await revertAt(timely(BAR_A), proofAbyB)).toEqual({
      name: "OracleInvalidProof",
      args: [MARKET_ID],
    });
    // Through the client too (which names the mismatch before sending), and nothing is stored.
    await expect(submitAt(proofAbyB, timely(BAR_A) + 2)).rejects.toThrow(OracleError);
    await expect(submitAt(proofAbyB, timely(BAR_A) + 4)).rejects.toMatchObject({
      reason: "StatementMismatch",
    });
    expect(await revertOf(oracle.parameters(MARKET_ID), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [MARKET_ID],
    });
  });

  it("after a rotation to {C}, refuses a proof made for the old set {A} and accepts C's", async () => {
    await submitAt(proofAbyA, timely(BAR_A));
    await register(MARKET_ID, setC);
    expect(await revertAt(timely(BAR_B), proofBbyA)).toEqual({
      name: "OracleInvalidProof",
      args: [MARKET_ID],
    });
    const receipt = await submitAt(proofBbyC, timely(BAR_B) + 2);
    expect(signedUpdatesOf(oracle, receipt)[0]?.dataTimestamp).toBe(BigInt(openOf(BAR_B)));
  });

  it("refuses a replayed proof: OracleNotNewer", async () => {
    await submitAt(proofAbyA, timely(BAR_A));
    for (const time of [timely(BAR_A) + 1, timely(BAR_B)]) {
      expect(await revertAt(time, proofAbyA)).toEqual({
        name: "OracleNotNewer",
        args: [MARKET_ID, BigInt(openOf(BAR_A)), BigInt(openOf(BAR_A))],
      });
    }
  });

  it("refuses BTC's proof on another market with the same model and set: OracleInvalidProof", async () => {
    expect(await revertAt(timely(BAR_A), proofAbyA, ETH_USDT)).toEqual({
      name: "OracleInvalidProof",
      args: [ETH_USDT],
    });
    expect(await revertOf(oracle.parameters(ETH_USDT), oracle)).toEqual({
      name: "OracleNoParameters",
      args: [ETH_USDT],
    });
  });
});

describe("gas with the real circuit's verifier (benchmark figures: npm run bench)", () => {
  it("splits each update into the verifier call and the rest", async () => {
    const gas = await measureSignedUpdateGas({ model: MODEL, data: DATA });
    for (const row of [gas.first, gas.later]) {
      expect(row.verifier + row.rest).toBe(row.total);
      // The pairing precompile alone costs 45,000 + 4 * 34,000, and the one scalar multiplication 6,000.
      expect(row.verifier).toBeGreaterThan(181_000 + 6_000);
      expect(row.pairing).toBe(181_000);
      expect(row.rest).toBeGreaterThan(21_000 + row.calldata);
      // Selector, market, the proof's eight words, the packed update.
      expect(row.calldataBytes).toBe(4 + 32 * (1 + 8 + 1));
    }
    expect(gas.publicSignals).toBe(2);
    console.log(
      `submitSignedUpdate gas (real circuit): first ${gas.first.total} (verifier ${gas.first.verifier}, rest ` +
        `${gas.first.rest}), later ${gas.later.total} (verifier ${gas.later.verifier}, rest ${gas.later.rest})`,
    );
  }, 900_000);
});
