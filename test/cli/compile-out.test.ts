/**
 * `zkrisk compile --out DIR`: a directory that was already set up is refused (its keys would not match the new
 * circuit) unless --force, which removes the stale setup files; the compile reports its progress on stderr.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { zkrisk } from "../helpers/zkrisk-cli";

const SETUP_FILES = ["artifacts.json", "zkrisk.zkey", "verification_key.json", "Groth16Verifier.sol"];

function setUpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-compile-out-"));
  for (const name of SETUP_FILES) writeFileSync(join(dir, name), "{}");
  return dir;
}

describe("compile --out onto a set-up directory", () => {
  it("is refused without --force, naming the directory, before compiling", () => {
    const dir = setUpDir();
    const r = zkrisk("compile", "--weights", "constant", "--out", dir);
    expect(r.stderr).toMatch(/--out: .* already holds a set-up circuit \(.*artifacts\.json.*\).*--force/);
    expect(r.stderr).not.toMatch(/compiling the/);
    expect(r.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([...SETUP_FILES].sort());
  });

  it("with --force removes the stale setup files and reports progress on stderr", () => {
    const dir = setUpDir();
    const r = zkrisk("compile", "--weights", "constant", "--out", dir, "--force");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^compiling the signed-update circuit .*\.\.\.\ndone in \d+\.\d s\n$/);
    expect(r.stdout).not.toMatch(/done in/);
    for (const name of SETUP_FILES) expect(existsSync(join(dir, name))).toBe(false);
    expect(existsSync(join(dir, "circuit.json"))).toBe(true);
  }, 180_000);
});

describe("demo --artifacts DIR holding another circuit", () => {
  it("is refused (exit 2) naming the directory and both circuits, not a circom stack at proving time", () => {
    const dir = setUpDir();
    mkdirSync(join(dir, "build"));
    writeFileSync(join(dir, "build", "zkrisk.circom"), "// a constant-weights circuit\n");
    writeFileSync(join(dir, "circuit.json"), JSON.stringify({ mode: "constant", quorum: 1 }));
    const r = zkrisk("demo", "--artifacts", dir, "--weights", "committed");
    expect(r.stderr).toMatch(
      /--artifacts: .* holds a circuit of constant weights, quorum 1, not the signed-update circuit \(committed weights/,
    );
    expect(r.stderr).not.toMatch(/Too many values|\n\s+at /);
    expect(r.code).toBe(2);
  }, 120_000);
});
