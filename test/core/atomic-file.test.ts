/** Durable atomic writes of core/atomic-file.ts: content lands whole, no temporary file is left, failures leave nothing. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  copyFileAtomic,
  installFile,
  syncDirectory,
  tempPathNextTo,
  writeFileAtomic,
  writeFilesAtomic,
  writeFileVia,
} from "../../core/atomic-file";

describe("core/atomic-file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "zkrisk-atomic-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the content, creates the parent directory and leaves no temporary file", () => {
    const path = join(dir, "sub", "out.json");
    writeFileAtomic(path, "first\n");
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(join(dir, "sub"))).toEqual(["out.json"]);
  });

  it("creates the file with the given mode", () => {
    if (process.platform === "win32") return;
    const path = join(dir, "secret.json");
    writeFileAtomic(path, "{}", { mode: 0o600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("with replace: false refuses an existing file (EEXIST) and keeps it", () => {
    const path = join(dir, "keep.txt");
    writeFileAtomic(path, "old");
    expect(() => writeFileAtomic(path, "new", { replace: false })).toThrow(
      expect.objectContaining({ code: "EEXIST" }),
    );
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["keep.txt"]);
    writeFileAtomic(join(dir, "fresh.txt"), "new", { replace: false });
    expect(readFileSync(join(dir, "fresh.txt"), "utf8")).toBe("new");
  });

  it("leaves nothing behind when the rename fails", () => {
    const path = join(dir, "taken");
    mkdirSync(path);
    expect(() => writeFileAtomic(path, "data")).toThrow();
    expect(readdirSync(dir)).toEqual(["taken"]);
  });

  it("writes several files as one output: a second file that cannot be written leaves none of them", () => {
    const first = join(dir, "series.csv");
    writeFileAtomic(first, "old");
    // /proc holds no new files: the second write fails after the first file is written under its temporary name.
    expect(() =>
      writeFilesAtomic([
        { path: first, data: "new" },
        { path: "/proc/zkrisk-atomic-report.html", data: "<html>" },
      ]),
    ).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(readdirSync(dir)).toEqual(["series.csv"]);
    expect(readFileSync(first, "utf8")).toBe("old");
    writeFilesAtomic([
      { path: first, data: "new" },
      { path: join(dir, "report.html"), data: "<html>" },
    ]);
    expect(readdirSync(dir).sort()).toEqual(["report.html", "series.csv"]);
    expect(readFileSync(first, "utf8")).toBe("new");
  });

  it("installs what a writer produced, and removes its partial file when the writer fails", async () => {
    const path = join(dir, "tool.out");
    const result = await writeFileVia(path, async (tmp) => {
      expect(tmp.startsWith(`${path}.`)).toBe(true);
      writeFileSync(tmp, "made by a tool");
      return 42;
    });
    expect(result).toBe(42);
    expect(readFileSync(path, "utf8")).toBe("made by a tool");

    await expect(
      writeFileVia(path, async (tmp) => {
        writeFileSync(tmp, "half");
        throw new Error("tool failed");
      }),
    ).rejects.toThrow("tool failed");
    expect(readFileSync(path, "utf8")).toBe("made by a tool");
    expect(readdirSync(dir)).toEqual(["tool.out"]);
  });

  it("copies atomically and leaves nothing when the source is missing", () => {
    const from = join(dir, "from.bin");
    writeFileSync(from, "bytes");
    copyFileAtomic(from, join(dir, "to.bin"));
    expect(readFileSync(join(dir, "to.bin"), "utf8")).toBe("bytes");
    expect(() => copyFileAtomic(join(dir, "missing"), join(dir, "never"))).toThrow();
    expect(readdirSync(dir).sort()).toEqual(["from.bin", "to.bin"]);
  });

  it("installs a finished file by rename and syncs a directory", () => {
    const from = join(dir, "work.tmp");
    writeFileSync(from, "done");
    installFile(from, join(dir, "final"));
    expect(readdirSync(dir)).toEqual(["final"]);
    expect(() => syncDirectory(dir)).not.toThrow();
    expect(tempPathNextTo(join(dir, "a"))).not.toBe(tempPathNextTo(join(dir, "a")));
  });
});
