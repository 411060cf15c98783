/**
 * `zkrisk audit` trusts neither the prover, nor the verifier governance registered, nor the sources it reads. The
 * markets here are registered with the signed-update STAND-IN verifier (test/helpers/signed-update-stand-in.ts),
 * which accepts whatever update it is given: the oracle accepts updates the real circuit would never prove, and the
 * audit must find them from the signed windows alone. Hardhat's in-process network, real signatures (test keys
 * from fixed seeds), the shipped model and candles; L is the last bar of the shipped candles.
 *
 *   BTC-USDT (plain, shipped model)
 *     bar L-2  margins and digest of the honest window of bar L-3              -> FAIL: another bar's window
 *     bar L-1  margins and digest of ETH-USDT's window of bar L-1 (same bars)  -> FAIL: another market's window
 *     bar L    honest; the publisher serves the window of bar L-3 for it       -> UNVERIFIABLE, not "other candles"
 *   SOL-USDT (adaptive, another model), bars L-2 and L-1, honest              -> OK with its model, UNVERIFIABLE
 *                                                                                  with the shipped one (not FAIL)
 *   ETH-USDT (adaptive, shipped model, governance's initial num off by 2^8), bars L-2 and L-1 honest from that
 *   state                                                                     -> FAIL, from a later block too
 *
 * A "publisher" on 127.0.0.1 answers `GET /v1/windows/:market?at=` from a table (a publisher that serves other
 * windows than the ones asked for), and a JSON-RPC proxy (test/helpers/capped-rpc.ts) answers eth_getLogs in
 * another order, or for every address.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract } from "ethers";
import { buildWindow, type Window } from "../../candles";
import { windowDigest } from "../../candles/digest";
import { marketIdOf } from "../../candles/market-id";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { modelCommitment } from "../../circuits/commitments";
import { digestSignal, UPDATE_PACKING } from "../../circuits/statement";
import { windowFeatures } from "../../features/window-features";
import type { AdaptiveRule } from "../../models/adaptive";
import { inferInteger } from "../../models/integer-engine";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { auditOracle, type AuditOptions, type AuditReport } from "../../audit/audit";
import { runAudit } from "../../cli/commands/audit";
import { UsageError } from "../../core/errors";
import type { AuditPublisherSet } from "../../audit/audit-signed";
import { inProcessChain, readOnlyProvider, type Chain } from "../../onchain/chain";
import {
  deployOracle,
  deployVerifier,
  setAdaptiveCalibration,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { oracleDomain } from "../../prover/domain";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  signedWindowJson,
  signWindow,
  writeSignedWindow,
  type PublisherKey,
  type PublisherSet,
} from "../../publisher";
import { PublisherArchiveSource, WindowDirectory } from "../../publisher/window-sources";
import { privateKeyOf } from "../helpers/publisher-serve";
import { registerSignedMarket } from "../helpers/register-market";
import {
  adaptiveStandInArtifacts,
  packedStandInStatement,
  proveStandIn,
  standInArtifacts,
} from "../helpers/signed-update-stand-in";
import { writeBiasedModel } from "../helpers/models";
import { serveInProcessNetwork, type InProcessRpc } from "../helpers/rpc-server";
import { startCappedRpc } from "../helpers/capped-rpc";
import { honestAdaptiveUpdate } from "../helpers/honest-adaptive-update";
import { DATA, MODEL } from "../contracts/fixture";

const series = loadCandles(DATA);
const L = series.candles.length - 1;
const openS = (index: number) => series.candles[index].time / 1000;
const RULE: AdaptiveRule = loadCalibrations(join(__dirname, "../../models/calibrations.json")).adaptive;
const [BTC, ETH, SOL] = ["BTC-USDT", "ETH-USDT", "SOL-USDT"];

let tmp: string;
let chain: Chain;
let oracle: Contract;
let domain: bigint;
/** The stand-in's artifacts and verifier: plain layout (BTC-USDT) and adaptive layout (the adaptive markets). */
let standIn: string;
let verifier: string;
let adaptiveStandIn: string;
let adaptiveVerifier: string;
let model: QuantizedModel;
let other: QuantizedModel;
let otherPath: string;
let a: PublisherKey;
let set: PublisherSet;
let setFile: AuditPublisherSet;
/** Signed windows of the adaptive markets. */
let windowsDir: string;
/** What the publisher on 127.0.0.1 serves: `${market}@${at ms}` -> signed window document. */
const served = new Map<string, unknown>();
let publisher: Server;
let publisherUrl: string;
let rpcServer: InProcessRpc;
/** Block of each update, by `${market}@${bar index}`; block of ETH-USDT's AdaptiveCalibrationSet. */
const blocks = new Map<string, number>();
let ethAdaptiveSetBlock: number;
let first: number;
let last: number;
/** The chain's clock: every submission gets a later block time. */
let clock = 0;

