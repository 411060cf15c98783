/**
 * `SignedUpdateProver` on the REAL signed-update circuit with the adaptive rule, compiled as `zkrisk compile
 * --adaptive` does (test/helpers/adaptive-artifacts.ts `compiledAdaptiveArtifacts`, cached development setup):
 * real BTC bars proved from priors with and without an outcome, on time (lag 0) and late (lag > 0: a breach the
 * same margin at lag 0 does not have), the transition and margins equal to the integer engine's (`windowOutcome`
 * with the lag, `adaptiveUpdate`, the policy at the new calibrationNum), the proof file round trip (a stated lag
 * the signal does not carry refused), and the refusals: no prior for adaptive artifacts, a prior for plain ones, a
 * circuit.json whose rule is not the manifest's.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWindow, integerCandlesOf } from "../../candles";
import { loadCandles } from "../../candles/load-data";
import { WINDOW_BARS } from "../../candles/window";
import { adaptiveUpdate, stateToNum, windowOutcome } from "../../models/adaptive";
import { loadCalibrations } from "../../models/market-calibrations";
import { inferInteger, integerPolicy } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";
import { windowFeatures } from "../../features/window-features";
import { ProofError } from "../../prover/checked-proof";
import { SignedUpdateProver } from "../../prover/prove-signed-update";
import { checkSignedProofFile, parseSignedProofFile } from "../../prover/signed-proof-file";
import { publicKeyOf } from "../../publisher/eddsa";
import { makePublisherSet, type PublisherSet } from "../../publisher/publisher-set";
import { signWindow, type SignedWindow } from "../../publisher/signed-window";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { compiledAdaptiveArtifacts } from "../helpers/adaptive-artifacts";

const ROOT = join(__dirname, "../..");
const MODEL_PATH = join(ROOT, "models/btc-usdt-2h.quantized.json");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");
const RULE = loadCalibrations(CALIBRATIONS).adaptive;
const model = loadQuantizedModel(MODEL_PATH);
const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const ints = integerCandlesOf(series);
/** A real bar 2024-06-29 04:00 UTC (the last bar of the data less 21). */
const INDEX = series.candles.length - 1 - 21;

let dir: string;
let prover: SignedUpdateProver;
let publishers: PublisherSet;
let signed: SignedWindow;

beforeAll(async () => {
  dir = await compiledAdaptiveArtifacts(MODEL_PATH, CALIBRATIONS);
  prover = SignedUpdateProver.open(dir, { mode: "constant", quorum: 1 });
  const privateKey = new Uint8Array(32).fill(7);
  const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
  publishers = await makePublisherSet([key.publicKey], 1);
  signed = await signWindow(
    key,
    "BTC-USDT",
    buildWindow(series, 0x4254432d55534454n, INDEX, WINDOW_BARS, ints),
  );
}, 900_000);

afterAll(async () => {
  await prover?.close();
});

