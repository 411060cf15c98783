/**
 * `zkrisk compile` and `zkrisk setup` stopped by a signal sent to zkrisk alone (not its process group): compile
 * stops circom and leaves the --out directory as it was; setup removes its work directory (`.setup-XXXXXX`,
 * holding the partial ptau) and leaves the existing setup intact; both end by the signal. A work directory left
 * by a setup killed outright (SIGKILL) is removed by the next setup, and another live process's is kept.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256File } from "../../core/io";
import { pidAlive } from "../../core/pid";
import { WORK_DIR_OWNER_FILE } from "../../core/work-dir";
import { signedUpdateArtifacts } from "../../setup/cached-artifacts";
import { MODEL } from "../helpers/artifacts";
import { writeHeldLock } from "../helpers/build-locks";
import { zkrisk, ZKRISK_BIN } from "../helpers/zkrisk-cli";

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `zkrisk-${name}-`));

/** `zkrisk ARGS...` started in the background, with how it ends. */
function start(...args: string[]): { child: ChildProcess; ended: Promise<{ signal: string | null }> } {
  const child = spawn(process.execPath, [ZKRISK_BIN, ...args], { cwd: tmpdir(), stdio: "ignore" });
  const ended = new Promise<{ signal: string | null }>((resolve) =>
    child.on("close", (_code, signal) => resolve({ signal })),
  );
  return { child, ended };
}

/** Poll `found` every 100 ms until it returns a value (at most 2 minutes). */
async function until<T>(what: string, found: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const value = found();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The pid of the circom compiler `pid` started (a child running circom2's cli.js), if it runs. */
function circomChild(pid: number): number | undefined {
  const ps = execFileSync("ps", ["-A", "-o", "pid=,ppid=,args="], { encoding: "utf8" });
  for (const line of ps.split("\n")) {
    const [child, parent, ...args] = line.trim().split(/\s+/);
    if (Number(parent) === pid && args.join(" ").includes("circom2")) return Number(child);
  }
  return undefined;
}

/** The setup work directory in `dir` once the partial ptau is in it. */
function setupWorkDir(dir: string): string | undefined {
  return readdirSync(dir).find((e) => e.startsWith(".setup-") && existsSync(join(dir, e, "dev.ptau")));
}

describe("zkrisk compile stopped by a signal", () => {
  it("SIGTERM stops circom and leaves --out as it was (the earlier build, no partial one)", async () => {
    const out = tempDir("compile-interrupted");
    mkdirSync(join(out, "build"));
    writeFileSync(join(out, "build", "earlier.r1cs"), "an earlier build");
    const { child, ended } = start("compile", "--weights", "constant", "--out", out);
    const circom = await until("circom to start", () => circomChild(child.pid!));
    child.kill("SIGTERM");
    expect((await ended).signal).toBe("SIGTERM");
    expect(pidAlive(circom)).toBe(false);
    expect(readdirSync(out)).toEqual(["build"]);
    expect(readdirSync(join(out, "build"))).toEqual(["earlier.r1cs"]);
  }, 180_000);
});

describe("zkrisk setup stopped by a signal", () => {
  /** A compiled and set-up artifact directory (the demo cache's, copied: each test sets up its own copy). */
  let setUp: string;
  beforeAll(async () => {
    setUp = (await signedUpdateArtifacts(MODEL, "constant", 1)).dir;
  });

  /** A copy of the set-up directory. */
  function copy(name: string): string {
    const dir = join(tempDir(name), "artifacts");
    cpSync(setUp, dir, { recursive: true });
    return dir;
  }

  it("SIGINT removes its work directory and leaves the existing setup intact", async () => {
    const dir = copy("setup-interrupted");
    const before = {
      zkey: sha256File(join(dir, "zkrisk.zkey")),
      manifest: sha256File(join(dir, "artifacts.json")),
    };
    const entries = readdirSync(dir).sort();
    const { child, ended } = start("setup", "--artifacts", dir, "--model", MODEL, "--force");
    await until("the partial ptau", () => setupWorkDir(dir));
    child.kill("SIGINT");
    expect((await ended).signal).toBe("SIGINT");
    expect(readdirSync(dir).sort()).toEqual(entries);
    expect(sha256File(join(dir, "zkrisk.zkey"))).toBe(before.zkey);
    expect(sha256File(join(dir, "artifacts.json"))).toBe(before.manifest);
  }, 180_000);

  it("the work directory of a setup killed outright goes at the next setup; a live process's stays", async () => {
    const dir = copy("setup-killed");
    const { child, ended } = start("setup", "--artifacts", dir, "--model", MODEL, "--force");
    const left = await until("the partial ptau", () => setupWorkDir(dir));
    child.kill("SIGKILL");
    expect((await ended).signal).toBe("SIGKILL");
    expect(existsSync(join(dir, left))).toBe(true);
    const live = join(dir, ".setup-live01");
    mkdirSync(live);
    writeHeldLock(join(live, WORK_DIR_OWNER_FILE), process.pid);

    const r = zkrisk("setup", "--artifacts", dir, "--model", MODEL, "--force");
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, left))).toBe(false);
    expect(readdirSync(dir).filter((e) => e.startsWith(".setup-"))).toEqual([".setup-live01"]);
  }, 240_000);
});