const windowOf = (market: string, index: number): Window =>
  buildWindow(series, marketIdOf(market), index, WINDOW_BARS);

/** Margins of the model on a window (bps). */
function marginsOf(m: QuantizedModel, w: Window): { mm: bigint; im: bigint } {
  const t = inferInteger(m, windowFeatures(w));
  return { mm: t.maintenanceMarginBps, im: t.initialMarginBps };
}

/** Submit `update` (any packed signal below 2^253) for `market` with a stand-in proof, timely for bar `index`. */
async function submit(market: string, modelC: bigint, index: number, update: bigint): Promise<number> {
  const proof = await proveStandIn(
    market === BTC ? standIn : adaptiveStandIn,
    packedStandInStatement(update, {
      marketId: marketIdOf(market),
      modelCommitment: modelC,
      publisherSet: setFile.commitment,
      domain,
    }),
  );
  clock = Math.max(clock + 2, openS(index) + series.intervalMs / 1000 + 60);
  await chain.mineAt(clock - 1);
  await chain.setNextBlockTime(clock);
  const block = (await submitSignedUpdate(oracle, marketIdOf(market), proof.calldata)).blockNumber;
  blocks.set(`${market}@${index}`, block);
  return block;
}

/** A plain update's packed signal. */
const plainUpdate = (mm: bigint, im: bigint, index: number, digestBits: bigint): bigint => {
  const P = UPDATE_PACKING;
  return (
    mm +
    (im << BigInt(P.imShift)) +
    (BigInt(openS(index)) << BigInt(P.timestampShift)) +
    (digestBits << BigInt(P.digestShift))
  );
};

/** The honest adaptive update of `market` (model `m`) at bar `index`, from the prior the oracle reports. */
const adaptiveUpdateAt = (market: string, m: QuantizedModel, index: number): Promise<bigint> =>
  honestAdaptiveUpdate(oracle, marketIdOf(market), m, windowOf(market, index), RULE);

/** The audit of every block of the scenario (or from `fromBlock`), with the publisher and the window directory. */
function audit(opts: Partial<AuditOptions> = {}): Promise<AuditReport> {
  return auditOracle({
    provider: chain.provider,
    oracle: String(oracle.target),
    fromBlock: first,
    toBlock: last,
    model,
    modelPath: MODEL,
    windowSources: [new PublisherArchiveSource(publisherUrl), WindowDirectory.open(windowsDir)],
    publisherSets: [setFile],
    adaptive: { rule: RULE, source: "models/calibrations.json" },
    ...opts,
  });
}

