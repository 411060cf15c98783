/**
 * `auditOracle` on updates accepted through `submitBatch`: a real 2-market batch proof of the shipped model
 * (scripts/batch-gas.ts: a fresh oracle on the in-process Hardhat network), audited with the batch verification
 * key, the model and the candles; without the batch key; and against another model.
 */
import { writeOtherModel } from "../helpers/models";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hre } from "../contracts/fixture";
import { PUBLIC_SIGNALS } from "../../circuits/public-signals";
import { loadCandles } from "../../models/load-data";
import { loadQuantizedModel, type QuantizedModel } from "../../models/quantized-model";
import type { CandleSeries } from "../../models/types";
import { loadArtifacts } from "../../prover/artifacts";
import { auditOracle, type AuditOptions, type AuditReport } from "../../prover/onchain/audit";
import { inProcessChain, type Chain } from "../../prover/onchain/chain";
import { readVkeyFile, runAudit } from "../../cli/commands/audit";
import { releaseCurves, silentLog, type VerificationKey } from "../../prover/setup";
import { batchArtifacts, measureBatchGas, type BatchGas } from "../../scripts/batch-gas";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");

let tmp: string;
let chain: Chain;
let result: BatchGas;
let oracleAddress: string;
let batchVkey: VerificationKey;
let model: QuantizedModel;
let series: CandleSeries;
/** The batch artifact directory of N = 2. */
let batchDir: string;

/**
 * The oracle holds batch updates only, so the single-update key is never used; auditOracle still requires one
 * with the single circuit's signal count.
 */
const unusedSingleVkey = (): VerificationKey => ({
  ...batchVkey,
  nPublic: PUBLIC_SIGNALS.length,
  IC: Array.from({ length: PUBLIC_SIGNALS.length + 1 }, (_, i) => batchVkey.IC[i % batchVkey.IC.length]),
});

function audit(opts: Partial<AuditOptions> = {}): Promise<AuditReport> {
  return auditOracle({
    provider: chain.provider,
    oracle: oracleAddress,
    vkey: unusedSingleVkey(),
    ...opts,
  });
}

/** The shipped model with one first-layer weight changed (a valid model whose commitment differs). */
function otherModelFile(): string {
  return writeOtherModel(tmp);
}

beforeAll(async () => {
  expect(hre.network.name).toBe("hardhat");
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-audit-batch-"));
  [result] = await measureBatchGas({ model: MODEL, data: DATA, sizes: [2], log: silentLog });
  batchDir = await batchArtifacts(MODEL, 2, silentLog);
  batchVkey = readVkeyFile(loadArtifacts(batchDir).paths.vkey);
  model = loadQuantizedModel(MODEL);
  series = loadCandles(DATA);
  chain = await inProcessChain();
  const tx = await chain.provider.getTransaction(result.txHash);
  if (tx?.to == null) throw new Error(`no oracle call in ${result.txHash}`);
  oracleAddress = tx.to;
}, 900_000);

afterAll(async () => {
  await chain?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await releaseCurves();
});

describe("auditOracle on batch updates", () => {
  it("passes both markets of an honest batch with the batch key, the model and the candles", async () => {
    const r = await audit({
      batchVkeys: new Map([[2, batchVkey]]),
      model,
      modelPath: MODEL,
      series,
    });
    expect(r.updates.map((u) => [u.market, u.ok, u.reasons])).toEqual([
      ["MKT-00", true, []],
      ["MKT-01", true, []],
    ]);
    expect(r.updates.map((u) => u.txHash)).toEqual([result.txHash, result.txHash]);
    expect(r.updates.map((u) => u.maintenanceMarginBps)).toEqual(
      result.stored.map((s) => s.maintenanceMarginBps),
    );
    expect(r.ok).toBe(2);
    expect(r.failed).toBe(0);
  });

  it("fails both markets without a verification key for the batch size", async () => {
    const r = await audit({ model, modelPath: MODEL, series });
    expect(r.failed).toBe(2);
    for (const u of r.updates) {
      expect(u.reasons).toEqual([
        "no batch verification key for N = 2: the batch proof cannot be verified (give the artifacts of the " +
          "2-market batch circuit: --batch-artifacts DIR)",
      ]);
    }
  });

  it("fails both markets under another batch verification key", async () => {
    const vkey: VerificationKey = {
      ...batchVkey,
      IC: [batchVkey.IC[0], batchVkey.IC[2], batchVkey.IC[1], ...batchVkey.IC.slice(3)],
    };
    const r = await audit({ batchVkeys: new Map([[2, vkey]]) });
    for (const u of r.updates) {
      expect(u.reasons).toEqual([
        "the Groth16 proof does not verify with the verification key for the submitted public signals",
      ]);
    }
  });

  it("fails both markets against another model (model commitment mismatch)", async () => {
    const file = otherModelFile();
    const r = await audit({
      batchVkeys: new Map([[2, batchVkey]]),
      model: loadQuantizedModel(file),
      modelPath: file,
      series,
    });
    expect(r.failed).toBe(2);
    for (const u of r.updates) {
      expect(u.reasons).toHaveLength(1);
      expect(u.reasons[0]).toMatch(
        new RegExp(`^model commitment mismatch: the update was made with another model .*${file}`),
      );
    }
  });

  it("refuses a batch key whose signal count is not its batch size's", async () => {
    await expect(audit({ batchVkeys: new Map([[3, batchVkey]]) })).rejects.toThrow(
      /batchVkeys: the verification key for N = 3 takes 5 public signals, a batch of 3 markets has 6/,
    );
  });

  it("zkrisk audit loads --batch-artifacts before any network access, one directory per batch size", async () => {
    const vkeyFile = join(tmp, "vkey.json");
    writeFileSync(vkeyFile, JSON.stringify(unusedSingleVkey()));
    const flags = { rpc: "ftp://127.0.0.1:1", oracle: oracleAddress, vkey: vkeyFile };
    // Loaded (manifest-checked): the run gets as far as the connection.
    await expect(runAudit({ ...flags, batchArtifacts: [batchDir] })).rejects.toThrow(/^--rpc: /);
    await expect(runAudit({ ...flags, batchArtifacts: [batchDir, batchDir] })).rejects.toThrow(
      /^--batch-artifacts: two directories for N = 2/,
    );
  });
});
