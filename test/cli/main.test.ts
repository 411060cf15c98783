/**
 * The CLI's shell: `--version`, `--help` listing every command, errors as JSON under `--json` with the same
 * exit codes, and registration that loads no heavy module (so `--help` is instant; timings are in docs/cli.md,
 * never asserted here).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { EXIT_FAILURE, EXIT_USAGE, buildProgram, failureOf, repeatedOption, wantsJson } from "../../cli/main";
import { DataError, UsageError, ZkriskError } from "../../core/errors";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Every command as typed after `zkrisk` (`ceremony contribute` included). */
const COMMANDS = [
  "demo",
  "train",
  "quantize",
  "infer",
  "backtest",
  "calibrate",
  "market-model",
  "compile",
  "setup",
  "ceremony",
  "ceremony contribute",
  "prove",
  "verify",
  "deploy",
  "register-market",
  "set-publisher-set",
  "set-adaptive",
  "set-batch-verifier",
  "submit",
  "read",
  "audit",
  "bench",
  "bench-service",
  "bench-setup",
  "serve",
  "publisher",
  "publisher keygen",
  "publisher sign",
  "publisher set",
  "publisher serve",
];

/** Command groups: their subcommands take the flags. */
const GROUPS = new Set(["ceremony", "publisher"]);

/** The command paths of a program, depth first. */
function commandPaths(c: Command, prefix = ""): string[] {
  return c.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    return [path, ...commandPaths(sub, `${path} `)];
  });
}

