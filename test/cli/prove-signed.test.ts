/**
 * From publishers' keys to a verified signed-update proof, through `node bin/zkrisk.cjs` as a user runs it:
 * `publisher keygen` x 3, `publisher sign` x 2, `publisher set` (quorum 2 of 3), `compile --quorum 2`, `setup`,
 * `prove --window --window --publishers`; then the proof checked with snarkjs (in process, and with `--snarkjs
 * DIR` by the snarkjs CLI), the inputs `prove`, `verify` and `submit` must refuse with exit code 2, and the proof
 * file registered, submitted and replayed on a node.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet } from "ethers";
import { beforeAll, describe, expect, it } from "vitest";
import { FIELD_MODULUS } from "../../crypto/field";
import { marketIdOf } from "../../candles/market-id";
import { unpackUpdate } from "../../circuits/statement";
import { UPDATE_SIGNALS } from "../../circuits/public-signals";
import { releaseCurves, snarkjs, type VerificationKey } from "../../setup/snarkjs";
import type { ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { publisherSetFileCommitment } from "../../publisher";
import { DEV_KEYS, startHardhatNode } from "../helpers/hardhat-node";

const ROOT = join(__dirname, "../..");
const BIN = join(ROOT, "bin/zkrisk.cjs");
const DATA = join(ROOT, "models/data/btcusdt-2h.csv");
const AT = "2024-06-30 22:00";
const TIMEOUT = 600_000;

const dir = mkdtempSync(join(tmpdir(), "zkrisk-prove-signed-"));
const at = (name: string) => join(dir, name);

function zkrisk(...args: string[]) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: at("home"),
    ZKRISK_PUBLISHER_PASSWORD: "a publisher password",
  };
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env,
    encoding: "utf8",
    timeout: TIMEOUT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: { code: number | null; stdout: string; stderr: string }): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe("zkrisk prove --window", () => {
  beforeAll(() => {
    for (const p of ["a", "b", "c"]) ok(zkrisk("publisher", "keygen", "--out", at(`${p}.key`)));
    for (const p of ["a", "b"]) {
      ok(
        zkrisk(
          "publisher",
          "sign",
          "--key",
          at(`${p}.key`),
          "--market",
          "BTC-USDT",
          "--data",
          DATA,
          "--at",
          AT,
          "--out",
          at(`${p}.window.json`),
        ),
      );
    }
    // c signs the bar before: a window that disagrees with a's and b's.
    ok(
      zkrisk(
        "publisher",
        "sign",
        "--key",
        at("c.key"),
        "--market",
        "BTC-USDT",
        "--data",
        DATA,
        "--at",
        "2024-06-30 20:00",
        "--out",
        at("c.window.json"),
      ),
    );
    ok(
      zkrisk(
        "publisher",
        "set",
        "--keystore",
        at("a.key"),
        at("b.key"),
        at("c.key"),
        "--quorum",
        "2",
        "--out",
        at("set.json"),
      ),
    );
    ok(zkrisk("compile", "--quorum", "2", "--weights", "constant", "--out", at("art")));
    ok(zkrisk("setup", "--artifacts", at("art")));
  }, 3 * TIMEOUT);

  it(
    "proves 2 of 3 publishers' windows; the proof verifies with snarkjs and states what the engine gives",
    async () => {
      const out = at("proof.json");
      const r = zkrisk(
        "prove",
        "--artifacts",
        at("art"),
        "--market",
        "BTC-USDT",
        "--window",
        at("a.window.json"),
        at("b.window.json"),
        "--publishers",
        at("set.json"),
        "--oracle",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "--chain-id",
        "31337",
        "--out",
        out,
        "--json",
      );
      const printed = JSON.parse(ok(r)) as { parameters: ProvedSignedUpdate["parameters"] };
      const proof = JSON.parse(readFileSync(out, "utf8")) as ProvedSignedUpdate;
      expect(proof.format).toBe("zkrisk-signed-proof/1");
      expect(proof.publicSignals).toHaveLength(UPDATE_SIGNALS.length);
      expect(printed.parameters).toEqual(proof.parameters);
      const u = unpackUpdate(BigInt(proof.publicSignals[0]));
      expect([Number(u.mm), Number(u.im), Number(u.dataTimestamp)]).toEqual([
        proof.parameters.maintenanceMarginBps,
        proof.parameters.initialMarginBps,
        Date.parse("2024-06-30T22:00:00Z") / 1000,
      ]);
      expect(proof.parameters.publisherSet).toBe(
        (await publisherSetFileCommitment(at("set.json"))).toString(),
      );
      const vkey = JSON.parse(readFileSync(at("art/verification_key.json"), "utf8")) as VerificationKey;
      try {
        expect(await snarkjs.groth16.verify(vkey, proof.publicSignals, proof.proof)).toBe(true);
        const forged = [...proof.publicSignals];
        forged[0] = (BigInt(forged[0]) - 1n).toString(); // MM one bps lower
        expect(await snarkjs.groth16.verify(vkey, forged, proof.proof)).toBe(false);
      } finally {
        await releaseCurves();
      }
    },
    TIMEOUT,
  );

  it(
    "verify checks a signed proof file: OK, then FAIL for an edited proof point, domain, margin, time, " +
      "feature or calldata; a window is not a proof file",
    () => {
      const good = zkrisk("verify", at("proof.json"), "--artifacts", at("art"), "--json");
      expect(JSON.parse(ok(good))).toEqual({ ok: true, problems: [] });
      const written = JSON.parse(readFileSync(at("proof.json"), "utf8")) as ProvedSignedUpdate;
      const point = at("edited-point.json");
      writeFileSync(
        point,
        JSON.stringify({ ...written, proof: { ...written.proof, pi_c: [...written.proof.pi_c].reverse() } }),
      );
      const badPoint = zkrisk("verify", point, "--artifacts", at("art"), "--json");
      expect(badPoint.code).toBe(1);
      expect((JSON.parse(badPoint.stdout) as { problems: string[] }).problems).toContain(
        "the Groth16 proof does not verify with the verification key for its public signals",
      );
      const domain = at("edited-domain.json");
      writeFileSync(
        domain,
        JSON.stringify({ ...written, parameters: { ...written.parameters, domain: "8" } }),
      );
      const badDomain = zkrisk("verify", domain, "--artifacts", at("art"));
      expect(badDomain.code).toBe(1);
      expect(badDomain.stdout).toMatch(
        /^FAIL .*edited-domain\.json\n {2}statement \d+ is not the key of the stated/,
      );
      // A margin, a time or a calldata the proof contradicts: FAIL (exit 1) naming the field, not a usage error.
      const p = written.parameters;
      const claims: [string, Record<string, unknown>, string][] = [
        [
          "claimed-mm.json",
          { parameters: { ...p, maintenanceMarginBps: p.maintenanceMarginBps + 1 } },
          `parameters.maintenanceMarginBps: states ${p.maintenanceMarginBps + 1}, the proven update signal ` +
            `carries ${p.maintenanceMarginBps}`,
        ],
        [
          "claimed-time.json",
          { parameters: { ...p, dataTimestamp: p.dataTimestamp + 7200 } },
          `parameters.dataTimestamp: states ${p.dataTimestamp + 7200}, the proven update signal carries ` +
            `${p.dataTimestamp}`,
        ],
        [
          "claimed-feature-name.json",
          { features: written.features.map((f, i) => (i === 0 ? { ...f, name: "rv_2d" } : f)) },
          `features[0].name 'rv_2d' is not the model's feature '${written.features[0].name}'`,
        ],
        [
          "claimed-feature-value.json",
          { features: written.features.map((f, i) => (i === 1 ? { ...f, value: f.value + 0.1 } : f)) },
          `features[1].value ${written.features[1].value + 0.1} is not its quantized ` +
            `${written.features[1].quantized} / 2^32 (${written.features[1].value})`,
        ],
        [
          "claimed-calldata.json",
          { calldata: { ...written.calldata, input: [...written.calldata.input].reverse() } },
          `calldata.input[0]: states ${written.publicSignals[1]}, the verifier call of the proof and its public ` +
            `signals has ${written.publicSignals[0]}`,
        ],
      ];
      for (const [name, edit, problem] of claims) {
        writeFileSync(at(name), JSON.stringify({ ...written, ...edit }));
        const r = zkrisk("verify", at(name), "--artifacts", at("art"), "--json");
        expect(r.code, `${name}: ${r.stderr}`).toBe(1);
        expect((JSON.parse(r.stdout) as { problems: string[] }).problems).toContain(problem);
      }
      // A signed window given as the proof is named as not a proof file.
      const window = zkrisk("verify", at("a.window.json"), "--artifacts", at("art"));
      expect(window.code).toBe(2);
      expect(window.stderr).toBe(
        `zkrisk: ${at("a.window.json")}: format: missing: this is not a proof file; a signed update's proof file ` +
          "has format 'zkrisk-signed-proof/1', a signed batch's 'zkrisk-signed-batch-proof/3' (`zkrisk prove` " +
          "writes them)\n",
      );
    },
    TIMEOUT,
  );

  it(
    "--snarkjs writes proof.json, public.json and verification_key.json that the snarkjs CLI verifies, and " +
      "rejects once a signal is edited",
    () => {
      const snark = at("snarkjs");
      ok(
        zkrisk(
          "prove",
          "--artifacts",
          at("art"),
          "--market",
          "BTC-USDT",
          "--window",
          at("a.window.json"),
          at("b.window.json"),
          "--publishers",
          at("set.json"),
          "--domain",
          "7",
          "--out",
          at("proof-snarkjs.json"),
          "--snarkjs",
          snark,
        ),
      );
      const snarkjsCli = (publicFile: string) =>
        spawnSync(
          process.execPath,
          [
            join(ROOT, "node_modules/snarkjs/cli.js"),
            "groth16",
            "verify",
            join(snark, "verification_key.json"),
            publicFile,
            join(snark, "proof.json"),
          ],
          { encoding: "utf8", timeout: TIMEOUT },
        );
      const good = snarkjsCli(join(snark, "public.json"));
      expect(good.status, good.stdout + good.stderr).toBe(0);
      expect(good.stdout).toContain("OK!");
      const written = JSON.parse(readFileSync(at("proof-snarkjs.json"), "utf8")) as ProvedSignedUpdate;
      const signals = JSON.parse(readFileSync(join(snark, "public.json"), "utf8")) as string[];
      expect(signals).toEqual(written.publicSignals);
      expect(JSON.parse(readFileSync(join(snark, "proof.json"), "utf8"))).toEqual(written.proof);
      expect(JSON.parse(readFileSync(join(snark, "verification_key.json"), "utf8"))).toEqual(
        JSON.parse(readFileSync(at("art/verification_key.json"), "utf8")),
      );
      signals[1] = (BigInt(signals[1]) + 1n).toString(); // another window digest
      writeFileSync(join(snark, "public-edited.json"), JSON.stringify(signals));
      const bad = snarkjsCli(join(snark, "public-edited.json"));
      expect(bad.status).not.toBe(0);
      expect(bad.stdout + bad.stderr).toContain("Invalid proof");
    },
    TIMEOUT,
  );

  it(
    "refuses, with exit code 2 and nothing written: windows that disagree, too few, one publisher twice (windows " +
      "and a set's keystores), a key outside the set",
    () => {
      const prove = (out: string, ...windows: string[]) =>
        zkrisk(
          "prove",
          "--artifacts",
          at("art"),
          "--market",
          "BTC-USDT",
          "--window",
          ...windows.map(at),
          "--publishers",
          at("set.json"),
          "--out",
          at(out),
        );
      const cases: [string[], RegExp][] = [
        [["a.window.json", "c.window.json"], /differs from .*a\.window\.json at endTime/],
        [["a.window.json"], /needs 2 signed window\(s\) \(its quorum\), got 1/],
        [["a.window.json", "a.window.json"], /^zkrisk: --window: .*a\.window\.json is given twice\n$/],
        [
          ["a.window.json", "nowhere.window.json"],
          /^zkrisk: --window: .*nowhere\.window\.json: file not found\n$/,
        ],
        [
          ["a.window.json", "a-copy.window.json"],
          /^zkrisk: --window: .*a-copy\.window\.json is signed by the same publisher key as .*a\.window\.json: each/,
        ],
      ];
      cpSync(at("a.window.json"), at("a-copy.window.json"));
      for (const [windows, message] of cases) {
        const r = prove("refused.json", ...windows);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(existsSync(at("refused.json"))).toBe(false);
      }
      // The same key twice in a publisher set: named by its files, not by the key's coordinates.
      cpSync(at("a.key"), at("a-copy.key"));
      for (const [keys, message] of [
        [["a.key", "a.key"], /^zkrisk: --keystore: .*a\.key is given twice\n$/],
        [
          ["a.key", "a-copy.key"],
          /^zkrisk: --keystore: .*a-copy\.key holds the same publisher key as .*a\.key: /,
        ],
      ] as const) {
        const r = zkrisk(
          "publisher",
          "set",
          "--keystore",
          ...keys.map(at),
          "--quorum",
          "1",
          "--out",
          at("dup.json"),
        );
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(existsSync(at("dup.json"))).toBe(false);
      }
      ok(zkrisk("publisher", "keygen", "--out", at("d.key")));
      ok(
        zkrisk(
          "publisher",
          "sign",
          "--key",
          at("d.key"),
          "--market",
          "BTC-USDT",
          "--data",
          DATA,
          "--at",
          AT,
          "--out",
          at("d.window.json"),
        ),
      );
      const outsider = prove("refused.json", "a.window.json", "d.window.json");
      expect(outsider.code).toBe(2);
      expect(outsider.stderr).toMatch(
        /d\.window\.json: signed by a key that is not in the market's publisher set/,
      );
      const wrongMarket = zkrisk(
        "prove",
        "--artifacts",
        at("art"),
        "--market",
        "ETH-USDT",
        "--window",
        at("a.window.json"),
        at("b.window.json"),
        "--publishers",
        at("set.json"),
        "--out",
        at("refused.json"),
      );
      expect(wrongMarket.code).toBe(2);
      expect(wrongMarket.stderr).toMatch(/market 'BTC-USDT' is not --market 'ETH-USDT'/);
    },
    TIMEOUT,
  );

  it(
    "verify and submit refuse a malformed proof file naming the file and the field, before any chain call",
    () => {
      /** `zkrisk submit FILE` to an oracle on a port nothing listens on: a check that passed would fail to connect. */
      const submit = (file: string) =>
        zkrisk(
          "submit",
          file,
          "--oracle",
          "0x0000000000000000000000000000000000000001",
          "--rpc",
          "http://127.0.0.1:9",
        );
      const edited = (name: string, edit: (doc: Record<string, unknown>) => void): string => {
        const doc = JSON.parse(readFileSync(at("proof.json"), "utf8")) as Record<string, unknown>;
        edit(doc);
        writeFileSync(at(name), JSON.stringify(doc));
        return at(name);
      };
      const cases: [string, (doc: Record<string, unknown>) => void, string][] = [
        [
          "non-numeric-signal.json",
          (doc) => ((doc.publicSignals as string[])[1] = "0x12"),
          "publicSignals[1]: expected a decimal integer string",
        ],
        ["no-proof.json", (doc) => delete doc.proof, "proof: missing"],
        [
          "big-signal.json",
          (doc) => ((doc.publicSignals as string[])[0] = FIELD_MODULUS.toString()),
          `publicSignals[0]: ${FIELD_MODULUS} is not a field element`,
        ],
        [
          "short-pi_b.json",
          (doc) => (doc.proof as { pi_b: unknown[] }).pi_b.pop(),
          "proof.pi_b: expected 3 entries, got 2",
        ],
      ];
      for (const [name, edit, message] of cases) {
        const file = edited(name, edit);
        for (const [what, r] of [
          ["verify", zkrisk("verify", file, "--artifacts", at("art"))],
          ["submit", submit(file)],
        ] as const) {
          expect(r.code, `${what} ${name}: ${r.stderr}`).toBe(2);
          expect(r.stderr).toContain(`${file}: ${message}`);
        }
      }
    },
    TIMEOUT,
  );

  it("verify refuses an artifact directory whose zkey changed since setup, naming the file", () => {
    const copy = at("art-copy");
    cpSync(at("art"), copy, { recursive: true });
    const zkeyFile = readdirSync(copy).find((f) => f.endsWith(".zkey"));
    expect(zkeyFile).toBeDefined();
    const zkey = readFileSync(join(copy, zkeyFile!));
    zkey[zkey.length - 10] ^= 1;
    writeFileSync(join(copy, zkeyFile!), zkey);
    const r = zkrisk("verify", at("proof.json"), "--artifacts", copy);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(zkeyFile!);
  });

  it(
    "register-market --publishers and submit: the signed proof file is accepted on a node, a replay and an " +
      "edited file are refused",
    async () => {
      const node = await startHardhatNode();
      try {
        // The chain's clock just after the proven bar's close (hardhat.config.ts starts it before).
        const closed = Date.parse("2024-07-01T00:00:00Z") / 1000 + 60;
        for (const [method, params] of [
          ["evm_setNextBlockTimestamp", [closed]],
          ["evm_mine", []],
        ] as const) {
          const r = await fetch(node.rpc, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
          });
          expect(r.ok).toBe(true);
        }
        const key = ["--rpc", node.rpc, "--key", DEV_KEYS[0]];
        const deployed = JSON.parse(ok(zkrisk("deploy", "--artifacts", at("art"), ...key, "--json"))) as {
          chainId: string;
          verifier: string;
          oracle: string;
        };
        const registered = JSON.parse(
          ok(
            zkrisk(
              "register-market",
              "--oracle",
              deployed.oracle,
              "--market",
              "BTC-USDT",
              "--verifier",
              deployed.verifier,
              "--model",
              join(ROOT, "models/btc-usdt-2h.quantized.json"),
              "--max-age",
              "604800",
              "--publishers",
              at("set.json"),
              ...key,
              "--json",
            ),
          ),
        ) as { publisherSet: string; quorum: number; statementKey: string };
        expect(registered.publisherSet).toBe((await publisherSetFileCommitment(at("set.json"))).toString());
        expect(registered.quorum).toBe(2);
        const proof = at("node-proof.json");
        ok(
          zkrisk(
            "prove",
            "--artifacts",
            at("art"),
            "--market",
            "BTC-USDT",
            "--window",
            at("a.window.json"),
            at("b.window.json"),
            "--publishers",
            at("set.json"),
            "--oracle",
            deployed.oracle,
            "--chain-id",
            deployed.chainId,
            "--out",
            proof,
          ),
        );
        const written = JSON.parse(readFileSync(proof, "utf8")) as ProvedSignedUpdate;
        expect(written.parameters.statement).toBe(registered.statementKey);
        const accepted = JSON.parse(
          ok(zkrisk("submit", proof, "--oracle", deployed.oracle, ...key, "--json")),
        ) as { gasUsed: string };
        expect(Number(accepted.gasUsed)).toBeGreaterThan(200_000);
        expect(Number(accepted.gasUsed)).toBeLessThan(240_000);
        // What a protocol now reads: the proven margins, fresh; a market never registered, unknown.
        const read = (...extra: string[]) =>
          zkrisk("read", "--oracle", deployed.oracle, "--market", "BTC-USDT", "--rpc", node.rpc, ...extra);
        const both = JSON.parse(ok(read("--market", "ETH-USDT", "--json"))) as {
          maxAgeSeconds: number;
          markets: Record<string, unknown>[];
        };
        expect(both.maxAgeSeconds).toBe(21_600);
        const bar = written.parameters.dataTimestamp;
        expect(both.markets).toEqual([
          {
            market: "BTC-USDT",
            marketId: marketIdOf("BTC-USDT").toString(),
            status: "fresh",
            maintenanceMarginBps: written.parameters.maintenanceMarginBps,
            initialMarginBps: written.parameters.initialMarginBps,
            dataTime: new Date(Number(bar) * 1000).toISOString(),
            updatedTime: expect.stringMatching(/^2024-07-01T00:0\d:\d\d\.000Z$/),
            ageSeconds: expect.any(Number),
          },
          { market: "ETH-USDT", marketId: marketIdOf("ETH-USDT").toString(), status: "unknown market" },
        ]);
        expect(ok(read())).toMatch(
          new RegExp(`^BTC-USDT +fresh +${written.parameters.maintenanceMarginBps} +`, "m"),
        );
        // Past the protocol's maximum age, the same margins read as stale.
        const stale = JSON.parse(ok(read("--max-age", "60", "--json"))) as { markets: { status: string }[] };
        expect(stale.markets[0].status).toBe("stale");
        // An account with no code would take the transaction and do nothing: refused before sending.
        const nowhere = new Wallet(DEV_KEYS[1]).address;
        const lost = zkrisk("submit", proof, "--oracle", nowhere, ...key);
        expect(lost.code).toBe(2);
        expect(lost.stderr).toBe(
          `zkrisk: --oracle: no contract at ${nowhere} on chain 31337 (${node.rpc})\n`,
        );
        const replay = zkrisk("submit", proof, "--oracle", deployed.oracle, ...key);
        expect(replay.code).toBe(2);
        expect(replay.stderr).toContain("the oracle refused: OracleNotNewer(");
        // A file whose stated margin is not the proven one is refused before anything is sent.
        const edited = at("edited-proof.json");
        writeFileSync(
          edited,
          JSON.stringify({
            ...written,
            parameters: {
              ...written.parameters,
              maintenanceMarginBps: written.parameters.maintenanceMarginBps - 1,
            },
          }),
        );
        const refused = zkrisk("submit", edited, "--oracle", deployed.oracle, ...key);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(
          /edited-proof\.json: parameters\.maintenanceMarginBps: states \d+, the proven update signal carries \d+/,
        );
        const unknown = at("unknown-key-proof.json");
        writeFileSync(unknown, JSON.stringify({ ...written, extra: 1 }));
        const strange = zkrisk("submit", unknown, "--oracle", deployed.oracle, ...key);
        expect(strange.code).toBe(2);
        expect(strange.stderr).toMatch(/unknown-key-proof\.json: .*extra/);
      } finally {
        node.stop();
      }
    },
    TIMEOUT,
  );
});
