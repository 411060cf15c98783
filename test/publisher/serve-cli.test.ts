/**
 * `zkrisk publisher serve` as users run it: `--help`, `--check`, bad usage (exit code 2 naming the option,
 * the config field or the variable), and a real run of the binary: it signs, answers over HTTP, stops on
 * SIGTERM with exit code 0, and neither its logs nor its output hold the private key or the password. An archive
 * that cannot be written is refused by `--check`; one that stops being writable while it runs is an error logged
 * at each poll, never a busy loop, and its bars are signed once it is writable again. A client sending its headers
 * slowly does not hold up SIGTERM; a `listen.host` or `listen.port` it cannot listen on is exit code 2 naming it.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
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
    // "close", once the pipes are read to the end: "exit" can come before the last output.
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
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

  it("--check fails as a start would: a wrong or unset password, a missing or malformed CSV source, bars of another interval, a key that is a directory", async () => {
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
    // The source's bars are 2 h apart: an hourly market would never be signed (every poll refuses them).
    const hourly = writeJson(dir, "hourly.json", {
      key: "publisher.key.json",
      archive: "archive",
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS / 2, source: { csv: "btc.csv" } }],
    });
    const keyDir = writeJson(dir, "key-dir.json", {
      key: ".",
      archive: "archive",
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" } }],
    });
    const check = (file: string, env: Record<string, string>) =>
      run(["publisher", "serve", "--config", file, "--check"], env);
    const [wrong, unset, noFile, badFile, otherInterval, dirKey] = await Promise.all([
      check(config, { ZKRISK_PUBLISHER_PASSWORD: "nope" }),
      check(config, {}),
      check(missing, PASSWORD_ENV),
      check(junk, PASSWORD_ENV),
      check(hourly, PASSWORD_ENV),
      check(keyDir, PASSWORD_ENV),
    ]);
    for (const r of [wrong, unset, noFile, badFile, otherInterval, dirKey]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
    }
    expect(wrong.stderr).toContain("cannot decrypt: wrong password, or the file was altered");
    expect(unset.stderr).toContain("ZKRISK_PUBLISHER_PASSWORD is not set");
    expect(noFile.stderr).toMatch(
      new RegExp(`^zkrisk: ${missing}: markets\\[0\\]\\.source: .*nowhere\\.csv`),
    );
    expect(badFile.stderr).toMatch(new RegExp(`^zkrisk: ${junk}: markets\\[0\\]\\.source: .*junk\\.csv`));
    expect(otherInterval.stderr).toBe(
      `zkrisk: ${hourly}: markets[0].intervalMs: ${TWO_HOURS / 2}, but the source's bars are ${TWO_HOURS} ms ` +
        `apart (${join(dir, "btc.csv")})\n`,
    );
    expect(dirKey.stderr).toBe(`zkrisk: ${keyDir}: key: ${dir} is a directory, not a file\n`);
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

describe("zkrisk publisher serve: listening", () => {
  it("SIGTERM with a client sending its headers slowly: exits 0 at once, closing the client", async () => {
    let client: Socket | undefined;
    let dribble: NodeJS.Timeout | undefined;
    let clientClosed: Promise<void> | undefined;
    try {
      const r = await run(
        ["publisher", "serve", "--config", config, "--json"],
        PASSWORD_ENV,
        (stderr) => stderr.includes('"msg":"publisher ready"'),
        async (stderr) => {
          const port = Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(stderr)![1]);
          const socket = connect(port, "127.0.0.1");
          client = socket;
          socket.on("error", () => undefined);
          clientClosed = new Promise((done) => socket.once("close", () => done()));
          await new Promise((done) => socket.once("connect", done));
          // One more header line every 0.2 s, as a slow client does (the reviewer's every 10 s).
          socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
          dribble = setInterval(() => socket.write("X-Slow: 1\r\n"), 200);
          await new Promise((done) => setTimeout(done, 500));
        },
      );
      // Before: it exited only once the client stopped (here: killed by run's 60 s limit).
      expect(r.code, r.stderr).toBe(0);
      expect(r.signal).toBeNull();
      await clientClosed;
    } finally {
      clearInterval(dribble);
      client?.destroy();
    }
  });

  it("a host that is not one, or a port in use: exit code 2 naming listen.host or listen.port, nothing made", async () => {
    const work = tempDir("publisher-cli-listen");
    const taken = createServer().listen(0, "127.0.0.1");
    await new Promise((done) => taken.once("listening", done));
    const port = (taken.address() as { port: number }).port;
    try {
      const configWith = (name: string, listen: Record<string, unknown>) =>
        writeJson(work, name, {
          key: join(dir, "publisher.key.json"),
          archive: "archive",
          listen,
          markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: join(dir, "btc.csv") } }],
        });
      const badHost = configWith("bad-host.json", { host: "not a host", port: 0 });
      const inUse = configWith("in-use.json", { host: "127.0.0.1", port });
      const [host, check, used] = await Promise.all([
        run(["publisher", "serve", "--config", badHost], PASSWORD_ENV),
        run(["publisher", "serve", "--config", badHost, "--check"], PASSWORD_ENV),
        run(["publisher", "serve", "--config", inUse], PASSWORD_ENV),
      ]);
      // Before: exit code 1 and a stack trace (getaddrinfo ENOTFOUND, listen EADDRINUSE), --check passed.
      for (const r of [host, check]) {
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(
          `zkrisk: ${badHost}: listen.host: "not a host" does not resolve to an address (ENOTFOUND)`,
        );
      }
      expect(used.code, used.stderr).toBe(2);
      expect(used.stderr).toContain(
        `zkrisk: ${inUse}: listen.port: ${port} is in use on 127.0.0.1 (EADDRINUSE)`,
      );
      for (const r of [host, check, used]) {
        expect(r.stdout).toBe("");
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      // The archive was not made.
      expect(readdirSync(work).sort()).toEqual(["bad-host.json", "in-use.json"]);
    } finally {
      taken.close();
    }
  });
});

/** A JSON log line of the publisher. */
interface LogLine {
  level: number;
  time: number;
  msg: string;
  err?: string;
}

