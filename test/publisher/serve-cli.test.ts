/**
 * `zkrisk publisher serve` as users run it: `--help`, `--check`, bad usage (exit code 2 naming the option,
 * the config field or the variable), and a real run of the binary: it signs, answers over HTTP, stops on
 * SIGTERM with exit code 0, and neither its logs nor its output hold the private key or the password.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { PublisherKey } from "../../publisher";
import {
  barTime,
  csvText,
  PASSWORD,
  PASSWORD_ENV,
  privateKeyForms,
  tempDir,
  TWO_HOURS,
  writeJson,
  writeTestKeystore,
} from "../helpers/publisher-serve";
import { ZKRISK_BIN } from "../helpers/zkrisk-cli";

let dir: string;
let key: PublisherKey;
let config: string;

/** The environment of a run: this process's, without the password unless `env` sets it. */
function envOf(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.ZKRISK_PUBLISHER_PASSWORD;
  return { ...base, ...env };
}

/** Runs `zkrisk ARGS` until it exits on its own (bad input) or until `until(stderr)` holds, then SIGTERM. */
function run(
  args: string[],
  env: Record<string, string> = {},
  until?: (stderr: string) => boolean,
  onRunning?: (stderr: string) => Promise<void>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [ZKRISK_BIN, ...args], { env: envOf(env), cwd: dir });
    let stdout = "";
    let stderr = "";
    let signalled = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`zkrisk ${args.join(" ")} did not finish:\n${stderr}`));
    }, 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (until !== undefined && !signalled && until(stderr)) {
        signalled = true;
        void (onRunning?.(stderr) ?? Promise.resolve()).then(
          () => child.kill("SIGTERM"),
          (err: unknown) => {
            child.kill("SIGKILL");
            fail(err);
          },
        );
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setTimeout(() => done({ code, signal, stdout, stderr }), 50);
    });
  });
}

beforeAll(async () => {
  dir = tempDir("publisher-cli");
  key = await writeTestKeystore(join(dir, "publisher.key.json"), 5);
  writeFileSync(join(dir, "btc.csv"), csvText(0, 200));
  config = writeJson(dir, "publisher.json", {
    key: "publisher.key.json",
    archive: "archive",
    pollSeconds: 0.2,
    listen: { port: 0 },
    markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" } }],
  });
});

describe("zkrisk publisher serve (command line)", () => {
  it("documents its options", async () => {
    const r = await run(["publisher", "serve", "--help"]);
    expect(r.code).toBe(0);
    for (const option of ["--config", "--check", "--log-level", "--json"]) expect(r.stdout).toContain(option);
    expect(r.stdout).toContain("ZKRISK_PUBLISHER_PASSWORD");
  });

  it("--check validates the config and prints it with the public key, without the password", async () => {
    const r = await run(["publisher", "serve", "--config", config, "--check", "--json"], PASSWORD_ENV);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(PASSWORD);
    const printed = JSON.parse(r.stdout) as {
      checked: boolean;
      config: { archive: string; markets: { market: string }[] };
      publicKey: { Ax: string; Ay: string };
    };
    expect(printed.checked).toBe(true);
    expect(printed.config.archive).toBe(join(dir, "archive"));
    expect(printed.config.markets[0].market).toBe("BTC-USDT");
    expect(printed.publicKey).toEqual({ Ax: key.publicKey.Ax.toString(), Ay: key.publicKey.Ay.toString() });
  });

  it("--check fails as a start would: a wrong or unset password, a missing or malformed CSV source", async () => {
    const missing = writeJson(dir, "missing-csv.json", {
      key: "publisher.key.json",
      archive: "archive",
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "nowhere.csv" } }],
    });
    writeFileSync(
      join(dir, "junk.csv"),
      "timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,x,1,1,1\n",
    );
    const junk = writeJson(dir, "junk-csv.json", {
      key: "publisher.key.json",
      archive: "archive",
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "junk.csv" } }],
    });
    const check = (file: string, env: Record<string, string>) =>
      run(["publisher", "serve", "--config", file, "--check"], env);
    const [wrong, unset, noFile, badFile] = await Promise.all([
      check(config, { ZKRISK_PUBLISHER_PASSWORD: "nope" }),
      check(config, {}),
      check(missing, PASSWORD_ENV),
      check(junk, PASSWORD_ENV),
    ]);
    for (const r of [wrong, unset, noFile, badFile]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
    }
    expect(wrong.stderr).toContain("cannot decrypt: wrong password, or the file was altered");
    expect(unset.stderr).toContain("ZKRISK_PUBLISHER_PASSWORD is not set");
    expect(noFile.stderr).toMatch(
      new RegExp(`^zkrisk: ${missing}: markets\\[0\\]\\.source: .*nowhere\\.csv`),
    );
    expect(badFile.stderr).toMatch(new RegExp(`^zkrisk: ${junk}: markets\\[0\\]\\.source: .*junk\\.csv`));
  });

  it("refuses bad input with exit code 2 and a message naming the field, option or variable", async () => {
    const typo = writeJson(dir, "typo.json", {
      key: "publisher.key.json",
      archive: "a",
      markets: [],
      pollSecs: 1,
    });
    // Each is a process of its own: run them side by side.
    const [bad, json, unset, wrong, level] = await Promise.all([
      run(["publisher", "serve", "--config", typo], PASSWORD_ENV),
      run(["publisher", "serve", "--config", typo, "--json"], PASSWORD_ENV),
      run(["publisher", "serve", "--config", config]),
      run(["publisher", "serve", "--config", config], { ZKRISK_PUBLISHER_PASSWORD: "nope" }),
      run(["publisher", "serve", "--config", config, "--log-level", "loud"], PASSWORD_ENV),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `zkrisk: ${typo}: pollSecs: unknown key (expected one of key, archive, pollSeconds, listen, markets, batches)\n`,
    );
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: "CONFIG_INVALID" });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("ZKRISK_PUBLISHER_PASSWORD is not set");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      `${join(dir, "publisher.key.json")}: (root): cannot decrypt: wrong password, or the file was altered`,
    );
    expect(wrong.stderr).not.toContain("nope");
    expect(level.code).toBe(2);
    expect(level.stderr).toContain(
      "--log-level: 'loud' is not one of fatal, error, warn, info, debug, trace",
    );
  });

  it("runs: signs, answers over HTTP, stops on SIGTERM with exit code 0, and never shows the key", async () => {
    const answers: string[] = [];
    const r = await run(
      ["publisher", "serve", "--config", config, "--json", "--log-level", "debug"],
      PASSWORD_ENV,
      (stderr) => stderr.includes('"msg":"signed window"'),
      async (stderr) => {
        const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr)![1];
        for (const path of ["/health", "/metrics", "/v1/windows/BTC-USDT"]) {
          const response = await fetch(`${url}${path}`);
          expect(response.status, path).toBe(200);
          answers.push(await response.text());
        }
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      checked: boolean;
      signal: string;
      signed: number;
      polls: number;
    };
    expect(summary).toMatchObject({ checked: false, signal: "SIGTERM", signed: 1 });
    expect(JSON.parse(answers[2])).toMatchObject({ market: "BTC-USDT", endTime: barTime(199) });
    // Log lines are JSON on stderr, stdout holds the result only.
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(
      expect.arrayContaining(["starting", "publisher ready", "signed window", "signal received", "stopped"]),
    );
    const everything = [r.stdout, r.stderr, ...answers].join("\n");
    for (const form of privateKeyForms(key.privateKey)) expect(everything).not.toContain(form);
    expect(everything).not.toContain(PASSWORD);
  });
});