describe("zkrisk --version and --help", () => {
  it("--version and -V print package.json's version", () => {
    for (const flag of ["--version", "-V"]) {
      const r = zkrisk(flag);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
      expect(r.stderr).toBe("");
    }
  });

  it("registers exactly the documented commands", () => {
    // and `help` in the program and in each group, which stands in for commander's own (tested below)
    const helps = ["help", ...[...GROUPS].map((g) => `${g} help`)];
    expect(commandPaths(buildProgram()).sort()).toEqual([...COMMANDS, ...helps].sort());
  });

  it("--help lists every command with its description", () => {
    const top = zkrisk("--help");
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("-V, --version");
    for (const c of buildProgram().commands) {
      expect(top.stdout, c.name()).toMatch(
        new RegExp(`^  ${c.name()}\\b.*${c.description().slice(0, 20)}`, "m"),
      );
    }
  });

  it("every command answers --help with its usage and exit code 0 and takes --json", () => {
    for (const path of COMMANDS) {
      const r = zkrisk(...path.split(" "), "--help");
      expect(r.code, path).toBe(0);
      expect(r.stdout, path).toContain(`Usage: zkrisk ${path}`);
      if (!GROUPS.has(path)) expect(r.stdout, path).toContain("--json");
    }
  });

  it("every command's help marks its required options '(required)', and only them, once", () => {
    const program = buildProgram();
    const find = (path: string) =>
      path.split(" ").reduce((c: Command, name) => c.commands.find((s) => s.name() === name)!, program);
    let required = 0;
    for (const path of COMMANDS) {
      for (const o of find(path).options) {
        const marks = o.description.split("(required)").length - 1;
        expect([o.flags, marks], path).toEqual([o.flags, o.mandatory ? 1 : 0]);
        if (o.mandatory) expect(o.description, `${path} ${o.flags}`).toMatch(/ \(required\)$/);
        required += Number(o.mandatory);
      }
    }
    expect(required).toBeGreaterThan(30);
    // as the text help shows it (an entry's description may wrap)
    const help = zkrisk("prove", "--help").stdout.replace(/\n\s{10,}/g, " ");
    expect(help).toMatch(/^ {2}--out <file> +proof file to write \(required\)$/m);
    expect(help).toMatch(/^ {2}--artifacts <dir> +artifact directory made by `zkrisk setup` \(required\)$/m);
  });

  it("audit --help states its exit codes: 0 all OK, 1 a finding (or a suspicious market), 2 bad input, 3 a run that could not finish", () => {
    const r = zkrisk("audit", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--chain-id <n>");
    const codes = r.stdout.slice(r.stdout.indexOf("Exit codes:")).split("\n");
    expect(codes[0]).toBe("Exit codes:");
    expect(codes[1]).toMatch(/^ {2}0 {2}every update in the range is OK/);
    expect(codes[2]).toMatch(/^ {2}1 {2}some update is FAIL or UNVERIFIABLE/);
    expect(codes[3]).toMatch(/or an adaptive market is SUSPICIOUS/);
    expect(codes[5]).toMatch(/^ {2}2 {2}bad usage or input/);
    expect(codes[6]).toMatch(/^ {2}3 {2}the audit could not run to a report/);
  });

  it("registering the commands loads no heavy module (commander and the registrations only)", () => {
    const script =
      'require("tsx/cjs"); require(process.argv[1]).buildProgram();' +
      "process.stdout.write(JSON.stringify(Object.keys(require.cache)));";
    const r = spawnSync(process.execPath, ["-e", script, join(ROOT, "cli/main.ts")], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    const packages = new Set(
      loaded
        .filter((f) => f.includes("/node_modules/"))
        .map((f) => f.split("/node_modules/").pop()!.split("/")[0]),
    );
    expect([...packages].sort()).toEqual(["commander", "esbuild", "tsx"]);
    const own = loaded.filter((f) => !f.includes("/node_modules/")).map((f) => f.slice(ROOT.length + 1));
    expect(own.filter((f) => f.startsWith("cli/commands/"))).toEqual([]);
  });
});

describe("errors under --json", () => {
  /** The one JSON line on stderr. */
  function jsonError(r: { stderr: string }): { error: string; message: string } {
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]);
  }

  it("a usage error from the arguments: code USAGE, exit 2, nothing else on stderr", () => {
    const missing = zkrisk("prove", "--json");
    expect(missing.code).toBe(EXIT_USAGE);
    expect(jsonError(missing)).toEqual({
      error: "USAGE",
      message: "required option '--artifacts <dir>' not specified",
    });
    const unknown = zkrisk("backtest", "--nope", "--json");
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(jsonError(unknown)).toEqual({ error: "USAGE", message: "unknown option '--nope'" });
    expect(unknown.stdout).toBe("");
  });

  it("bad input found by the command: its error code, exit 2", () => {
    const badDate = zkrisk("backtest", "--from", "2023-13-01", "--json");
    expect(badDate.code).toBe(EXIT_USAGE);
    expect(jsonError(badDate)).toEqual({
      error: "USAGE",
      message: "--from: '2023-13-01' is not a UTC date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS')",
    });
    const missing = zkrisk("infer", "--data", "/nonexistent/candles.csv", "--json");
    expect(missing.code).toBe(EXIT_USAGE);
    const e = jsonError(missing);
    expect(e.error).toBe("DATA_INVALID");
    expect(e.message).toContain("/nonexistent/candles.csv");
  });

  it("help names a command it does not know instead of printing the top-level help", () => {
    const r = zkrisk("help", "publisher", "nope");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "zkrisk: help: unknown command 'publisher nope' (zkrisk --help lists the commands)\n",
    );
    const ok = zkrisk("help", "publisher", "sign");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Usage: zkrisk publisher sign /);
    // A group's own help command: the same refusal, and the same help.
    const inGroup = zkrisk("publisher", "help", "nope");
    expect([inGroup.code, inGroup.stdout, inGroup.stderr]).toEqual([
      EXIT_USAGE,
      "",
      "zkrisk: help: unknown command 'publisher nope' (zkrisk publisher --help lists the commands)\n",
    ]);
    expect(zkrisk("publisher", "help", "sign").stdout).toBe(ok.stdout);
  });

  it("--help after an unknown command refuses it as the command alone is refused (exit 2, no help)", () => {
    for (const group of [[], ["publisher"], ["ceremony"]]) {
      const alone = zkrisk(...group, "nosuch");
      expect(alone.code, group.join(" ")).toBe(EXIT_USAGE);
      expect(alone.stderr).toBe("error: unknown command 'nosuch'\n(run with --help for usage)\n");
      for (const help of [
        ["nosuch", "--help"],
        ["nosuch", "-h"],
        ["--help", "nosuch"],
      ]) {
        const r = zkrisk(...group, ...help);
        expect([r.code, r.stdout, r.stderr], [...group, ...help].join(" ")).toEqual([
          alone.code,
          "",
          alone.stderr,
        ]);
      }
    }
    const json = zkrisk("publisher", "nosuch", "--help", "--json");
    expect([json.code, json.stdout, JSON.parse(json.stderr)]).toEqual([
      EXIT_USAGE,
      "",
      { error: "USAGE", message: "unknown command 'nosuch'" },
    ]);
    // a known command's --help is still its help
    expect(zkrisk("publisher", "sign", "--help").stdout).toMatch(/^Usage: zkrisk publisher sign /);
  });

  it("help help prints the help of help, as help lists it (also a group's)", () => {
    const r = zkrisk("help", "help");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(/^Usage: zkrisk help \[options\] \[command\.\.\.\]\n/);
    expect(r.stdout).toBe(zkrisk("help", "--help").stdout);
    const inGroup = zkrisk("publisher", "help", "help");
    expect(inGroup.code).toBe(0);
    expect(inGroup.stdout).toMatch(/^Usage: zkrisk publisher help /);
    expect(JSON.parse(zkrisk("help", "help", "--json").stdout)).toMatchObject({ command: "zkrisk help" });
  });

  it("help --json prints a command's help as one JSON document", () => {
    const top = JSON.parse(zkrisk("help", "--json").stdout);
    expect(top.command).toBe("zkrisk");
    expect(top.commands.map((c: { name: string }) => c.name).sort()).toEqual(
      [...COMMANDS.filter((c) => !c.includes(" ")), "help"].sort(),
    );
    const r = zkrisk("help", "publisher", "set", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ command: "zkrisk publisher set", usage: "zkrisk publisher set [options]" });
    expect(doc.options).toContainEqual({
      flags: "--quorum <k>",
      description: expect.any(String),
      required: true,
    });
    const unknown = zkrisk("help", "nope", "--json");
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(JSON.parse(unknown.stderr)).toEqual({
      error: "USAGE",
      message: "help: unknown command 'nope' (zkrisk --help lists the commands)",
    });
  });

  it("a reader that closes stderr or stdout early does not change the exit code", async () => {
    /** Run zkrisk with the read end of `closed` shut before it writes; its exit code. */
    const exitWithClosed = (closed: "stdout" | "stderr", args: string[]) =>
      new Promise<number | null>((done) => {
        const child = spawn(process.execPath, [join(ROOT, "bin/zkrisk.cjs"), ...args], {
          cwd: tmpdir(),
          stdio: ["ignore", "pipe", "pipe"],
        });
        child[closed].destroy();
        child[closed === "stdout" ? "stderr" : "stdout"].resume();
        child.on("close", (code) => done(code));
      });
    // a usage error written to a closed stderr: still exit 2, not 1 for the write's EPIPE
    expect(await exitWithClosed("stderr", ["verify", "p.json", "p.json", "--artifacts", "x"])).toBe(
      EXIT_USAGE,
    );
    expect(await exitWithClosed("stderr", ["backtest", "--from", "2023-13-01", "--json"])).toBe(EXIT_USAGE);
    // output to a closed stdout (`zkrisk ... | head -0`) is not an error
    expect(await exitWithClosed("stdout", ["--help"])).toBe(0);
  });

  it("without --json the same errors stay text", () => {
    const r = zkrisk("backtest", "--from", "2023-13-01");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toBe(
      "zkrisk: --from: '2023-13-01' is not a UTC date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS')\n",
    );
  });

  it("maps errors to codes and exit codes: bad input 2, failures 1, unexpected errors to the caller", () => {
    expect(failureOf(new UsageError("--x: bad"))).toEqual({
      code: "USAGE",
      message: "--x: bad",
      exitCode: 2,
    });
    expect(failureOf(new DataError("c.csv", 3, "bad row"))?.exitCode).toBe(EXIT_USAGE);
    expect(failureOf(new ZkriskError("PROOF_FAILED", "no proof"))).toEqual({
      code: "PROOF_FAILED",
      message: "no proof",
      exitCode: EXIT_FAILURE,
    });
    const ethersError = Object.assign(new Error("long text with the transaction"), {
      code: "CALL_EXCEPTION",
      shortMessage: "execution reverted",
    });
    expect(failureOf(ethersError)).toEqual({
      code: "CALL_EXCEPTION",
      message: "execution reverted",
      exitCode: EXIT_FAILURE,
    });
    expect(failureOf(new TypeError("bug"))).toBeUndefined();
    // A file that cannot be written: the path the user gave, not the atomic write's temporary one.
    const fsError = Object.assign(
      new Error("ENOSPC: no space left on device, write '/data/r.html.123.0badcafe.tmp'"),
      { code: "ENOSPC", syscall: "write", path: "/data/r.html.123.0badcafe.tmp" },
    );
    expect(failureOf(fsError)).toEqual({
      code: "FILE_ERROR",
      message: "cannot write /data/r.html: ENOSPC: no space left on device",
      exitCode: EXIT_FAILURE,
    });
  });

  it("refuses, before the run, a second output file that cannot be written, leaving no output; and a device", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-outputs-"));
    const series = join(dir, "series.csv");
    // /proc holds no new files: refused when the options are read, not after the backtest (test/core/atomic-file
    // shows that a write failing half-way leaves none of the files).
    const r = zkrisk(
      "backtest",
      "--from",
      "2024-06-01",
      "--series",
      series,
      "--report",
      "/proc/zkrisk-report.html",
    );
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toBe(
      "zkrisk: --report: cannot write to '/proc/zkrisk-report.html': '/proc' exists but takes no new entries (as " +
        "a pseudo file system such as /proc); creating an entry there failed with ENOENT: no such file or directory\n",
    );
    expect(readdirSync(dir)).toEqual([]);
    const device = zkrisk("backtest", "--from", "2024-06-01", "--report", "/dev/null");
    expect(device.code).toBe(EXIT_USAGE);
    expect(device.stderr).toContain("--report: '/dev/null' is not a regular file");
  });

  it("refuses an option of one value given twice (commander kept the last), not a repeatable one", () => {
    const program = buildProgram();
    const find = (path: string) =>
      path.split(" ").reduce((c: Command, name) => c.commands.find((s) => s.name() === name)!, program);
    const argv = (...args: string[]) => ["node", "zkrisk", ...args];
    const backtest = find("backtest");
    expect(repeatedOption(backtest, argv("backtest", "--from", "2024-01-01", "--from=2024-02-01"))).toBe(
      "--from",
    );
    expect(repeatedOption(backtest, argv("backtest", "--data", "a.csv", "--data", "b.csv"))).toBeUndefined();
    expect(repeatedOption(backtest, argv("backtest", "--json", "--json"))).toBeUndefined();
    expect(repeatedOption(backtest, argv("backtest", "--from", "x", "--", "--from"))).toBeUndefined();
    const sign = find("publisher sign");
    expect(
      repeatedOption(sign, argv("publisher", "sign", "--batch", "A=a", "--batch", "B=b")),
    ).toBeUndefined();
    expect(
      repeatedOption(find("set-batch-verifier"), argv("x", "--model", "a", "--model", "b")),
    ).toBeUndefined();
    const r = zkrisk("quantize", "--out", "/tmp/a.json", "--out", "/tmp/b.json");
    expect([r.code, r.stderr]).toEqual([
      EXIT_USAGE,
      "zkrisk: --out: given more than once; give it once (only repeatable options repeat)\n",
    ]);
  });

  it("--json counts among the options only, not after --", () => {
    expect(wantsJson(["node", "zkrisk", "infer", "--json"])).toBe(true);
    expect(wantsJson(["node", "zkrisk", "infer"])).toBe(false);
    expect(wantsJson(["node", "zkrisk", "verify", "--", "--json"])).toBe(false);
  });
});
