/**
 * The initial num governance set for an adaptive market (AdaptiveCalibrationSet) must be the calibrationNum * 2^8
 * of the model registered at the first update from it, and each epoch (from one AdaptiveCalibrationSet to the next)
 * is checked against its own model. An adaptive market's model changes only through a new epoch: the oracle refuses
 * another model while the market is adaptive (OracleAdaptiveModelChange), so governance makes it plain, rotates and
 * makes it adaptive again. Hardhat's in-process network, the adaptive signed-update STAND-IN verifier
 * (test/helpers/signed-update-stand-in.ts), real signatures, the shipped candles (L their last bar):
 *   ETH-USDT, governance's initial num the shipped model's + 2^8 (wrong):
 *     bar L-3  under the shipped model (epoch 1's first update)
 *     then the model is changed to another one with the same calibrationNum (plain, rotation, adaptive again from
 *     the other model's calibrationNum * 2^8: epoch 2)
 *     bars L-2 and L-1 under the other model
 * The wrong initial num is FAIL whenever the shipped model is given; with only the other model it cannot be checked:
 * UNVERIFIABLE at epoch 1's first update in range, naming it (never silently skipped), while epoch 2 is OK.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Contract } from "ethers";
import { buildWindow, type Window } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { modelCommitment } from "../../circuits/commitments";
import type { AdaptiveRule } from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { auditOracle } from "../../audit/audit";
import type { AuditPublisherSet } from "../../audit/audit-signed";
import { inProcessChain, type Chain } from "../../onchain/chain";
import {
  deployOracle,
  deployVerifier,
  setAdaptiveCalibration,
  setPublisherSet,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { oracleDomain } from "../../prover/domain";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  signWindow,
  writeSignedWindow,
  type PublisherKey,
} from "../../publisher";
import { WindowDirectory } from "../../publisher/window-sources";
import { privateKeyOf } from "../helpers/publisher-serve";
import { registerSignedMarket } from "../helpers/register-market";
import {
  adaptiveStandInArtifacts,
  packedStandInStatement,
  proveStandIn,
} from "../helpers/signed-update-stand-in";
import { writeBiasedModel } from "../helpers/models";
import { honestAdaptiveUpdate } from "../helpers/honest-adaptive-update";
import { DATA, MODEL } from "../contracts/fixture";

const series = loadCandles(DATA);
const L = series.candles.length - 1;
const openS = (index: number) => series.candles[index].time / 1000;
const RULE: AdaptiveRule = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;
const ETH = "ETH-USDT";

let tmp: string;
let chain: Chain;
let oracle: Contract;
let domain: bigint;
let adaptiveStandIn: string;
let adaptiveVerifier: string;
let model: QuantizedModel;
let other: QuantizedModel;
let otherPath: string;
let a: PublisherKey;
let setFile: AuditPublisherSet;
let windowsDir: string;
let first: number;
/** The block of the epoch's first update (bar L-3) and of the rotation. */
let epochFirst: number;
let rotationBlock: number;
let shippedC: bigint;
let otherC: bigint;
/** Governance's initial num: the shipped model's calibrationNum * 2^8, plus 2^8. */
let wrongNum: bigint;
let last: number;
let clock = 0;

const windowOf = (index: number): Window => buildWindow(series, marketIdOf(ETH), index, WINDOW_BARS);

async function submit(modelC: bigint, index: number, update: bigint): Promise<number> {
  const proof = await proveStandIn(
    adaptiveStandIn,
    packedStandInStatement(update, {
      marketId: marketIdOf(ETH),
      modelCommitment: modelC,
      publisherSet: setFile.commitment,
      domain,
    }),
  );
  clock = Math.max(clock + 2, openS(index) + series.intervalMs / 1000 + 60);
  await chain.mineAt(clock - 1);
  await chain.setNextBlockTime(clock);
  return (await submitSignedUpdate(oracle, marketIdOf(ETH), proof.calldata)).blockNumber;
}

