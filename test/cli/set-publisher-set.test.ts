/**
 * `zkrisk set-publisher-set` as governance runs it (`node bin/zkrisk.cjs`, test/helpers/zkrisk-cli.ts) against a
 * `hardhat node` with BTC-USDT registered as a plain market (the real signed-update verifier, cached artifacts):
 * rotating the publisher set (a second key, quorum 2), then the model, each read back from the oracle and from its
 * `PublisherSetChanged` event, what is not given kept as registered. Refused with exit code 2 and nothing sent: no
 * option, both --model and --commitment, another market's model file, a call that changes nothing, a verifier of
 * the other layout (the adaptive circuit's for the plain market); the oracle's refusals name its error. An
 * adaptive market given a new model is refused by the oracle (OracleAdaptiveModelChange), and the message names the
 * way, which then works: `set-adaptive --off`, the rotation (the adaptive verifier allowed on the way, with a
 * warning), `set-adaptive --model` with the new model file.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, Wallet, type Contract } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { deployMarket, MARKET } from "../../onchain/local-market";
import { deployVerifier, oracleAt, publisherSetConfigOf } from "../../onchain/oracle";
import { rpcChain } from "../../onchain/chain";
import { statementKey } from "../../circuits/statement";
import { oracleDomain } from "../../prover/domain";
import {
  makePublisherSet,
  publicKeyOf,
  publisherSetCommitment,
  readPublisherSet,
  writePublisherSet,
} from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { compiledAdaptiveArtifacts } from "../helpers/adaptive-artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { writeOtherModel } from "../helpers/models";
import { zkrisk, type ZkriskRun } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");
const MARKET_ID = marketIdOf(MARKET);
const SENDER = new Wallet(DEV_KEYS[0]).address;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-set-publisher-set-"));
let node: HardhatNode;
let provider: JsonRpcProvider;
let oracle: Contract;
let oracleAddress: string;
let adaptiveVerifier: string;
/** The shipped model with one weight changed: another commitment, BTC-USDT's. */
let otherModel: string;

/** `zkrisk set-publisher-set --oracle ORACLE --market BTC-USDT --rpc NODE --key GOVERNOR ...extra` (those four left
 * out when `extra` gives them). */
const rotate = (...extra: string[]): ZkriskRun => {
  const defaults = [
    ["--oracle", oracleAddress],
    ["--market", MARKET],
    ["--rpc", node.rpc],
    ["--key", DEV_KEYS[0]],
  ];
  return zkrisk(
    "set-publisher-set",
    ...defaults.filter(([option]) => !extra.includes(option)).flat(),
    ...extra,
  );
};

/** The market's publisher set configuration as the oracle holds it. */
const registered = async () => publisherSetConfigOf(await oracle.publisherSet(MARKET_ID));

/** The new configurations of the PublisherSetChanged events so far. */
async function changes(): Promise<bigint[]> {
  const logs = await oracle.queryFilter(oracle.filters.PublisherSetChanged());
  return logs.map((l) => publisherSetConfigOf(oracle.interface.parseLog(l)!.args[2]).statementKey);
}

