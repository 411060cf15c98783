/**
 * `auditOracle` and `zkrisk audit` against the in-process Hardhat network, with real Groth16 proofs of the
 * shipped model (constant weights; one compile and one trusted setup per run, see test/contracts/fixture.ts).
 *
 * Five updates of BTC-USDT, bars 2 h apart on 2024-06-10 (open times), each sent one minute after its bar closes:
 *   A 10:00 and B 12:00 honest, direct calls;
 *   C 14:00 an honest proof whose published `features` has one feature changed (the oracle does not check them);
 *   D 16:00 honest, forwarded by another contract (the audit finds the call inside the outer calldata);
 *   E 18:00 honest, forwarded with its calldata masked (no submitUpdate call can be decoded from the transaction).
 * The CLI runs in process against a JSON-RPC server on 127.0.0.1 that serves this same network, and against a
 * proxy in front of it that refuses eth_getLogs over a few blocks as public providers do (test/helpers/capped-rpc.ts).
 */
import { writeOtherModel } from "../helpers/models";
import { ALCHEMY_REFUSAL, startCappedRpc } from "../helpers/capped-rpc";
import { createServer } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Command, CommanderError } from "commander";
import { ContractFactory, ZeroAddress, getBytes, hexlify, type Contract } from "ethers";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { JsonRpcServer } from "hardhat/types";
import { fromField, toField } from "../../circuits/field";
import { UsageError, ZkriskError } from "../../models/errors";
import { loadCandles } from "../../models/load-data";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../models/types";
import { auditOracle, marketLabel, type AuditOptions, type AuditReport } from "../../prover/onchain/audit";
import { inProcessChain, readOnlyProvider, type Chain } from "../../prover/onchain/chain";
import { LogRangeError, type LogProgress } from "../../prover/onchain/get-logs";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  submitArgs,
  submitUpdate,
} from "../../prover/onchain/oracle";
import { compileSolidity } from "../../prover/onchain/solc";
import { oracleDomain } from "../../prover/domain";
import { UpdateProver, type ProvedUpdate } from "../../prover/prove-update";
import { releaseCurves, type VerificationKey } from "../../prover/setup";
import { runAudit, type AuditFlags } from "../../cli/commands/audit";
import { registerAudit } from "../../cli/register/audit";
import {
  BAR_SECONDS,
  DATA,
  MARKET,
  MARKET_ID,
  MODEL,
  buildProvingArtifacts,
  hre,
  mineAt,
  rpc,
  utc,
} from "../contracts/fixture";

const T_A = utc(2024, 6, 10, 10);
const BARS = [0, 1, 2, 3, 4].map((k) => T_A + k * BAR_SECONDS);
const [, T_B, T_C] = BARS;
/** Index of the feature published wrong in update C (volume_z_7d). */
const TAMPERED = 5;

