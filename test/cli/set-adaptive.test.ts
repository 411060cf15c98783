/**
 * `zkrisk set-adaptive` as an operator runs it (`node bin/zkrisk.cjs`, test/helpers/zkrisk-cli.ts) against a
 * `hardhat node` with BTC-USDT registered as a plain market (the real signed-update verifier, cached artifacts):
 * `--model` makes it adaptive from the model file's calibration (num = calibrationNum * 2^8, outcomes 0), `--off`
 * plain again, each read back from the oracle and from its `AdaptiveCalibrationSet` event. Bad options, and a
 * model file the market does not accept (another weight, so another commitment), exit with code 2 before anything
 * is sent; so do the oracle's refusals (an unknown market, a sender without the governor role: ORACLE_REJECTED),
 * naming its error. The chain commands also refuse, before sending anything, an --oracle or --verifier that holds
 * no contract (a transaction to it would succeed and do nothing), and `audit` a --to-block past the chain's head.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, Wallet, type Contract } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketIdOf } from "../../candles/market-id";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { deployMarket, MARKET } from "../../onchain/local-market";
import { oracleAt } from "../../onchain/oracle";
import { makePublisherSet, publicKeyOf, writePublisherSet } from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { writeOtherModel } from "../helpers/models";
import { zkrisk, type ZkriskRun } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const CALIBRATION_NUM = loadQuantizedModel(MODEL).policy.calibrationNum;
const INITIAL_NUM = BigInt(CALIBRATION_NUM) << 8n;
const MARKET_ID = marketIdOf(MARKET);

const dir = mkdtempSync(join(tmpdir(), "zkrisk-set-adaptive-"));
let node: HardhatNode;
let provider: JsonRpcProvider;
let oracle: Contract;
let oracleAddress: string;

/**
 * `zkrisk set-adaptive --oracle ORACLE --market BTC-USDT --rpc NODE --key GOVERNOR ...extra`, each of those four
 * left out when `extra` gives it (an option given twice is refused).
 */
const setAdaptive = (...extra: string[]): ZkriskRun => {
  const defaults = [
    ["--oracle", oracleAddress],
    ["--market", MARKET],
    ["--rpc", node.rpc],
    ["--key", DEV_KEYS[0]],
  ];
  return zkrisk("set-adaptive", ...defaults.filter(([option]) => !extra.includes(option)).flat(), ...extra);
};

/** The market's num and outcomes as the oracle reports them. */
async function state(): Promise<[bigint, bigint]> {
  const [num, outcomes] = (await oracle.adaptiveState(MARKET_ID)) as [bigint, bigint];
  return [num, outcomes];
}

/** The nums of the AdaptiveCalibrationSet events so far. */
async function setEvents(): Promise<bigint[]> {
  const logs = await oracle.queryFilter(oracle.filters.AdaptiveCalibrationSet());
  return logs.map((l) => oracle.interface.parseLog(l)!.args.num as bigint);
}

beforeAll(async () => {
  const [artifacts, started] = await Promise.all([
    signedUpdateArtifacts(MODEL, "constant", 1),
    startHardhatNode(),
  ]);
  node = started;
  const key = new Uint8Array(32).fill(7);
  const set = await makePublisherSet([await publicKeyOf(key)], 1);
  writePublisherSet(join(dir, "set.json"), set);
  oracleAddress = (await deployMarket(node.rpc, artifacts.dir, set, MODEL)).oracle;
  provider = new JsonRpcProvider(node.rpc, undefined, { cacheTimeout: -1 });
  oracle = oracleAt(oracleAddress, provider);
}, 600_000);

afterAll(() => {
  provider?.destroy();
  node?.stop();
});

