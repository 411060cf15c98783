/**
 * A chain split: the oracle deployed on one chain (a `hardhat node` with chain id 1337, the original chain) and
 * the same state on a fork of it with another chain id (Hardhat's in-process network forked from that node at its
 * head: chain id 31337, the oracle's code and storage as they were). A statement key registered before the split
 * hashes the original chain's domain, so the proofs it verifies are the original chain's; on the fork the oracle
 * refuses single-market updates of such a market (`OracleStatementOfAnotherChain`) until governance registers the
 * key there again (`setPublisherSet`), after which the fork's own proofs are accepted and the original chain's are
 * not. The original chain goes on as before. An adaptive market (ETH-USDT, the adaptive stand-in's verifier) is
 * refused and taken back the same way. Proofs are of the stand-in circuit (test/helpers/signed-update-stand-in.ts),
 * whose statement key is the real circuit's. (A batch's domain is read at each batch, `RiskOracle._batchBase`, so
 * batches need no re-registration: signed-batch.test.ts refuses another domain's batch.) `zkrisk audit` on the fork
 * checks each update with the domain of the chain its transaction was signed for, so the updates from before the
 * split pass there as they do on the original chain.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contract, ContractFactory, JsonRpcProvider, Wallet, type Signer } from "ethers";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import {
  packAdaptiveUpdate,
  statementKey,
  type AdaptiveUpdateValues,
  type StatementParts,
} from "../../circuits/statement";
import { marketIdOf } from "../../candles/market-id";
import {
  compileArtifactsVerifier,
  OracleError,
  readAdaptivePrior,
  readRegisteredPublisherSet,
  registerMarket,
  setAdaptiveCalibration,
  setPublisherSet,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { oracleDomain } from "../../prover/domain";
import { auditOracle } from "../../audit/audit";
import { formatAudit } from "../../cli/commands/audit";
import { digestSignal } from "../../circuits/public-signals";
import { releaseCurves } from "../../setup";
import {
  adaptiveStandInArtifacts,
  proveStandIn,
  standInArtifacts,
  type StandInProof,
} from "../helpers/signed-update-stand-in";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { BAR_SECONDS, DEFAULT_LIMITS, MARKET_ID, hre, revertOf, rpc, utc } from "./fixture";

/** An adaptive market beside BTC-USDT (plain), with the adaptive stand-in's verifier, and its initial num. */
const ETH_USDT = marketIdOf("ETH-USDT");
const NUM = 49021n << 8n;
const ORIGINAL_CHAIN = 1337n;
const FORK_CHAIN = 31337n;
const T_A = utc(2024, 6, 20, 10);
const T_B = T_A + BAR_SECONDS;
const T_C = T_B + BAR_SECONDS;
/** Block time of a timely submission of the bar opening at `t`: one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

let dir: string;
let adaptiveDir: string;
let node: HardhatNode;
/** The original chain: its provider, governor and the oracle there. */
let original: JsonRpcProvider;
let originalOracle: Contract;
/** The fork: the same oracle address on the in-process network. */
let forkOracle: Contract;
let forkGovernor: Signer;
let verifierAddress: string;
let adaptiveVerifierAddress: string;
let MODEL: bigint;
let SET: bigint;

/** A market's statement (BTC-USDT's by default) with MODEL and SET for the domain of `chainId` and the oracle. */
const partsOn = (chainId: bigint, marketId = MARKET_ID): StatementParts => ({
  marketId,
  modelCommitment: MODEL,
  publisherSet: SET,
  domain: oracleDomain(chainId, String(originalOracle.target)),
});

/** A stand-in proof of (mm, im) on the bar opening at `t` for the domain of `chainId`. */
async function prove(t: number, mm: number, im: number, chainId: bigint): Promise<StandInProof> {
  return proveStandIn(dir, {
    mm: BigInt(mm),
    im: BigInt(im),
    dataTimestamp: BigInt(t),
    digest: digestSignal(await poseidonSponge([BigInt(t), 7n])),
    statement: partsOn(chainId),
  });
}

