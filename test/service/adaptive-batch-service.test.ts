/**
 * The prover service proving an ADAPTIVE batch, with real parts: two `zkrisk publisher serve` instances on
 * 127.0.0.1 signing BTC-USDT and ETH-USDT and their batch at every bar close, both markets registered with the
 * publisher set {A, B} (quorum 1) on a `hardhat node` and made adaptive (`setAdaptiveCalibration`), the REAL
 * adaptive signed batch circuit (2 markets, k = 1, constant weights, development setup, cached), and the service in
 * process.
 *
 * At start: a market that is not adaptive on the oracle is refused for an adaptive batch circuit, naming the
 * market and the compile command's counterpart, and so is an oracle without the adaptive batch verifier. Then two
 * consecutive bar closes: each one proof from the priors the oracle reports, one `submitAdaptiveBatch`, and each
 * market's state and margins on chain are the engine's step from its prior on its own window; at the second,
 * governance resets ETH-USDT's state while the batch is being proved, and the service proves it again from the new
 * prior before sending. Last, with the service stopped, the CLI: `zkrisk prove --batch` reads both priors from
 * the oracle, `zkrisk verify` checks the file, and `zkrisk submit` sends it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { ConfigError } from "../../core/errors";
import { isoFromSeconds } from "../../core/time";
import { windowFeatures } from "../../features/window-features";
import { adaptiveWindowUpdate, initialState, type AdaptiveState } from "../../models/adaptive";
import { inferInteger } from "../../models/integer-engine";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel } from "../../models/quantized-model";
import { rpcChain } from "../../onchain/chain";
import {
  deployVerifier,
  oracleAt,
  setAdaptiveBatchVerifier,
  setAdaptiveCalibration,
} from "../../onchain/oracle";
import type { ServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { adaptiveBatchArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "../helpers/artifacts";
import { startBatchStand, type BatchJobView, type BatchStand } from "../helpers/batch-service-env";
import { DEV_KEYS } from "../helpers/hardhat-node";
import { memoryLogger, waitForJob } from "../helpers/service-env";
import { zkrisk } from "../helpers/zkrisk-cli";

const BATCH = "adaptive-pair";
const CALIBRATIONS = join(__dirname, "../../models/calibrations.json");
const RULE = loadCalibrations(CALIBRATIONS).adaptive;
const model = loadQuantizedModel(MODEL);
/** ETH-USDT's state after governance resets it mid-proof: scale 0.5. */
const RESET_NUM = 32768n << 8n;
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;

let stand: BatchStand;
let artifacts: string;
let commitment: bigint;
let running: RunningService | undefined;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  commitment = await commitModel(model);
  // Both markets registered with the set and the shipped model, not yet adaptive, and no adaptive batch verifier.
  [{ dir: artifacts }, stand] = await Promise.all([
    adaptiveBatchArtifacts(MODEL, CALIBRATIONS, 2),
    startBatchStand(BATCH, MARKETS, { "BTC-USDT": commitment, "ETH-USDT": commitment }),
  ]);
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await stand?.stop();
});

/** A service config of the batch alone, in a fresh directory. */
function config(): ServiceConfig {
  return stand.config({ markets: ["ETH-USDT", "BTC-USDT"], model: MODEL, artifacts });
}

/**
 * The engine's step of each market from `states` on the batch publisher A serves for the bar opening at `t` (s),
 * with no margin at bar s (the first bars of a market: no outcome).
 */
async function engineStep(
  t: number,
  states: Record<string, AdaptiveState>,
): Promise<Record<string, { margins: [number, number]; after: AdaptiveState }>> {
  const batch = await stand.signedBatch(t);
  const out: Record<string, { margins: [number, number]; after: AdaptiveState }> = {};
  for (const m of batch.markets) {
    const y = inferInteger(model, windowFeatures(m.window)).output;
    const step = adaptiveWindowUpdate(
      model.policy,
      y,
      m.window.bars,
      { state: states[m.market], marginS: 0n, lag: 0 },
      RULE,
    );
    out[m.market] = {
      margins: [Number(step.margins.maintenanceMarginBps), Number(step.margins.initialMarginBps)],
      after: step.after,
    };
  }
  return out;
}

/** Each market's adaptive state on chain. */
async function statesOnChain(): Promise<Record<string, AdaptiveState>> {
  const o = oracleAt(stand.oracle, stand.provider);
  const out: Record<string, AdaptiveState> = {};
  for (const m of MARKETS) {
    const [num, outcomes] = (await o.adaptiveState(marketIdOf(m))) as bigint[];
    out[m] = { num, outcomes: Number(outcomes) };
  }
  return out;
}

