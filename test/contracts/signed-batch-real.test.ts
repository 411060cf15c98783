/**
 * submitSignedBatch with the REAL signed batch circuit (N = 2, quorum 1, constant weights; development setup,
 * cached like the demo's circuits): one publisher signature over a batch digest proves two markets in one
 * proof, and the oracle stores the integer engine's parameters for both; with real proofs the attacks on a
 * batch are refused: a re-submitted (replayed) batch, a market whose registered publisher set differs from the
 * proof's, k - 1 signatures (a quorum-2 set proven with one), a market whose registered model differs, markets
 * duplicated or out of order in what a publisher signed, and a proof checked against another composition's batch
 * base (other ids, reordered ids, another model, publisher set or domain) or with an edited varying signal (the
 * zkrisk batch verifier refuses them, and the oracle too). Then `zkrisk publisher sign --batch`,
 * `zkrisk prove --batch` and `zkrisk verify` end to end on the same artifacts, edited proof files, and two
 * publishers' files that disagree (exit 2).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contract, type Signer, type TransactionReceipt } from "ethers";
import { BATCH_PACKING, batchDigestSignal } from "../../circuits/batch-statement";
import { batchSignalLayout } from "../../circuits/public-signals";
import { FIELD_MODULUS } from "../../crypto/field";
import { buildWindow, BATCH_DIGEST_TAG, windowDigest } from "../../candles";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment as commitModel } from "../../circuits/commitments";
import { poseidonSponge } from "../../crypto/poseidon-sponge";
import { WINDOW_BARS } from "../../candles/window";
import { loadCandles } from "../../candles/load-data";
import { inferInteger } from "../../models/integer-engine";
import { loadQuantizedModel } from "../../models/quantized-model";
import { windowFeatures } from "../../features/window-features";
import { oracleDomain } from "../../prover/domain";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  setBatchVerifier,
  setPublisherSet,
  signedBatchArguments,
} from "../../onchain/oracle";
import { SignedBatchProver, type ProvedSignedBatch } from "../../prover/prove-signed-batch";
import { releaseCurves, silentLog } from "../../setup";
import { readSignedBatchProofFile } from "../../prover/signed-batch-proof-file";
import { publicKeyOf, signDigest } from "../../publisher/eddsa";
import { readKeystore, type PublisherKey } from "../../publisher/keystore";
import { makePublisherSet, publisherSetCommitment, type PublisherSet } from "../../publisher/publisher-set";
import { signBatch, writeSignedBatch, type SignedBatch } from "../../publisher/signed-batch";
import { signedBatchArtifacts } from "../../bench/signed-batch-bench";
import { standInArtifacts } from "../helpers/signed-update-stand-in";
import { BAR_SECONDS, DATA, MODEL, hre, revertOf, setNextBlockTime, fromSnapshotEachTest } from "./fixture";

const BIN = join(__dirname, "../..", "bin/zkrisk.cjs");
const series = loadCandles(DATA);
const model = loadQuantizedModel(MODEL);
const LAST = series.candles.length - 1;
const BTC = marketIdOf("BTC-USDT");
const ETH = marketIdOf("ETH-USDT");
const SOL = marketIdOf("SOL-USDT");
/** The last bar's open time (s) and a timely submission: one minute after its close. */
const T = series.candles[LAST].time / 1000;
const AT = T + BAR_SECONDS + 60;
/** Each test proves one to three batches of 37,739 constraints: minutes on a loaded 2-core machine. */
const PROOF_TIMEOUT = 1_200_000;