/** The stand-in proof of ETH-USDT's adaptive update on bar `t` at margins (mm, 2 mm) from `prior` (no outcome). */
async function proveAdaptive(
  t: number,
  mm: bigint,
  prior: { num: bigint; outcomes: bigint },
  chainId: bigint,
): Promise<StandInProof> {
  const u: AdaptiveUpdateValues = {
    mm,
    im: 2n * mm,
    dataTimestamp: BigInt(t),
    before: prior,
    marginS: 0n,
    lag: 0n,
    after: prior,
    digest: BigInt(t) * 7n,
  };
  return proveStandIn(adaptiveDir, {
    mm: u.mm,
    im: u.im,
    dataTimestamp: u.dataTimestamp,
    digest: packAdaptiveUpdate(u) >> 72n,
    statement: partsOn(chainId, ETH_USDT),
  });
}

/** Send `p` to `oracle` in a block at `time` of the chain `send` reaches. */
async function submitAt(
  oracle: Contract,
  send: (method: string, params: unknown[]) => Promise<unknown>,
  p: StandInProof,
  time: number,
  marketId = MARKET_ID,
): Promise<unknown> {
  await send("evm_setNextBlockTimestamp", [time]);
  const c = p.calldata;
  const tx = (await oracle.submitSignedUpdate(marketId, c.a, c.b, c.c, c.input[0])) as {
    wait(): Promise<unknown>;
  };
  return tx.wait();
}

/** The custom error with which the fork's oracle refuses `p` for `marketId`. */
function refusedOnFork(p: StandInProof, marketId = MARKET_ID) {
  const c = p.calldata;
  return revertOf(forkOracle.submitSignedUpdate(marketId, c.a, c.b, c.c, c.input[0]), forkOracle);
}

const onOriginal = (method: string, params: unknown[]) => original.send(method, params);
const onFork = (method: string, params: unknown[]) => rpc(method, params);
const marginsOf = async (oracle: Contract, marketId = MARKET_ID) =>
  [...(await oracle.parameters(marketId))].slice(0, 3);

beforeAll(async () => {
  [dir, adaptiveDir] = [await standInArtifacts(), await adaptiveStandInArtifacts()];
  MODEL = await poseidonSponge([1n, 2n, 3n]);
  SET = await poseidonSponge([4n, 5n, 6n]);
  // The original chain: verifier, oracle, BTC-USDT registered (its key from the client: 1337's domain), T_A accepted.
  node = await startHardhatNode(Number(ORIGINAL_CHAIN));
  original = new JsonRpcProvider(node.rpc, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const governor = new Wallet(DEV_KEYS[0], original);
  const deployVerifier = async (artifacts: string) => {
    const compiled = compileArtifactsVerifier(artifacts);
    const factory = new ContractFactory(compiled.abi as never, compiled.bytecode, governor);
    return (await (await factory.deploy()).waitForDeployment()).getAddress();
  };
  verifierAddress = await deployVerifier(dir);
  adaptiveVerifierAddress = await deployVerifier(adaptiveDir);
  const artifact = await hre.artifacts.readArtifact("RiskOracle");
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, governor);
  originalOracle = (await (
    await factory.deploy(governor.address)
  ).waitForDeployment()) as unknown as Contract;
  await registerMarket(originalOracle, MARKET_ID, {
    publishers: { verifier: verifierAddress, modelCommitment: MODEL, publisherSet: SET, quorum: 2 },
    guardian: governor.address,
    limits: DEFAULT_LIMITS,
  });
  await registerMarket(originalOracle, ETH_USDT, {
    publishers: { verifier: adaptiveVerifierAddress, modelCommitment: MODEL, publisherSet: SET, quorum: 2 },
    guardian: governor.address,
    limits: DEFAULT_LIMITS,
  });
  await setAdaptiveCalibration(originalOracle, ETH_USDT, NUM);
  await submitAt(originalOracle, onOriginal, await prove(T_A, 2400, 3600, ORIGINAL_CHAIN), timely(T_A));
  const initial = { num: NUM, outcomes: 0n };
  const eth = await proveAdaptive(T_A, 1000n, initial, ORIGINAL_CHAIN);
  await submitAt(originalOracle, onOriginal, eth, timely(T_A) + 1, ETH_USDT);
  // The split: the in-process network forks the original chain at its head, under chain id 31337.
  await rpc("hardhat_reset", [{ forking: { jsonRpcUrl: node.rpc } }]);
  // A first block of the fork's own: calls then run on it (Hardhat runs none at the fork's block of chain 1337,
  // whose hardfork history it does not know).
  await rpc("evm_mine", [timely(T_A) + 2]);
  [forkGovernor] = await hre.ethers.getSigners();
  expect(await forkGovernor!.getAddress()).toBe(governor.address);
  forkOracle = new Contract(String(originalOracle.target), artifact.abi, forkGovernor);
}, 600_000);

