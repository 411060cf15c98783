/**
 * An adaptive market through the CLI as an operator runs it (`node bin/zkrisk.cjs`, test/helpers/zkrisk-cli.ts):
 * `compile --adaptive` (the rule of models/calibrations.json recorded in circuit.json and, by `setup`, in
 * artifacts.json), `setup`, then on a `hardhat node`: `deploy`, `register-market --adaptive` (the market made
 * adaptive with the model's calibration, `setAdaptiveCalibration`), and four real bars proved from the prior the
 * oracle reports (`prove --oracle`), submitted and audited: two consecutive bars A and A + 1, the bar A + 12, whose
 * outcome is bar A's (lag 0), and, A + 13 skipped, the bar A + 14, which catches up bar A + 1's pending outcome
 * (lag 1). A proof from a wrong `--prior` is refused by the oracle and `submit` says the prior is stale; bad or
 * missing priors (a lag outside [0, 11] among them) exit with code 2 before any proving.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel } from "../../models/quantized-model";
import { adaptiveUpdate, PendingOutcomes, stateToNum, windowOutcome } from "../../models/adaptive";
import { rpcChain, type Chain } from "../../onchain/chain";
import { oracleAt } from "../../onchain/oracle";
import { marketIdOf } from "../../candles/market-id";
import { readSignedWindow } from "../../publisher";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import type { ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import { zkrisk, type ZkriskRun } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const RULE = loadCalibrations(join(ROOT, "models/calibrations.json")).adaptive;
const MARKET = "BTC-USDT";
/**
 * Two consecutive bars A and A + 1, the bar A + 12 (its outcome is bar A's, lag 0) and, A + 13 skipped, A + 14
 * (its outcome is bar A + 1's, caught up at lag 1).
 */
const BARS = ["2024-06-29 04:00", "2024-06-29 06:00", "2024-06-30 04:00", "2024-06-30 08:00"];
const INITIAL_NUM = BigInt(loadQuantizedModel(MODEL).policy.calibrationNum) << 8n;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-prove-adaptive-"));
const at = (name: string) => join(dir, name);
const windowFile = (i: number) => at(`windows/bar${i}.window.json`);
const barOpen = (i: number) => Date.parse(`${BARS[i].replace(" ", "T")}:00Z`) / 1000;

function ok(r: ZkriskRun): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

let node: HardhatNode;
let deployed: { chainId: string; verifier: string; oracle: string };
let key: string[];
/** Plain signed-update artifacts (k = 1, constant weights; cached, made by compile-model as `compile` does). */
let plainArtifacts: string;
/** A connection to the node (the first development account): its time controls and reads. */
let chain: Chain;

/** Mine a block just after bar `i` closed (a timely submission), so calls and submissions run at that time. */
async function closeBar(i: number, extra = 0): Promise<void> {
  expect(await chain.mineAt(barOpen(i) + 7200 + 60 + extra)).toBe(true);
}

const prove = (i: number, out: string, ...extra: string[]) =>
  zkrisk(
    "prove",
    "--artifacts",
    at("art"),
    "--market",
    MARKET,
    "--window",
    windowFile(i),
    "--publishers",
    at("set.json"),
    "--oracle",
    deployed.oracle,
    "--chain-id",
    deployed.chainId,
    "--rpc",
    node.rpc,
    "--out",
    out,
    ...extra,
  );

