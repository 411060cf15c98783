/**
 * Per-market calibrations bound on chain (issue 12, part 2) with the REAL signed-update circuit in committed
 * weight mode (quorum 1, compiled from the shipped model and set up once with the development setup,
 * setup/signed-update-artifacts.ts, cached): BTC-USDT and ETH-USDT each get their own model file
 * (models/market-model.ts: the shipped model with the market's calibration from models/calibrations.json),
 * both proved with the ONE committed circuit and setup, and registered on one verifier with their own model
 * commitments. Each market's proof is accepted and stores the integer engine's margins of its own calibration;
 * a proof of ETH's candles made with BTC's calibration, valid for its own statement, is refused for ETH
 * (the statement key binds the model commitment). The constant-weights prover takes only its recorded model.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract, Signer } from "ethers";
import { buildWindow } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { digestSignal, UPDATE_SIGNALS } from "../../circuits/public-signals";
import { statementKey } from "../../circuits/statement";
import { WINDOW_BARS } from "../../candles/window";
import { loadCalibrations } from "../../models/market-calibrations";
import { sha256File, writeJsonAtomic } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { marketModel, withCalibration } from "../../models/market-model";
import { loadQuantizedModel, quantizedModelToJson, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../candles/types";
import { loadArtifacts } from "../../setup/artifacts";
import { oracleDomain } from "../../prover/domain";
import {
  compileArtifactsVerifier,
  registerMarket,
  signedUpdatesOf,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { SignedUpdateProver, type ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { SetupError } from "../../core/errors";
import { signedUpdateInput } from "../../prover/update-input";
import { publicKeyOf } from "../../publisher/eddsa";
import type { PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, publisherSetCommitment, type PublisherSet } from "../../publisher/publisher-set";
import { signWindow } from "../../publisher/signed-window";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { zkrisk } from "../helpers/zkrisk-cli";
import { DEFAULT_LIMITS, MODEL, hre, revertOf, rpc, setNextBlockTime, fromSnapshotEachTest } from "./fixture";

const ROOT = join(__dirname, "../..");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");
const BTC = "BTC-USDT";
const ETH = "ETH-USDT";
const BTC_ID = marketIdOf(BTC);
const ETH_ID = marketIdOf(ETH);
const series: Record<string, CandleSeries> = {
  [BTC]: loadCandles(join(ROOT, "models/data/btcusdt-2h.csv")),
  [ETH]: loadCandles(join(ROOT, "models/data/ethusdt-2h.csv")),
};
/** The bar proved on each market: two bars before the last of its shipped data. */
const barOf = (market: string) => series[market].candles.length - 3;
const openOf = (market: string) => series[market].candles[barOf(market)].time / 1000;
/** Block time of a timely submission of the market's bar: one minute after its close. */
const timely = (market: string) => openOf(market) + series[market].intervalMs / 1000 + 60;

const tmp = mkdtempSync(join(tmpdir(), "zkrisk-market-calibration-"));
const modelFile = (market: string) => join(tmp, `${market.toLowerCase()}.quantized.json`);

let committedDir: string;
let constantDir: string;
let constraints: number;
const models: Record<string, QuantizedModel> = {};
const commitments: Record<string, bigint> = {};
const provers: Record<string, SignedUpdateProver> = {};
let oracle: Contract;
let governor: Signer;
let domain: bigint;
let a: PublisherKey;
let setA: PublisherSet;
/** Each market's candles proved with its own model; ETH's candles proved with BTC's model. */
let btcProof: ProvedSignedUpdate;
let ethProof: ProvedSignedUpdate;
let ethByBtcModel: ProvedSignedUpdate;
/** The signed window of `market`'s proved bar. */
async function signedWindow(market: string) {
  const window = buildWindow(series[market], marketIdOf(market), barOf(market), WINDOW_BARS);
  return signWindow(a, market, window);
}

/** A real proof of `market`'s bar with `prover`. */
async function prove(prover: SignedUpdateProver, market: string): Promise<ProvedSignedUpdate> {
  return prover.prove({ windows: [await signedWindow(market)], publishers: setA, domain }, { market });
}

/** The integer engine's margins of `market`'s bar under `model` (the witness builder's trace). */
async function engineMargins(model: QuantizedModel, market: string) {
  const built = await signedUpdateInput(model, "committed", {
    windows: [await signedWindow(market)],
    publishers: setA,
    domain,
  });
  return {
    maintenanceMarginBps: Number(built.trace.maintenanceMarginBps),
    initialMarginBps: Number(built.trace.initialMarginBps),
  };
}

const statementOf = (p: ProvedSignedUpdate) => BigInt(p.publicSignals[UPDATE_SIGNALS.indexOf("statement")]);

async function keyOf(marketId: bigint, model: bigint): Promise<bigint> {
  return statementKey({
    marketId,
    modelCommitment: model,
    publisherSet: await publisherSetCommitment(setA),
    domain,
  });
}

