/**
 * `zkrisk audit` of signed updates with the REAL signed-update circuit (quorum 1, constant weights, the shipped
 * model; artifacts cached by setup/signed-update-artifacts.ts) on Hardhat's in-process network, with windows
 * from a real `zkrisk publisher serve` on 127.0.0.1 and from directories of signed window files.
 *
 * BTC-USDT registered with publisher set {A}; five signed updates of consecutive bars near the end of the shipped
 * candles, each a real proof the oracle's verifier accepted:
 *   U0 bar L-7  signed by A; its window is in no archive                              -> unverifiable
 *   U1 bar L-6  signed by A; A's archive serves it                                    -> ok
 *   U2 bar L-5  signed by A; A's archive holds other candles for the bar (re-signed)  -> flagged (digest)
 *   U3 bar L-4  signed by A; the only window found is signed by B, not registered      -> flagged
 *   then governance rotates the set to {C}
 *   U4 bar L-3  signed by C with set {C}                                               -> ok against {C}
 * (L = the last bar of the shipped candles.) Publisher keys are test keys from fixed seeds. The CLI runs in process
 * against a JSON-RPC server on 127.0.0.1 that serves this same network, and against a proxy in front of it that
 * refuses eth_getLogs over a few blocks as public providers do (test/helpers/capped-rpc.ts).
 */
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Command, CommanderError } from "commander";
import { ZeroAddress, type Contract } from "ethers";
import { buildWindow, fixedPointText, PRICE_DECIMALS, type Window } from "../../candles";
import { modelCommitment } from "../../circuits/commitments";
import { digestSignal } from "../../circuits/statement";
import { WINDOW_BARS } from "../../candles/window";
import { UsageError, ZkriskError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import { oracleDomain } from "../../prover/domain";
import { auditOracle, type AuditOptions, type AuditReport } from "../../audit/audit";
import type { AuditPublisherSet } from "../../audit/audit-signed";
import { inProcessChain, readOnlyProvider, type Chain } from "../../onchain/chain";
import { LogRangeError, type LogProgress } from "../../onchain/get-logs";
import { deployOracle, deployVerifier, setPublisherSet, submitSignedUpdate } from "../../onchain/oracle";
import { SignedUpdateProver, type ProvedSignedUpdate } from "../../prover/prove-signed-update";
import {
  makePublisherSet,
  publisherSetCommitment,
  signWindow,
  writePublisherSet,
  writeSignedWindow,
  type PublisherKey,
  type PublisherSet,
} from "../../publisher";
import { parsePublisherConfig, startPublisher, type RunningPublisher } from "../../publisher/serve";
import { PublisherArchiveSource, WindowDirectory } from "../../publisher/window-sources";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { runAudit, type AuditFlags } from "../../cli/commands/audit";
import { registerAudit } from "../../cli/register/audit";
import { EXIT_AUDIT_NOT_RUN } from "../../cli/main";
import { zkriskAsync } from "../helpers/zkrisk-cli";
import { ALCHEMY_REFUSAL, startCappedRpc } from "../helpers/capped-rpc";
import { registerSignedMarket } from "../helpers/register-market";
import { memoryLog, PASSWORD_ENV, writeTestKeystore } from "../helpers/publisher-serve";
import { DATA, MARKET, MARKET_ID, MODEL } from "../contracts/fixture";
import { serveInProcessNetwork, type InProcessRpc } from "../helpers/rpc-server";

const series = loadCandles(DATA);
const L = series.candles.length - 1;
/** The bars of U0 .. U4 (indexes into the shipped candles). */
const BARS = [L - 7, L - 6, L - 5, L - 4, L - 3];
const openMs = (index: number) => series.candles[index].time;
/** Block time of a timely submission of the bar at `index`: one minute after its close (s). */
const timely = (index: number) => (openMs(index) + series.intervalMs) / 1000 + 60;
/** The bar of the honest window of U2 whose close the archived copy changes (before the range part). */
const EDITED_BAR = 40;

let tmp: string;
let artifactsDir: string;
let chain: Chain;
let prover: SignedUpdateProver;
let model: QuantizedModel;
let oracle: Contract;
let domain: bigint;
let a: PublisherKey;
let b: PublisherKey;
let c: PublisherKey;
let setA: PublisherSet;
let setB: PublisherSet;
let setC: PublisherSet;
/** Set files and their audit form. */
const files: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };
const sets: Record<"a" | "b" | "c", AuditPublisherSet | undefined> = {
  a: undefined,
  b: undefined,
  c: undefined,
};
/** Blocks of U0 .. U4. */
const blocks: number[] = [];
const proofs: ProvedSignedUpdate[] = [];
let publisher: RunningPublisher;
/** A's honest window of U2 only; B's window of U3 and C's of U4. */
let honestDir: string;
let windowsDir: string;
let rpcServer: InProcessRpc | undefined;
let rpcUrl: string;

