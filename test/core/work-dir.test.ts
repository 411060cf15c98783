/**
 * core/work-dir.ts: a work directory names its owner in a lock file, is removed when the work ends or fails, and
 * one left by a process that is gone is removed by the next work of the same prefix, while a live process's is
 * kept. Real directories; owners are this process, or a process that has ended (test/helpers/build-locks.ts).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeAbandonedWorkDirs, withWorkDir, WORK_DIR_OWNER_FILE } from "../../core/work-dir";
import { goneProcessId, writeHeldLock } from "../helpers/build-locks";

const tempDir = () => mkdtempSync(join(tmpdir(), "zkrisk-work-dir-"));

/** A work directory `name` in `parent` owned by process `pid` of this host, with a file in it. */
function leftWorkDir(parent: string, name: string, pid: number): string {
  const dir = join(parent, name);
  mkdirSync(dir);
  writeHeldLock(join(dir, WORK_DIR_OWNER_FILE), pid);
  writeFileSync(join(dir, "dev.ptau"), "partial");
  return dir;
}

describe("withWorkDir", () => {
  it("runs the work in a new directory owned by this process and removes it afterwards", async () => {
    const parent = tempDir();
    const seen = await withWorkDir(parent, ".setup-", async (dir) => {
      writeFileSync(join(dir, "out"), "x");
      return {
        name: dir.slice(parent.length + 1),
        owner: JSON.parse(readFileSync(join(dir, WORK_DIR_OWNER_FILE), "utf8")) as unknown,
      };
    });
    expect(seen.name).toMatch(/^\.setup-\w{6}$/);
    expect(seen.owner).toEqual({ pid: process.pid, host: hostname() });
    expect(readdirSync(parent)).toEqual([]);
  });

  it("removes the directory when the work fails", async () => {
    const parent = tempDir();
    await expect(
      withWorkDir(parent, ".setup-", async (dir) => {
        writeFileSync(join(dir, "dev.ptau"), "partial");
        throw new Error("failed midway");
      }),
    ).rejects.toThrow("failed midway");
    expect(readdirSync(parent)).toEqual([]);
  });

  it("first removes the directories of its prefix whose owner is gone, and keeps a live owner's", async () => {
    const parent = tempDir();
    leftWorkDir(parent, ".setup-gone01", goneProcessId());
    leftWorkDir(parent, ".setup-live01", process.pid);
    leftWorkDir(parent, ".contribute-gone01", goneProcessId());
    await withWorkDir(parent, ".setup-", async () => undefined);
    expect(readdirSync(parent).sort()).toEqual([".contribute-gone01", ".setup-live01"]);
  });
});

describe("removeAbandonedWorkDirs", () => {
  it("keeps a directory without an owner file while it is fresh, and removes one that has not changed for long", () => {
    const parent = tempDir();
    mkdirSync(join(parent, ".setup-fresh1"));
    mkdirSync(join(parent, ".setup-stale1"));
    const longAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(parent, ".setup-stale1"), longAgo, longAgo);
    expect(removeAbandonedWorkDirs(parent, ".setup-")).toEqual([".setup-stale1"]);
    expect(readdirSync(parent)).toEqual([".setup-fresh1"]);
  });

  it("judges another host's directory by its owner file going untouched, not by a pid of this host", () => {
    const parent = tempDir();
    for (const [name, age] of [
      [".setup-elsewhere-busy", 0],
      [".setup-elsewhere-idle", 3600_000],
    ] as const) {
      const dir = join(parent, name);
      mkdirSync(dir);
      const owner = join(dir, WORK_DIR_OWNER_FILE);
      writeFileSync(owner, JSON.stringify({ pid: goneProcessId(), host: `not-${hostname()}` }));
      const at = new Date(Date.now() - age);
      utimesSync(owner, at, at);
    }
    expect(removeAbandonedWorkDirs(parent, ".setup-")).toEqual([".setup-elsewhere-idle"]);
    expect(existsSync(join(parent, ".setup-elsewhere-busy"))).toBe(true);
  });
});