/** Submit `p` for `marketId` through the client in a block at `time` (an empty block first for its pre-flight). */
async function submitAt(p: ProvedSignedUpdate, marketId: bigint, time: number) {
  await rpc("evm_mine", [time - 1]);
  await setNextBlockTime(time);
  return submitSignedUpdate(oracle, marketId, p.calldata);
}

beforeAll(async () => {
  const committed = await signedUpdateArtifacts(MODEL, "committed", 1);
  committedDir = committed.dir;
  constantDir = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;
  constraints = loadArtifacts(committedDir).manifest.circuit.constraints;
  const base = loadQuantizedModel(MODEL);
  const calibrations = loadCalibrations(CALIBRATIONS, sha256File(MODEL));
  for (const market of [BTC, ETH]) {
    models[market] = marketModel(base, calibrations, market).model;
    writeJsonAtomic(modelFile(market), quantizedModelToJson(models[market]));
    commitments[market] = await commitModel(models[market]);
    provers[market] = SignedUpdateProver.open(
      committedDir,
      { mode: "committed", quorum: 1 },
      { modelPath: modelFile(market) },
    );
  }
  [governor] = await hre.ethers.getSigners();
  const compiled = compileArtifactsVerifier(committedDir);
  const factory = new hre.ethers.ContractFactory(compiled.abi as never, compiled.bytecode, governor);
  const verifier = await (await factory.deploy()).waitForDeployment();
  oracle = (await hre.ethers.deployContract("RiskOracle", [
    await governor.getAddress(),
  ])) as unknown as Contract;
  await oracle.waitForDeployment();
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  const privateKey = new Uint8Array(32).fill(7);
  a = { privateKey, publicKey: await publicKeyOf(privateKey) };
  setA = await makePublisherSet([a.publicKey], 1);
  for (const [id, market] of [
    [BTC_ID, BTC],
    [ETH_ID, ETH],
  ] as const) {
    await registerMarket(oracle, id, {
      publishers: {
        verifier: await verifier.getAddress(),
        modelCommitment: commitments[market],
        publisherSet: await publisherSetCommitment(setA),
        quorum: 1,
      },
      guardian: await governor.getAddress(),
      limits: DEFAULT_LIMITS,
    });
  }
  // One proof at a time: the witness calculator and the curve are shared.
  btcProof = await prove(provers[BTC], BTC);
  ethProof = await prove(provers[ETH], ETH);
  ethByBtcModel = await prove(provers[BTC], ETH);
}, 1_800_000);

fromSnapshotEachTest();

