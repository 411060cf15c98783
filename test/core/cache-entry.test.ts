/**
 * core/atomic-file.ts `buildCacheEntry`: a cache entry is built in a directory beside it and moved into
 * place, so a reader never sees half an entry; of two callers after one entry at once, one builds and the other
 * waits for it (a lock file), and two builds anyway leave one whole build, not a mix of both. Real directories;
 * the builds are stand-ins that write files with pauses between them.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCacheEntry } from "../../core/atomic-file";
import { goneProcessId, writeHeldLock } from "../helpers/build-locks";

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `zkrisk-${name}-`));

/** A build that writes `files` files holding `id`, pausing between them; records what it saw of `dir`. */
function build(id: string, seen: { dirExisted?: boolean; into?: string }[] = [], dir?: string, files = 3) {
  return async (into: string) => {
    seen.push({ dirExisted: dir === undefined ? undefined : existsSync(dir), into });
    for (let i = 0; i < files; i++) {
      writeFileSync(join(into, `part${i}`), id);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
}

/** Every part of the entry holds the same build's id, and that id. */
function wholeBuild(dir: string): string {
  const ids = new Set(readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")));
  expect(ids.size).toBe(1);
  return [...ids][0];
}

const complete = (dir: string) => existsSync(join(dir, "part2"));

describe("buildCacheEntry", () => {
  it("builds beside the entry and moves the build into place, leaving nothing else", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    const seen: { dirExisted?: boolean; into?: string }[] = [];
    expect(await buildCacheEntry(dir, complete, build("one", seen, dir))).toBe(true);
    expect(seen).toEqual([{ dirExisted: false, into: expect.stringMatching(/abc-signed\.building-\w{6}$/) }]);
    expect(wholeBuild(dir)).toBe("one");
    expect(readdirSync(cache)).toEqual(["abc-signed"]);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });

  it("of two callers after one entry at once, one builds it and the other waits and takes it", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    const seen: { into?: string }[] = [];
    const waits: string[] = [];
    const built = await Promise.all([
      buildCacheEntry(dir, complete, build("one", seen, undefined, 6), { onWait: () => waits.push("one") }),
      buildCacheEntry(dir, complete, build("two", seen, undefined, 6), { onWait: () => waits.push("two") }),
    ]);
    expect(built.sort()).toEqual([false, true]);
    expect(seen).toHaveLength(1);
    expect(waits).toHaveLength(1);
    expect(["one", "two"]).toContain(wholeBuild(dir));
    expect(readdirSync(dir)).toHaveLength(6);
    expect(readdirSync(cache)).toEqual(["abc-signed"]);
  });

  it("waits while a live process holds the lock, then takes the entry it built", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    writeHeldLock(`${dir}.lock`, process.pid);
    let waited = false;
    const call = buildCacheEntry(dir, complete, build("mine"), { onWait: () => (waited = true) });
    await new Promise((r) => setTimeout(r, 600));
    expect(waited).toBe(true);
    // The holder's build goes into place and its lock is removed.
    mkdirSync(dir);
    for (const part of ["part0", "part1", "part2"]) writeFileSync(join(dir, part), "holder's");
    rmSync(`${dir}.lock`);
    expect(await call).toBe(false);
    expect(wholeBuild(dir)).toBe("holder's");
  });

  it("takes over a lock left by a process that is gone", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    writeHeldLock(`${dir}.lock`, goneProcessId());
    let tookOver = false;
    expect(await buildCacheEntry(dir, complete, build("mine"), { onTakeOver: () => (tookOver = true) })).toBe(
      true,
    );
    expect(tookOver).toBe(true);
    expect(wholeBuild(dir)).toBe("mine");
    expect(readdirSync(cache)).toEqual(["abc-signed"]);
  });

  it("replaces an entry that is not usable (stale), and keeps one put in place while it built", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    mkdirSync(dir);
    writeFileSync(join(dir, "stale"), "old keys");
    expect(await buildCacheEntry(dir, complete, build("new"))).toBe(true);
    expect(wholeBuild(dir)).toBe("new");
    expect(existsSync(join(dir, "stale"))).toBe(false);
    // A usable entry in place: nothing is built.
    expect(await buildCacheEntry(dir, complete, build("again", [], undefined))).toBe(false);
    expect(wholeBuild(dir)).toBe("new");
    // A usable entry put in place while this call built (as by a process whose lock was taken over): kept.
    const other = join(cache, "xyz-signed");
    const late = await buildCacheEntry(other, complete, async (into) => {
      mkdirSync(other);
      for (const part of ["part0", "part1", "part2"]) writeFileSync(join(other, part), "first");
      writeFileSync(join(into, "part0"), "late");
    });
    expect(late).toBe(true); // it did build
    expect(wholeBuild(other)).toBe("first");
    expect(readdirSync(cache).sort()).toEqual(["abc-signed", "xyz-signed"]);
  });

  it("a build that fails leaves the entry as it was and no building directory", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    const failing = async (into: string) => {
      writeFileSync(join(into, "part0"), "half");
      throw new Error("circom: out of memory");
    };
    await expect(buildCacheEntry(dir, complete, failing)).rejects.toThrow("circom: out of memory");
    expect(readdirSync(cache)).toEqual([]);
  });

  it("removes this entry's building directories left for over a day, not newer ones or other entries'", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    const twoDaysAgo = Date.now() / 1000 - 2 * 86_400;
    for (const name of ["abc-signed.building-old111", "abc-signed.building-new222", "xyz.building-old333"]) {
      mkdirSync(join(cache, name));
      if (name.includes("old")) utimesSync(join(cache, name), twoDaysAgo, twoDaysAgo);
    }
    await buildCacheEntry(dir, complete, build("one"));
    expect(readdirSync(cache).sort()).toEqual([
      "abc-signed",
      "abc-signed.building-new222",
      "xyz.building-old333",
    ]);
  });
});
