/**
 * One service per SQLite file (sqlite-store.ts `claimService`), judged by the owner lock, not by names or pids:
 * two containers sharing a volume and a host name, each running zkrisk as PID 1, are two holders; a holder whose
 * pid is not visible here (another PID namespace) is alive while its process is; a stalled holder (an old
 * heartbeat) is alive too; a claim another process took is told once, and no longer renewed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteJobStore, type HeartbeatProblem } from "../../service/sqlite-store";

const ROOT = join(__dirname, "../..");
const STORE_MODULE = join(ROOT, "service/sqlite-store.ts");

let dir: string;
let path: string;
let children: ChildProcess[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "zkrisk-claim-"));
  path = join(dir, "jobs.db");
  children = [];
});

afterEach(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A process holding the file as `me` until killed; resolves once it holds it. */
async function holderProcess(me: { holder: string; host: string; pid: number }): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "-r",
      "tsx/cjs",
      "-e",
      `const { SqliteJobStore } = require(${JSON.stringify(STORE_MODULE)});
       SqliteJobStore.open(${JSON.stringify(path)}).claimService(${JSON.stringify(me)}, Date.now(), 60_000);
       process.stdout.write("claimed\\n");
       setInterval(() => undefined, 1_000);`,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  await new Promise<void>((done, fail) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("claimed")) done();
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => fail(new Error(`holder exited (${code}): ${out}`)));
  });
  return child;
}

describe("SqliteJobStore.claimService: who holds the file", () => {
  const host = hostname();

  it("refuses a second start of the same host name, pid and holder while the first lives", async () => {
    // Two containers sharing the volume and host name "prover", each running zkrisk as PID 1.
    const me = { holder: "prover:1", host: "prover", pid: 1 };
    const a = SqliteJobStore.open(path);
    const b = SqliteJobStore.open(path);
    a.claimService(me, Date.now(), 60_000);
    expect(() => b.claimService(me, Date.now(), 60_000)).toThrow(/already used by zkrisk serve prover:1 /);
    expect(a.heartbeat(me.holder, Date.now())).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses a live holder whose pid is not visible here (another PID namespace), then takes over once it is killed", async () => {
    const child = await holderProcess({ holder: `${host}:999999:c`, host, pid: 999_999 });
    const b = SqliteJobStore.open(path);
    const me = { holder: `${host}:${process.pid}:b`, host, pid: process.pid };
    expect(() => b.claimService(me, Date.now(), 60_000)).toThrow(
      new RegExp(`already used by zkrisk serve ${host}:999999 \\(heartbeat \\d+ s ago\\)`),
    );
    const exited = new Promise((done) => child.on("exit", done));
    child.kill("SIGKILL");
    await exited;
    // Its heartbeat is seconds old: no wait for it to go stale.
    b.claimService(me, Date.now(), 60_000);
    expect(b.heartbeat(me.holder, Date.now())).toBe(true);
    await b.close();
  }, 60_000);

  it("refuses a live holder whose heartbeat is old (a stalled process is still running)", async () => {
    const a = SqliteJobStore.open(path);
    const b = SqliteJobStore.open(path);
    a.claimService({ holder: "elsewhere:1:a", host: "elsewhere", pid: 1 }, 1_000, 60_000);
    expect(() =>
      b.claimService({ holder: "vm:2:b", host, pid: process.pid }, 1_000 + 600_000, 60_000),
    ).toThrow(/already used by zkrisk serve elsewhere:1 \(heartbeat 600 s ago\)/);
    await Promise.all([a.close(), b.close()]);
  });

  it("tells a lost claim once, and renews it no more", async () => {
    const a = SqliteJobStore.open(path);
    const problems: HeartbeatProblem[] = [];
    // Beats every 10 ms.
    a.claimService({ holder: "vm:1:a", host, pid: process.pid }, Date.now(), 60, (p) => problems.push(p));
    const other = new Database(path);
    other.prepare("UPDATE service_owner SET worker = 'elsewhere:1:x', heartbeat = 5").run();
    await new Promise((done) => setTimeout(done, 200));
    expect(problems).toEqual([{ lost: true }]);
    // The other holder's claim is left as it is, a clean stop included.
    await a.close();
    expect(other.prepare("SELECT worker, heartbeat FROM service_owner").get()).toEqual({
      worker: "elsewhere:1:x",
      heartbeat: 5,
    });
    other.close();
  });
});
