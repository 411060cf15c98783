/**
 * The prover service on the signed path, with real parts: four `zkrisk publisher serve` instances on
 * 127.0.0.1 over the shipped candles with generated keys (A and B honest, C serving one edited candle that it
 * signs with its own key, D honest but not registered), the market registered with the publisher set
 * {A, B, C} and quorum 2 on a `hardhat node`, the REAL signed-update circuit (k = 2, constant weights,
 * development setup, cached), and the service in process (SQLite store, proving threads).
 *
 * At start: a configured publisher set other than the one on chain, a statement key registered for another
 * domain (as on a fork of the chain it was registered on), and artifacts checking another quorum, are refused,
 * naming the file and the market. Then the scheduled bar: C's disagreement logged with its URL,
 * the first differing bar and field, D's window ignored as unregistered, and the quorum {A, B} proved and
 * accepted on chain with the engine's margins and A's window digest; per-publisher outcomes in the metrics.
 * Then B goes down: with A alone agreeing (C disagrees, D does not count) there is no quorum yet, the job waits
 * for B (it could still make up the quorum) without spending an attempt, and at the deadline (the bar's close +
 * `publishers.waitSeconds`, by the chain's clock) is skipped with the reason; nothing is submitted.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { digestSignal, statementKey } from "../../circuits/statement";
import { windowFeatures } from "../../features/window-features";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";
import { ConfigError } from "../../core/errors";
import { oracleAt, readRegisteredPublisherSet, setPublisherSet, signedUpdatesOf } from "../../onchain/oracle";
import { rpcChain } from "../../onchain/chain";
import { marketIdOf } from "../../candles/market-id";
import { oracleDomain } from "../../prover/domain";
import { loadServiceConfig } from "../../service/config";
import { jobIdOf } from "../../service/jobs";
import { startService, type RunningService } from "../../service/run";
import { makePublisherSet, readSignedWindow, writePublisherSet } from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "../helpers/artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { startTestPublisher, tempDir, type TestPublisher } from "../helpers/publisher-serve";
import {
  acceptedTimestamps,
  CandleFeed,
  closeBar,
  deployMarket,
  FEED_START,
  MARKET,
  SERVICE_ENV,
  waitForJob,
  writeServiceConfig,
  memoryLogger,
} from "../helpers/service-env";

let node: HardhatNode;
let provider: JsonRpcProvider;
let dir: string;
let feed: CandleFeed;
/** C's candle file: the feed with the volume of the first bar it holds at the start edited. */
let editedCsv: string;
let a: TestPublisher;
let b: TestPublisher;
let c: TestPublisher;
let d: TestPublisher;
let artifacts: string;
let oracle: string;
let setFile: string;
let running: RunningService | undefined;
/** `publishers.waitSeconds` of the configs. */
const WAIT_SECONDS = 600;
const lines: Record<string, unknown>[] = [];

const logText = () => lines.map((l) => JSON.stringify(l)).join("\n");

beforeAll(async () => {
  dir = tempDir("signed-service");
  [{ dir: artifacts }, node] = await Promise.all([
    signedUpdateArtifacts(MODEL, "constant", 2),
    startHardhatNode(),
  ]);
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  feed = new CandleFeed(join(dir, "candles.csv"), FEED_START);
  const text = readFileSync(feed.path, "utf8").trimEnd().split("\n");
  const last = text[text.length - 1].split(",");
  last[5] = String(Number(last[5]) + 0.5);
  text[text.length - 1] = last.join(",");
  editedCsv = join(dir, "edited.csv");
  writeFileSync(editedCsv, text.join("\n") + "\n");
  [a, b, c, d] = await Promise.all([
    startTestPublisher(dir, 31, feed.path),
    startTestPublisher(dir, 32, feed.path),
    startTestPublisher(dir, 33, editedCsv),
    startTestPublisher(dir, 34, feed.path),
  ]);
  const set = await makePublisherSet(
    [a, b, c].map((p) => p.key.publicKey),
    2,
  );
  setFile = join(dir, "publishers.json");
  writePublisherSet(setFile, set);
  ({ oracle } = await deployMarket(node.rpc, artifacts, set));
  Object.assign(process.env, SERVICE_ENV);
}, 1_200_000);

afterAll(async () => {
  await running?.stop();
  await Promise.all([a, b, c, d].map((p) => p?.publisher.stop()));
  provider?.destroy();
  node?.stop();
});

/**
 * A service config in a fresh directory: publishers C, A, D, B (in that order), two attempts per job, a wait for
 * publishers of WAIT_SECONDS.
 */
