/**
 * The artifact manifest (`artifacts.json`) reader is closed like every input file: a key `writeManifest` does not
 * write, at any level, is a SetupError naming the file and the field; what `writeManifest` writes (a plain
 * circuit's, an adaptive one's, a ceremony with a beacon) reads back as written. No circuit is compiled: the
 * documents are written by hand.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SetupError } from "../../core/errors";
import { loadCalibrations } from "../../models/market-calibrations";
import { parseManifest, readManifest, writeManifest, type ArtifactManifest } from "../../setup/artifacts";
import { MANIFEST_SHA as SHA, manifestDocument } from "../helpers/manifest-document";

const CONTRIBUTION = { kind: "contribution", name: "zkrisk setup", hash: "cd".repeat(64) };
const BEACON = {
  kind: "beacon",
  name: "final beacon",
  hash: "ef".repeat(64),
  beaconHash: "0123",
  iterationsExp: 10,
};

/** A deep copy of a JSON value. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A well-formed manifest document, with a two-step ceremony (a fresh copy: no object shared). */
const manifest = (): Record<string, unknown> => manifestDocument("ceremony", [CONTRIBUTION, BEACON]);

/** A manifest with the field at `path` set to `value` (deleted when `value` is undefined). */
function edited(path: (string | number)[], value: unknown): Record<string, unknown> {
  const doc = manifest();
  let at = doc as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete at[last];
  else at[last] = value;
  return doc;
}

function refusal(doc: unknown): Error {
  try {
    parseManifest(copy(doc), "artifacts.json");
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the manifest to be refused");
}

describe("the artifact manifest", () => {
  it("reads a well-formed manifest as written", () => {
    expect(parseManifest(manifest(), "artifacts.json")).toEqual(manifest());
  });

  it("refuses an unknown key at every level, naming the file and the field", () => {
    const paths: (string | number)[][] = [
      ["extra"],
      ["circuit", "curves"],
      ["setup", "secure"],
      ["ptau", "url"],
      ["ceremony", "contributors"],
      ["ceremony", "steps", 1, "note"],
      // a beacon's fields on a contribution: not what the zkey's record holds
      ["ceremony", "steps", 0, "iterationsExp"],
      ["files", "proof"],
      ["files", "vkey", "sha"],
      ["model", "file"],
    ];
    for (const path of paths) {
      const field = path
        .map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`))
        .join("")
        .slice(1);
      const error = refusal(edited(path, 1));
      expect(error, field).toBeInstanceOf(SetupError);
      expect(
        error.message.startsWith(`artifacts.json: ${field}: unknown key (expected one of `),
        error.message,
      ).toBe(true);
    }
  });

  it("refuses a bad value, naming the file, the field and the value", () => {
    const cases: [(string | number)[], unknown, string][] = [
      [
        ["files", "vkey", "bytes"],
        -1,
        "files.vkey.bytes: expected an integer in [0, 9007199254740991], got -1",
      ],
      [
        ["files", "zkey", "sha256"],
        "AB",
        'files.zkey.sha256: expected a sha256 (64 lowercase hex digits), got "AB"',
      ],
      [["circuit", "curve"], "bls12381", 'circuit.curve: expected one of bn128, got "bls12381"'],
      [["setup", "method"], "trusted", 'setup.method: expected one of ceremony, direct, got "trusted"'],
      [["ceremony", "steps", 1, "beaconHash"], undefined, "ceremony.steps[1].beaconHash: missing"],
      [["files", "wasm"], undefined, "files.wasm: missing"],
      [["model", "path"], "", "model.path: expected a non-empty string"],
    ];
    for (const [path, value, message] of cases) {
      const error = refusal(edited(path, value));
      expect(error, message).toBeInstanceOf(SetupError);
      expect(error.message, message).toBe(`artifacts.json: ${message}`);
    }
    expect(refusal({}).message).toBe("artifacts.json: manifest version undefined, expected 2");
    expect(refusal([]).message).toBe("artifacts.json: manifest must be a JSON object");
  });

  it("reads back what writeManifest writes, plain and adaptive", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-manifest-"));
    const files = Object.fromEntries(
      ["r1cs", "wasm", "zkey", "vkey", "verifier", "model"].map((k) => {
        writeFileSync(join(dir, k), k);
        return [k, join(dir, k)];
      }),
    );
    const spec = {
      ...(manifest() as unknown as Omit<ArtifactManifest, "files">),
      files: files as Record<"r1cs" | "wasm" | "zkey" | "vkey" | "verifier", string>,
      modelPath: files.model,
    };
    const plain = writeManifest(dir, spec);
    expect(plain.adaptive).toBeUndefined();
    expect(readManifest(dir)).toEqual(plain);
    const rule = loadCalibrations(join(__dirname, "../..", "models/calibrations.json")).adaptive;
    const adaptive = { rule, calibrations: { file: "calibrations.json", sha256: SHA } };
    writeFileSync(join(dir, "circuit.json"), JSON.stringify({ mode: "constant", adaptive }));
    const written = writeManifest(dir, spec);
    expect(written.adaptive).toEqual(adaptive);
    expect(readManifest(dir)).toEqual(written);
  });
});