describe("zkrisk set-adaptive", () => {
  it("--help names the options and exits 0", () => {
    const r = zkrisk("set-adaptive", "--help");
    expect(r.code).toBe(0);
    for (const flag of ["--oracle", "--market", "--model", "--off", "--rpc", "--key", "--json"]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain("setAdaptiveCalibration");
  });

  it("makes the plain market adaptive from the model's calibration, then plain again (--json and text)", async () => {
    expect(await state()).toEqual([0n, 0n]);
    const on = setAdaptive("--model", MODEL, "--json");
    expect(on.code, on.stderr).toBe(0);
    const made = JSON.parse(on.stdout);
    expect(made).toMatchObject({
      market: MARKET,
      marketId: MARKET_ID.toString(),
      adaptive: true,
      num: INITIAL_NUM.toString(),
      model: {
        file: MODEL,
        calibrationNum: CALIBRATION_NUM,
        commitment: (await modelCommitment(loadQuantizedModel(MODEL))).toString(),
      },
      before: { num: "0", outcomes: 0 },
      after: { num: INITIAL_NUM.toString(), outcomes: 0 },
    });
    // Its verifier proves plain updates: said, since the adaptive market now takes no update.
    expect(made.warning).toMatch(
      /^the market's verifier 0x[0-9a-fA-F]{40} proves plain updates, so the adaptive market takes no update/,
    );
    expect((await provider.getTransactionReceipt(made.txHash))!.status).toBe(1);
    expect(await state()).toEqual([INITIAL_NUM, 0n]);

    const off = setAdaptive("--off");
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(
      new RegExp(
        `^${MARKET} \\(id ${MARKET_ID}\\) on ${oracleAddress}: made plain \\(num 0\\); was adaptive at num ` +
          `${INITIAL_NUM}, 0 outcomes; tx 0x[0-9a-f]{64}\\n$`,
      ),
    );
    expect(await state()).toEqual([0n, 0n]);
    expect(await setEvents()).toEqual([INITIAL_NUM, 0n]);

    const again = setAdaptive("--model", MODEL);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      `made adaptive from num ${INITIAL_NUM} (calibrationNum ${CALIBRATION_NUM} of ${MODEL}), outcomes reset to 0; ` +
        "was plain",
    );
    expect(await state()).toEqual([INITIAL_NUM, 0n]);
  }, 120_000);

  it("refuses bad options and a model the market does not accept with exit code 2, sending nothing", async () => {
    const events = (await setEvents()).length;
    const other = writeOtherModel(dir);
    const cases: [string[], string][] = [
      [[], "give exactly one of --model"],
      [["--model", MODEL, "--off"], "give exactly one of --model"],
      [["--model", join(dir, "missing.json")], join(dir, "missing.json")],
      [
        ["--model", other],
        `--model: ${other} commits to ${await modelCommitment(loadQuantizedModel(other))}, but market ${MARKET} ` +
          `accepts model commitment ${await modelCommitment(loadQuantizedModel(MODEL))}`,
      ],
    ];
    for (const [extra, message] of cases) {
      const r = setAdaptive(...extra);
      expect(r.code, `${extra.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const badOracle = zkrisk(
      "set-adaptive",
      "--oracle",
      "0x12",
      "--market",
      MARKET,
      "--off",
      "--rpc",
      node.rpc,
    );
    expect(badOracle.code).toBe(2);
    expect(badOracle.stderr).toContain("--oracle: '0x12' is not an address");
    const noMarket = zkrisk("set-adaptive", "--oracle", oracleAddress, "--off");
    expect(noMarket.code).toBe(2);
    expect(noMarket.stderr).toContain("--market");
    expect((await setEvents()).length).toBe(events);
  }, 120_000);

  it("exits 2 with the oracle's error for an unknown market and a sender without the governor role", async () => {
    const events = (await setEvents()).length;
    const unknown = zkrisk(
      "set-adaptive",
      "--oracle",
      oracleAddress,
      "--market",
      "ETH-USDT",
      "--off",
      "--rpc",
      node.rpc,
      "--key",
      DEV_KEYS[0],
    );
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain("OracleUnknownMarket");
    const stranger = setAdaptive("--off", "--key", DEV_KEYS[1]);
    expect(stranger.code, stranger.stderr).toBe(2);
    expect(stranger.stderr).toContain("AccessControlUnauthorizedAccount");
    expect((await setEvents()).length).toBe(events);
  }, 120_000);
});

describe("chain commands: an address with no contract, a block past the head", () => {
  /** An account with no code on the node: a transaction to it succeeds and does nothing. */
  const EMPTY = new Wallet(DEV_KEYS[1]).address;
  const SENDER = new Wallet(DEV_KEYS[0]).address;
  const noContract = (option: string) =>
    new RegExp(
      `^zkrisk: ${option}: no contract at ${EMPTY} on chain 31337 \\(http://127\\.0\\.0\\.1:\\d+\\)\\n$`,
    );
  const registerMarket = (oracle: string, verifier: string, ...extra: string[]): ZkriskRun =>
    zkrisk(
      "register-market",
      ...extra,
      "--oracle",
      oracle,
      ...(extra.includes("--market") ? [] : ["--market", MARKET]),
      "--verifier",
      verifier,
      "--model",
      MODEL,
      "--publishers",
      join(dir, "set.json"),
      "--rpc",
      node.rpc,
      "--key",
      DEV_KEYS[0],
    );

  it("set-adaptive and register-market exit 2 naming --oracle or --verifier, sending nothing", async () => {
    const nonce = await provider.getTransactionCount(SENDER);
    const verifier = (await oracle.publisherSet(MARKET_ID)).verifier as string;
    for (const [r, option] of [
      [setAdaptive("--off", "--oracle", EMPTY), "--oracle"],
      [registerMarket(EMPTY, verifier), "--oracle"],
      [registerMarket(oracleAddress, EMPTY), "--verifier"],
    ] as const) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(noContract(option));
    }
    expect(await provider.getTransactionCount(SENDER)).toBe(nonce);
  }, 120_000);

  it("register-market refuses another market's model file and a verifier of the other layout, sending nothing", async () => {
    const nonce = await provider.getTransactionCount(SENDER);
    const verifier = (await oracle.publisherSet(MARKET_ID)).verifier as string;
    const other = registerMarket(oracleAddress, verifier, "--market", "ETH-USDT");
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toContain(
      `--model: ${MODEL} is the model file of BTC-USDT, not of ETH-USDT: write ETH-USDT's own with ` +
        "`zkrisk market-model --market ETH-USDT`",
    );
    // The market's verifier proves plain updates: an adaptive registration would take no update.
    const adaptive = registerMarket(oracleAddress, verifier, "--adaptive");
    expect(adaptive.code, adaptive.stderr).toBe(2);
    expect(adaptive.stderr).toContain(
      `--adaptive: the verifier ${verifier} proves plain updates (its adaptiveLayout() is false)`,
    );
    expect(await provider.getTransactionCount(SENDER)).toBe(nonce);
  }, 120_000);

  it("audit --to-block past the chain's latest block exits 2 naming it; at the head it audits", async () => {
    const head = await provider.getBlockNumber();
    const audit = (to: number) =>
      zkrisk("audit", "--oracle", oracleAddress, "--rpc", node.rpc, "--to-block", `${to}`);
    const past = audit(head + 100);
    expect(past.code).toBe(2);
    expect(past.stderr).toBe(
      `zkrisk: --to-block: ${head + 100} is beyond the chain's latest block, ${head}\n`,
    );
    const atHead = audit(head);
    expect(atHead.stderr).toBe("");
    expect(atHead.stdout).toContain(`blocks 0..${head}`);
  }, 120_000);
});