afterAll(async () => {
  await provers[BTC]?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("per-market calibrations on one committed-weights circuit (real circuit, k = 1)", () => {
  it("one setup takes both markets' model files: their own calibrations, their own commitments", () => {
    expect(models[BTC].policy.calibrationNum).toBe(49021);
    expect(models[ETH].policy.calibrationNum).toBe(59567);
    expect(commitments[BTC]).not.toBe(commitments[ETH]);
    // BTC's file is the model the circuit was compiled from; ETH's is accepted for fitting its architecture.
    expect(provers[BTC].artifacts.modelMatch).toBe("recorded");
    expect(provers[ETH].artifacts.modelMatch).toBe("architecture");
    expect(provers[ETH].artifacts.dir).toBe(provers[BTC].artifacts.dir);
    console.log(
      `committed signed-update circuit (k = 1): ${constraints} constraints, one setup for every market`,
    );
  });

  it("each proof states its market's own model commitment and statement key", async () => {
    for (const [p, id, market] of [
      [btcProof, BTC_ID, BTC],
      [ethProof, ETH_ID, ETH],
    ] as const) {
      expect(p.parameters.modelCommitment).toBe(commitments[market].toString());
      expect(statementOf(p)).toBe(await keyOf(id, commitments[market]));
    }
    expect(statementOf(ethByBtcModel)).toBe(await keyOf(ETH_ID, commitments[BTC]));
  });

  it("accepts each market's proof and stores the engine's margins of its own calibration", async () => {
    let time = Math.max(timely(BTC), timely(ETH));
    for (const [p, id, market] of [
      [btcProof, BTC_ID, BTC],
      [ethProof, ETH_ID, ETH],
    ] as const) {
      const engine = await engineMargins(models[market], market);
      expect(p.parameters).toMatchObject(engine);
      const receipt = await submitAt(p, id, time);
      expect(signedUpdatesOf(oracle, receipt)[0]).toMatchObject({
        marketId: id,
        ...engine,
        dataTimestamp: BigInt(openOf(market)),
        windowDigest: digestSignal(BigInt(p.parameters.windowDigest)),
      });
      expect([...(await oracle.parameters(id))].slice(0, 3)).toEqual([
        BigInt(engine.maintenanceMarginBps),
        BigInt(engine.initialMarginBps),
        BigInt(openOf(market)),
      ]);
      time += 2;
    }
  });

  it("on the same candles the two calibrations prove different margins, each the engine's", async () => {
    const withEth = ethProof.parameters;
    const withBtc = ethByBtcModel.parameters;
    expect(withBtc.windowDigest).toBe(withEth.windowDigest);
    expect(withBtc).toMatchObject(await engineMargins(models[BTC], ETH));
    // ETH's scale (59567 / 2^16) is above BTC's (49021 / 2^16): a higher margin on ETH's own tails.
    expect(withEth.maintenanceMarginBps).toBeGreaterThan(withBtc.maintenanceMarginBps);
    console.log(
      `ETH-USDT bar ${ethProof.bar}: MM ${withEth.maintenanceMarginBps} bps with ETH's calibration, ` +
        `${withBtc.maintenanceMarginBps} bps with BTC's`,
    );
  });

  it("refuses for ETH a proof made with BTC's calibration: OracleInvalidProof", async () => {
    // A valid proof of its own statement (ETH's candles, BTC's model commitment)...
    expect(await provers[BTC].verify(ethByBtcModel.proof, ethByBtcModel.publicSignals)).toBe(true);
    // ...that ETH's registered statement key (ETH's model commitment) does not take.
    await setNextBlockTime(timely(ETH));
    const c = ethByBtcModel.calldata;
    expect(await revertOf(oracle.submitSignedUpdate(ETH_ID, c.a, c.b, c.c, c.input[0]), oracle)).toEqual({
      name: "OracleInvalidProof",
      args: [ETH_ID],
    });
    await expect(submitAt(ethByBtcModel, ETH_ID, timely(ETH) + 2)).rejects.toMatchObject({
      reason: "StatementMismatch",
    });
    // Nor does BTC's market take ETH's proof (the statement key binds the market too).
    await expect(submitAt(ethProof, BTC_ID, timely(ETH) + 4)).rejects.toMatchObject({
      reason: "StatementMismatch",
    });
    for (const id of [BTC_ID, ETH_ID]) {
      expect(await revertOf(oracle.parameters(id), oracle)).toEqual({
        name: "OracleNoParameters",
        args: [id],
      });
    }
  });

  it("`zkrisk verify` checks the proof file against the market's own model file", () => {
    const proofFile = join(tmp, "eth.proof.json");
    writeFileSync(proofFile, JSON.stringify(ethProof));
    const own = zkrisk("verify", proofFile, "--artifacts", committedDir, "--model", modelFile(ETH));
    expect([own.code, own.stdout]).toEqual([0, `OK ${proofFile}\n`]);
    const other = zkrisk("verify", proofFile, "--artifacts", committedDir, "--model", modelFile(BTC));
    expect(other.code).toBe(1);
    expect(other.stdout).toContain(
      `modelCommitment ${commitments[ETH]} is not the model's ${commitments[BTC]}`,
    );
  });

  it("the committed prover refuses a model that does not fit the circuit's architecture", () => {
    const wide = join(tmp, "wide.quantized.json");
    writeJsonAtomic(wide, quantizedModelToJson(withCalibration(models[ETH], ETH, 2 ** 17)));
    expect(() =>
      SignedUpdateProver.open(committedDir, { mode: "committed", quorum: 1 }, { modelPath: wide }),
    ).toThrow(
      new RegExp(
        `wide.quantized.json: model sha256 [0-9a-f]{64} does not match ${sha256File(MODEL)} .* and it does ` +
          `not fit the committed-weights circuit's architecture .*circuit.json\\): policy.calibrationNum 131072 ` +
          "needs more than the circuit's 17 bits \\(architecture\\.policy\\.calibrationBits\\)$",
      ),
    );
  });

  it("refuses a circuit.json that belongs to another circuit than the manifest", () => {
    const copy = join(tmp, "committed-copy");
    cpSync(committedDir, copy, { recursive: true });
    const info = JSON.parse(readFileSync(join(copy, "circuit.json"), "utf8")) as {
      model: { sha256: string };
    };
    info.model.sha256 = "0".repeat(64);
    writeFileSync(join(copy, "circuit.json"), JSON.stringify(info));
    try {
      expect(() => loadArtifacts(copy, { modelPath: modelFile(ETH) })).toThrow(
        /circuit.json: model.sha256 0{64} is not the one recorded in .*artifacts.json .*belongs to another circuit/,
      );
      // The recorded model needs no circuit facts.
      expect(loadArtifacts(copy, { modelPath: MODEL }).modelMatch).toBe("recorded");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("the constant-weights prover refuses any model file but its recorded one", () => {
    expect(() =>
      SignedUpdateProver.open(constantDir, { mode: "constant", quorum: 1 }, { modelPath: modelFile(ETH) }),
    ).toThrow(SetupError);
    expect(() => loadArtifacts(constantDir, { modelPath: modelFile(ETH) })).toThrow(
      /eth-usdt.quantized.json: model sha256 [0-9a-f]{64} does not match [0-9a-f]{64} .* the circuit has constant weights .*its model is compiled in, so it proves only that model/,
    );
    expect(loadArtifacts(constantDir, { modelPath: modelFile(BTC) }).modelMatch).toBe("recorded");
  });
});