let dir: string;
let batchVerifier: Contract;
let prover: SignedBatchProver;
let oracle: Contract;
let governor: Signer;
let domain: bigint;
let modelCommitment: bigint;
let a: PublisherKey;
let b: PublisherKey;
/** The registered set: a and b, quorum 1. */
let publishers: PublisherSet;
async function publisher(byte: number): Promise<PublisherKey> {
  const privateKey = new Uint8Array(32).fill(byte);
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

const windowOf = (market: string) => ({
  market,
  window: buildWindow(series, marketIdOf(market), LAST, WINDOW_BARS),
});

async function proveBatch(
  batches: SignedBatch[],
  set: PublisherSet = publishers,
): Promise<ProvedSignedBatch> {
  return prover.prove({ batches, publishers: set, domain });
}

/** Submit at the timely block time; the receipt or the decoded custom error. */
async function submit(p: ProvedSignedBatch, at = AT): Promise<TransactionReceipt> {
  await setNextBlockTime(at);
  return (await (await oracle.submitSignedBatch(...signedBatchArguments(p))).wait()) as TransactionReceipt;
}
async function refusal(p: ProvedSignedBatch, at = AT, ids?: bigint[]) {
  await setNextBlockTime(at);
  const args = signedBatchArguments(p);
  if (ids !== undefined) args[3] = ids.map(String);
  return revertOf(oracle.submitSignedBatch(...args), oracle);
}

/** A batch signed by `key` over the pairs in the given order, unchecked (what a faulty publisher could sign). */
async function signUnchecked(key: PublisherKey, markets: string[]): Promise<SignedBatch> {
  const entries = [];
  for (const m of markets) {
    const w = windowOf(m);
    entries.push({ ...w, digest: await windowDigest(w.window) });
  }
  const digest = await poseidonSponge([
    BATCH_DIGEST_TAG,
    BigInt(entries.length),
    ...entries.flatMap((e) => [e.window.marketId, e.digest]),
  ]);
  return {
    markets: entries,
    digest,
    publicKey: key.publicKey,
    signature: await signDigest(key.privateKey, digest),
  };
}

beforeAll(async () => {
  [governor] = await hre.ethers.getSigners();
  dir = (await signedBatchArtifacts(MODEL, 2, silentLog)).dir;
  prover = SignedBatchProver.open(dir, { mode: "constant", batchSize: 2, quorum: 1 }, { modelPath: MODEL });
  [a, b] = [await publisher(1), await publisher(2)];
  publishers = await makePublisherSet([a.publicKey, b.publicKey], 1);
  modelCommitment = await commitModel(model);
  const me = await governor.getAddress();
  batchVerifier = await deployVerifier(governor, dir);
  const verifier = await batchVerifier.getAddress();
  // A market's publisher set needs a signed-update verifier (its statement base); batches never call it.
  const single = await (await deployVerifier(governor, await standInArtifacts())).getAddress();
  oracle = await deployOracle(governor, me);
  domain = oracleDomain((await hre.ethers.provider.getNetwork()).chainId, await oracle.getAddress());
  for (const id of [BTC, ETH, SOL]) {
    await registerMarket(oracle, id, {
      publishers: {
        verifier: single,
        modelCommitment,
        publisherSet: await publisherSetCommitment(publishers),
        quorum: 1,
      },
      guardian: me,
      limits: DEFAULT_LIMITS,
    });
  }
  await setBatchVerifier(oracle, modelCommitment, 2, verifier);
}, 1_800_000);

fromSnapshotEachTest();

afterAll(async () => {
  await prover?.close();
  await releaseCurves();
});

describe("submitSignedBatch with the real signed batch circuit", () => {
  it(
    "accepts one proof from one signature for two markets, stores the engine's parameters; a replay is refused",
    async () => {
      const signed = await signBatch(b, [windowOf("ETH-USDT"), windowOf("BTC-USDT")]);
      const proved = await proveBatch([signed]);
      // What is submitted is the proof file as `zkrisk submit` reads it back: the same batch, calldata rebuilt.
      const file = join(mkdtempSync(join(tmpdir(), "zkrisk-batch-file-")), "proof.json");
      writeFileSync(file, JSON.stringify(proved));
      const proof = readSignedBatchProofFile(file);
      expect(proof).toEqual(proved);
      const receipt = await submit(proof);
      const events = receipt.logs.map((l) => oracle.interface.parseLog(l)!);
      const engine = inferInteger(model, windowFeatures(windowOf("BTC-USDT").window));
      expect(events.map((e) => e.args.toObject())).toEqual(
        [BTC, ETH].map((marketId, index) => ({
          marketId,
          maintenanceMarginBps: engine.maintenanceMarginBps,
          initialMarginBps: engine.initialMarginBps,
          dataTimestamp: BigInt(T),
          batchDigestBits: batchDigestSignal(signed.digest),
          index: BigInt(index),
        })),
      );
      for (const id of [BTC, ETH]) {
        const [mm, im, t] = [...(await oracle.parameters(id))].map(BigInt);
        expect([mm, im, t]).toEqual([engine.maintenanceMarginBps, engine.initialMarginBps, BigInt(T)]);
      }
      console.log(
        `submitSignedBatch with a real proof, N = 2: ${receipt.gasUsed} gas, ${receipt.gasUsed / 2n} per market`,
      );
      // The same batch re-submitted, and a new proof of it: not newer.
      expect(await refusal(proof, AT + 60)).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
      expect(await refusal(await proveBatch([signed]), AT + 120)).toEqual({
        name: "OracleNotNewer",
        args: [BTC, BigInt(T), BigInt(T)],
      });
    },
    PROOF_TIMEOUT,
  );

  it(
    "refuses a market whose registered publisher set differs from the proof's, and k - 1 signatures",
    async () => {
      const verifier = (await oracle.publisherSet(ETH)).verifier as string;
      const signed = await signBatch(a, [windowOf("BTC-USDT"), windowOf("ETH-USDT")]);
      // ETH rotates to a set of a alone: the batch proven for {a, b} is refused for it.
      const alone = await makePublisherSet([a.publicKey], 1);
      await setPublisherSet(oracle, ETH, {
        verifier,
        modelCommitment,
        publisherSet: await publisherSetCommitment(alone),
        quorum: 1,
      });
      const proof = await proveBatch([signed]);
      expect(await refusal(proof)).toEqual({
        name: "OracleBatchPublisherSetMismatch",
        args: [ETH, await publisherSetCommitment(alone), await publisherSetCommitment(publishers)],
      });
      // Both markets now need a and b (quorum 2); a's one signature proves the set at quorum 1 only.
      const both = await makePublisherSet([a.publicKey, b.publicKey], 2);
      for (const id of [BTC, ETH]) {
        await setPublisherSet(oracle, id, {
          verifier,
          modelCommitment,
          publisherSet: await publisherSetCommitment(both),
          quorum: 2,
        });
      }
      expect(await refusal(proof, AT + 60)).toEqual({
        name: "OracleBatchPublisherSetMismatch",
        args: [BTC, await publisherSetCommitment(both), await publisherSetCommitment(publishers)],
      });
      // The prover refuses k - 1 files for the quorum-2 set before proving.
      await expect(proveBatch([signed], both)).rejects.toThrow(
        /needs 2 signed batch\(es\) \(its quorum\), got 1/,
      );
    },
    PROOF_TIMEOUT,
  );

  it(
    "refuses a market whose registered model differs",
    async () => {
      const verifier = (await oracle.publisherSet(ETH)).verifier as string;
      await setPublisherSet(oracle, ETH, {
        verifier,
        modelCommitment: modelCommitment + 1n,
        publisherSet: await publisherSetCommitment(publishers),
        quorum: 1,
      });
      const proof = await proveBatch([await signBatch(a, [windowOf("BTC-USDT"), windowOf("ETH-USDT")])]);
      expect(await refusal(proof)).toEqual({
        name: "OracleModelCommitmentMismatch",
        args: [ETH, modelCommitment + 1n, modelCommitment],
      });
    },
    PROOF_TIMEOUT,
  );

  it(
    "refuses markets out of order or twice, even when a publisher signed them so",
    async () => {
      const unsorted = await proveBatch([await signUnchecked(a, ["ETH-USDT", "BTC-USDT"])]);
      expect(await refusal(unsorted)).toEqual({ name: "OracleBatchNotSorted", args: [1n, ETH, BTC] });
      const twice = await proveBatch([await signUnchecked(a, ["BTC-USDT", "BTC-USDT"])]);
      expect(await refusal(twice, AT + 60)).toEqual({ name: "OracleBatchNotSorted", args: [1n, BTC, BTC] });
    },
    PROOF_TIMEOUT,
  );
});

describe("the batch base of a composition with real proofs", () => {
  it(
    "a real proof verifies against its own composition's base only, and not with an edited varying signal",
    async () => {
      const proved = await proveBatch([await signBatch(a, [windowOf("BTC-USDT"), windowOf("ETH-USDT")])]);
      const [pA, pB, pC, , models, set, update] = signedBatchArguments(proved);
      const verifies = async (constants: bigint[], varying: readonly (string | bigint)[] = update) => {
        const [x, y] = (await batchVerifier.batchBase(constants)) as [bigint, bigint];
        return (await batchVerifier.verifyProof(pA, pB, pC, varying, x, y)) as boolean;
      };
      // Both markets are registered with one model file here, so both carry its commitment.
      const [M, S] = [modelCommitment, BigInt(set)];
      expect(models.map(BigInt)).toEqual([M, M]);
      // The verifier's constants: ids, models, set, domain.
      expect(await verifies([BTC, ETH, M, M, S, domain])).toBe(true);
      // The layout: the public signals are the varying ones, then each market's model, the set, the ids and the
      // domain.
      const l = batchSignalLayout(2);
      expect(proved.publicSignals.map(BigInt)).toEqual([...update.map(BigInt), M, M, S, BTC, ETH, domain]);
      expect(l.count).toBe(proved.publicSignals.length);
      const cases: [string, bigint[]][] = [
        ["another market id", [BTC, SOL, M, M, S, domain]],
        ["the ids reordered", [ETH, BTC, M, M, S, domain]],
        ["another model for market 0", [BTC, ETH, M + 1n, M, S, domain]],
        ["another model for market 1", [BTC, ETH, M, M + 1n, S, domain]],
        ["another publisher set", [BTC, ETH, M, M, S + 1n, domain]],
        ["another domain (another oracle or chain)", [BTC, ETH, M, M, S, domain + 1n]],
      ];
      for (const [what, constants] of cases) expect(await verifies(constants), what).toBe(false);
      const u = BigInt(update[0]);
      const P = BATCH_PACKING;
      const edits: [string, bigint][] = [
        ["the data timestamp + 1", u + 1n],
        ["a digest bit", u ^ (1n << BigInt(P.digestShift + 7))],
        ["market 0's MM + 1", u + (1n << BigInt(P.marketsShift))],
        ["market 1's IM - 1", u - (1n << BigInt(P.marketsShift + P.marketBits + P.marginBits))],
        ["the signal plus r", u + FIELD_MODULUS],
      ];
      for (const [what, edited] of edits) {
        expect(await verifies([BTC, ETH, M, M, S, domain], [edited]), what).toBe(false);
      }
      // The oracle: submitted as (BTC, SOL), every guard passes and the proof check refuses it.
      expect(await refusal(proved, AT, [BTC, SOL])).toEqual({
        name: "OracleInvalidBatchProof",
        args: [await batchVerifier.getAddress(), 2n],
      });
      await submit(proved, AT + 60);
    },
    PROOF_TIMEOUT,
  );
});

describe("zkrisk publisher sign --batch and zkrisk prove --batch", () => {
  const work = mkdtempSync(join(tmpdir(), "zkrisk-batch-cli-"));
  const PASSWORD = "a batch publisher password";
  const run = (args: string[]) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: join(work, "home"),
      ZKRISK_PUBLISHER_PASSWORD: PASSWORD,
    };
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: work,
      env,
      encoding: "utf8",
      timeout: 600_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it(
    "signs two markets at one bar, proves them from the file, and names the first disagreement (exit 2)",
    async () => {
      const key = join(work, "publisher.json");
      expect(run(["publisher", "keygen", "--out", key]).code).toBe(0);
      const at = new Date(T * 1000).toISOString();
      const batchFile = join(work, "batch.json");
      const signedRun = run([
        "publisher",
        "sign",
        "--key",
        key,
        "--batch",
        `ETH-USDT=${DATA}`,
        "--batch",
        `BTC-USDT=${DATA}`,
        "--at",
        at,
        "--out",
        batchFile,
        "--json",
      ]);
      expect(signedRun.stderr).toBe("");
      expect(signedRun.code).toBe(0);
      const signed = JSON.parse(signedRun.stdout) as { markets: { market: string }[]; digest: string };
      expect(signed.markets.map((m) => m.market)).toEqual(["BTC-USDT", "ETH-USDT"]);

      const out = join(work, "proof.json");
      const proved = run([
        "prove",
        "--artifacts",
        dir,
        "--batch",
        batchFile,
        "--domain",
        domain.toString(),
        "--out",
        out,
        "--json",
      ]);
      expect(proved.stderr).toBe("");
      expect(proved.code).toBe(0);
      const file = JSON.parse(readFileSync(out, "utf8")) as ProvedSignedBatch;
      expect(file.format).toBe("zkrisk-signed-batch-proof/3");
      expect(file.batchDigest).toBe(signed.digest);
      expect(await prover.verify(file.proof, file.publicSignals)).toBe(true);
      // By default the publisher set is the files' keys with a quorum of all of them: here the new key alone.
      const alone = await makePublisherSet([readKeystore(key).publicKey], 1);
      expect(file.publisherSet).toBe((await publisherSetCommitment(alone)).toString());
      expect(file.markets.map((m) => m.market)).toEqual(["BTC-USDT", "ETH-USDT"]);
      expect(file.domain).toBe(domain.toString());

      // `zkrisk verify` checks a batch proof file; an edited one fails (exit 1) or is refused as malformed (exit 2).
      const verify = (path: string) => run(["verify", path, "--artifacts", dir, "--json"]);
      const good = verify(out);
      expect(good.stderr).toBe("");
      expect(JSON.parse(good.stdout)).toEqual({ ok: true, problems: [] });
      const edited = (name: string, edit: (doc: ProvedSignedBatch) => void): string => {
        const doc = JSON.parse(readFileSync(out, "utf8")) as ProvedSignedBatch;
        edit(doc);
        const path = join(work, name);
        writeFileSync(path, JSON.stringify(doc));
        return path;
      };
      const point = edited("point.json", (doc) => {
        doc.proof.pi_a[0] = doc.proof.pi_c[0];
      });
      const failed = verify(point);
      expect(failed.code).toBe(1);
      // the file's calldata is the original proof's, so it no longer matches the edited point either
      expect(JSON.parse(failed.stdout).problems).toEqual([
        expect.stringMatching(
          /^calldata\.a\[0\]: states \d+, the verifier call of the proof and its public signals/,
        ),
        "the Groth16 proof does not verify with the verification key for its public signals",
      ]);
      // What the file states and its proof contradicts fails (exit 1), each contradiction named.
      const contradicted: [string, (doc: ProvedSignedBatch) => void, string][] = [
        [
          "margin.json",
          (doc) => (doc.markets[1].maintenanceMarginBps += 1),
          "markets[1].maintenanceMarginBps: states",
        ],
        [
          "digest.json",
          (doc) => (doc.batchDigest = "1"),
          "batchDigest: states 1, whose low 91 bits are not the proven digest bits",
        ],
        ["bar.json", (doc) => (doc.markets[0].bar = "2020-01-01T00:00:00.000Z"), "markets[0].bar: "],
        [
          "calldata.json",
          (doc) => (doc.calldata.input[0] = "1"),
          "calldata.input[0]: states 1, the verifier call of the proof and its public signals has",
        ],
      ];
      for (const [name, edit, message] of contradicted) {
        const r = verify(edited(name, edit));
        expect(r.code, `${name}: ${r.stderr}`).toBe(1);
        const problems = (JSON.parse(r.stdout) as { problems: string[] }).problems;
        expect(
          problems.some((p) => p.startsWith(message)),
          problems.join("\n"),
        ).toBe(true);
      }
      // A malformed file is refused (exit 2), naming the file and the field.
      for (const [name, edit, message] of [
        ["extra.json", (doc: ProvedSignedBatch) => Object.assign(doc, { extra: 1 }), "extra: unknown key"],
        ["short.json", (doc: ProvedSignedBatch) => doc.calldata.input.pop(), "calldata.input: expected"],
      ] as const) {
        const path = edited(name, edit);
        const r = verify(path);
        expect(r.code, `${name}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${path}: ${message}`);
      }

      // A second publisher's file whose ETH-USDT close of the last bar differs.
      const other = await signBatch(b, [windowOf("BTC-USDT"), windowOf("ETH-USDT")]);
      const lastBar = other.markets[1].window.bars[WINDOW_BARS - 1];
      other.markets[1].window.bars[WINDOW_BARS - 1] = {
        ...lastBar,
        close: lastBar.close + 1n,
        high: lastBar.high + 1n,
      };
      const resigned = await signBatch(b, other.markets);
      const otherFile = join(work, "other.json");
      writeSignedBatch(otherFile, resigned);
      const disagree = run([
        "prove",
        "--artifacts",
        dir,
        "--batch",
        batchFile,
        "--batch",
        otherFile,
        "--out",
        join(work, "no.json"),
      ]);
      expect(disagree.code).toBe(2);
      expect(disagree.stderr).toContain(
        `--batch: ${otherFile} differs from ${batchFile} at market ETH-USDT (markets[1]) bar ${WINDOW_BARS - 1}`,
      );
      expect(disagree.stderr).toContain(
        `markets[1].bars[${WINDOW_BARS - 1}].close: ${lastBar.close + 1n} vs ${lastBar.close}`,
      );
    },
    PROOF_TIMEOUT,
  );
});