beforeAll(async () => {
  const [artifacts, adaptive, started] = await Promise.all([
    signedUpdateArtifacts(MODEL, "constant", 1),
    compiledAdaptiveArtifacts(MODEL, CALIBRATIONS),
    startHardhatNode(),
  ]);
  node = started;
  otherModel = writeOtherModel(dir);
  const set = await makePublisherSet([await publicKeyOf(new Uint8Array(32).fill(7))], 1);
  writePublisherSet(join(dir, "set.json"), set);
  const two = await makePublisherSet(
    [await publicKeyOf(new Uint8Array(32).fill(7)), await publicKeyOf(new Uint8Array(32).fill(8))],
    2,
  );
  writePublisherSet(join(dir, "set2.json"), two);
  oracleAddress = (await deployMarket(node.rpc, artifacts.dir, set, MODEL)).oracle;
  const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
  try {
    adaptiveVerifier = await (await deployVerifier(chain.signer, adaptive)).getAddress();
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

describe("zkrisk set-publisher-set", () => {
  it("rotates the publisher set, then the model, keeping what is not given (--json and text)", async () => {
    const before = await registered();
    const set2 = await readPublisherSet(join(dir, "set2.json"));
    const r = rotate("--publishers", join(dir, "set2.json"), "--json");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const after = await registered();
    expect(out).toMatchObject({
      market: MARKET,
      marketId: MARKET_ID.toString(),
      changed: ["publishers"],
      before: { statementKey: before.statementKey.toString(), quorum: 1 },
      after: {
        verifier: before.verifier,
        modelCommitment: before.modelCommitment.toString(),
        publisherSet: (await publisherSetCommitment(set2)).toString(),
        quorum: 2,
        statementKey: after.statementKey.toString(),
      },
    });
    expect(out.warning).toBeUndefined();
    expect(after.statementKey).not.toBe(before.statementKey);
    expect(after.quorum).toBe(2);
    expect((await provider.getTransactionReceipt(out.txHash))!.status).toBe(1);

    const other = otherModel;
    const text = rotate("--model", other);
    expect(text.code, text.stderr).toBe(0);
    const now = await registered();
    expect(now.modelCommitment).toBe(await modelCommitment(loadQuantizedModel(other)));
    expect(now.publisherSet).toBe(after.publisherSet);
    expect(text.stdout).toMatch(
      new RegExp(`^${MARKET} \\(id ${MARKET_ID}\\) on ${oracleAddress}: rotated model; tx 0x[0-9a-f]{64}\\n`),
    );
    expect(text.stdout).toContain(`  model commitment: ${after.modelCommitment} -> ${now.modelCommitment}\n`);
    expect(text.stdout).toContain(`  quorum: 2\n`);
    expect((await changes()).slice(-2)).toEqual([after.statementKey, now.statementKey]);
  }, 120_000);

  it("refuses bad options, another market's model, a call that changes nothing and a verifier of the other layout, sending nothing", async () => {
    const nonce = await provider.getTransactionCount(SENDER);
    const eth = join(dir, "eth.quantized.json");
    writeFileSync(eth, readFileSync(MODEL, "utf8").replace('"market": "BTC-USDT"', '"market": "ETH-USDT"'));
    const current = await registered();
    const cases: [string[], string][] = [
      [[], "give what to rotate: --publishers SET.json, --model FILE (or --commitment N), --verifier ADDR"],
      [["--model", MODEL, "--commitment", "5"], "give at most one of --model or --commitment"],
      [["--commitment", "0x12"], "--commitment: '0x12' is not a positive decimal integer"],
      [["--model", join(dir, "missing.json")], join(dir, "missing.json")],
      [["--model", eth], `--model: ${eth} is the model file of ETH-USDT, not of ${MARKET}`],
      [["--commitment", current.modelCommitment.toString()], "nothing to rotate, nothing sent"],
      [
        ["--verifier", adaptiveVerifier],
        `--verifier: ${adaptiveVerifier} proves adaptive updates (its adaptiveLayout() is true), but ${MARKET} is ` +
          "plain, so it would take no update",
      ],
      [["--verifier", SENDER], `--verifier: no contract at ${SENDER}`],
    ];
    expect(readFileSync(eth, "utf8")).toContain('"market": "ETH-USDT"');
    for (const [extra, message] of cases) {
      const r = rotate(...extra);
      expect(r.code, `${extra.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(await provider.getTransactionCount(SENDER)).toBe(nonce);
  }, 120_000);

  it("exits 2 with the oracle's error for an unknown market and a sender without the governor role", async () => {
    const events = (await changes()).length;
    const nonces = await Promise.all(
      DEV_KEYS.slice(0, 2).map((k) => provider.getTransactionCount(new Wallet(k).address)),
    );
    const unknown = rotate("--market", "ETH-USDT", "--publishers", join(dir, "set.json"));
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain("OracleUnknownMarket");
    const stranger = rotate("--publishers", join(dir, "set.json"), "--key", DEV_KEYS[1]);
    expect(stranger.code, stranger.stderr).toBe(2);
    expect(stranger.stderr).toContain("AccessControlUnauthorizedAccount");
    expect((await changes()).length).toBe(events);
    // nothing sent: a sent and reverted transaction emits no event, but takes its sender's nonce
    expect(
      await Promise.all(DEV_KEYS.slice(0, 2).map((k) => provider.getTransactionCount(new Wallet(k).address))),
    ).toEqual(nonces);
  }, 120_000);

  it("an adaptive market takes the adaptive verifier but not a new model, whose refusal names the way, which works", async () => {
    const setAdaptive = (...extra: string[]) =>
      zkrisk(
        "set-adaptive",
        "--oracle",
        oracleAddress,
        "--market",
        MARKET,
        "--rpc",
        node.rpc,
        "--key",
        DEV_KEYS[0],
        ...extra,
      );
    const made = setAdaptive("--model", otherModel);
    expect(made.code, made.stderr).toBe(0);
    const otherC = await modelCommitment(loadQuantizedModel(otherModel));
    const shippedC = await modelCommitment(loadQuantizedModel(MODEL));
    // another model: refused by the oracle, nothing sent, the message naming the three steps
    const nonce = await provider.getTransactionCount(SENDER);
    const refused = rotate("--verifier", adaptiveVerifier, "--model", MODEL);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(
      `the oracle refused: OracleAdaptiveModelChange(${MARKET_ID}, ${otherC}, ${shippedC}): ${MARKET} is adaptive`,
    );
    expect(refused.stderr).toContain(`\`zkrisk set-adaptive --market ${MARKET} --off\``);
    expect(refused.stderr).toContain(
      `\`zkrisk set-publisher-set --market ${MARKET} --model ${MODEL} --verifier ${adaptiveVerifier}\``,
    );
    expect(refused.stderr).toContain(`\`zkrisk set-adaptive --market ${MARKET} --model NEW_MODEL_FILE\``);
    expect(await provider.getTransactionCount(SENDER)).toBe(nonce);
    expect((await registered()).modelCommitment).toBe(otherC);
    // the same model with the adaptive verifier (--market as the number): taken, no warning (both adaptive)
    const r = rotate("--market", MARKET_ID.toString(), "--verifier", adaptiveVerifier, "--json");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.changed).toEqual(["verifier"]);
    expect(out.after.verifier).toBe(adaptiveVerifier);
    expect(out.warning).toBeUndefined();
    // the way the refusal named: plain, the rotation (giving the adaptive verifier again is taken on the way, with
    // a warning that the market takes no update until made adaptive), adaptive from the new model
    const off = setAdaptive("--off");
    expect(off.code, off.stderr).toBe(0);
    const rotated = rotate("--model", MODEL, "--verifier", adaptiveVerifier, "--json");
    expect(rotated.code, rotated.stderr).toBe(0);
    const step = JSON.parse(rotated.stdout);
    expect(step.changed).toEqual(["model"]);
    expect(step.warning).toBe(
      `${MARKET} is plain and its verifier proves adaptive updates, so it takes no update until both agree: make ` +
        "it adaptive from its model file (`zkrisk set-adaptive --model`), or give it a plain verifier",
    );
    const on = setAdaptive("--model", MODEL, "--json");
    expect(on.code, on.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({
      adaptive: true,
      num: (BigInt(loadQuantizedModel(MODEL).policy.calibrationNum) << 8n).toString(),
    });
    expect(JSON.parse(on.stdout).warning).toBeUndefined();
    const now = await registered();
    expect([now.verifier, now.modelCommitment]).toEqual([adaptiveVerifier, shippedC]);
  }, 180_000);

  it("a statement key registered for another chain's domain (a chain split) is registered again for this chain's", async () => {
    const now = await registered();
    // the key of the same parts for chain 1: what the original chain registered before a split
    const elsewhere = await statementKey({
      marketId: MARKET_ID,
      modelCommitment: now.modelCommitment,
      publisherSet: now.publisherSet,
      domain: oracleDomain(1n, oracleAddress),
    });
    const governor = oracleAt(oracleAddress, new Wallet(DEV_KEYS[0], provider));
    await (await governor.setPublisherSet(MARKET_ID, { ...now, statementKey: elsewhere })).wait();
    const r = rotate("--publishers", join(dir, "set2.json"), "--json");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.changed).toEqual(["statement key"]);
    expect(out.before.statementKey).toBe(elsewhere.toString());
    expect(out.after.statementKey).toBe(now.statementKey.toString());
    // and now there is nothing to rotate
    const again = rotate("--publishers", join(dir, "set2.json"));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("its statement key is this chain's: nothing to rotate, nothing sent");
  }, 120_000);
});