/** The audited update of `market` at bar `index`. */
const updateOf = (r: AuditReport, market: string, index: number) => {
  const u = r.updates.find((x) => x.market === market && x.dataTimestamp === openS(index));
  if (u === undefined) throw new Error(`no audited update of ${market} at bar ${index}`);
  return u;
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-untrusted-"));
  model = loadQuantizedModel(MODEL);
  otherPath = writeBiasedModel(tmp);
  other = loadQuantizedModel(otherPath);
  const privateKey = privateKeyOf(1);
  a = { privateKey, publicKey: await publicKeyOf(privateKey) };
  set = await makePublisherSet([a.publicKey], 1);
  setFile = { file: join(tmp, "set.json"), set, commitment: await publisherSetCommitment(set) };

  standIn = await standInArtifacts();
  adaptiveStandIn = await adaptiveStandInArtifacts();
  chain = await inProcessChain();
  const me = await chain.signer.getAddress();
  oracle = await deployOracle(chain.signer, me);
  domain = oracleDomain(chain.chainId, String(oracle.target));
  verifier = String((await deployVerifier(chain.signer, standIn)).target);
  adaptiveVerifier = String((await deployVerifier(chain.signer, adaptiveStandIn)).target);
  const [shipped, otherC] = [await modelCommitment(model), await modelCommitment(other)];
  first = (await chain.provider.getBlock("latest"))!.number + 1;
  await registerSignedMarket(oracle, marketIdOf(BTC), { verifier, modelCommitment: shipped, set });
  await registerSignedMarket(oracle, marketIdOf(SOL), {
    verifier: adaptiveVerifier,
    modelCommitment: otherC,
    set,
  });
  await registerSignedMarket(oracle, marketIdOf(ETH), {
    verifier: adaptiveVerifier,
    modelCommitment: shipped,
    set,
  });
  await setAdaptiveCalibration(oracle, marketIdOf(SOL), BigInt(other.policy.calibrationNum) << 8n);
  // governance's initial num is not the registered model's calibrationNum * 2^8
  const wrongNum = (BigInt(model.policy.calibrationNum) << 8n) + 256n;
  ethAdaptiveSetBlock = (await setAdaptiveCalibration(oracle, marketIdOf(ETH), wrongNum)).blockNumber;

  // BTC-USDT: bar L-2 proven from bar L-3's window, bar L-1 from ETH-USDT's window, bar L honest.
  const previous = windowOf(BTC, L - 3);
  const eth = windowOf(ETH, L - 1);
  const honest = windowOf(BTC, L);
  const sign = async (market: string, w: Window) => signedWindowJson(await signWindow(a, market, w));
  const btcPrevious = await sign(BTC, previous);
  served.set(`${BTC}@${openS(L - 2) * 1000}`, btcPrevious);
  served.set(`${BTC}@${openS(L - 1) * 1000}`, await sign(ETH, eth));
  served.set(`${BTC}@${openS(L) * 1000}`, btcPrevious);
  const digestOf = async (w: Window) => digestSignal(await windowDigest(w));

  windowsDir = join(tmp, "windows");
  mkdirSync(windowsDir);
  for (const index of [L - 2, L - 1]) {
    const p = marginsOf(model, previous);
    const e = marginsOf(model, eth);
    if (index === L - 2)
      await submit(BTC, shipped, index, plainUpdate(p.mm, p.im, index, await digestOf(previous)));
    else await submit(BTC, shipped, index, plainUpdate(e.mm, e.im, index, await digestOf(eth)));
    for (const [market, m, c] of [
      [SOL, other, otherC],
      [ETH, model, shipped],
    ] as const) {
      await submit(market, c, index, await adaptiveUpdateAt(market, m, index));
      writeSignedWindow(
        join(windowsDir, `${market}-${index}.json`),
        await signWindow(a, market, windowOf(market, index)),
      );
    }
  }
  const h = marginsOf(model, honest);
  last = await submit(BTC, shipped, L, plainUpdate(h.mm, h.im, L, await digestOf(honest)));

  publisher = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const market = decodeURIComponent(url.pathname.split("/").at(-1) ?? "");
    const doc = served.get(`${market}@${url.searchParams.get("at")}`);
    res.writeHead(doc === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(doc ?? { error: "NOT_FOUND", message: "not signed" }));
  });
  await new Promise<void>((resolve) => publisher.listen(0, "127.0.0.1", resolve));
  publisherUrl = `http://127.0.0.1:${(publisher.address() as AddressInfo).port}`;
  rpcServer = await serveInProcessNetwork();
}, 600_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (publisher ? publisher.close(() => resolve()) : resolve()));
  await rpcServer?.close();
  await chain?.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("a window of another bar or market", () => {
  it("an update proven from another bar's window, served for its bar: FAIL naming both bars", async () => {
    const u = updateOf(await audit(), BTC, L - 2);
    expect(u.status).toBe("flagged");
    expect(u.reasons.join("\n")).toContain(
      `is a window of ${BTC} ending at ${new Date(openS(L - 3) * 1000).toISOString()}, the update is for ` +
        `${BTC} at ${new Date(openS(L - 2) * 1000).toISOString()}`,
    );
  });

  it("an update proven from another market's window (the same candles): FAIL naming both markets", async () => {
    const u = updateOf(await audit(), BTC, L - 1);
    expect(u.status).toBe("flagged");
    expect(u.reasons.join("\n")).toContain(
      `is a window of ${ETH} ending at ${new Date(openS(L - 1) * 1000).toISOString()}, the update is for ` +
        `${BTC} at ${new Date(openS(L - 1) * 1000).toISOString()}`,
    );
  });

  it("an honest update whose publisher serves another bar's window: UNVERIFIABLE naming it, not 'other candles'", async () => {
    const u = updateOf(await audit(), BTC, L);
    expect(u.reasons).toEqual([]);
    expect(u.status).toBe("unverifiable");
    expect(u.missing.join("\n")).toContain(
      `serves a window of ${BTC} ending at ${new Date(openS(L - 3) * 1000).toISOString()} for this bar`,
    );
    expect(u.signed?.windows.map((w) => w.result)).toEqual(["other bar", "absent"]);
  });
});