describe("SignedUpdateProver with adaptive artifacts", () => {
  it("opens with the rule its manifest records", () => {
    expect(prover.rule).toEqual(RULE);
  });

  it("proves from a prior; the transition and margins are the integer engine's, and the file round-trips", async () => {
    // low scale (the clamp's floor) and a small MM_s: bar s's move breaches; a higher MM_s: covered; 0: none;
    // the smallest MM_s covering bar t - 12 (251 bps) for bar t - 15 caught up late (lag 3), which moved 2.67 %
    // (its real highs and lows, signed in the window's 24-bar range part): a breach, where lag 0 is covered
    const late = 3;
    const cover = 251n;
    expect(windowOutcome(signed.window.bars, cover, 0)).toBe(false);
    expect(windowOutcome(signed.window.bars, cover - 1n, 0)).toBe(true);
    expect(windowOutcome(signed.window.bars, cover, late)).toBe(true);
    expect(windowOutcome(signed.window.bars, 267n, late)).toBe(false);
    let breaches = 0;
    for (const [num, outcomes, marginS, lag] of [
      [BigInt(RULE.minNum) << 8n, 0, 100n, 0],
      [BigInt(model.policy.calibrationNum) << 8n, 700, cover, 0],
      [BigInt(model.policy.calibrationNum) << 8n, 700, cover, late],
      [BigInt(model.policy.calibrationNum) << 8n, 1500, 0n, 0],
    ] as const) {
      const state = { num, outcomes };
      const proved = await prover.prove(
        { windows: [signed], publishers, domain: 5n },
        { market: "BTC-USDT", prior: { state, marginS, lag } },
      );
      const outcome = windowOutcome(signed.window.bars, marginS, lag);
      if (outcome === true) breaches++;
      const next = adaptiveUpdate(state, outcome, RULE);
      const calibrationNum = stateToNum(next.num);
      const y = inferInteger(model, windowFeatures(signed.window)).output;
      const policy = integerPolicy({ ...model.policy, calibrationNum: Number(calibrationNum) }, y);
      expect(proved.adaptive).toEqual({
        prior: { num: num.toString(), outcomes, marginS: Number(marginS), lag },
        next: { num: next.num.toString(), outcomes: next.outcomes },
        outcome: outcome === null ? "none" : outcome ? "breach" : "covered",
        calibrationNum: Number(calibrationNum),
      });
      expect(proved.parameters.maintenanceMarginBps).toBe(Number(policy.maintenanceMarginBps));
      expect(proved.parameters.initialMarginBps).toBe(Number(policy.initialMarginBps));
      const file = parseSignedProofFile(JSON.parse(JSON.stringify(proved)), "proof.json");
      expect(file.adaptive).toEqual(proved.adaptive);
      expect(await checkSignedProofFile(file, { model, vkey: prover.vkey, rule: RULE })).toEqual([]);
      // without the rule (plain artifacts) the same file is a mismatch
      expect(await checkSignedProofFile(file, { model, vkey: prover.vkey })).toContain(
        "the file is an adaptive market's update, the artifacts' circuit has no adaptive rule",
      );
      // a file stating another lag than its signal carries: refused, naming the field
      const edited = JSON.parse(JSON.stringify(proved)) as typeof proved;
      edited.adaptive!.prior.lag = (lag + 1) % 12;
      expect(() => parseSignedProofFile(edited, "proof.json")).toThrow(
        `adaptive.prior.lag: states ${(lag + 1) % 12}, the proven update signal carries ${lag}`,
      );
      edited.adaptive!.prior.lag = 12;
      expect(() => parseSignedProofFile(edited, "proof.json")).toThrow(/adaptive\.prior\.lag/);
    }
    expect(breaches).toBe(2);
  }, 600_000);

  it("refuses a prior whose proof the circuit cannot give: a lag of 12 (no witness)", async () => {
    await expect(
      prover.prove(
        { windows: [signed], publishers, domain: 5n },
        { market: "BTC-USDT", prior: { state: { num: 1n << 22n, outcomes: 0 }, marginS: 900n, lag: 12 } },
      ),
    ).rejects.toThrow(/lag 12 is not in \[0, 11\]/);
  });

  it("refuses to prove without a prior", async () => {
    await expect(
      prover.prove({ windows: [signed], publishers, domain: 5n }, { market: "BTC-USDT" }),
    ).rejects.toThrow(ProofError);
  });

  it("a plain circuit refuses a prior", async () => {
    const plain = await signedUpdateArtifacts(MODEL_PATH, "constant", 1);
    const p = SignedUpdateProver.open(plain.dir, { mode: "constant", quorum: 1 });
    try {
      expect(p.rule).toBeUndefined();
      await expect(
        p.prove(
          { windows: [signed], publishers, domain: 5n },
          { market: "BTC-USDT", prior: { state: { num: 1n << 22n, outcomes: 0 }, marginS: 0n, lag: 0 } },
        ),
      ).rejects.toThrow(/takes no prior/);
    } finally {
      await p.close();
    }
  }, 900_000);

  it("refuses a directory whose circuit.json records another rule than its manifest", () => {
    const copy = mkdtempSync(join(tmpdir(), "zkrisk-adaptive-copy-"));
    cpSync(dir, copy, { recursive: true });
    const info = JSON.parse(readFileSync(join(copy, "circuit.json"), "utf8")) as {
      adaptive: { rule: { outcomesPerShift: number } };
    };
    info.adaptive.rule.outcomesPerShift = 400;
    writeFileSync(join(copy, "circuit.json"), JSON.stringify(info));
    expect(() => SignedUpdateProver.open(copy, { mode: "constant", quorum: 1 })).toThrow(
      /circuit\.json: records the adaptive rule .* the circuit\.json belongs to another circuit/,
    );
  });
});
