/**
 * Artifact directories copied away from the model file their manifest records by a relative path: the commands
 * that only read the verification key and the manifest (`zkrisk audit --signed-artifacts / --batch-artifacts /
 * --adaptive-artifacts`, `zkrisk set-batch-verifier --artifacts`) use them, loading them with
 * `loadArtifacts(dir, { model: "not needed" })`, which still checks every circuit file against the manifest.
 * No chain: the commands are run against an unreachable --rpc, so they get as far as the network and no further.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { runAudit } from "../../cli/commands/audit";
import { runSetBatchVerifier } from "../../cli/commands/set-batch-verifier";
import { SetupError } from "../../core/errors";
import { loadArtifacts } from "../../setup/artifacts";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { silentLog } from "../../setup/log";
import { DEV_KEYS } from "../helpers/hardhat-node";
import { adaptiveStandInArtifacts, STAND_IN_NAME } from "../helpers/signed-update-stand-in";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/** Nothing listens there: a command that reaches the network fails on it. */
const NO_RPC = "http://127.0.0.1:1";

const tmp = mkdtempSync(join(tmpdir(), "zkrisk-copied-artifacts-"));
let signedCopy: string;
let batchCopy: string;
let adaptiveCopy: string;

beforeAll(async () => {
  const [signed, batch, adaptive] = await Promise.all([
    signedUpdateArtifacts(MODEL, "constant", 1),
    signedBatchArtifacts(MODEL, 2, silentLog),
    adaptiveStandInArtifacts(),
  ]);
  signedCopy = join(tmp, "signed");
  batchCopy = join(tmp, "batch");
  adaptiveCopy = join(tmp, "adaptive");
  cpSync(signed.dir, signedCopy, { recursive: true });
  cpSync(batch.dir, batchCopy, { recursive: true });
  cpSync(adaptive, adaptiveCopy, { recursive: true });
  // the stand-in's "model" (its source) lives inside the directory: gone, as a real copy's is
  rmSync(join(adaptiveCopy, `${STAND_IN_NAME}.circom`));
}, 900_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("loadArtifacts of a copied directory", () => {
  it("needs the model by default, naming the manifest", () => {
    expect(() => loadArtifacts(signedCopy)).toThrow(/model file listed in .*artifacts\.json is missing/);
  });

  it('with model "not needed": the circuit files, checked, and no model', () => {
    const loaded = loadArtifacts(signedCopy, { model: "not needed" });
    expect(loaded.dir).toBe(signedCopy);
    expect(loaded.paths.vkey).toBe(join(signedCopy, "verification_key.json"));
    expect("modelPath" in loaded).toBe(false);
  });

  it('with model "not needed", a changed circuit file is still refused', () => {
    const tampered = join(tmp, "tampered");
    cpSync(signedCopy, tampered, { recursive: true });
    appendFileSync(join(tampered, "verification_key.json"), " ");
    expect(() => loadArtifacts(tampered, { model: "not needed" })).toThrow(SetupError);
    expect(() => loadArtifacts(tampered, { model: "not needed" })).toThrow(
      /verification_key\.json: vkey sha256 [0-9a-f]{64} does not match/,
    );
  });
});

describe("commands that need no model take a copied directory", () => {
  it("zkrisk audit --signed-artifacts / --batch-artifacts / --adaptive-artifacts gets to the network", async () => {
    for (const flags of [
      { signedArtifacts: signedCopy },
      { batchArtifacts: [batchCopy] },
      { adaptiveArtifacts: adaptiveCopy },
    ]) {
      await expect(runAudit({ rpc: NO_RPC, oracle: ORACLE, ...flags })).rejects.toThrow(
        /--rpc: cannot reach http:\/\/127\.0\.0\.1:1/,
      );
    }
  }, 120_000);

  it("zkrisk set-batch-verifier --artifacts gets to the network", async () => {
    await expect(
      runSetBatchVerifier({
        oracle: ORACLE,
        artifacts: batchCopy,
        model: [MODEL],
        rpc: NO_RPC,
        key: DEV_KEYS[0],
      }),
    ).rejects.toThrow(/--rpc: cannot reach http:\/\/127\.0\.0\.1:1/);
  }, 120_000);
});
