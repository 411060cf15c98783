/**
 * The prover service on an adaptive market, with real parts: one `zkrisk publisher serve` over the shipped
 * candles, the market registered on a `hardhat node` and made adaptive by governance (`setAdaptiveCalibration`,
 * the model's calibration), the REAL signed-update circuit with the adaptive rule (`zkrisk compile --adaptive`'s
 * way, test/helpers/adaptive-artifacts.ts, cached development setup), and the service in process.
 *
 * Plain artifacts for the adaptive market are refused at start. The scheduled bar is proved from the prior the
 * oracle reports and accepted, storing the integer engine's state. Then, while the next bar is being proved,
 * governance resets the state (another num): the proof's prior is stale, the dry run is refused with
 * `OracleAdaptiveStateMismatch`, and the service proves the bar once more from the new prior, which is accepted.
 */
import { join } from "node:path";
import { JsonRpcProvider, type Contract } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino, { type Logger } from "pino";
import { unpackAdaptiveUpdate } from "../../circuits/statement";
import { marketIdOf } from "../../candles/market-id";
import { ConfigError } from "../../core/errors";
import { loadQuantizedModel } from "../../models/quantized-model";
import { isoFromSeconds } from "../../core/time";
import { rpcChain, type Chain } from "../../onchain/chain";
import { oracleAt, setAdaptiveCalibration } from "../../onchain/oracle";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { makePublisherSet, writePublisherSet } from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "../helpers/artifacts";
import { compiledAdaptiveArtifacts } from "../helpers/adaptive-artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { startTestPublisher, tempDir, type TestPublisher } from "../helpers/publisher-serve";
import {
  CandleFeed,
  closeBar,
  deployMarket,
  FEED_START,
  MARKET,
  SERVICE_ENV,
  waitForJob,
  writeServiceConfig,
} from "../helpers/service-env";

const CALIBRATIONS = join(__dirname, "../..", "models/calibrations.json");
const INITIAL_NUM = BigInt(loadQuantizedModel(MODEL).policy.calibrationNum) << 8n;
/** The num governance resets the market to while a proof is in flight (scale 0.8). */
const RESET_NUM = 52429n << 8n;

let node: HardhatNode;
let provider: JsonRpcProvider;
let governance: Chain;
let oracle: Contract;
let dir: string;
let feed: CandleFeed;
let publisher: TestPublisher;
let artifacts: string;
let setFile: string;
let running: RunningService | undefined;
const lines: Record<string, unknown>[] = [];

/** A pino logger keeping its JSON lines in `into`. */
function memoryLogger(into: Record<string, unknown>[]): Logger {
  return pino({ level: "info" }, { write: (l: string) => void into.push(JSON.parse(l)) });
}
const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  dir = tempDir("adaptive-service");
  [artifacts, node] = await Promise.all([compiledAdaptiveArtifacts(MODEL, CALIBRATIONS), startHardhatNode()]);
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  feed = new CandleFeed(join(dir, "candles.csv"), FEED_START);
  publisher = await startTestPublisher(dir, 41, feed.path);
  const set = await makePublisherSet([publisher.key.publicKey], 1);
  setFile = join(dir, "publishers.json");
  writePublisherSet(setFile, set);
  const deployed = await deployMarket(node.rpc, artifacts, set);
  governance = await rpcChain(node.rpc, DEV_KEYS[0]);
  oracle = oracleAt(deployed.oracle, governance.signer);
  await setAdaptiveCalibration(oracle, marketIdOf(MARKET), INITIAL_NUM);
  Object.assign(process.env, SERVICE_ENV);
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await publisher?.publisher.stop();
  await governance?.close();
  provider?.destroy();
  node?.stop();
});

function config(o: { artifacts?: string } = {}) {
  return loadServiceConfig(
    writeServiceConfig(tempDir("adaptive-service-config"), {
      rpc: node.rpc,
      oracle: String(oracle.target),
      artifacts: o.artifacts ?? artifacts,
      publishers: { set: setFile, urls: [publisher.url] },
      maxAttempts: 2,
    }),
  );
}

/** The adaptive update the oracle accepted for the job's transaction. */
async function acceptedUpdate(jobId: string) {
  const job = (await (await fetch(`${running!.url}/v1/proofs/${jobId}`)).json()) as {
    transaction: { hash: string };
  };
  const receipt = await provider.getTransactionReceipt(job.transaction.hash);
  const event = receipt!.logs
    .map((l) => oracle.interface.parseLog(l))
    .find((e) => e?.name === "AdaptiveParametersUpdated");
  return unpackAdaptiveUpdate(event!.args.update as bigint);
}

describe("zkrisk serve on an adaptive market", () => {
  it("refuses plain artifacts for a market the oracle holds as adaptive", async () => {
    const plain = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;
    const err = await startService(config({ artifacts: plain }), pino({ level: "silent" }), 0).then(
      (r) => r.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(
      `market ${MARKET} is adaptive on the oracle (num ${INITIAL_NUM}), but ${plain} holds a circuit without the ` +
        "adaptive rule",
    );
  }, 300_000);

  it("proves from the oracle's prior; a prior that moves during the proof is proved again once", async () => {
    const t0 = feed.lastTimestamp;
    running = await startService(config(), memoryLogger(lines));
    await waitForJob(running.url, jobIdOf(MARKET, t0), "confirmed", logText, 600_000);
    const first = await acceptedUpdate(jobIdOf(MARKET, t0));
    // the first update: no margin 12 bars back, so no outcome and the state unchanged
    expect(first.before).toEqual({ num: INITIAL_NUM, outcomes: 0n });
    expect(first.marginS).toBe(0n);
    expect(first.after).toEqual({ num: INITIAL_NUM, outcomes: 0n });
    const [num0, outcomes0] = (await oracle.adaptiveState(marketIdOf(MARKET))) as bigint[];
    expect([num0, outcomes0]).toEqual([INITIAL_NUM, 0n]);

    // the next bar: governance resets the state while its proof is being made
    const t1 = feed.append();
    const bar = isoFromSeconds(t1);
    await publisher.publisher.poll();
    await closeBar(provider, t1);
    for (let i = 0; i < 6000 && !lines.some((l) => l.msg === "proving" && l.bar === bar); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await setAdaptiveCalibration(oracle, marketIdOf(MARKET), RESET_NUM);
    await waitForJob(running.url, jobIdOf(MARKET, t1), "confirmed", logText, 600_000);
    expect(
      lines.filter((l) => l.msg === "the adaptive prior moved since the proof; proving again once"),
    ).toHaveLength(1);
    expect(
      lines.find((l) => l.msg === "the adaptive prior moved since the proof; proving again once")?.reason,
    ).toContain("OracleAdaptiveStateMismatch");
    const second = await acceptedUpdate(jobIdOf(MARKET, t1));
    // proved again from the reset state (no margin 12 bars back after the reset: no outcome)
    expect(second.before).toEqual({ num: RESET_NUM, outcomes: 0n });
    expect(second.after).toEqual({ num: RESET_NUM, outcomes: 0n });
    const [num, outcomes] = (await oracle.adaptiveState(marketIdOf(MARKET))) as bigint[];
    expect([num, outcomes]).toEqual([RESET_NUM, 0n]);
  }, 900_000);
});