describe("adaptive markets", () => {
  it("honest updates of a market whose model is another: OK with that model, UNVERIFIABLE (not FAIL) with another", async () => {
    const sol = (r: AuditReport) => r.updates.filter((u) => u.market === SOL);
    const right = sol(await audit({ model: other, modelPath: otherPath }));
    expect(right.map((u) => [u.status, ...u.reasons, ...u.missing])).toEqual([["ok"], ["ok"]]);
    const wrong = sol(await audit());
    for (const u of wrong) {
      expect(u.reasons).toEqual([]);
      expect(u.status).toBe("unverifiable");
      expect(u.missing.join("\n")).toMatch(
        /the model in force commits to \d+, none of the models given does \(/,
      );
    }
  });

  it("several models (--model, repeatable): each market's updates are recomputed with the model it registered", async () => {
    const one = await audit();
    const both = await audit({ models: [{ model: other, path: otherPath }] });
    expect(both.checks.models.map((m) => m.path)).toEqual([MODEL, otherPath]);
    // SOL's updates, unverifiable with the shipped model alone, are OK; every other update keeps its verdict
    const verdict = (u: AuditReport["updates"][number]) => [
      u.market,
      u.dataTimestamp,
      u.status,
      ...u.reasons,
    ];
    expect(both.updates.filter((u) => u.market === SOL).map((u) => u.status)).toEqual(["ok", "ok"]);
    expect(both.updates.filter((u) => u.market !== SOL).map(verdict)).toEqual(
      one.updates.filter((u) => u.market !== SOL).map(verdict),
    );
    // the same model given twice is one model
    const twice = await audit({ models: [{ model, path: "again" }] });
    expect(twice.checks.models.map((m) => m.path)).toEqual([MODEL]);
  });

  it("governance's initial num off the registered model's: FAIL over the whole range, and from a later block too", async () => {
    const expected =
      `governance set the initial num ${(BigInt(model.policy.calibrationNum) << 8n) + 256n}, the registered ` +
      `model's calibrationNum ${model.policy.calibrationNum} gives ${BigInt(model.policy.calibrationNum) << 8n}`;
    const whole = updateOf(await audit(), ETH, L - 2);
    expect(whole.status).toBe("flagged");
    expect(whole.reasons).toContain(expected);
    expect(ethAdaptiveSetBlock).toBeLessThan(blocks.get(`${ETH}@${L - 1}`)!);
    const later = updateOf(await audit({ fromBlock: blocks.get(`${ETH}@${L - 1}`) }), ETH, L - 1);
    expect(later.status).toBe("flagged");
    expect(later.reasons).toContain(expected);
  });
});

describe("another chain", () => {
  it("--chain-id: a node serving another chain is refused before anything is read", async () => {
    const ok = await audit({ chainId: chain.chainId, windowSources: [], publisherSets: [] });
    expect(ok.chainId).toBe(chain.chainId);
    await expect(audit({ chainId: chain.chainId + 1n })).rejects.toThrow(
      new UsageError(`chainId: the node serves chain ${chain.chainId}, not chain ${chain.chainId + 1n}`),
    );
    const flags = { rpc: rpcServer.url, oracle: String(oracle.target), toBlock: String(first) };
    for (const [chainId, message] of [
      [
        String(chain.chainId + 1n),
        `--chain-id: the node serves chain ${chain.chainId}, not chain ${chain.chainId + 1n}`,
      ],
      ["0x1", "--chain-id: '0x1' is not a positive integer"],
      ["0", "--chain-id: '0' is not a positive integer"],
    ]) {
      const err = await runAudit({ ...flags, chainId }).catch((e: unknown) => e);
      expect(err, chainId).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(message);
    }
  });
});

describe("a node that answers eth_getLogs in its own way", () => {
  it("logs in reverse order: the same report", async () => {
    const direct = await audit();
    const proxy = await startCappedRpc(rpcServer.url, Infinity, undefined, {
      logs: (logs) => [...logs].reverse(),
    });
    const provider = await readOnlyProvider(proxy.url);
    try {
      expect(await audit({ provider })).toEqual(direct);
    } finally {
      provider.destroy();
      await proxy.close();
    }
  });

  it("logs of every address (the address filter ignored): refused, naming the address", async () => {
    const other = await deployOracle(chain.signer, await chain.signer.getAddress());
    await registerSignedMarket(other, marketIdOf(BTC), { verifier, modelCommitment: 1n, set });
    const proxy = await startCappedRpc(rpcServer.url, Infinity, undefined, {
      params: ([filter]) => [{ ...(filter as object), address: undefined }],
    });
    const provider = await readOnlyProvider(proxy.url);
    try {
      const err = await audit({ provider, toBlock: undefined }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(
        `the node returned a log of ${String(other.target)} for a query of ${String(oracle.target)} (block`,
      );
    } finally {
      provider.destroy();
      await proxy.close();
    }
  });
});
