/**
 * End to end, as users run it: `zkrisk demo` (the signed path: the INSECURE development publisher key signs the
 * latest bar's window, the signed-update circuit proves it, `submitSignedUpdate` applies it) on the in-process
 * Hardhat network, then the demo against a `hardhat node` that this test starts on 127.0.0.1 and stops, where the
 * update is read back from the chain; and the unsigned flow driven by the separate CLI commands (deploy,
 * register-market, prove, submit), including a refused replay.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWindow, windowDigest } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { digestSignal } from "../../circuits/public-signals";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { inferBar } from "../../models/predict";
import { loadQuantizedModel } from "../../models/quantized-model";
import { oracleAt, readRegisteredPublisherSet, signedUpdatesOf } from "../../onchain/oracle";
import { DEV_PUBLISHER_KEYSTORE, DEV_PUBLISHER_LABEL } from "../../publisher/dev-key";
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
  publisher: { publicKey: { Ax: string; Ay: string }; keystore: string; insecure: boolean; created: boolean };
  publisherSet: { commitment: string; quorum: number; keys: number };
  window: { digest: string; bars: number; missingBars: number; endTime: string };
  circuit: { constraints: number; quorum: number; reusedArtifacts: boolean; artifacts: string };
  submit: { method: string; txHash: string; gasUsed: string; block: number; windowDigest: string };
  readBack: {
    maintenanceMarginBps: number;
    initialMarginBps: number;
    fresh: boolean;
    example: { notional: string; collateral: string; canOpen: boolean; isLiquidatable: boolean }[];
  };
  contracts: { oracle: string; verifier: string };
}

const series = loadCandles(join(ROOT, "models/data/btcusdt-2h.csv"));
const latest = inferBar(loadQuantizedModel(MODEL), series);
/** The digest of the window the demo must sign: the 85 bars ending at the latest, computed here on its own. */
const expectedDigest = windowDigest(
  buildWindow(series, marketIdOf("BTC-USDT"), series.candles.length - 1, WINDOW_BARS),
);
const artifacts = mkdtempSync(join(tmpdir(), "zkrisk-e2e-"));

async function checkDemo(d: Demo) {
  expect(d.bar).toBe("2024-06-30T22:00:00.000Z");
  // The signed path: the window of the latest bar, signed by the INSECURE development key, applied by
  // submitSignedUpdate, whose event logged that window's digest (its low 180 bits, digestSignal).
  expect(d.window).toMatchObject({ bars: WINDOW_BARS, endTime: d.bar });
  expect(d.window.digest).toBe((await expectedDigest).toString());
  expect(d.submit.method).toBe("submitSignedUpdate");
  expect(d.submit.windowDigest).toBe(digestSignal(BigInt(d.window.digest)).toString());
  expect(d.publisher.insecure).toBe(true);
  expect(d.publisher.keystore.endsWith(DEV_PUBLISHER_KEYSTORE)).toBe(true);
  expect(d.publisherSet).toMatchObject({ quorum: 1, keys: 1 });
  expect(d.publisherSet.commitment).toMatch(/^[1-9]\d*$/);
  expect(d.circuit.quorum).toBe(1);
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
  it("proves the latest bar, gets it accepted and reads it back; a second run reuses the artifacts", async () => {
    const first = json<Demo>(["demo", "--artifacts", artifacts]);
    await checkDemo(first);
    expect(first.circuit.reusedArtifacts).toBe(false);
    // The signed-update circuit at K = 1 (per-part counts: docs/how-it-works.md and the circuit tests), within the issue's
    // budget of 30,000; what the demo reports is what was compiled.
    const compiled = JSON.parse(readFileSync(join(artifacts, "circuit.json"), "utf8")) as {
      constraints: number;
      quorum?: number;
    };
    expect(compiled.quorum).toBe(1);
    expect(first.circuit.constraints).toBe(compiled.constraints);
    expect(first.circuit.constraints).toBeGreaterThan(20_000);
    expect(first.circuit.constraints).toBeLessThanOrEqual(30_000);
    const second = json<Demo>(["demo", "--artifacts", artifacts]);
    await checkDemo(second);
    expect(second.circuit.reusedArtifacts).toBe(true);
    // The development key is made once and cached: the second run signs with the same key.
    expect(second.publisher.created).toBe(false);
    expect(second.publisher.publicKey).toEqual(first.publisher.publicKey);
    expect(second.publisherSet.commitment).toBe(first.publisherSet.commitment);
    const label = JSON.parse(
      readFileSync(join(first.publisher.keystore, "..", DEV_PUBLISHER_LABEL), "utf8"),
    ) as { insecure: boolean; warning: string; publicKey: { Ax: string; Ay: string } };
    expect(label.insecure).toBe(true);
    expect(label.warning).toContain("INSECURE");
    expect(label.publicKey).toEqual(first.publisher.publicKey);
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

  it("runs the demo over JSON-RPC with a key from the environment; the chain holds its publisher set and signed update", async () => {
    const d = json<Demo>(["demo", "--artifacts", artifacts, "--rpc", rpc, "--key", "env:E2E_KEY"], {
      E2E_KEY: DEV_KEY,
    });
    await checkDemo(d);
    const provider = new JsonRpcProvider(rpc);
    try {
      const oracle = oracleAt(d.contracts.oracle, provider);
      const registered = await readRegisteredPublisherSet(oracle, marketIdOf("BTC-USDT"));
      expect(registered.publisherSet.toString()).toBe(d.publisherSet.commitment);
      expect(registered.quorum).toBe(1);
      expect(registered.verifier).toBe(d.contracts.verifier);
      const receipt = await provider.getTransactionReceipt(d.submit.txHash);
      expect(receipt).not.toBeNull();
      const events = signedUpdatesOf(oracle, receipt!);
      expect(events).toHaveLength(1);
      expect(events[0].windowDigest).toBe(digestSignal(await expectedDigest));
      expect(events[0].maintenanceMarginBps).toBe(d.parameters.maintenanceMarginBps);
      expect(events[0].dataTimestamp).toBe(BigInt(Date.parse(d.bar) / 1000));
    } finally {
      provider.destroy();
    }
  }, 600_000);
});

describe("against a node whose chain id is not the local 31337", () => {
  let node: HardhatNode | undefined;

  beforeAll(async () => {
    node = await startHardhatNode(1337);
  }, 180_000);

  afterAll(() => node?.stop());

  it("refuses to register the INSECURE development publisher key there, before deploying anything", async () => {
    const r = zkrisk(["demo", "--artifacts", artifacts, "--rpc", node!.rpc, "--key", DEV_KEY]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("INSECURE development key");
    expect(r.stderr).toContain("--allow-insecure-setup");
    const provider = new JsonRpcProvider(node!.rpc);
    try {
      const account = new Wallet(DEV_KEY).address;
      expect(await provider.getTransactionCount(account)).toBe(0);
    } finally {
      provider.destroy();
    }
  }, 600_000);
});