const windowOf = (index: number): Window => buildWindow(series, MARKET_ID, index, WINDOW_BARS);

async function setFile(name: "a" | "b" | "c", set: PublisherSet): Promise<void> {
  files[name] = join(tmp, `set-${name}.json`);
  writePublisherSet(files[name], set);
  sets[name] = { file: files[name], set, commitment: await publisherSetCommitment(set) };
}

/** Write `key`'s signed window of `window` where a publisher's archive keeps it. */
async function archiveWindow(archive: string, key: PublisherKey, window: Window): Promise<void> {
  mkdirSync(join(archive, MARKET), { recursive: true });
  writeSignedWindow(join(archive, MARKET, `${window.endTime}.json`), await signWindow(key, MARKET, window));
}

/** The audit of the blocks of updates `from` .. `to` (indexes into BARS). */
function audit(from: number, to: number, opts: Partial<AuditOptions> = {}): Promise<AuditReport> {
  return auditOracle({
    provider: chain.provider,
    oracle: String(oracle.target),
    fromBlock: blocks[from],
    toBlock: blocks[to],
    model,
    modelPath: MODEL,
    ...opts,
  });
}

const served = () => new PublisherArchiveSource(publisher.url);

/** Run `zkrisk audit ARGS` through commander in process; stdout captured, process.exitCode restored. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  const program = new Command("zkrisk").exitOverride().configureOutput({ writeErr: () => undefined });
  registerAudit(program);
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined }));
  let stdout = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const before = process.exitCode;
  try {
    process.exitCode = undefined;
    await program.parseAsync(["node", "zkrisk", "audit", ...args]);
    return { code: Number(process.exitCode ?? 0), stdout };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}

/** The error `action` throws (it must throw). */
async function failure(action: Promise<unknown>): Promise<Error> {
  try {
    await action;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, but the call succeeded");
}

/** A 127.0.0.1 port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-signed-"));
  const artifacts = await signedUpdateArtifacts(MODEL, "constant", 1);
  artifactsDir = artifacts.dir;
  prover = SignedUpdateProver.open(artifacts.dir, { mode: "constant", quorum: 1 }, { modelPath: MODEL });
  model = loadQuantizedModel(MODEL);
  const commitment = await modelCommitment(model);
  chain = await inProcessChain();
  const me = await chain.signer.getAddress();
  const verifier = await deployVerifier(chain.signer, artifacts.dir);
  oracle = await deployOracle(chain.signer, me);
  domain = oracleDomain(chain.chainId, String(oracle.target));
  [a, b, c] = await Promise.all([1, 2, 3].map((n) => writeTestKeystore(join(tmp, `${n}.key.json`), n)));
  [setA, setB, setC] = await Promise.all([a, b, c].map((k) => makePublisherSet([k.publicKey], 1)));
  await setFile("a", setA);
  await setFile("b", setB);
  await setFile("c", setC);
  await registerSignedMarket(oracle, MARKET_ID, {
    verifier: String(verifier.target),
    modelCommitment: commitment,
    set: setA,
  });
  // The key rotation: governance sets another publisher set.
  const rotate = async (set: PublisherSet) =>
    setPublisherSet(oracle, MARKET_ID, {
      verifier: String(verifier.target),
      modelCommitment: commitment,
      publisherSet: await publisherSetCommitment(set),
      quorum: 1,
    });

  // One proof at a time: the witness calculator and the curve are shared.
  for (const [i, index] of BARS.entries()) {
    const [key, set] = i === 4 ? [c, setC] : [a, setA];
    const window = await signWindow(key, MARKET, windowOf(index));
    proofs.push(await prover.prove({ windows: [window], publishers: set, domain }, { market: MARKET }));
  }
  for (const [i, index] of BARS.entries()) {
    if (i === 4) await rotate(setC);
    await chain.mineAt(timely(index) - 1);
    await chain.setNextBlockTime(timely(index));
    const receipt = await submitSignedUpdate(oracle, MARKET_ID, proofs[i].calldata);
    blocks.push(receipt.blockNumber);
  }

  // A's archive: U1 and U3 as signed, U2 with one close changed (and re-signed: the file checks in itself).
  const archive = join(tmp, "archive-a");
  await archiveWindow(archive, a, windowOf(BARS[1]));
  const edited = windowOf(BARS[2]);
  edited.bars[EDITED_BAR] = { ...edited.bars[EDITED_BAR], close: edited.bars[EDITED_BAR].close + 1n };
  await archiveWindow(archive, a, edited);
  await archiveWindow(archive, a, windowOf(BARS[3]));
  const cfg = parsePublisherConfig(
    {
      key: join(tmp, "1.key.json"),
      archive,
      pollSeconds: 3600,
      listen: { port: 0 },
      markets: [{ market: MARKET, intervalMs: series.intervalMs, source: { csv: DATA } }],
    },
    "publisher.json",
    tmp,
  );
  // Its clock stops at U3's close: it has nothing newer to sign.
  const now = openMs(BARS[3]) + series.intervalMs;
  publisher = await startPublisher(cfg, memoryLog().log, { env: PASSWORD_ENV, now: () => now });

  honestDir = join(tmp, "honest");
  mkdirSync(honestDir);
  writeSignedWindow(join(honestDir, "u2-a.json"), await signWindow(a, MARKET, windowOf(BARS[2])));
  windowsDir = join(tmp, "windows");
  mkdirSync(windowsDir);
  writeSignedWindow(join(windowsDir, "u3-b.json"), await signWindow(b, MARKET, windowOf(BARS[3])));
  writeSignedWindow(join(windowsDir, "u4-c.json"), await signWindow(c, MARKET, windowOf(BARS[4])));

  rpcServer = await serveInProcessNetwork();
  rpcUrl = rpcServer.url;
}, 1_800_000);

afterAll(async () => {
  await publisher?.stop();
  await rpcServer?.close();
  await chain?.close();
  await prover?.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("zkrisk audit of signed updates (real circuit, real publisher archive)", () => {
  it("passes an honest update: digest, the set's signature, statement key, features and margins", async () => {
    const r = await audit(1, 1, {
      windowSources: [served()],
      publisherSets: [sets.a!],
      signedVkey: prover.vkey,
    });
    expect(r.checks.signedProof).toBe(true);
    expect(r.updates).toHaveLength(1);
    const u = r.updates[0];
    expect(u).toMatchObject({
      kind: "signed",
      status: "ok",
      ok: true,
      reasons: [],
      missing: [],
      market: MARKET,
      dataTimestamp: openMs(BARS[1]) / 1000,
      maintenanceMarginBps: proofs[1].parameters.maintenanceMarginBps,
      initialMarginBps: proofs[1].parameters.initialMarginBps,
      submitter: await chain.signer.getAddress(),
    });
    expect(u.signed).toMatchObject({
      windowDigest: digestSignal(BigInt(proofs[1].parameters.windowDigest)),
      publisherSet: sets.a!.commitment,
      quorum: 1,
      setFile: files.a,
      signatures: 1,
      windows: [{ result: "signed" }],
    });
    expect(r).toMatchObject({ ok: 1, failed: 0, flagged: 0, unverifiable: 0 });
  });

  it("with another verification key, the proof of an honest update does not verify: flagged", async () => {
    const other = { ...prover.vkey, IC: [...prover.vkey.IC].reverse() };
    const u = (await audit(1, 1, { windowSources: [served()], publisherSets: [sets.a!], signedVkey: other }))
      .updates[0];
    expect(u.status).toBe("flagged");
    expect(u.reasons).toEqual([
      "the Groth16 proof does not verify with the verification key for the submitted public signals",
    ]);
    await expect(audit(1, 1, { signedVkey: { ...prover.vkey, nPublic: 7 } })).rejects.toThrow(
      /^signedVkey: the verification key takes 7 public signals, signed updates have 2$/,
    );
  });

  it("a window no source holds: unverifiable, naming the bar and what each source answered", async () => {
    const r = await audit(0, 0, {
      windowSources: [served(), WindowDirectory.open(windowsDir)],
      publisherSets: [sets.a!],
    });
    const u = r.updates[0];
    expect(u.status).toBe("unverifiable");
    expect(u.reasons).toEqual([]);
    expect(u.missing).toHaveLength(1);
    const at = new Date(openMs(BARS[0])).toISOString();
    expect(u.missing[0]).toMatch(
      new RegExp(`^no window with the update's digest \\(low 180 bits\\) \\d+ was found for the bar ${at}`),
    );
    expect(u.missing[0]).toContain("not signed there");
    expect(u.missing[0]).toContain(`${windowsDir}: no window ending at ${at}`);
    expect(r).toMatchObject({ ok: 0, failed: 1, flagged: 0, unverifiable: 1 });
  });

  it("an archive holding other candles for the bar: flagged, digest mismatch naming the first differing bar", async () => {
    const r = await audit(2, 2, {
      windowSources: [served(), WindowDirectory.open(honestDir)],
      publisherSets: [sets.a!],
    });
    const u = r.updates[0];
    expect(u.status).toBe("flagged");
    expect(u.reasons).toHaveLength(1);
    expect(u.reasons[0]).toMatch(
      new RegExp(
        `^${publisher.url}/v1/windows/BTC-USDT\\?at=${openMs(BARS[2])}: its window for this bar has digest ` +
          `\\d+ \\(low 180 bits \\d+\\), the update's is ${digestSignal(BigInt(proofs[2].parameters.windowDigest))}: it holds ` +
          `other candles than the ones proven`,
      ),
    );
    expect(u.reasons[0]).toContain(`bars[${EDITED_BAR}].close`);
    // The honest copy still gives the quorum and the margins.
    expect(u.missing).toEqual([]);
    expect(u.signed?.windows.map((w) => w.result)).toEqual(["other digest", "signed"]);

    // The archive alone: the fault, and nothing to check the margins with.
    const alone = (await audit(2, 2, { windowSources: [served()], publisherSets: [sets.a!] })).updates[0];
    expect(alone.status).toBe("flagged");
    expect(alone.missing[0]).toMatch(/^no window with the update's digest \(low 180 bits\)/);
  });

  it("a window of the update's digest whose file was edited afterwards: flagged as a window that does not check", async () => {
    const dir = join(tmp, "edited-file");
    mkdirSync(dir);
    const file = join(honestDir, "u2-a.json");
    const doc = JSON.parse(readFileSync(file, "utf8")) as { bars: { close: string }[] };
    doc.bars[EDITED_BAR].close = String(BigInt(doc.bars[EDITED_BAR].close) + 1n);
    writeFileSync(join(dir, "u2-a.json"), JSON.stringify(doc));
    const u = (await audit(2, 2, { windowSources: [WindowDirectory.open(dir)], publisherSets: [sets.a!] }))
      .updates[0];
    expect(u.status).toBe("flagged");
    expect(u.reasons[0]).toMatch(
      /^a window for this bar does not check: .*u2-a\.json: digest: \d+ is not the digest of the bars/,
    );
  });

  it("a window signed by a key outside the set in force: flagged, and the quorum not found", async () => {
    const r = await audit(3, 3, {
      windowSources: [WindowDirectory.open(windowsDir)],
      publisherSets: [sets.a!],
    });
    const u = r.updates[0];
    expect(u.status).toBe("flagged");
    expect(u.reasons).toEqual([
      `${join(windowsDir, "u3-b.json")}: signed by a key that is not in the publisher set in force (Ax ` +
        `${b.publicKey.Ax})`,
    ]);
    expect(u.missing).toEqual([
      "found signatures by 0 of the 1 distinct publishers of the set the quorum needs",
    ]);
  });

  it("--data with one edited close: flagged, naming the bar (ISO) and the field", async () => {
    // A bar of U1's window before its range part, so only its close is signed: close + 0.01.
    const window = windowOf(BARS[1]);
    const bar = window.bars[30];
    const [header, ...rows] = readFileSync(DATA, "utf8").trim().split("\n");
    const iso = new Date(bar.time).toISOString();
    const csvTime = iso.slice(0, 16).replace("T", " ");
    let edited = 0;
    const out = rows.map((row) => {
      const cols = row.split(",");
      if (!cols[0].startsWith(csvTime)) return row;
      edited++;
      cols[4] = fixedPointText(bar.close + 10n ** BigInt(PRICE_DECIMALS - 2), PRICE_DECIMALS);
      cols[2] = String(Math.max(Number(cols[2]), Number(cols[4])));
      return cols.join(",");
    });
    expect(edited).toBe(1);
    const file = join(tmp, "close-edited.csv");
    writeFileSync(file, [header, ...out].join("\n") + "\n");

    const sources = { windowSources: [served()], publisherSets: [sets.a!] };
    const honest = await audit(1, 1, { ...sources, data: { series, market: MARKET } });
    expect(honest.updates[0].status).toBe("ok");
    expect(honest.checks.data).toEqual({ candles: DATA, market: MARKET });
    const r = await audit(1, 1, { ...sources, data: { series: loadCandles(file), market: MARKET } });
    const u = r.updates[0];
    expect(u.status).toBe("flagged");
    expect(u.reasons).toEqual([
      `the signed candles are not ${file}'s: bar ${iso} close: signed ` +
        `${fixedPointText(bar.close, PRICE_DECIMALS)}, ${file} ` +
        `${fixedPointText(bar.close + 10n ** BigInt(PRICE_DECIMALS - 2), PRICE_DECIMALS)}`,
    ]);
    // a file of another market is not compared with this market's candles: no flag, and no gap
    const other = await audit(1, 1, { ...sources, data: { series: loadCandles(file), market: "ETH-USDT" } });
    expect(other.updates[0]).toMatchObject({ status: "ok", reasons: [], missing: [] });
    await expect(audit(1, 1, { data: { series, market: " BTC-USDT" } })).rejects.toThrow(
      /^data\.market: ' BTC-USDT' has spaces around it/,
    );
  });

  it("after a key rotation: each update against the set in force at its block; a set file in force for none refused", async () => {
    const sources = () => [served(), WindowDirectory.open(windowsDir)];
    const rotated = (await audit(4, 4, { windowSources: sources(), publisherSets: [sets.c!] })).updates[0];
    expect(rotated).toMatchObject({ status: "ok", reasons: [], missing: [] });
    expect(rotated.signed).toMatchObject({
      publisherSet: sets.c!.commitment,
      setFile: files.c,
      signatures: 1,
    });

    // Over the rotation: U1 under {A}, U4 under {C}; without C's file U4 is unverifiable.
    const both = await audit(1, 4, { windowSources: sources(), publisherSets: [sets.a!, sets.c!] });
    expect(both.updates.map((u) => u.signed?.publisherSet)).toEqual([
      ...[1, 2, 3].map(() => sets.a!.commitment),
      sets.c!.commitment,
    ]);
    expect(both.updates.map((u) => u.status)).toEqual(["ok", "flagged", "flagged", "ok"]);
    const onlyA = await audit(1, 4, { windowSources: sources(), publisherSets: [sets.a!] });
    expect(onlyA.updates[3].status).toBe("unverifiable");
    expect(onlyA.updates[3].missing).toEqual([
      `no --publishers file commits to the publisher set in force ${sets.c!.commitment}: the ` +
        `signatures were not checked against its keys`,
    ]);

    // C's window checked against A's set, or against B's that was never registered: refused.
    for (const wrong of [sets.a!, sets.b!]) {
      const err = await audit(4, 4, { windowSources: sources(), publisherSets: [wrong] }).catch((e) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(
        `--publishers: ${wrong.file} commits to ${wrong.commitment}, the publisher set in force ` +
          `for none of the audited signed updates (sets in force: ${sets.c!.commitment})`,
      );
    }
  });

  it("zkrisk audit --publisher --windows --publishers: text and --json verdicts, exit code 1 unless every update is OK", async () => {
    const run = async (extra: Partial<AuditFlags> = {}) => {
      let stdout = "";
      const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
        stdout += String(chunk);
        return true;
      });
      try {
        const flags = {
          rpc: rpcUrl,
          oracle: String(oracle.target),
          model: [MODEL],
          publisher: [publisher.url],
          windows: [windowsDir],
          publishers: [files.a, files.c],
          signedArtifacts: artifactsDir,
          fromBlock: String(blocks[0]),
          toBlock: String(blocks[4]),
          logChunk: "2",
          ...extra,
        };
        return { code: await runAudit(flags), stdout };
      } finally {
        spy.mockRestore();
      }
    };
    const text = await run();
    expect(text.code).toBe(1);
    const lines = text.stdout.split("\n");
    expect(lines[1]).toContain(`signed proofs, signed windows from ${publisher.url}, ${windowsDir}`);
    expect(lines.filter((l) => /^OK +BTC-USDT +single +\d{4}-/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^FAIL +BTC-USDT +single +\d{4}-/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^UNVERIFIABLE +BTC-USDT +single +\d{4}-/.test(l))).toHaveLength(1);
    expect(text.stdout).toContain("  - not checked: no window with the update's digest");
    expect(lines.at(-2)).toBe("5 updates audited: 2 OK, 2 FAIL, 1 UNVERIFIABLE");

    const t0 = performance.now();
    const json = await run({ json: true });
    // A figure for the README, not an assertion: five signed updates, two window sources, one RPC node.
    console.log(`zkrisk audit of 5 signed updates: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.updates.map((u: { status: string }) => u.status)).toEqual([
      "unverifiable",
      "ok",
      "flagged",
      "flagged",
      "ok",
    ]);
    expect(report.updates[1].signed.windowDigest).toBe(
      digestSignal(BigInt(proofs[1].parameters.windowDigest)).toString(),
    );

    const one = await run({
      fromBlock: String(blocks[1]),
      toBlock: String(blocks[1]),
      publishers: [files.a],
      json: true,
    });
    expect(one.code, one.stdout).toBe(0);
    expect(JSON.parse(one.stdout).checks.adaptiveRule).toBeNull();
    // --data: the market its name gives (btcusdt-2h.csv), named in what was checked
    const data = await run({
      fromBlock: String(blocks[1]),
      toBlock: String(blocks[1]),
      publishers: [files.a],
      data: DATA,
    });
    expect(data.code, data.stdout).toBe(0);
    expect(data.stdout.split("\n")[1]).toContain(`, ${MARKET} candles ${DATA}, `);

    // a calibrations file given by name is read before the audit starts, even with no adaptive market in the
    // range: a missing or invalid one is an error naming it
    const invalid = join(tmp, "calibrations-invalid.json");
    writeFileSync(invalid, "{ not json");
    for (const calibrations of [invalid, join(tmp, "no-such-calibrations.json")]) {
      const again = run({
        fromBlock: String(blocks[1]),
        toBlock: String(blocks[1]),
        publishers: [files.a],
        json: true,
        calibrations,
      });
      await expect(again).rejects.toThrow(calibrations);
    }
  });
});

describe("reading the events in chunks of blocks", () => {
  const sources = () => [served(), WindowDirectory.open(windowsDir)];

  it("gives the same report with chunks of 1 and 2 blocks as in one query, with progress after each chunk and update", async () => {
    const whole = await audit(0, 4, { windowSources: sources(), publisherSets: [sets.a!, sets.c!] });
    expect(whole.updates).toHaveLength(5);
    for (const logChunk of [1, 2]) {
      const progress: LogProgress[] = [];
      const checked: [number, number][] = [];
      const r = await audit(0, 4, {
        windowSources: sources(),
        publisherSets: [sets.a!, sets.c!],
        logChunk,
        onLogProgress: (p) => progress.push(p),
        onUpdateProgress: (done, total) => checked.push([done, total]),
      });
      expect(r, `logChunk ${logChunk}`).toEqual(whole);
      // One report per update checked, in order.
      expect(checked).toEqual([1, 2, 3, 4, 5].map((done) => [done, 5]));
      const total = blocks[4] - blocks[0] + 1;
      expect(progress).toHaveLength(Math.ceil(total / logChunk));
      // Five updates and the rotation's PublisherSetChanged.
      expect(progress.at(-1)).toEqual({ doneBlocks: total, totalBlocks: total, logs: 6, chunk: logChunk });
    }
  });

  it("through a provider that refuses ranges over 2 blocks (Alchemy's -32600) the report is the same; zkrisk audit halves its queries too", async () => {
    const whole = await audit(0, 4, { windowSources: sources(), publisherSets: [sets.a!, sets.c!] });
    const capped = await startCappedRpc(rpcUrl, 2, ALCHEMY_REFUSAL);
    const provider = await readOnlyProvider(capped.url);
    try {
      const r = await auditOracle({
        provider,
        oracle: String(oracle.target),
        fromBlock: blocks[0],
        toBlock: blocks[4],
        model,
        modelPath: MODEL,
        windowSources: sources(),
        publisherSets: [sets.a!, sets.c!],
      });
      expect(r).toEqual(whole);
      expect(capped.refused).toBeGreaterThan(0);

      const args = [
        "--oracle",
        String(oracle.target),
        "--windows",
        windowsDir,
        "--from-block",
        String(blocks[0]),
        "--to-block",
        String(blocks[4]),
        "--json",
      ];
      const direct = await cli("--rpc", rpcUrl, ...args);
      const through = await cli("--rpc", capped.url, ...args);
      expect(through).toEqual(direct);
      expect(JSON.parse(through.stdout).updates).toHaveLength(5);
    } finally {
      provider.destroy();
      await capped.close();
    }
  });

  it("fails naming the block when the provider refuses even one block", async () => {
    const capped = await startCappedRpc(rpcUrl, 0);
    const provider = await readOnlyProvider(capped.url);
    try {
      const from = blocks[0];
      const err = await failure(auditOracle({ provider, oracle: String(oracle.target), fromBlock: from }));
      expect(err).toBeInstanceOf(LogRangeError);
      expect((err as LogRangeError).code).toBe("RPC_LOG_RANGE");
      expect(err.message).toBe(
        `the node refuses the events of block ${from} even one block at a time: ` +
          "query returned more than 10000 results. Try with this block range [0x1, 0x2].",
      );
      // `zkrisk audit` exits 3 for a run that could not finish (1 is for findings), the error on stderr
      const args = [
        "--rpc",
        capped.url,
        "--oracle",
        String(oracle.target),
        "--from-block",
        String(from),
        "--json",
      ];
      const run = await zkriskAsync("audit", ...args);
      expect(run.code).toBe(EXIT_AUDIT_NOT_RUN);
      expect(run.stdout).toBe("");
      expect(JSON.parse(run.stderr)).toEqual({ error: "RPC_LOG_RANGE", message: err.message });
    } finally {
      provider.destroy();
      await capped.close();
    }
  });
});

describe("unusable options", () => {
  it("auditOracle refuses them before reading any event", async () => {
    await expect(audit(0, 0, { oracle: "0x1234" })).rejects.toThrow(/^oracle: '0x1234' is not an address$/);
    await expect(audit(0, 0, { oracle: ZeroAddress })).rejects.toThrow(/^oracle: no contract at 0x0{40}/);
    await expect(audit(4, 0)).rejects.toThrow(/^fromBlock: \d+ is after toBlock \d+$/);
    await expect(audit(0, 0, { logChunk: 0 })).rejects.toThrow(
      /^logChunk: 0 is not a number of blocks >= 1$/,
    );
    await expect(audit(0, 0, { batchVkeys: [prover.vkey] })).rejects.toThrow(
      /^batchVkeys\[0\]: the verification key takes 2 public signals, no signed batch's \(V \+ 2N \+ 2 for N markets/,
    );
  });

  it("zkrisk audit refuses bad usage with a message naming the option (exit code 2 in zkrisk)", async () => {
    const missing = await failure(cli("--rpc", rpcUrl));
    expect(missing).toBeInstanceOf(CommanderError);
    expect(missing.message).toContain("required option '--oracle <address>' not specified");
    const gone = await failure(cli("--rpc", rpcUrl, "--oracle", String(oracle.target), "--vkey", "v.json"));
    expect(gone).toBeInstanceOf(CommanderError);
    expect(gone.message).toContain("unknown option '--vkey'");

    const usage = async (flags: Partial<AuditFlags>, message: RegExp) => {
      const err = await failure(runAudit({ rpc: rpcUrl, oracle: String(oracle.target), ...flags }));
      expect(err).toBeInstanceOf(ZkriskError);
      expect((err as ZkriskError).code).toBe("USAGE");
      expect(err.message).toMatch(message);
    };
    await usage({ rpc: "ftp://127.0.0.1:1" }, /^--rpc: 'ftp:\/\/127.0.0.1:1' is not an http\(s\) URL$/);
    const port = await closedPort();
    await usage(
      { rpc: `http://127.0.0.1:${port}` },
      new RegExp(`^--rpc: cannot reach http://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
    await usage({ oracle: "0xnot" }, /^--oracle: '0xnot' is not an address$/);
    await usage({ fromBlock: "-1" }, /^--from-block: '-1' is not an integer/);
    await usage({ fromBlock: "9", toBlock: "3" }, /^--from-block: 9 is after --to-block 3$/);
    await usage({ logChunk: "0" }, /^--log-chunk: '0' is not an integer in \[1, /);
    await usage(
      { batchArtifacts: [artifactsDir] },
      new RegExp(
        `^--batch-artifacts: ${artifactsDir} holds a circuit with 2 public signals, not a signed batch`,
      ),
    );
    await usage({ windows: [join(tmp, "set-a.json")] }, /^--windows: '.*set-a\.json' is not a directory$/);
    // the file is compared with its market's updates only: a name that gives no market is refused, not guessed
    await usage(
      { data: join(tmp, "close-edited.csv") },
      /^--data: .*close-edited\.csv: cannot tell its market from the name \(expected e\.g\. ethusdt-2h\.csv\)$/,
    );
  });
});