/** The honest adaptive update of ETH-USDT (model `m`) at bar `index`, from the prior the oracle reports. */
const adaptiveUpdateAt = (m: QuantizedModel, index: number): Promise<bigint> =>
  honestAdaptiveUpdate(oracle, marketIdOf(ETH), m, windowOf(index), RULE);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-initial-num-"));
  model = loadQuantizedModel(MODEL);
  otherPath = writeBiasedModel(tmp);
  other = loadQuantizedModel(otherPath);
  const privateKey = privateKeyOf(1);
  a = { privateKey, publicKey: await publicKeyOf(privateKey) };
  const set = await makePublisherSet([a.publicKey], 1);
  setFile = { file: join(tmp, "set.json"), set, commitment: await publisherSetCommitment(set) };
  adaptiveStandIn = await adaptiveStandInArtifacts();
  chain = await inProcessChain();
  oracle = await deployOracle(chain.signer, await chain.signer.getAddress());
  domain = oracleDomain(chain.chainId, String(oracle.target));
  adaptiveVerifier = String((await deployVerifier(chain.signer, adaptiveStandIn)).target);
  [shippedC, otherC] = [await modelCommitment(model), await modelCommitment(other)];
  first = (await chain.provider.getBlock("latest"))!.number + 1;
  await registerSignedMarket(oracle, marketIdOf(ETH), {
    verifier: adaptiveVerifier,
    modelCommitment: shippedC,
    set,
  });
  // governance's initial num is NOT the registered model's calibrationNum * 2^8 (as in audit-untrusted.test.ts)
  wrongNum = (BigInt(model.policy.calibrationNum) << 8n) + 256n;
  await setAdaptiveCalibration(oracle, marketIdOf(ETH), wrongNum);
  windowsDir = join(tmp, "windows");
  mkdirSync(windowsDir);
  for (const index of [L - 3, L - 2, L - 1]) {
    writeSignedWindow(join(windowsDir, `${index}.json`), await signWindow(a, ETH, windowOf(index)));
  }
  // first update under the shipped model
  epochFirst = await submit(shippedC, L - 3, await adaptiveUpdateAt(model, L - 3));
  // governance changes the model (same set, same verifier): the oracle refuses another model while the market is
  // adaptive (test/contracts/adaptive-update.test.ts), so plain first, then the rotation, then adaptive again from
  // the other model's calibration (epoch 2)
  await setAdaptiveCalibration(oracle, marketIdOf(ETH), 0n);
  const rotation = await setPublisherSet(oracle, marketIdOf(ETH), {
    verifier: adaptiveVerifier,
    modelCommitment: otherC,
    publisherSet: setFile.commitment,
    quorum: 1,
  });
  rotationBlock = rotation.receipt.blockNumber;
  await setAdaptiveCalibration(oracle, marketIdOf(ETH), BigInt(other.policy.calibrationNum) << 8n);
  await submit(otherC, L - 2, await adaptiveUpdateAt(other, L - 2));
  last = await submit(otherC, L - 1, await adaptiveUpdateAt(other, L - 1));
}, 600_000);

afterAll(async () => {
  await chain?.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

const audit = (m: QuantizedModel, path: string, fromBlock: number) =>
  auditOracle({
    provider: chain.provider,
    oracle: String(oracle.target),
    fromBlock,
    toBlock: last,
    model: m,
    modelPath: path,
    windowSources: [WindowDirectory.open(windowsDir)],
    publisherSets: [setFile],
    adaptive: { rule: RULE, source: "models/calibrations.json" },
  });

/** The flag of the wrong initial num. */
const wrong = () =>
  `governance set the initial num ${wrongNum}, the registered model's calibrationNum ` +
  `${model.policy.calibrationNum} gives ${BigInt(model.policy.calibrationNum) << 8n}`;

/** The gap when the initial num cannot be checked with the other model. */
const notChecked = () =>
  `the model in force at the first update from governance's initial num ${wrongNum} (block ${epochFirst}) ` +
  `commits to ${shippedC}, none of the models given does (${otherPath} (commitment ${otherC})): the initial ` +
  "num was not checked against its calibrationNum (give that model with --model)";

it("the two models have the same calibrationNum: only the registered commitment tells which one to check with", () => {
  expect(other.policy.calibrationNum).toBe(model.policy.calibrationNum);
  expect(otherC).not.toBe(shippedC);
});

it("with epoch 1's model: FAIL at its first update; epoch 2's updates UNVERIFIABLE, naming the model in force", async () => {
  const whole = await audit(model, MODEL, first);
  expect(whole.updates.map((u) => u.status)).toEqual(["flagged", "unverifiable", "unverifiable"]);
  expect(whole.updates.map((u) => u.reasons.includes(wrong()))).toEqual([true, false, false]);
  for (const u of whole.updates.slice(1)) {
    expect(u.missing[0]).toContain(`the model in force commits to ${otherC}, none of the models given does`);
  }
});

it("with only epoch 2's model: epoch 1's update UNVERIFIABLE naming why, epoch 2 OK (its initial num is its model's)", async () => {
  const whole = await audit(other, otherPath, first);
  expect(whole.updates.map((u) => [u.status, u.reasons, u.missing.includes(notChecked())])).toEqual([
    ["unverifiable", [], true],
    ["ok", [], false],
    ["ok", [], false],
  ]);
  expect(whole.updates[0].adaptive?.replay).toBe("unverifiable");
  const later = await audit(other, otherPath, rotationBlock + 1);
  expect(later.updates.map((u) => [u.status, u.reasons, u.missing, u.adaptive?.replay])).toEqual([
    ["ok", [], [], "ok"],
    ["ok", [], [], "ok"],
  ]);
});
