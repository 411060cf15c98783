/**
 * `zkrisk audit` of signed batches with the REAL signed batch circuit (N = 2, quorum 1, constant weights, the
 * shipped model; artifacts cached as test/contracts/signed-batch-real.test.ts caches them) on Hardhat's in-process
 * network. One batch of BTC-USDT and ETH-USDT at the last bar of the shipped candles, signed by publisher A of
 * the registered set {A, B} (quorum 1), proven and accepted: two `SignedBatchParametersUpdated` events (index 0
 * and 1); before it, the batch of the bar before, sent through another contract (the audit finds the call inside
 * the outer calldata). The audit reads the signed batch from directories of batch files:
 *   honest     A's batch file                                                       -> ok
 *   edited     A's batch with one close of ETH-USDT changed and signed again        -> flagged, naming market, bar, field
 *   tampered   A's batch file with one close changed after signing                  -> flagged (the file does not check)
 *   outsider   the batch signed by C, not in the set                                -> flagged
 *   none       no directory holds the batch, or no directory is given               -> unverifiable
 *   --data     an independent candle file with one close changed                    -> flagged, naming bar and field
 *              (only its market's update: the other market's is not compared with it)
 * Publisher keys are test keys from fixed seeds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ContractFactory, type Contract } from "ethers";
import { buildWindow, fixedPointText, PRICE_DECIMALS } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { windowFeatures } from "../../features/window-features";
import { WINDOW_BARS } from "../../candles/window";
import { inferInteger } from "../../models/integer-engine";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { oracleDomain } from "../../prover/domain";
import { auditOracle, type AuditOptions, type AuditReport } from "../../audit/audit";
import type { AuditPublisherSet } from "../../audit/audit-signed";
import { inProcessChain, type Chain } from "../../onchain/chain";
import { compileSolidity } from "../../onchain/solc";
import {
  deployOracle,
  deployVerifier,
  setBatchVerifier,
  signedBatchArguments,
  submitSignedBatch,
} from "../../onchain/oracle";
import { batchDigestSignal } from "../../circuits/batch-statement";
import { SignedBatchProver, type ProvedSignedBatch } from "../../prover/prove-signed-batch";
import { releaseCurves, silentLog } from "../../setup";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  signBatch,
  signedBatchJson,
  writePublisherSet,
  writeSignedBatch,
  type PublisherKey,
  type PublisherSet,
  type SignedBatch,
} from "../../publisher";
import { WindowDirectory } from "../../publisher/window-sources";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { runAudit, type AuditFlags } from "../../cli/commands/audit";
import { privateKeyOf } from "../helpers/publisher-serve";
import { registerSignedMarket } from "../helpers/register-market";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { DATA, MODEL } from "../contracts/fixture";
import { serveInProcessNetwork, type InProcessRpc } from "../helpers/rpc-server";

const series = loadCandles(DATA);
const model = loadQuantizedModel(MODEL);
const LAST = series.candles.length - 1;
const MARKETS = ["BTC-USDT", "ETH-USDT"] as const;
/** Open time of the batch's bar (s), and a timely submission: one minute after its close. */
const T = series.candles[LAST].time / 1000;
const AT = T + series.intervalMs / 1000 + 60;
const FORWARDER_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Test helper: a contract that submits to the oracle for its caller.
contract Forwarder {
    function forward(address target, bytes calldata data) external {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
    }
}
`;

/** The bar of ETH-USDT's window whose close the edited copies change (before the range part: only its close is signed). */
const EDITED_BAR = 40;

let tmp: string;
let artifactsDir: string;
let chain: Chain;
let prover: SignedBatchProver;
let oracle: Contract;
let a: PublisherKey;
let b: PublisherKey;
let c: PublisherKey;
/** The registered set {A, B}, quorum 1, and its file. */
let publishers: PublisherSet;
let setFile: AuditPublisherSet;
let signed: SignedBatch;
let proof: ProvedSignedBatch;
let block: number;
/** The block of the batch of the bar before, forwarded by another contract. */
let forwardedBlock: number;
/** Directories of batch files: A's honest one; A's edited and re-signed one; A's edited after signing; C's. */
const dirs = { honest: "", edited: "", tampered: "", outsider: "", other: "" };
let rpcServer: InProcessRpc | undefined;
let rpcUrl: string;

async function publisher(n: number): Promise<PublisherKey> {
  const privateKey = privateKeyOf(n);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

const windowOf = (market: string) => ({
  market,
  window: buildWindow(series, marketIdOf(market), LAST, WINDOW_BARS),
});

/** A directory holding one batch file per document given. */
function batchDir(name: string, docs: Record<string, unknown>): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const [file, doc] of Object.entries(docs)) writeFileSync(join(dir, file), JSON.stringify(doc));
  return dir;
}

/** The audit of the batch's block. */
function audit(opts: Partial<AuditOptions> = {}): Promise<AuditReport> {
  return auditOracle({
    provider: chain.provider,
    oracle: String(oracle.target),
    fromBlock: block,
    toBlock: block,
    model,
    modelPath: MODEL,
    publisherSets: [setFile],
    ...opts,
  });
}

const from = (...names: (keyof typeof dirs)[]) => names.map((n) => WindowDirectory.open(dirs[n]));

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-batch-"));
  artifactsDir = (await signedBatchArtifacts(MODEL, 2, silentLog)).dir;
  prover = SignedBatchProver.open(
    artifactsDir,
    { mode: "constant", batchSize: 2, quorum: 1 },
    { modelPath: MODEL },
  );
  [a, b, c] = await Promise.all([1, 2, 3].map(publisher));
  publishers = await makePublisherSet([a.publicKey, b.publicKey], 1);
  const file = join(tmp, "set.json");
  writePublisherSet(file, publishers);
  setFile = { file, set: publishers, commitment: await publisherSetCommitment(publishers) };

  chain = await inProcessChain();
  const me = await chain.signer.getAddress();
  oracle = await deployOracle(chain.signer, me);
  const domain = oracleDomain(chain.chainId, String(oracle.target));
  const modelCommitment = await commitModel(model);
  const single = String((await deployVerifier(chain.signer, await standInArtifacts())).target);
  for (const m of MARKETS) {
    await registerSignedMarket(oracle, marketIdOf(m), { verifier: single, modelCommitment, set: publishers });
  }
  const batchVerifier = String((await deployVerifier(chain.signer, artifactsDir)).target);
  await setBatchVerifier(oracle, modelCommitment, 2, batchVerifier);

  // The batch of the bar before, through a forwarding contract, one bar earlier.
  const before = MARKETS.map((m) => ({
    market: m,
    window: buildWindow(series, marketIdOf(m), LAST - 1, WINDOW_BARS),
  }));
  const earlier = await signBatch(a, before);
  const earlierProof = await prover.prove({ batches: [earlier], publishers, domain });
  const solPath = join(tmp, "Forwarder.sol");
  writeFileSync(solPath, FORWARDER_SOURCE);
  const compiled = compileSolidity([solPath]).Forwarder;
  const forwarder = (await (
    await new ContractFactory(compiled.abi as never, compiled.bytecode, chain.signer).deploy()
  ).waitForDeployment()) as Contract;
  const call = oracle.interface.encodeFunctionData("submitSignedBatch", signedBatchArguments(earlierProof));
  const earlierAt = AT - series.intervalMs / 1000;
  await chain.mineAt(earlierAt - 1);
  await chain.setNextBlockTime(earlierAt);
  forwardedBlock = (await (await forwarder.forward(String(oracle.target), call)).wait()).blockNumber;

  signed = await signBatch(
    a,
    MARKETS.map((m) => windowOf(m)),
  );
  proof = await prover.prove({ batches: [signed], publishers, domain });
  await chain.mineAt(AT - 1);
  await chain.setNextBlockTime(AT);
  block = (await submitSignedBatch(oracle, proof)).blockNumber;

  const [btc, eth] = MARKETS.map((m) => windowOf(m));
  eth.window.bars[EDITED_BAR] = {
    ...eth.window.bars[EDITED_BAR],
    close: eth.window.bars[EDITED_BAR].close + 1n,
  };
  const tampered = signedBatchJson(signed) as { markets: { bars: { close: string }[] }[] };
  tampered.markets[1].bars[EDITED_BAR].close = String(
    BigInt(tampered.markets[1].bars[EDITED_BAR].close) + 1n,
  );
  dirs.honest = batchDir("honest", { "batch-a.json": signedBatchJson(signed) });
  dirs.edited = batchDir("edited", { "batch-a.json": signedBatchJson(await signBatch(a, [btc, eth])) });
  dirs.tampered = batchDir("tampered", { "batch-a.json": tampered });
  dirs.outsider = batchDir("outsider", {
    "batch-c.json": signedBatchJson(
      await signBatch(
        c,
        MARKETS.map((m) => windowOf(m)),
      ),
    ),
  });
  // The batch of the bar before: a directory that does not hold the audited batch.
  dirs.other = join(tmp, "other");
  mkdirSync(dirs.other);
  writeSignedBatch(join(dirs.other, "earlier.json"), earlier);

  rpcServer = await serveInProcessNetwork();
  rpcUrl = rpcServer.url;
}, 1_800_000);

afterAll(async () => {
  await rpcServer?.close();
  await chain?.close();
  await prover?.close();
  await releaseCurves();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("zkrisk audit of signed batches (real circuit)", () => {
  it("passes an honest batch: both markets, digest, the set's signature, the call's signals, proof, features and margins", async () => {
    const r = await audit({ batchSources: from("honest"), batchVkeys: [prover.vkey] });
    expect(r.checks.batchProofs).toEqual([2]);
    expect(r.checks.batches).toEqual([dirs.honest]);
    const engine = inferInteger(model, windowFeatures(windowOf("BTC-USDT").window));
    const submitter = await chain.signer.getAddress();
    expect(r.updates).toHaveLength(2);
    for (const [index, u] of r.updates.entries()) {
      expect(u).toMatchObject({
        kind: "batch",
        status: "ok",
        reasons: [],
        missing: [],
        market: MARKETS[index],
        marketId: marketIdOf(MARKETS[index]),
        dataTimestamp: T,
        maintenanceMarginBps: Number(engine.maintenanceMarginBps),
        initialMarginBps: Number(engine.initialMarginBps),
        submitter,
      });
      expect(u.batch).toEqual({
        batchDigestBits: batchDigestSignal(signed.digest),
        index,
        publisherSet: setFile.commitment,
        quorum: 1,
        setFile: setFile.file,
        signatures: 1,
        windows: [{ source: join(dirs.honest, "batch-a.json"), result: "signed" }],
      });
    }
    expect(r).toMatchObject({ ok: 2, failed: 0, flagged: 0, unverifiable: 0 });

    // Another batch size's key, or a key whose points do not fit: the proof is checked and fails.
    const other = { ...prover.vkey, IC: [...prover.vkey.IC].reverse() };
    const wrong = await audit({ batchSources: from("honest"), batchVkeys: [other] });
    expect(wrong.updates.map((u) => u.reasons)).toEqual([
      ["the Groth16 proof does not verify with the verification key for the submitted public signals"],
      ["the Groth16 proof does not verify with the verification key for the submitted public signals"],
    ]);
    await expect(audit({ batchVkeys: [prover.vkey, prover.vkey] })).rejects.toThrow(
      /^batchVkeys\[1\]: a second key for batches of 2 markets$/,
    );
  });

  it("a batch forwarded by another contract: its call is found inside the outer calldata and its proof verified", async () => {
    const r = await audit({
      fromBlock: forwardedBlock,
      toBlock: forwardedBlock,
      batchSources: from("other"),
      batchVkeys: [prover.vkey],
    });
    expect(r.updates.map((u) => [u.market, u.kind, u.batch?.index, u.status])).toEqual([
      ["BTC-USDT", "batch", 0, "ok"],
      ["ETH-USDT", "batch", 1, "ok"],
    ]);
    expect(r.updates[0].dataTimestamp).toBe(T - series.intervalMs / 1000);
    // Both batches, in chain order.
    const both = await audit({ fromBlock: forwardedBlock, batchSources: from("other", "honest") });
    expect(both.updates.map((u) => [u.market, u.dataTimestamp, u.status])).toEqual([
      ["BTC-USDT", T - series.intervalMs / 1000, "ok"],
      ["ETH-USDT", T - series.intervalMs / 1000, "ok"],
      ["BTC-USDT", T, "ok"],
      ["ETH-USDT", T, "ok"],
    ]);
  });

  it("a batch re-signed with an edited candle: flagged, naming the market, the bar and the field", async () => {
    const eth = windowOf("ETH-USDT").window.bars[EDITED_BAR];
    const iso = new Date(eth.time).toISOString();
    const edited = join(dirs.edited, "batch-a.json");
    const r = await audit({ batchSources: from("edited", "honest") });
    for (const u of r.updates) {
      expect(u.status).toBe("flagged");
      expect(u.reasons).toHaveLength(1);
      expect(u.reasons[0]).toMatch(
        new RegExp(
          `^${edited}: its signed batch for this bar has digest \\d+, the update's is ` +
            `${batchDigestSignal(signed.digest)}: it holds other candles than the ones proven \\(first difference: ` +
            `${edited} differs from ${join(dirs.honest, "batch-a.json")} at market ETH-USDT \\(markets\\[1\\]\\) ` +
            `bar ${EDITED_BAR} \\(${iso.replace(/\./g, "\\.")}\\) markets\\[1\\]\\.bars\\[${EDITED_BAR}\\]\\.close: `,
        ),
      );
      // The honest copy still gives the quorum and the margins.
      expect(u.missing).toEqual([]);
      expect(u.batch?.windows.map((w) => w.result)).toEqual(["other digest", "signed"]);
    }

    // The edited copy alone: the fault, and nothing to recompute the margins from.
    const alone = await audit({ batchSources: from("edited") });
    expect(alone.updates.map((u) => u.status)).toEqual(["flagged", "flagged"]);
    expect(alone.updates[0].reasons[0]).toContain("it holds other candles than the ones proven");
    expect(alone.updates[0].missing).toEqual([
      `no signed batch with the update's batch digest's low 91 bits ${batchDigestSignal(signed.digest)} was found for the bar ` +
        new Date(T * 1000).toISOString(),
    ]);
  });

  it("a batch file edited after signing, and a batch signed by a key outside the set: flagged", async () => {
    const tampered = await audit({ batchSources: from("tampered") });
    expect(tampered.updates.map((u) => u.status)).toEqual(["flagged", "flagged"]);
    expect(tampered.updates[1].reasons[0]).toMatch(
      /^a signed batch for this bar does not check: .*batch-a\.json: markets\[1\]\.digest: \d+ is not the digest of the bars/,
    );

    const outsider = await audit({ batchSources: from("outsider") });
    const u = outsider.updates[0];
    expect(u.status).toBe("flagged");
    expect(u.reasons).toEqual([
      `${join(dirs.outsider, "batch-c.json")}: signed by a key that is not in the publisher set in force (Ax ` +
        `${c.publicKey.Ax})`,
    ]);
    expect(u.missing).toEqual([
      "found signatures by 0 of the 1 distinct publishers of the set the quorum needs",
    ]);
  });

  it("no directory holding the batch, or none given: unverifiable, naming what each source answered", async () => {
    const r = await audit({ batchSources: from("other") });
    const at = new Date(T * 1000).toISOString();
    for (const [i, u] of r.updates.entries()) {
      expect(u.status).toBe("unverifiable");
      expect(u.reasons).toEqual([]);
      expect(u.missing).toEqual([
        `no signed batch with the update's batch digest's low 91 bits ${batchDigestSignal(signed.digest)} was found for the bar ${at} ` +
          `(${dirs.other}: no signed batch with a window of ${MARKETS[i]} ending at ${at})`,
      ]);
    }
    expect(r).toMatchObject({ ok: 0, failed: 2, flagged: 0, unverifiable: 2 });

    const none = await audit({ publisherSets: [] });
    expect(none.updates[0].missing).toEqual([
      `no --publishers file commits to the publisher set in force ${setFile.commitment}: the ` +
        "signatures were not checked against its keys",
      "no signed batch source (--windows DIR): the signed batch was not looked up",
    ]);
  });

  it("--data with one edited close: flagged, naming the bar (ISO) and the field", async () => {
    const bar = windowOf("BTC-USDT").window.bars[30];
    const iso = new Date(bar.time).toISOString();
    const csvTime = iso.slice(0, 16).replace("T", " ");
    const raised = bar.close + 10n ** BigInt(PRICE_DECIMALS - 2);
    const [header, ...rows] = readFileSync(DATA, "utf8").trim().split("\n");
    let edits = 0;
    const out = rows.map((row) => {
      const cols = row.split(",");
      if (!cols[0].startsWith(csvTime)) return row;
      edits++;
      cols[4] = fixedPointText(raised, PRICE_DECIMALS);
      cols[2] = String(Math.max(Number(cols[2]), Number(cols[4])));
      return cols.join(",");
    });
    expect(edits).toBe(1);
    const file = join(tmp, "close-edited.csv");
    writeFileSync(file, [header, ...out].join("\n") + "\n");

    const data = (market: string) => ({ series: loadCandles(file), market });
    const honest = await audit({ batchSources: from("honest"), data: { series, market: "BTC-USDT" } });
    expect(honest.updates.map((u) => u.status)).toEqual(["ok", "ok"]);
    // Both markets' windows are made of the same candles here; only the file's market is compared with it.
    for (const [market, other] of [
      ["BTC-USDT", "ETH-USDT"],
      ["ETH-USDT", "BTC-USDT"],
    ]) {
      const r = await audit({ batchSources: from("honest"), data: data(market) });
      const u = r.updates.find((x) => x.market === market)!;
      expect(u.status, market).toBe("flagged");
      expect(u.reasons).toEqual([
        `the signed candles are not ${file}'s: bar ${iso} close: signed ` +
          `${fixedPointText(bar.close, PRICE_DECIMALS)}, ${file} ${fixedPointText(raised, PRICE_DECIMALS)}`,
      ]);
      expect(
        r.updates.find((x) => x.market === other),
        other,
      ).toMatchObject({
        status: "ok",
        reasons: [],
        missing: [],
      });
    }
  });

  it("zkrisk audit --windows --batch-artifacts: one row per market, exit code 0 when both pass, 1 otherwise", async () => {
    const run = async (extra: Partial<AuditFlags> = {}) => {
      let stdout = "";
      const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
        stdout += String(chunk);
        return true;
      });
      try {
        const flags: AuditFlags = {
          rpc: rpcUrl,
          oracle: String(oracle.target),
          model: [MODEL],
          windows: [dirs.honest],
          publishers: [setFile.file],
          batchArtifacts: [artifactsDir],
          fromBlock: String(block),
          toBlock: String(block),
          ...extra,
        };
        return { code: await runAudit(flags), stdout };
      } finally {
        spy.mockRestore();
      }
    };
    const t0 = performance.now();
    const ok = await run();
    // A figure for the README, not an assertion: both markets of one batch, proof verified again.
    console.log(`zkrisk audit of a batch of 2 markets: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(ok.code, ok.stdout).toBe(0);
    const lines = ok.stdout.split("\n");
    expect(lines[1]).toBe(
      `checked: public signals, model ${MODEL}, no candles (--data), batch proofs of 2 markets, signed batches ` +
        `from ${dirs.honest}, publisher sets ${setFile.file}`,
    );
    expect(lines.filter((l) => /^OK +BTC-USDT +batch\[0\] +\d{4}-/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^OK +ETH-USDT +batch\[1\] +\d{4}-/.test(l))).toHaveLength(1);
    expect(lines.at(-2)).toBe("2 updates audited: 2 OK, 0 FAIL");

    const edited = await run({ windows: [dirs.edited], json: true });
    expect(edited.code).toBe(1);
    const report = JSON.parse(edited.stdout);
    expect(report.updates.map((u: { status: string }) => u.status)).toEqual(["flagged", "flagged"]);
    expect(report.updates[1].batch).toMatchObject({
      batchDigestBits: batchDigestSignal(signed.digest).toString(),
      index: 1,
    });

    await expect(run({ batchArtifacts: [artifactsDir, artifactsDir] })).rejects.toThrow(
      `--batch-artifacts: ${artifactsDir} and ${artifactsDir} both prove batches of 2 markets`,
    );
  });
});
