/**
 * core/atomic-file.ts `buildCacheEntry`: a cache entry is built in a directory beside it and moved into
 * place, so a reader never sees half an entry and two processes building one entry at once leave one whole build,
 * not a mix of both. Real directories; the builds are stand-ins that write files with pauses between them.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCacheEntry } from "../../core/atomic-file";

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
    await buildCacheEntry(dir, complete, build("one", seen, dir));
    expect(seen).toEqual([{ dirExisted: false, into: expect.stringMatching(/abc-signed\.building-\w{6}$/) }]);
    expect(wholeBuild(dir)).toBe("one");
    expect(readdirSync(cache)).toEqual(["abc-signed"]);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });

  it("of two builds of one entry at once, keeps one whole build and drops the other", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    await Promise.all([
      buildCacheEntry(dir, complete, build("one", [], undefined, 6)),
      buildCacheEntry(dir, complete, build("two", [], undefined, 6)),
    ]);
    expect(["one", "two"]).toContain(wholeBuild(dir));
    expect(readdirSync(dir)).toHaveLength(6);
    expect(readdirSync(cache)).toEqual(["abc-signed"]);
  });

  it("replaces an entry that is not usable (stale), and keeps one that another build put in place", async () => {
    const cache = tempDir("cache-entry");
    const dir = join(cache, "abc-signed");
    mkdirSync(dir);
    writeFileSync(join(dir, "stale"), "old keys");
    await buildCacheEntry(dir, complete, build("new"));
    expect(wholeBuild(dir)).toBe("new");
    expect(existsSync(join(dir, "stale"))).toBe(false);
    // Put in place while this build ran, and usable: kept.
    await buildCacheEntry(dir, complete, async (into) => {
      writeFileSync(join(into, "part0"), "late");
    });
    expect(wholeBuild(dir)).toBe("new");
    expect(readdirSync(cache)).toEqual(["abc-signed"]);
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
