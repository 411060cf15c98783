/**
 * `zkrisk set-batch-verifier` as governance runs it (`node bin/zkrisk.cjs`) against a `hardhat node` with a fresh
 * RiskOracle and the cached signed batch artifacts of two markets: it deploys the batch verifier and approves it
 * for each model (read back with the oracle's `batchVerifier`; an adaptive batch circuit's with
 * `adaptiveBatchVerifier`), or approves an already deployed one; artifacts that
 * are not a batch circuit, no model, an address with no contract and a key without the governor role exit with
 * code 2, sending nothing.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, Wallet, type Contract } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { rpcChain } from "../../onchain/chain";
import { deployOracle, oracleAt } from "../../onchain/oracle";
import { adaptiveBatchArtifacts, signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { silentLog } from "../../setup/log";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { writeOtherModel } from "../helpers/models";
import { zkrisk, type ZkriskRun } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const GOVERNOR = new Wallet(DEV_KEYS[0]).address;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-set-batch-verifier-"));
let node: HardhatNode;
let provider: JsonRpcProvider;
let oracle: Contract;
let oracleAddress: string;
let batchDir: string;
let updateDir: string;
let adaptiveDir: string;

/** `zkrisk set-batch-verifier --oracle ORACLE --rpc NODE --key GOVERNOR ...args`, but the key `args` gives. */
const setBatchVerifier = (...args: string[]): ZkriskRun =>
  zkrisk(
    "set-batch-verifier",
    "--oracle",
    oracleAddress,
    "--rpc",
    node.rpc,
    ...(args.includes("--key") ? [] : ["--key", DEV_KEYS[0]]),
    ...args,
  );

beforeAll(async () => {
  const [batch, update, adaptive, started] = await Promise.all([
    signedBatchArtifacts(MODEL, 2, silentLog),
    signedUpdateArtifacts(MODEL, "constant", 1),
    adaptiveBatchArtifacts(MODEL, join(ROOT, "models/calibrations.json"), 2),
    startHardhatNode(),
  ]);
  batchDir = batch.dir;
  updateDir = update.dir;
  adaptiveDir = adaptive.dir;
  node = started;
  const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
  try {
    oracleAddress = await (await deployOracle(chain.signer, GOVERNOR)).getAddress();
  } finally {
    await chain.close();
  }
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  oracle = oracleAt(oracleAddress, provider);
}, 900_000);

afterAll(() => {
  provider?.destroy();
  node?.stop();
});

describe("zkrisk set-batch-verifier", () => {
  it("--help names the options and is listed by zkrisk --help", () => {
    const r = zkrisk("set-batch-verifier", "--help");
    expect(r.code).toBe(0);
    for (const flag of [
      "--oracle",
      "--artifacts",
      "--model",
      "--commitment",
      "--verifier",
      "--rpc",
      "--key",
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(zkrisk("--help").stdout).toContain("set-batch-verifier");
  });

  it("deploys the batch verifier and approves it for each model; then approves the deployed one for another", async () => {
    const shipped = await modelCommitment(loadQuantizedModel(MODEL));
    const other = await modelCommitment(loadQuantizedModel(writeOtherModel(dir)));
    const r = setBatchVerifier("--artifacts", batchDir, "--model", MODEL, "--json");
    expect(r.code, r.stderr).toBe(0);
    const done = JSON.parse(r.stdout);
    expect(done).toMatchObject({
      oracle: oracleAddress,
      batchSize: 2,
      adaptive: false,
      deployed: true,
      models: [{ file: MODEL, commitment: shipped.toString() }],
    });
    expect(await provider.getCode(done.verifier)).not.toBe("0x");
    expect(await oracle.batchVerifier(shipped, 2)).toBe(done.verifier);
    expect(await oracle.adaptiveBatchVerifier(shipped, 2)).toBe("0x0000000000000000000000000000000000000000");

    const again = setBatchVerifier(
      "--artifacts",
      batchDir,
      "--commitment",
      other.toString(),
      "--verifier",
      done.verifier,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(
        `^using verifier ${done.verifier} \\(batches of 2 markets\\) on ${oracleAddress}\\n` +
          `setBatchVerifier: model ${other} \\(commitment ${other}\\); tx 0x[0-9a-f]{64}\\n$`,
      ),
    );
    expect(await oracle.batchVerifier(other, 2)).toBe(done.verifier);
  }, 300_000);

  it("an adaptive batch circuit's verifier goes to the adaptive registry (setAdaptiveBatchVerifier)", async () => {
    const shipped = await modelCommitment(loadQuantizedModel(MODEL));
    const r = setBatchVerifier("--artifacts", adaptiveDir, "--model", MODEL);
    expect(r.code, r.stderr).toBe(0);
    const m = /^deployed verifier (0x[0-9a-fA-F]{40}) \(adaptive batches of 2 markets\)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(r.stdout).toContain(`setAdaptiveBatchVerifier: model ${MODEL} (commitment ${shipped})`);
    expect(await oracle.adaptiveBatchVerifier(shipped, 2)).toBe(m![1]);
    expect(await oracle.batchVerifier(shipped, 2)).not.toBe(m![1]);
  }, 300_000);

  it("refuses what would not work with exit code 2, sending nothing", async () => {
    const nonce = await provider.getTransactionCount(GOVERNOR);
    const empty = new Wallet(DEV_KEYS[1]).address;
    const cases: [ZkriskRun, string | RegExp][] = [
      [setBatchVerifier("--artifacts", updateDir, "--model", MODEL), "does not hold a signed batch circuit"],
      [setBatchVerifier("--artifacts", batchDir), "give --model FILE or --commitment N"],
      [
        setBatchVerifier("--artifacts", batchDir, "--commitment", "12x"),
        "--commitment: '12x' is not a decimal",
      ],
      [setBatchVerifier("--artifacts", batchDir, "--model", MODEL, "--model", MODEL), "is given twice"],
      [
        setBatchVerifier("--artifacts", batchDir, "--model", MODEL, "--verifier", empty),
        `--verifier: no contract at ${empty}`,
      ],
      [
        zkrisk(
          "set-batch-verifier",
          "--oracle",
          empty,
          "--artifacts",
          batchDir,
          "--model",
          MODEL,
          "--rpc",
          node.rpc,
          "--key",
          DEV_KEYS[0],
        ),
        `--oracle: no contract at ${empty}`,
      ],
    ];
    for (const [r, message] of cases) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(await provider.getTransactionCount(GOVERNOR)).toBe(nonce);
  }, 300_000);

  it("exits 2 with the oracle's error for a key without the governor role", async () => {
    const shipped = await modelCommitment(loadQuantizedModel(MODEL));
    const before = await oracle.batchVerifier(shipped, 2);
    const r = setBatchVerifier(
      "--artifacts",
      batchDir,
      "--model",
      MODEL,
      "--verifier",
      before,
      "--key",
      DEV_KEYS[1],
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("AccessControlUnauthorizedAccount");
  }, 120_000);
});