/** The JSON log lines in `stderr` whose message is `msg`. */
function logLines(stderr: string, msg: string): LogLine[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.msg === msg);
}

describe("zkrisk publisher serve: an archive that cannot be written", () => {
  it("--check and serve refuse it with exit code 2 naming `archive`, and --check leaves nothing behind", async () => {
    const work = tempDir("publisher-cli-archive");
    writeFileSync(join(work, "a-file"), "");
    mkdirSync(join(work, "taken"));
    writeFileSync(join(work, "taken", "BTC-USDT"), "");
    const configWith = (name: string, archive: string) =>
      writeJson(work, name, {
        key: join(dir, "publisher.key.json"),
        archive,
        markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: join(dir, "btc.csv") } }],
      });
    const cases: [string, string, string][] = [
      [
        configWith("under-file.json", "a-file/archive"),
        "--check",
        `archive: '${join(work, "a-file/archive")}' lies under '${join(work, "a-file")}', which is a file`,
      ],
      [
        configWith("market-file.json", "taken"),
        "--check",
        `archive: '${join(work, "taken", "BTC-USDT")}' is a file, not a directory`,
      ],
    ];
    if (existsSync("/proc/self")) {
      // Before: --check passed, and serve logged "starting", then spun at full CPU, never ready.
      const proc = configWith("proc.json", "/proc/arch");
      const reason =
        "archive: cannot write to '/proc/arch': '/proc' exists but takes no new entries (as a pseudo file system " +
        "such as /proc); creating an entry there failed with ENOENT";
      cases.push([proc, "--check", reason], [proc, "--log-level=info", reason]);
    }
    const runs = await Promise.all(
      cases.map(([file, flag]) => run(["publisher", "serve", "--config", file, flag], PASSWORD_ENV)),
    );
    runs.forEach((r, i) => {
      const [file, flag, reason] = cases[i];
      expect(r.code, `${file} ${flag}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`zkrisk: ${file}: ${reason}`);
    });
    // The probes were removed again; nothing was created for the archives.
    expect(readdirSync(work).sort()).toEqual(
      ["a-file", "market-file.json", "taken", "under-file.json"]
        .concat(existsSync("/proc/self") ? ["proc.json"] : [])
        .sort(),
    );
    expect(readdirSync(join(work, "taken"))).toEqual(["BTC-USDT"]);
    // A writable archive that does not exist yet passes, and is not created by --check.
    const fresh = configWith("fresh.json", "new/archive");
    const ok = await run(["publisher", "serve", "--config", fresh, "--check"], PASSWORD_ENV);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(work, "new"))).toBe(false);
  });

  it("while running: a failed write is logged as an error once, then at debug level at each poll (not a busy loop), then signed when writable", async () => {
    const work = tempDir("publisher-cli-unwritable");
    const csv = join(work, "btc.csv");
    writeFileSync(csv, csvText(0, 200));
    const file = writeJson(work, "publisher.json", {
      key: join(dir, "publisher.key.json"),
      archive: "archive",
      pollSeconds: 0.2,
      listen: { port: 0 },
      markets: [{ market: "BTC-USDT", intervalMs: TWO_HOURS, source: { csv: "btc.csv" } }],
    });
    const market = join(work, "archive", "BTC-USDT");
    const child = spawn(
      process.execPath,
      [ZKRISK_BIN, "publisher", "serve", "--config", file, "--json", "--log-level", "debug"],
      { env: envOf(PASSWORD_ENV), cwd: work },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    let check: (() => void) | undefined;
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      check?.();
    });
    /** Resolves when `holds(stderr)`; fails naming `what` after 30 s or when the process exits first. */
    const until = (what: string, holds: (stderr: string) => boolean) =>
      new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}:\n${stderr}`)), 30_000);
        check = () => {
          if (!holds(stderr)) return;
          clearTimeout(timer);
          check = undefined;
          done();
        };
        void exited.then((code) => fail(new Error(`exited (${code}) waiting for ${what}:\n${stderr}`)));
        check();
      });
    const signed = (n: number) => (text: string) => logLines(text, "signed window").length >= n;
    const failures = (text: string) => [
      ...logLines(text, "poll failed; trying again at the next poll"),
      ...logLines(text, "poll failed as before; trying again at the next poll"),
    ];
    const failed = (n: number) => (text: string) => failures(text).length >= n;
    try {
      await until("the first window", signed(1));
      // The market's directory becomes unwritable (a file where it was: chmod does not stop root), and a new
      // bar closes.
      renameSync(market, `${market}.away`);
      writeFileSync(market, "");
      writeFileSync(`${csv}.tmp`, csvText(0, 201));
      renameSync(`${csv}.tmp`, csv);
      await until("three failed polls", failed(3));
      const failedPolls = failures(stderr).sort((a, b) => a.time - b.time);
      // At error level once (before: at every poll), the repeats at debug level.
      expect(failedPolls.map((line) => line.level)).toEqual([50, ...failedPolls.slice(1).map(() => 20)]);
      for (const line of failedPolls) {
        // Reading the newest signed window (to compare the new one with it) or making the directory, whichever
        // comes first, fails on the file.
        expect(line.err).toMatch(/^ENOTDIR: not a directory, (mkdir|open) '/);
        expect(line.err).toContain(`'${market}`);
      }
      // One poll every pollSeconds (0.2 s), not a loop: consecutive failures are at least ~0.2 s apart.
      for (let i = 1; i < failedPolls.length; i++) {
        expect(failedPolls[i].time - failedPolls[i - 1].time).toBeGreaterThanOrEqual(150);
      }
      // Writable again: the bar that failed is signed.
      rmSync(market);
      renameSync(`${market}.away`, market);
      await until("the second window", signed(2));
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ checked: false, signal: "SIGTERM", signed: 2 });
    expect(readdirSync(market).sort()).toEqual([`${barTime(199)}.json`, `${barTime(200)}.json`]);
  });
});