afterAll(async () => {
  await rpc("hardhat_reset", []).catch(() => undefined);
  node?.stop();
  await releaseCurves();
});

describe("a chain split", () => {
  it("the fork has the oracle's state and another domain; the registered key is still the original chain's", async () => {
    expect((await hre.ethers.provider.getNetwork()).chainId).toBe(FORK_CHAIN);
    expect((await original.getNetwork()).chainId).toBe(ORIGINAL_CHAIN);
    expect(await marginsOf(forkOracle)).toEqual([2400n, 3600n, BigInt(T_A)]);
    expect(await forkOracle.domain()).toBe(partsOn(FORK_CHAIN).domain);
    expect(await originalOracle.domain()).toBe(partsOn(ORIGINAL_CHAIN).domain);
    expect(partsOn(FORK_CHAIN).domain).not.toBe(partsOn(ORIGINAL_CHAIN).domain);
    const registered = await readRegisteredPublisherSet(forkOracle, MARKET_ID);
    expect(registered).toEqual(await readRegisteredPublisherSet(originalOracle, MARKET_ID));
  });

  it("on the fork, the original chain's proof is refused before its proof check, naming both chains", async () => {
    const originals = await prove(T_B, 2500, 3750, ORIGINAL_CHAIN);
    await rpc("evm_setNextBlockTimestamp", [timely(T_B)]);
    expect(await refusedOnFork(originals)).toEqual({
      name: "OracleStatementOfAnotherChain",
      args: [MARKET_ID, ORIGINAL_CHAIN, FORK_CHAIN],
    });
    await rpc("evm_mine", [timely(T_B)]);
    // Through the client: the proof's key is the registered one, so the oracle's reason is the chain's.
    await expect(submitSignedUpdate(forkOracle, MARKET_ID, originals.calldata)).rejects.toThrow(OracleError);
    await expect(submitSignedUpdate(forkOracle, MARKET_ID, originals.calldata)).rejects.toMatchObject({
      reason: "OracleStatementOfAnotherChain",
    });
    // The fork's own proof is refused too while the key is the original chain's (its statement is not the key's).
    const forks = await prove(T_B, 2500, 3750, FORK_CHAIN);
    await expect(submitSignedUpdate(forkOracle, MARKET_ID, forks.calldata)).rejects.toMatchObject({
      reason: "StatementMismatch",
    });
    expect(await marginsOf(forkOracle)).toEqual([2400n, 3600n, BigInt(T_A)]);
    // On the original chain, its deployment chain, the same proof of T_B is accepted.
    await submitAt(originalOracle, onOriginal, originals, timely(T_B));
    expect(await marginsOf(originalOracle)).toEqual([2500n, 3750n, BigInt(T_B)]);
  });

  it("once governance registers the key on the fork, the fork's proofs are accepted and the original's are not", async () => {
    const { config } = await setPublisherSet(forkOracle, MARKET_ID, {
      verifier: verifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 2,
    });
    expect(config.statementKey).toBe(await statementKey(partsOn(FORK_CHAIN)));
    expect(await readRegisteredPublisherSet(forkOracle, MARKET_ID)).toEqual(config);
    expect((await readRegisteredPublisherSet(originalOracle, MARKET_ID)).statementKey).toBe(
      await statementKey(partsOn(ORIGINAL_CHAIN)),
    );
    const originals = await prove(T_C, 2600, 3900, ORIGINAL_CHAIN);
    await rpc("evm_setNextBlockTimestamp", [timely(T_C)]);
    expect(await refusedOnFork(originals)).toEqual({ name: "OracleInvalidProof", args: [MARKET_ID] });
    // Replay protection carried over the split and the new key: the fork's last accepted bar is still T_A.
    await submitAt(forkOracle, onFork, await prove(T_B, 2450, 3675, FORK_CHAIN), timely(T_C) + 1);
    expect(await marginsOf(forkOracle)).toEqual([2450n, 3675n, BigInt(T_B)]);
    // The original chain takes its own proof of T_C as before, and its state is its own.
    await submitAt(originalOracle, onOriginal, originals, timely(T_C));
    expect(await marginsOf(originalOracle)).toEqual([2600n, 3900n, BigInt(T_C)]);
  });

  it("an adaptive market alike: its prior checked, then refused for the chain; accepted once its key is the fork's", async () => {
    expect(await marginsOf(forkOracle, ETH_USDT)).toEqual([1000n, 2000n, BigInt(T_A)]);
    const latest = async () => (await hre.ethers.provider.getBlock("latest"))!.timestamp;
    await rpc("evm_mine", [(await latest()) + 1]);
    const p = await readAdaptivePrior(forkOracle, ETH_USDT, BigInt(T_C));
    const prior = { num: p.num, outcomes: BigInt(p.outcomes) };
    expect([prior, p.marginS, p.lag]).toEqual([{ num: NUM, outcomes: 0n }, 0n, 0]);
    // A stale prior is named as ever: the prior's check comes first.
    const stale = await proveAdaptive(T_C, 1100n, { ...prior, num: NUM + 1n }, ORIGINAL_CHAIN);
    expect((await refusedOnFork(stale, ETH_USDT)).name).toBe("OracleAdaptiveStateMismatch");
    const originals = await proveAdaptive(T_C, 1100n, prior, ORIGINAL_CHAIN);
    expect(await refusedOnFork(originals, ETH_USDT)).toEqual({
      name: "OracleStatementOfAnotherChain",
      args: [ETH_USDT, ORIGINAL_CHAIN, FORK_CHAIN],
    });
    await setPublisherSet(forkOracle, ETH_USDT, {
      verifier: adaptiveVerifierAddress,
      modelCommitment: MODEL,
      publisherSet: SET,
      quorum: 2,
    });
    expect(await refusedOnFork(originals, ETH_USDT)).toEqual({
      name: "OracleInvalidProof",
      args: [ETH_USDT],
    });
    const forks = await proveAdaptive(T_C, 1100n, prior, FORK_CHAIN);
    await submitAt(forkOracle, onFork, forks, (await latest()) + 1, ETH_USDT);
    expect(await marginsOf(forkOracle, ETH_USDT)).toEqual([1100n, 2200n, BigInt(T_C)]);
    expect(await marginsOf(originalOracle, ETH_USDT)).toEqual([1000n, 2000n, BigInt(T_A)]);
  });

  it("an audit on the fork checks the updates from before the split with the original chain's domain", async () => {
    const signedVkey = JSON.parse(readFileSync(join(dir, "verification_key.json"), "utf8")) as never;
    const r = await auditOracle({
      provider: hre.ethers.provider,
      oracle: String(forkOracle.target),
      signedVkey,
    });
    expect(r.chainId).toBe(FORK_CHAIN);
    const seen = r.updates.map((u) => [u.market, u.dataTimestamp, u.chainId]);
    expect(seen).toEqual([
      ["BTC-USDT", T_A, ORIGINAL_CHAIN],
      ["ETH-USDT", T_A, ORIGINAL_CHAIN],
      ["BTC-USDT", T_B, FORK_CHAIN],
      ["ETH-USDT", T_C, FORK_CHAIN],
    ]);
    // Each key was registered for the domain of the chain the update ran on, and each BTC proof verifies again
    // for its key; nothing is flagged (the windows, not served here, stay unchecked).
    for (const u of r.updates)
      expect([u.market, u.dataTimestamp, u.reasons]).toEqual([u.market, u.dataTimestamp, []]);
    expect(r.flagged).toBe(0);
    expect(formatAudit(r)).toContain(
      "\n2 of these updates were accepted on chain 1337 before a chain split: checked with its domain\n",
    );
    // The same audit on the original chain: its updates, all of its own chain.
    const there = await auditOracle({
      provider: original,
      oracle: String(originalOracle.target),
      signedVkey,
    });
    expect(there.updates.map((u) => [u.market, u.dataTimestamp, u.chainId, u.reasons])).toEqual([
      ["BTC-USDT", T_A, ORIGINAL_CHAIN, []],
      ["ETH-USDT", T_A, ORIGINAL_CHAIN, []],
      ["BTC-USDT", T_B, ORIGINAL_CHAIN, []],
      ["BTC-USDT", T_C, ORIGINAL_CHAIN, []],
    ]);
    expect(formatAudit(there)).not.toContain("chain split");
  });
});