const FORWARDER_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Test helper: a contract that submits to the oracle for its caller, plainly or from masked calldata.
contract Forwarder {
    function forward(address target, bytes calldata data) external {
        _call(target, data);
    }

    function forwardMasked(address target, bytes calldata masked) external {
        bytes memory data = new bytes(masked.length);
        for (uint256 i = 0; i < masked.length; ++i) data[i] = masked[i] ^ 0xff;
        _call(target, data);
    }

    function _call(address target, bytes memory data) private {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
    }
}
`;

let tmp: string;
let artifactsDir: string | undefined;
let chain: Chain;
let prover: UpdateProver;
let model: QuantizedModel;
let series: CandleSeries;
let oracle: Contract;
let oracleAddress: string;
let forwarderAddress: string;
let updates: ProvedUpdate[];
let rpcServer: JsonRpcServer | undefined;
let rpcUrl: string;
/** The verification key as a file (for --vkey). */
let vkeyFile: string;
/** The audit with the model and the shipped candles (shared by several tests). */
let full: AuditReport;

/** Block time of a timely submission of the bar opening at `t` (s): one minute after its close. */
const timely = (t: number) => t + BAR_SECONDS + 60;

/**
 * Make the next transaction's block time `t` (s). Hardhat runs the static call and the gas estimate before a
 * transaction at the latest block's time, not at the pending timestamp, so a block is mined just before.
 */
async function nextBlockAt(t: number): Promise<void> {
  await mineAt(t - 1);
  await chain.setNextBlockTime(t);
}

function audit(opts: Partial<AuditOptions> = {}): Promise<AuditReport> {
  return auditOracle({ provider: chain.provider, oracle: oracleAddress, vkey: prover.vkey, ...opts });
}

/** The shipped model with one first-layer weight changed (a valid model whose commitment differs). */
function otherModelFile(): string {
  return writeOtherModel(tmp);
}

/** The shipped candles with the rows of `edit` rewritten (or dropped when it returns null). */
function editedCandles(name: string, edit: (row: string[]) => string[] | null): string {
  const [header, ...rows] = readFileSync(DATA, "utf8").trim().split("\n");
  const out = rows.flatMap((r) => {
    const e = edit(r.split(","));
    return e === null ? [] : [e.join(",")];
  });
  const file = join(tmp, name);
  writeFileSync(file, [header, ...out].join("\n") + "\n");
  return file;
}

/** `text` as a literal inside a regular expression. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whether a CSV row is the bar opening at `t` (s). */
const opensAt = (row: string[], t: number) => Date.parse(`${row[0].replace(" ", "T")}Z`) === t * 1000;

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
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-"));
  artifactsDir = await buildProvingArtifacts();
  prover = await UpdateProver.open(artifactsDir);
  model = prover.model;
  series = loadCandles(DATA);
  chain = await inProcessChain();
  const me = await chain.signer.getAddress();

  const verifier = await deployVerifier(chain.signer, artifactsDir);
  oracle = await deployOracle(chain.signer, me);
  oracleAddress = await oracle.getAddress();
  await registerMarket(oracle, MARKET_ID, {
    verifier: await verifier.getAddress(),
    modelCommitment: prover.modelCommitment,
    guardian: ZeroAddress,
    limits: DEFAULT_LIMITS,
  });
  const solPath = join(tmp, "Forwarder.sol");
  writeFileSync(solPath, FORWARDER_SOURCE);
  const compiled = compileSolidity([solPath]).Forwarder;
  const forwarder = (await (
    await new ContractFactory(compiled.abi as never, compiled.bytecode, chain.signer).deploy()
  ).waitForDeployment()) as Contract;
  forwarderAddress = await forwarder.getAddress();

  const domain = oracleDomain(chain.chainId, oracleAddress);
  updates = [];
  for (const t of BARS) {
    const index = series.candles.findIndex((c) => c.time === t * 1000);
    updates.push(await prover.proveBar(series, { market: MARKET, marketId: MARKET_ID, domain, index }));
  }
  const [a, b, c, d, e] = updates;
  const tampered: ProvedUpdate = {
    ...c,
    features: c.features.map((f, i) =>
      i === TAMPERED ? { ...f, quantized: String(BigInt(f.quantized) + 1n) } : f,
    ),
  };
  for (const [u, t] of [
    [a, BARS[0]],
    [b, BARS[1]],
    [tampered, BARS[2]],
  ] as const) {
    await nextBlockAt(timely(t));
    await submitUpdate(oracle, u);
  }
  const calldata = (u: ProvedUpdate) => oracle.interface.encodeFunctionData("submitUpdate", submitArgs(u));
  await nextBlockAt(timely(BARS[3]));
  await (await forwarder.forward(oracleAddress, calldata(d))).wait();
  await nextBlockAt(timely(BARS[4]));
  const masked = hexlify(getBytes(calldata(e)).map((x) => x ^ 0xff));
  await (await forwarder.forwardMasked(oracleAddress, masked)).wait();

  full = await audit({ model, modelPath: MODEL, series });

  rpcServer = (await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: 0,
    provider: hre.network.provider,
  })) as JsonRpcServer;
  const { port } = await rpcServer.listen();
  rpcUrl = `http://127.0.0.1:${port}`;
  vkeyFile = join(tmp, "vkey.json");
  writeFileSync(vkeyFile, JSON.stringify(prover.vkey));
}, 600_000);