describe("zkrisk serve proving an adaptive batch", () => {
  it("refuses to start until both markets are adaptive and the adaptive batch verifier is set", async () => {
    const cfg = config();
    const refusal = async () => {
      const err = await startService(cfg, pino({ level: "silent" }), 0).then(
        (r) => r.stop().then(() => undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    };
    expect(await refusal()).toBe(
      `${cfg.file}: batches[0].markets[0]: market ETH-USDT is not adaptive on the oracle (num 0), and ` +
        `${artifacts} is an adaptive batch circuit (every market steps its adaptive state): governance makes it ` +
        "adaptive with setAdaptiveCalibration, or the batch uses a plain circuit",
    );
    const chain = await rpcChain(stand.node.rpc, DEV_KEYS[0]);
    try {
      const o = oracleAt(stand.oracle, chain.signer);
      for (const m of MARKETS) {
        await setAdaptiveCalibration(o, marketIdOf(m), BigInt(model.policy.calibrationNum) << 8n);
      }
      expect(await refusal()).toBe(
        `${cfg.file}: batches[0].artifacts: the oracle at ${stand.oracle} has no adaptive batch verifier of 2 markets ` +
          `for ${MODEL} (commitment ${commitment}, market ETH-USDT); governance registers the verifier of ` +
          `${artifacts} with setAdaptiveBatchVerifier for it (batch ${BATCH})`,
      );
      const verifier = await (await deployVerifier(chain.signer, artifacts)).getAddress();
      await setAdaptiveBatchVerifier(o, commitment, 2, verifier);
    } finally {
      await chain.close();
    }
  }, 300_000);

  it("proves two bar closes from the oracle's priors; each market's state and margins are the engine's", async () => {
    let states = await statesOnChain();
    expect(states["BTC-USDT"]).toEqual(initialState(model.policy.calibrationNum));
    const t0 = stand.feeds["BTC-USDT"].lastTimestamp;
    running = await startService(config(), memoryLogger(lines));
    for (const t of [t0, 0]) {
      let bar = t;
      if (bar === 0) {
        bar = await stand.nextBar();
        // governance resets ETH's state while the batch is being proved: the proof's prior goes stale
        const iso = isoFromSeconds(bar);
        for (let i = 0; i < 6000 && !lines.some((l) => l.msg === "proving the batch" && l.bar === iso); i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const chain = await rpcChain(stand.node.rpc, DEV_KEYS[0]);
        try {
          await setAdaptiveCalibration(
            oracleAt(stand.oracle, chain.signer),
            marketIdOf("ETH-USDT"),
            RESET_NUM,
          );
        } finally {
          await chain.close();
        }
        states = { ...states, "ETH-USDT": { num: RESET_NUM, outcomes: 0 } };
      }
      const job = await waitForJob(running.url, jobIdOf(BATCH, bar), "confirmed", logText, 900_000);
      if (t === 0) {
        expect(job.history.map((e) => e.event)).toEqual(["reproved-before-send"]);
        expect(job.history[0].message).toContain(`ETH-USDT: num ${RESET_NUM}, outcomes 0, MM_s 0, lag 0)`);
      }
      const engine = await engineStep(bar, states);
      const view = (await (await fetch(`${running.url}/v1/proofs/${job.id}`)).json()) as BatchJobView;
      for (const m of view.markets) {
        expect([m.maintenanceMarginBps, m.initialMarginBps], m.market).toEqual(engine[m.market].margins);
      }
      expect(await stand.onChain()).toEqual(
        Object.fromEntries(MARKETS.map((m) => [m, [...engine[m].margins, bar]])),
      );
      states = await statesOnChain();
      for (const m of MARKETS) expect(states[m], m).toEqual(engine[m].after);
      const receipt = await stand.provider.getTransactionReceipt(view.transaction.hash);
      const events = receipt!.logs.map(
        (l) => oracleAt(stand.oracle, stand.provider).interface.parseLog(l)!.name,
      );
      expect(events).toEqual(["AdaptiveBatchParametersUpdated", "AdaptiveBatchParametersUpdated"]);
      console.log(
        `adaptive batch of 2 in the service: proof ${view.provingMs} ms, gas ${receipt!.gasUsed} ` +
          `(${receipt!.gasUsed / 2n} a market)`,
      );
    }
    expect(lines.find((l) => l.msg === "proving the batch")).toMatchObject({
      priors: [expect.stringMatching(/^BTC-USDT: num \d+, outcomes 0, MM_s 0, lag 0$/), expect.any(String)],
    });
    await running.stop();
    running = undefined;
  }, 1_800_000);

  it("the CLI proves the next batch from the oracle's priors, verifies it and submits it", async () => {
    const states = await statesOnChain();
    const bar = await stand.nextBar();
    const batchFile = join(stand.dir, "cli-batch.json");
    writeFileSync(
      batchFile,
      await (await fetch(`${stand.publishers[0].url}/v1/batches/${BATCH}?at=${bar * 1000}`)).text(),
    );
    const out = join(stand.dir, "cli-proof.json");
    const ok = (r: { code: number | null; stdout: string; stderr: string }) => {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return r.stdout;
    };
    const chainId = (await stand.provider.getNetwork()).chainId.toString();
    const proved = JSON.parse(
      ok(
        zkrisk(
          "prove",
          "--artifacts",
          artifacts,
          "--batch",
          batchFile,
          "--publishers",
          stand.setFile,
          "--oracle",
          stand.oracle,
          "--chain-id",
          chainId,
          "--rpc",
          stand.node.rpc,
          "--out",
          out,
          "--json",
        ),
      ),
    ) as { markets: { market: string; adaptive: { prior: { num: string; outcomes: number } } }[] };
    for (const m of proved.markets) {
      expect(m.adaptive.prior, m.market).toMatchObject({
        num: states[m.market].num.toString(),
        outcomes: states[m.market].outcomes,
      });
    }
    expect(JSON.parse(ok(zkrisk("verify", out, "--artifacts", artifacts, "--json")))).toEqual({
      ok: true,
      problems: [],
    });
    ok(
      zkrisk(
        "submit",
        out,
        "--oracle",
        stand.oracle,
        "--rpc",
        stand.node.rpc,
        "--key",
        DEV_KEYS[0],
        "--json",
      ),
    );
    const engine = await engineStep(bar, states);
    expect(await stand.onChain()).toEqual(
      Object.fromEntries(MARKETS.map((m) => [m, [...engine[m].margins, bar]])),
    );
    const after = await statesOnChain();
    for (const m of MARKETS) expect(after[m], m).toEqual(engine[m].after);
  }, 900_000);
});