function config(o: { set?: string; artifacts?: string } = {}) {
  return loadServiceConfig(
    writeServiceConfig(tempDir("signed-service-config"), {
      rpc: node.rpc,
      oracle,
      artifacts: o.artifacts ?? artifacts,
      publishers: { set: o.set ?? setFile, urls: [c.url, a.url, d.url, b.url], waitSeconds: WAIT_SECONDS },
      maxAttempts: 2,
    }),
  );
}

/** The ConfigError `startService` fails with. */
async function refusal(cfg: ReturnType<typeof config>): Promise<ConfigError> {
  const err = await startService(cfg, pino({ level: "silent" }), 0).then(
    (r) => r.stop().then(() => undefined),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe("zkrisk serve on signed windows", () => {
  it("refuses to start when the oracle registers another publisher set or another domain's key, or the circuit checks another quorum", async () => {
    // {A, B, D}: D is not in the registered set.
    const other = join(dir, "other-publishers.json");
    writePublisherSet(
      other,
      await makePublisherSet(
        [a, b, d].map((p) => p.key.publicKey),
        2,
      ),
    );
    const cfg = config({ set: other });
    const wrongSet = await refusal(cfg);
    expect(wrongSet.message).toMatch(
      new RegExp(
        `^${cfg.file}: markets\\[0\\]\\.publishers\\.set: ${other} is not the publisher set the oracle at ` +
          `${oracle} registers for market BTC-USDT: the file commits to \\d+ with quorum 2, the oracle has ` +
          `\\d+ with quorum 2$`,
      ),
    );
    // The registered key of another domain, as on a fork of the chain the key was registered on.
    const governance = await rpcChain(node.rpc, DEV_KEYS[0]);
    try {
      const o = oracleAt(oracle, governance.signer);
      const id = marketIdOf(MARKET);
      const registered = await readRegisteredPublisherSet(o, id);
      const { chainId } = await provider.getNetwork();
      const otherKey = await statementKey({
        marketId: id,
        modelCommitment: registered.modelCommitment,
        publisherSet: registered.publisherSet,
        domain: oracleDomain(chainId + 1n, oracle),
      });
      await (await o.setPublisherSet(id, { ...registered, statementKey: otherKey })).wait();
      expect((await refusal(config())).message).toContain(
        `markets[0].publishers.set: market BTC-USDT: the oracle at ${oracle} registers statement key ${otherKey}, ` +
          `the configured model, ${setFile} and the oracle's domain on chain ${chainId} give ` +
          `${registered.statementKey}: a key made for another domain (e.g. registered before a chain split)`,
      );
      // Registered again through the client, for this chain: the key is the service's again.
      const { config: again } = await setPublisherSet(o, id, registered);
      expect(again.statementKey).toBe(registered.statementKey);
    } finally {
      await governance.close();
    }
    const k1 = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;
    const wrongQuorum = await refusal(config({ artifacts: k1 }));
    expect(wrongQuorum.message).toContain(
      `markets[0].publishers.set: ${setFile} has quorum 2, but the circuit in ${k1} checks 1 signature(s) ` +
        "(market BTC-USDT)",
    );
  }, 300_000);

  it("proves the scheduled bar from the two agreeing publishers, naming the one that disagrees", async () => {
    const t0 = feed.lastTimestamp;
    running = await startService(config(), memoryLogger(lines));
    const job = await waitForJob(running.url, jobIdOf(MARKET, t0), "confirmed", logText, 600_000);
    const full = (await (await fetch(`${running.url}/v1/proofs/${job.id}`)).json()) as {
      parameters: { maintenanceMarginBps: number; initialMarginBps: number; windowDigest: string };
      createdAt: string;
      updatedAt: string;
      provingMs: number;
    };

    // C disagrees at the last bar's volume; D's key is not in the set.
    const barIso = new Date(t0 * 1000).toISOString();
    expect(lines.find((l) => l.msg === "publisher disagrees")).toMatchObject({
      market: MARKET,
      bar: barIso,
      publisher: `${c.url}/`,
      field: "bars[84].volume",
      differingBar: { index: 84, time: barIso },
      detail: expect.stringContaining(
        `${c.url}/ differs from ${a.url}/ at bar 84 (${barIso}) bars[84].volume`,
      ),
    });
    expect(lines.find((l) => l.msg === "publisher window not used")).toMatchObject({
      publisher: `${d.url}/`,
      outcome: "unregistered",
    });
    expect(lines.find((l) => l.msg === "proving")).toMatchObject({ publishers: [`${a.url}/`, `${b.url}/`] });

    // On chain: the engine's margins on the honest window, and its digest.
    const honest = await readSignedWindowFrom(a.url, t0 * 1000);
    const trace = inferInteger(loadQuantizedModel(MODEL), windowFeatures(honest.window));
    expect(full.parameters).toMatchObject({
      maintenanceMarginBps: Number(trace.maintenanceMarginBps),
      initialMarginBps: Number(trace.initialMarginBps),
      windowDigest: honest.digest.toString(),
    });
    const receipt = await provider.getTransactionReceipt(
      (
        (await (await fetch(`${running.url}/v1/proofs/${job.id}`)).json()) as {
          transaction: { hash: string };
        }
      ).transaction.hash,
    );
    const event = signedUpdatesOf(oracleAt(oracle, provider), receipt!)[0];
    expect(event).toMatchObject({
      dataTimestamp: BigInt(t0),
      windowDigest: digestSignal(honest.digest),
      maintenanceMarginBps: Number(trace.maintenanceMarginBps),
    });
    expect(await acceptedTimestamps(provider, oracle)).toEqual([t0]);

    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    const attempts = 1 + lines.filter((l) => l.msg === "step failed; will retry").length;
    for (const [p, outcome] of [
      [a, "ok"],
      [b, "ok"],
      [c, "disagree"],
      [d, "unregistered"],
    ] as const) {
      // Once per attempt of the job (one, unless a step failed and was retried: see the log).
      expect(metrics, logText()).toContain(
        `zkrisk_publisher_fetches_total{market="BTC-USDT",publisher="${p.url}/",outcome="${outcome}"} ${attempts}`,
      );
    }
    const seconds = (Date.parse(full.updatedAt) - Date.parse(full.createdAt)) / 1000;
    console.log(
      `signed update in the service (k = 2 of 3 agreeing, 4 publishers asked): proof ${full.provingMs} ms, ` +
        `scheduled to confirmed on chain ${seconds.toFixed(1)} s`,
    );
  }, 900_000);

  it("with a publisher down and fewer than k agreeing: waits for it, then skipped at the deadline with the reason, nothing sent", async () => {
    await b.publisher.stop();
    const t1 = feed.append();
    writeFileSync(
      editedCsv,
      readFileSync(editedCsv, "utf8") + readFileSync(feed.path, "utf8").split("\n").at(-2) + "\n",
    );
    for (const p of [a, c, d]) await p.publisher.poll();
    await closeBar(provider, t1);
    const id = jobIdOf(MARKET, t1);
    const waits = () => lines.filter((l) => l.msg === "waiting for publishers" && l.job === id).length;
    // More waits than the job's two attempts, none of them spent.
    while (waits() < 3) await new Promise((r) => setTimeout(r, 50));
    await provider.send("evm_mine", [t1 + 7200 + WAIT_SECONDS]);
    const job = await waitForJob(running!.url, id, "skipped", logText, 300_000);
    expect(job).toMatchObject({ attempts: 0 });
    expect(job.reason).toMatch(
      new RegExp(
        `^no quorum by the deadline .*\\): BTC-USDT bar ${new Date(t1 * 1000).toISOString().replace(/\./g, "\\.")}: ` +
          `1 agreeing signed window\\(s\\) by registered publishers, the publisher set needs 2: `,
      ),
    );
    // C's edited bar is now the window's next-to-last (bar 83).
    expect(job.reason).toContain(`${c.url}/: disagree (${c.url}/ differs from ${a.url}/ at bar 83 (`);
    expect(job.reason).toContain(`${a.url}/: disagree (${a.url}/ differs from ${c.url}/ at bar 83 (`);
    expect(job.reason).toContain(`${b.url}/: unreachable (request failed`);
    expect(job.reason).toContain(`${d.url}/: unregistered (`);
    expect(job.transaction).toBeNull();
    expect(await acceptedTimestamps(provider, oracle)).toEqual([feed.lastTimestamp - 7200]);
    const metrics = await (await fetch(`${running!.url}/metrics`)).text();
    // Asked at every wait, and once more at the deadline.
    expect(metrics).toContain(
      `zkrisk_publisher_fetches_total{market="BTC-USDT",publisher="${b.url}/",outcome="unreachable"} ${waits() + 1}`,
    );
    expect(metrics).toContain(`zkrisk_publisher_waits_total{market="BTC-USDT"} ${waits()}`);
    expect(metrics).toContain('zkrisk_updates_skipped_total{market="BTC-USDT",reason="quorum_deadline"} 1');
  }, 600_000);
});

/** A publisher's signed window of the bar opening at `endTime` (ms), read and verified as a file is. */
async function readSignedWindowFrom(url: string, endTime: number) {
  const text = await (await fetch(`${url}/v1/windows/${MARKET}?at=${endTime}`)).text();
  const file = join(dir, `window-${endTime}.json`);
  writeFileSync(file, text);
  return readSignedWindow(file);
}