afterAll(async () => {
  await rpcServer?.close();
  await chain?.close();
  await prover?.close();
  await releaseCurves();
  if (artifactsDir !== undefined) rmSync(artifactsDir, { recursive: true, force: true });
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("auditOracle with the model and the shipped candles", () => {
  it("lists every accepted update in chain order with the event's fields", async () => {
    expect(full.oracle).toBe(oracleAddress);
    expect(full.chainId).toBe(chain.chainId);
    expect(full.updates.map((u) => u.dataTimestamp)).toEqual(BARS);
    const me = await chain.signer.getAddress();
    expect(full.updates.map((u) => u.submitter)).toEqual([me, me, me, forwarderAddress, forwarderAddress]);
    full.updates.forEach((u, i) => {
      expect(u.marketId).toBe(MARKET_ID);
      expect(u.market).toBe(MARKET);
      expect(u.dataTimestampIso).toBe(new Date(BARS[i] * 1000).toISOString());
      expect(u.blockTimestamp).toBe(timely(BARS[i]));
      expect(u.maintenanceMarginBps).toBe(updates[i].parameters.maintenanceMarginBps);
      expect(u.initialMarginBps).toBe(updates[i].parameters.initialMarginBps);
      expect(u.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    });
    expect(new Set(full.updates.map((u) => u.block)).size).toBe(5);
    expect(full.checks.model?.commitment).toBe(prover.modelCommitment);
    expect(full.checks.data).toEqual({ candles: DATA });
  });

  it("passes the honest updates, direct or forwarded through another contract", () => {
    for (const i of [0, 1, 3])
      expect(full.updates[i], `update ${i}`).toMatchObject({ ok: true, reasons: [] });
    expect(full.ok).toBe(3);
    expect(full.failed).toBe(2);
  });

  it("fails the update whose published features are not the proven ones: input commitment and data", () => {
    const c = full.updates[2];
    expect(c.ok).toBe(false);
    expect(c.reasons).toHaveLength(2);
    expect(c.reasons[0]).toMatch(/^input commitment mismatch: the published features commit to 0x[0-9a-f]+/);
    const name = model.features[TAMPERED].name;
    expect(c.reasons[1]).toContain(`feature ${name} differs from the candles`);
    expect(c.reasons[1]).toContain(`(${BigInt(updates[2].features[TAMPERED].quantized) + 1n}), recomputed`);
  });

  it("fails an update whose submitUpdate call cannot be decoded from its transaction, and still checks the rest", () => {
    const e = full.updates[4];
    expect(e.ok).toBe(false);
    expect(e.reasons).toHaveLength(1);
    expect(e.reasons[0]).toMatch(/^cannot decode the submitUpdate call: transaction 0x[0-9a-f]{64} calls 0x/);
  });
});

describe("auditOracle: what each check catches", () => {
  it("without a model or candles, checks the proofs and the input commitments only", async () => {
    const r = await audit();
    expect(r.checks).toMatchObject({ model: null, data: null });
    expect(r.updates.map((u) => u.ok)).toEqual([true, true, false, true, false]);
    expect(r.updates[2].reasons).toEqual([expect.stringMatching(/^input commitment mismatch/)]);
  });

  it("with another model, fails every update: model commitment mismatch", async () => {
    const path = otherModelFile();
    const other = loadQuantizedModel(path);
    const r = await audit({ model: other, modelPath: path, series });
    expect(r.failed).toBe(5);
    for (const u of r.updates) {
      expect(
        u.reasons.some((x) =>
          x.startsWith("model commitment mismatch: the update was made with another model"),
        ),
      ).toBe(true);
      expect(u.reasons.find((x) => x.startsWith("model commitment"))).toContain(path);
    }
  });

  it("with a candle file changed inside an update's window, fails that update naming the feature", async () => {
    // Bar B's close moves to its high: B's last return (rv_1d first) changes; A's window ends before B.
    const file = editedCandles("close-changed.csv", (r) =>
      opensAt(r, T_B) ? [r[0], r[1], r[2], r[3], r[2], r[5]] : r,
    );
    const r = await audit({ model, modelPath: MODEL, series: loadCandles(file) });
    expect(r.updates[0].ok).toBe(true);
    expect(r.updates[1].reasons).toEqual([
      expect.stringMatching(
        new RegExp(
          `^feature rv_1d differs from the candles: published .*, recomputed .* ` +
            `\\(bar ${escape(new Date(T_B * 1000).toISOString())}, ${escape(file)}\\); \\d+ more differ$`,
        ),
      ),
    ]);
    // D's window holds bar B too.
    expect(r.updates[3].reasons).toEqual([expect.stringMatching(/^feature \w+ differs from the candles/)]);
  });

  it("fails an update whose bar is missing from the candles", async () => {
    const file = editedCandles("truncated.csv", (r) =>
      Date.parse(`${r[0].replace(" ", "T")}Z`) >= T_C * 1000 ? null : r,
    );
    const r = await audit({ model, modelPath: MODEL, series: loadCandles(file) });
    expect(r.updates.slice(0, 2).every((u) => u.ok)).toBe(true);
    expect(r.updates[3].reasons).toEqual([
      `no bar opens at ${new Date(BARS[3] * 1000).toISOString()} in ${file}: the features cannot be recomputed`,
    ]);
  });

  it("fails an update accepted before its bar closed (its features were not yet known)", async () => {
    const snapshot = await rpc<string>("evm_snapshot");
    try {
      const t = BARS[4] + 2 * BAR_SECONDS;
      const index = series.candles.findIndex((x) => x.time === t * 1000);
      const early = await prover.proveBar(series, {
        market: MARKET,
        marketId: MARKET_ID,
        domain: oracleDomain(chain.chainId, oracleAddress),
        index,
      });
      await nextBlockAt(t + BAR_SECONDS / 2);
      const receipt = await submitUpdate(oracle, early);
      const r = await audit({ model, modelPath: MODEL, series, fromBlock: receipt.blockNumber });
      expect(r.updates.map((u) => u.reasons)).toEqual([
        [
          `accepted at ${new Date((t + BAR_SECONDS / 2) * 1000).toISOString()}, before its bar closed at ` +
            `${new Date((t + BAR_SECONDS) * 1000).toISOString()}: its features were not yet known`,
        ],
      ]);
    } finally {
      await rpc("evm_revert", [snapshot]);
    }
  });

  it("fails every proof under another verification key", async () => {
    const vkey: VerificationKey = {
      ...prover.vkey,
      IC: [prover.vkey.IC[0], prover.vkey.IC[2], prover.vkey.IC[1], ...prover.vkey.IC.slice(3)],
    };
    const r = await audit({ vkey });
    for (const u of r.updates.filter((x) => !x.reasons[0]?.startsWith("cannot decode"))) {
      expect(u.reasons[0]).toBe(
        "the Groth16 proof does not verify with the verification key for the submitted public signals",
      );
    }
  });

  it("audits a block range only", async () => {
    const r = await audit({ fromBlock: full.updates[3].block });
    expect(r.updates.map((u) => u.dataTimestamp)).toEqual(BARS.slice(3));
    expect(r.fromBlock).toBe(full.updates[3].block);
    const none = await audit({ toBlock: full.updates[0].block - 1 });
    expect(none.updates).toEqual([]);
  });

  it("refuses unusable options before reading any event", async () => {
    await expect(audit({ oracle: "0x1234" })).rejects.toThrow(/oracle: '0x1234' is not an address/);
    await expect(audit({ oracle: ZeroAddress })).rejects.toThrow(/oracle: no contract at 0x0{40}/);
    await expect(audit({ series })).rejects.toThrow(/needs the model/);
    await expect(audit({ vkey: { ...prover.vkey, nPublic: 3 } })).rejects.toThrow(/takes 3 public signals/);
    await expect(audit({ fromBlock: 10, toBlock: 2 })).rejects.toThrow(UsageError);
  });

  it("labels market ids: packed ASCII as text, anything else as digits", () => {
    expect(marketLabel(MARKET_ID)).toBe("BTC-USDT");
    expect(marketLabel(7n)).toBe("7");
    expect(marketLabel(toField(-1n))).toBe(toField(-1n).toString());
    expect(fromField(toField(-1n))).toBe(-1n);
  });
});

describe("zkrisk audit (in process, JSON-RPC on 127.0.0.1)", () => {
  const base = (): string[] => [
    "--rpc",
    rpcUrl,
    "--oracle",
    oracleAddress,
    "--artifacts",
    artifactsDir as string,
  ];

  it("prints OK / FAIL per update with the reasons and a summary, exit code 1 when any fails", async () => {
    const r = await cli(...base(), "--model", MODEL, "--data", DATA);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(
      `audit of RiskOracle ${oracleAddress} on chain ${chain.chainId}, blocks 0..${full.toBlock}`,
    );
    expect(lines.filter((l) => /^OK +BTC-USDT +2024-06-10/.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /^FAIL +BTC-USDT +2024-06-10/.test(l))).toHaveLength(2);
    expect(r.stdout).toContain("  - input commitment mismatch");
    expect(r.stdout).toContain("  - cannot decode the submitUpdate call");
    expect(lines.at(-2)).toBe("5 updates audited: 3 OK, 2 FAIL");
  });

  it("--json prints the report with bigints as strings; exit code 0 when every update in range passes", async () => {
    const r = await cli(...base(), "--to-block", String(full.updates[1].block), "--json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.chainId).toBe(chain.chainId.toString());
    expect(report.ok).toBe(2);
    expect(report.failed).toBe(0);
    expect(report.updates[0].marketId).toBe(MARKET_ID.toString());
    expect(report.updates[0].dataTimestampIso).toBe(new Date(T_A * 1000).toISOString());
  });

  it("reads --vkey FILE instead of --artifacts", async () => {
    const r = await cli(
      "--rpc",
      rpcUrl,
      "--oracle",
      oracleAddress,
      "--vkey",
      vkeyFile,
      "--from-block",
      String(full.updates[3].block),
      "--json",
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: 1, failed: 1 });
    expect(r.code).toBe(1);
  });

  it("refuses bad usage with a message naming the option (exit code 2 in zkrisk)", async () => {
    const missing = await failure(cli("--rpc", rpcUrl, "--vkey", "x.json"));
    expect(missing).toBeInstanceOf(CommanderError);
    expect(missing.message).toContain("required option '--oracle <address>' not specified");

    const usage = async (flags: Partial<AuditFlags>, message: RegExp) => {
      const err = await failure(runAudit({ rpc: rpcUrl, oracle: oracleAddress, vkey: vkeyFile, ...flags }));
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
    await usage({ artifacts: artifactsDir }, /exactly one of --artifacts DIR and --vkey FILE/);
    await usage({ data: DATA }, /^--data: recomputing features needs --model/);
    await usage({ fromBlock: "-1" }, /^--from-block: '-1' is not an integer/);
    await usage({ fromBlock: "9", toBlock: "3" }, /^--from-block: 9 is after --to-block 3$/);
    await usage({ logChunk: "0" }, /^--log-chunk: '0' is not an integer in \[1, /);
    const notVkey = join(tmp, "not-vkey.json");
    writeFileSync(notVkey, "{}");
    await usage({ vkey: notVkey }, /^--vkey: .* is not a Groth16 bn128 verification key/);
  });
});

describe("reading the events in chunks of blocks", () => {
  it("gives the same report with chunks of 1 and 2 blocks as in one query, with progress after each chunk", async () => {
    for (const logChunk of [1, 2]) {
      const progress: LogProgress[] = [];
      const r = await audit({
        model,
        modelPath: MODEL,
        series,
        logChunk,
        onLogProgress: (p) => progress.push(p),
      });
      expect(r, `logChunk ${logChunk}`).toEqual(full);
      const total = full.toBlock + 1;
      expect(progress).toHaveLength(Math.ceil(total / logChunk));
      expect(progress.at(-1)).toEqual({ doneBlocks: total, totalBlocks: total, logs: 5, chunk: logChunk });
    }
  });

  it("zkrisk audit through a provider that refuses ranges over 3 blocks gives the same report (halving)", async () => {
    const capped = await startCappedRpc(rpcUrl, 3);
    try {
      const args = ["--oracle", oracleAddress, "--artifacts", artifactsDir as string, "--json"];
      const direct = await cli("--rpc", rpcUrl, ...args);
      const through = await cli("--rpc", capped.url, ...args);
      expect(through).toEqual(direct);
      expect(JSON.parse(through.stdout)).toMatchObject({ ok: 3, failed: 2 });
      expect(capped.refused).toBeGreaterThan(0);
      expect(capped.answered).toBeGreaterThan(1);
    } finally {
      await capped.close();
    }
  });

  it("auditOracle through a provider that refuses ranges over 2 blocks (Alchemy's -32600) gives the same report", async () => {
    const capped = await startCappedRpc(rpcUrl, 2, ALCHEMY_REFUSAL);
    const provider = await readOnlyProvider(capped.url);
    try {
      const r = await auditOracle({
        provider,
        oracle: oracleAddress,
        vkey: prover.vkey,
        model,
        modelPath: MODEL,
        series,
      });
      expect(r).toEqual(full);
      expect(capped.refused).toBeGreaterThan(0);
    } finally {
      provider.destroy();
      await capped.close();
    }
  });

  it("fails naming the block when the provider refuses even one block", async () => {
    const capped = await startCappedRpc(rpcUrl, 0);
    const provider = await readOnlyProvider(capped.url);
    try {
      const from = full.updates[0].block;
      const err = await failure(
        auditOracle({ provider, oracle: oracleAddress, vkey: prover.vkey, fromBlock: from }),
      );
      expect(err).toBeInstanceOf(LogRangeError);
      expect((err as LogRangeError).code).toBe("RPC_LOG_RANGE");
      expect(err.message).toBe(
        `the node refuses the events of block ${from} even one block at a time: ` +
          "query returned more than 10000 results. Try with this block range [0x1, 0x2].",
      );
    } finally {
      provider.destroy();
      await capped.close();
    }
  });
});