describe("zkrisk compile --adaptive, prove, submit and audit of an adaptive market", () => {
  beforeAll(async () => {
    process.env.ZKRISK_PUBLISHER_PASSWORD = "a publisher password";
    mkdirSync(at("windows"), { recursive: true });
    ok(zkrisk("publisher", "keygen", "--out", at("a.key")));
    BARS.forEach((bar, i) =>
      ok(
        zkrisk(
          "publisher",
          "sign",
          "--key",
          at("a.key"),
          "--market",
          MARKET,
          "--data",
          DATA,
          "--at",
          bar,
          "--out",
          windowFile(i),
        ),
      ),
    );
    ok(zkrisk("publisher", "set", "--keystore", at("a.key"), "--quorum", "1", "--out", at("set.json")));
    ok(zkrisk("compile", "--adaptive", "--weights", "constant", "--out", at("art")));
    ok(zkrisk("setup", "--artifacts", at("art")));
    plainArtifacts = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;
    node = await startHardhatNode();
    chain = await rpcChain(node.rpc, DEV_KEYS[0]);
    await closeBar(0, -3600);
    key = ["--rpc", node.rpc, "--key", DEV_KEYS[0]];
    deployed = JSON.parse(
      ok(zkrisk("deploy", "--artifacts", at("art"), ...key, "--json")),
    ) as typeof deployed;
    const registered = JSON.parse(
      ok(
        zkrisk(
          "register-market",
          "--oracle",
          deployed.oracle,
          "--market",
          MARKET,
          "--verifier",
          deployed.verifier,
          "--model",
          MODEL,
          "--publishers",
          at("set.json"),
          "--max-age",
          "604800",
          "--adaptive",
          ...key,
          "--json",
        ),
      ),
    ) as { adaptive: { num: string } };
    expect(registered.adaptive.num).toBe(INITIAL_NUM.toString());
    const [num, outcomes] = (await oracleAt(deployed.oracle, chain.provider).adaptiveState(
      marketIdOf(MARKET),
    )) as bigint[];
    expect([num, outcomes]).toEqual([INITIAL_NUM, 0n]);
  }, 900_000);

  afterAll(async () => {
    await chain?.close();
    node?.stop();
  });

  it("compile --adaptive records the calibrations file's rule in circuit.json and setup in artifacts.json", () => {
    const info = JSON.parse(readFileSync(at("art/circuit.json"), "utf8")) as { adaptive: { rule: unknown } };
    const manifest = JSON.parse(readFileSync(at("art/artifacts.json"), "utf8")) as typeof info;
    expect(info.adaptive.rule).toEqual(RULE);
    expect(manifest.adaptive).toEqual(info.adaptive);
  });

  it("refuses a missing or malformed --prior with exit code 2, naming the flag and the value", () => {
    const offline = (...extra: string[]) =>
      zkrisk(
        "prove",
        "--artifacts",
        at("art"),
        "--market",
        MARKET,
        "--window",
        windowFile(0),
        "--out",
        at("never.json"),
        ...extra,
      );
    const missing = offline();
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("adaptive rule");
    expect(missing.stderr).toContain("--prior num,outcomes,mmS[,lag]");
    const zero = "0x0000000000000000000000000000000000000001";
    const noModel = zkrisk(
      "register-market",
      "--oracle",
      zero,
      "--market",
      MARKET,
      "--verifier",
      zero,
      "--commitment",
      "1",
      "--publishers",
      at("set.json"),
      "--adaptive",
    );
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain("--adaptive needs --model");
    // One adaptive market is a signed update: an adaptive batch has at least two.
    const batch = zkrisk("compile", "--adaptive", "--batch", "1", "--out", at("never"));
    expect(batch.code).toBe(2);
    expect(batch.stderr).toContain("--batch: '1' is not an integer in [2, 32]");
    const plain = zkrisk(
      "prove",
      "--artifacts",
      plainArtifacts,
      "--market",
      MARKET,
      "--window",
      windowFile(0),
      "--prior",
      "12549376,0,0",
      "--out",
      at("never.json"),
    );
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(`--prior: ${plainArtifacts} holds a circuit without the adaptive rule`);
    for (const [value, says] of [
      ["12549376,0", "has 2 part(s)"],
      ["12549376,0,0,0,0", "has 5 part(s)"],
      ["12549376,x,0", "outcomes 'x'"],
      ["12549376,0,16384", "mmS 16384, which does not fit its 14 bits"],
      ["0,0,0", "num 0"],
      ["12549376,0,900,12", "has lag 12, not in [0, 11]"],
      ["12549376,0,900,-1", "has lag '-1', not a non-negative integer"],
      ["12549376,0,900,1.5", "has lag '1.5', not a non-negative integer"],
    ]) {
      const r = offline("--prior", value);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toContain(`--prior: '${value}'`);
      expect(r.stderr).toContain(says);
    }
  });

  it(
    "proves four bars from the oracle's prior (one outcome caught up late), the oracle accepts them, a wrong " +
      "--prior is refused, and audit verifies every update",
    async () => {
      let state = { num: INITIAL_NUM, outcomes: 0 };
      const pending = new PendingOutcomes();
      const blocks: number[] = [];
      const gas: string[] = [];
      for (let i = 0; i < BARS.length; i++) {
        await closeBar(i);
        const out = at(`proof${i}.json`);
        const proved = JSON.parse(ok(prove(i, out, "--json"))) as {
          parameters: ProvedSignedUpdate["parameters"];
          adaptive: NonNullable<ProvedSignedUpdate["adaptive"]> & { priorFrom: string };
          provingMs: number;
        };
        // the integer engine's transition from the engine's own state and pending outcomes
        const window = (await readSignedWindow(windowFile(i))).window;
        const { marginS, lag } = pending.prior(barOpen(i) / 7200);
        expect([marginS > 0n, lag], BARS[i]).toEqual(
          [
            [false, 0],
            [false, 0],
            [true, 0],
            [true, 1],
          ][i],
        );
        const outcome = windowOutcome(window.bars, marginS, lag);
        const next = adaptiveUpdate(state, outcome, RULE);
        expect(proved.adaptive).toMatchObject({
          priorFrom: "oracle",
          prior: { num: state.num.toString(), outcomes: state.outcomes, marginS: Number(marginS), lag },
          next: { num: next.num.toString(), outcomes: next.outcomes },
          outcome: outcome === null ? "none" : outcome ? "breach" : "covered",
          calibrationNum: Number(stateToNum(next.num)),
        });
        expect(proved.parameters.maintenanceMarginBps).toBeGreaterThan(0);
        ok(zkrisk("verify", out, "--artifacts", at("art")));
        if (i === 1) {
          // a proof from another prior: the oracle refuses it and submit says to prove again
          const wrong = at("wrong-prior.json");
          ok(prove(i, wrong, "--prior", `${state.num + 256n},${state.outcomes},0`));
          const refused = zkrisk("submit", wrong, "--oracle", deployed.oracle, ...key);
          expect(refused.code).toBe(2);
          expect(refused.stderr).toContain("OracleAdaptiveStateMismatch");
          expect(refused.stderr).toContain("stale or wrong");
          expect(refused.stderr).toContain("prove the bar again");
        }
        if (i === 3) {
          // the late outcome from a --prior that names the right margin but lag 0 (bar t - 12, A + 2, which was
          // never pending): the oracle refuses it, and the message names both lags
          const wrong = at("wrong-lag.json");
          const text = ok(prove(i, wrong, "--prior", `${state.num},${state.outcomes},${marginS},0`));
          expect(text).toContain(`MM of bar t-12 (`);
          const refused = zkrisk("submit", wrong, "--oracle", deployed.oracle, ...key);
          expect(refused.code).toBe(2);
          expect(refused.stderr).toContain("OracleAdaptiveStateMismatch");
          expect(refused.stderr).toContain(`MM_s ${marginS}, lag 1; the proof's: num`);
          expect(refused.stderr).toContain(`MM_s ${marginS}, lag 0)`);
          // the text output names the outcome's bar: t - 13, bar A + 1's open time
          const again = ok(prove(i, at("text.json")));
          expect(again).toContain(`MM of bar t-13 (2024-06-29T06:00Z, lag 1) ${marginS} bps`);
        }
        const sent = JSON.parse(ok(zkrisk("submit", out, "--oracle", deployed.oracle, ...key, "--json"))) as {
          block: number;
          gasUsed: string;
        };
        blocks.push(sent.block);
        gas.push(sent.gasUsed);
        expect(pending.accept(barOpen(i) / 7200, BigInt(proved.parameters.maintenanceMarginBps))).toEqual([]);
        state = next;
        console.log(
          `adaptive bar ${BARS[i]}: outcome ${proved.adaptive.outcome} (lag ${lag}), MM ` +
            `${proved.parameters.maintenanceMarginBps} bps, proved in ${proved.provingMs.toFixed(0)} ms`,
        );
      }
      // the third bar's outcome is the first bar's, 12 bars later, the fourth's the second's, 13 bars later: not
      // "none"
      const third = JSON.parse(readFileSync(at("proof2.json"), "utf8")) as ProvedSignedUpdate;
      expect(third.adaptive?.outcome).not.toBe("none");
      const fourth = JSON.parse(readFileSync(at("proof3.json"), "utf8")) as ProvedSignedUpdate;
      expect(fourth.adaptive?.outcome).not.toBe("none");
      expect(fourth.adaptive?.prior.lag).toBe(1);

      const audit = (...extra: string[]) =>
        zkrisk(
          "audit",
          "--rpc",
          node.rpc,
          "--oracle",
          deployed.oracle,
          "--model",
          MODEL,
          "--windows",
          at("windows"),
          "--publishers",
          at("set.json"),
          "--adaptive-artifacts",
          at("art"),
          ...extra,
        );
      const report = JSON.parse(ok(audit("--json"))) as {
        updates: { kind: string; status: string; reasons: string[]; missing: string[]; adaptive: unknown }[];
        ok: number;
        failed: number;
      };
      expect(report.updates.map((u) => [u.kind, u.status, u.reasons, u.missing])).toEqual(
        BARS.map(() => ["adaptive", "ok", [], []]),
      );
      expect(report.updates[2].adaptive).toMatchObject({ replay: "ok", outcome: third.adaptive?.outcome });
      expect(report.updates[3].adaptive).toMatchObject({ replay: "ok", outcome: fourth.adaptive?.outcome });
      const text = ok(audit());
      expect(text).toContain("adaptive state replayed with the rule of");
      expect(text).toContain("4 updates audited: 4 OK, 0 FAIL");

      // from the last update's block only: the replay reads the market's history before it; the rule from the
      // calibrations file (proofs then not verified again)
      const last = zkrisk(
        "audit",
        "--rpc",
        node.rpc,
        "--oracle",
        deployed.oracle,
        "--model",
        MODEL,
        "--windows",
        at("windows"),
        "--publishers",
        at("set.json"),
        "--calibrations",
        join(ROOT, "models/calibrations.json"),
        "--from-block",
        String(blocks[3]),
      );
      expect(last.stdout).toContain("adaptive proofs not re-verified (--adaptive-artifacts)");
      expect(last.stdout).toContain("1 update audited: 1 OK, 0 FAIL");
      expect(last.code, last.stdout + last.stderr).toBe(0);

      // an adaptive market in range needs the rule: a missing or invalid calibrations file is an error naming it
      writeFileSync(at("calibrations-invalid.json"), "{ not json");
      for (const [file, message] of [
        [
          at("calibrations-invalid.json"),
          `${at("calibrations-invalid.json")}:1:3: not valid JSON: Expected property name or '}'`,
        ],
        [at("no-calibrations.json"), `--calibrations: ${at("no-calibrations.json")}: file not found`],
      ]) {
        const bad = zkrisk(
          "audit",
          "--rpc",
          node.rpc,
          "--oracle",
          deployed.oracle,
          "--model",
          MODEL,
          "--calibrations",
          file,
          "--from-block",
          String(blocks[2]),
        );
        expect(bad.code, bad.stdout + bad.stderr).toBe(2);
        expect(bad.stderr).toContain(message);
      }
      console.log(`adaptive update gas (receipts): ${gas.join(", ")}`);

      // an adaptive proof file against plain artifacts: the wrong directory, a usage error
      const wrongKind = zkrisk("verify", at("proof0.json"), "--artifacts", plainArtifacts);
      expect(wrongKind.code).toBe(2);
      expect(wrongKind.stderr).toBe(
        `zkrisk: --artifacts: ${plainArtifacts} holds a signed-update circuit; ${at("proof0.json")} is the proof ` +
          "of an adaptive signed update: give the artifacts it was proved with\n",
      );
      // a new state the proof contradicts: FAIL (exit 1), naming the field
      const proof0 = JSON.parse(readFileSync(at("proof0.json"), "utf8")) as ProvedSignedUpdate;
      const next = proof0.adaptive!.next;
      writeFileSync(
        at("next-edited.json"),
        JSON.stringify({
          ...proof0,
          adaptive: { ...proof0.adaptive, next: { ...next, num: `${next.num}1` } },
        }),
      );
      const nextEdited = zkrisk("verify", at("next-edited.json"), "--artifacts", at("art"));
      expect(nextEdited.code, nextEdited.stderr).toBe(1);
      expect(nextEdited.stdout).toContain(
        `  adaptive.next.num: states ${next.num}1, the proven update signal carries ${next.num}\n`,
      );

      // a window with other candles than the ones proven (bar 0's file edited): the audit flags it
      const edited = JSON.parse(readFileSync(windowFile(0), "utf8")) as { bars: { close: string }[] };
      edited.bars[84].close = (BigInt(edited.bars[84].close) + 1n).toString();
      writeFileSync(windowFile(0), JSON.stringify(edited));
      const flagged = audit("--json");
      expect(flagged.code).toBe(1);
    },
    900_000,
  );
});
