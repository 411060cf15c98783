/**
 * End to end, as users run it: `zkrisk demo` on the in-process Hardhat network, then the same flow against a
 * `hardhat node` that this test starts on 127.0.0.1 and stops, driven by the separate CLI commands
 * (deploy, register-market, prove, submit), including a refused replay.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCandles } from "../../models/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";

const ROOT = join(__dirname, "../..");
const BIN = join(ROOT, "bin/zkrisk.cjs");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const DEV_KEY = DEV_KEYS[0];

function zkrisk(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 600_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T>(args: string[], env: Record<string, string> = {}): T {
  const r = zkrisk([...args, "--json"], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Demo {
  bar: string;
  parameters: { maintenanceMarginBps: number; initialMarginBps: number };
  circuit: { constraints: number; reusedArtifacts: boolean; artifacts: string };
  submit: { txHash: string; gasUsed: string };
  readBack: {
    maintenanceMarginBps: number;
    initialMarginBps: number;
    fresh: boolean;
    example: { notional: string; collateral: string; canOpen: boolean; isLiquidatable: boolean }[];
  };
  contracts: { oracle: string; verifier: string };
}

const latest = inferBar(loadQuantizedModel(MODEL), loadCandles(join(ROOT, "models/data/btcusdt-2h.csv")));
const artifacts = mkdtempSync(join(tmpdir(), "zkrisk-e2e-"));

function checkDemo(d: Demo) {
  expect(d.bar).toBe("2024-06-30T22:00:00.000Z");
  expect(d.parameters.maintenanceMarginBps).toBe(Number(latest.trace.maintenanceMarginBps));
  expect(d.parameters.initialMarginBps).toBe(Number(latest.trace.initialMarginBps));
  expect(d.readBack.maintenanceMarginBps).toBe(d.parameters.maintenanceMarginBps);
  expect(d.readBack.initialMarginBps).toBe(d.parameters.initialMarginBps);
  expect(d.readBack.fresh).toBe(true);
  expect(d.submit.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  expect(Number(d.submit.gasUsed)).toBeGreaterThan(200_000);
  for (const e of d.readBack.example) {
    const [n, c] = [BigInt(e.notional), BigInt(e.collateral)];
    expect(e.canOpen).toBe(c * 10000n >= n * BigInt(d.parameters.initialMarginBps));
    expect(e.isLiquidatable).toBe(c * 10000n < n * BigInt(d.parameters.maintenanceMarginBps));
  }
}

describe("npm run demo (in-process Hardhat network)", () => {
  it("proves the latest bar, gets it accepted and reads it back; a second run reuses the artifacts", () => {
    const first = json<Demo>(["demo", "--artifacts", artifacts]);
    checkDemo(first);
    expect(first.circuit.constraints).toBe(1262);
    const second = json<Demo>(["demo", "--artifacts", artifacts]);
    checkDemo(second);
    expect(second.circuit.reusedArtifacts).toBe(true);
  }, 900_000);
});

describe("against a hardhat node on 127.0.0.1", () => {
  let node: HardhatNode | undefined;
  let rpc: string;

  beforeAll(async () => {
    node = await startHardhatNode();
    rpc = node.rpc;
  }, 180_000);

  afterAll(() => node?.stop());

  it("runs the demo over JSON-RPC with a key from the environment", () => {
    const d = json<Demo>(["demo", "--artifacts", artifacts, "--rpc", rpc, "--key", "env:E2E_KEY"], {
      E2E_KEY: DEV_KEY,
    });
    checkDemo(d);
  }, 600_000);

  it("deploy, register-market, prove, submit; a replayed update is refused with the oracle's reason", () => {
    const key = ["--rpc", rpc, "--key", DEV_KEY];
    const deployed = json<{ chainId: string; verifier: string; oracle: string }>([
      "deploy",
      "--artifacts",
      artifacts,
      ...key,
    ]);
    json([
      "register-market",
      "--oracle",
      deployed.oracle,
      "--market",
      "BTC-USDT",
      "--verifier",
      deployed.verifier,
      "--model",
      MODEL,
      "--max-age",
      "604800",
      ...key,
    ]);
    const proof = join(artifacts, "node-proof.json");
    json([
      "prove",
      "--artifacts",
      artifacts,
      "--market",
      "BTC-USDT",
      "--oracle",
      deployed.oracle,
      "--chain-id",
      deployed.chainId,
      "--out",
      proof,
    ]);
    const accepted = json<{ txHash: string; gasUsed: string }>([
      "submit",
      proof,
      "--oracle",
      deployed.oracle,
      ...key,
    ]);
    expect(Number(accepted.gasUsed)).toBeGreaterThan(200_000);
    const replay = zkrisk(["submit", proof, "--oracle", deployed.oracle, ...key]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain("the oracle refused: OracleNotNewer(");

    // Anyone can audit the oracle: the accepted update re-verifies, its features hash to the input
    // commitment, the model matches, and the features recompute from the candles.
    const data = join(ROOT, "models/data/btcusdt-2h.csv");
    const audit = zkrisk([
      "audit",
      "--rpc",
      rpc,
      "--oracle",
      deployed.oracle,
      "--artifacts",
      artifacts,
      "--model",
      MODEL,
      "--data",
      data,
      "--json",
    ]);
    expect(audit.code, audit.stderr).toBe(0);
    const report = JSON.parse(audit.stdout) as {
      ok: number;
      failed: number;
      updates: { ok: boolean; txHash: string }[];
    };
    expect(report).toMatchObject({ ok: 1, failed: 0 });
    expect(report.updates[0].txHash).toBe(accepted.txHash);
    const badAudit = zkrisk([
      "audit",
      "--rpc",
      rpc,
      "--oracle",
      "0x0000000000000000000000000000000000000001",
      "--artifacts",
      artifacts,
    ]);
    expect(badAudit.code).toBe(2);

    // A proof made for another oracle is refused by its domain.
    const other = join(artifacts, "other-domain.json");
    json([
      "prove",
      "--artifacts",
      artifacts,
      "--market",
      "BTC-USDT",
      "--at",
      "2024-06-30 20:00",
      "--domain",
      "1",
      "--out",
      other,
    ]);
    const wrongDomain = zkrisk(["submit", other, "--oracle", deployed.oracle, ...key]);
    expect(wrongDomain.code).toBe(2);
    expect(wrongDomain.stderr).toContain("OracleDomainMismatch(");
  }, 600_000);
});
