/**
 * The adaptive rule in an artifact manifest (`artifacts.json`) and in circuit.json: parsed and checked field by
 * field (SetupError naming the file and the field), absent for a plain circuit, and copied from circuit.json by
 * `writeManifest`. No circuit is compiled: the documents are written by hand.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SetupError } from "../../core/errors";
import { loadCalibrations } from "../../models/market-calibrations";
import {
  circuitInfoAdaptive,
  parseManifest,
  writeManifest,
  type ArtifactManifest,
} from "../../setup/artifacts";
import { MANIFEST_SHA as SHA, manifestDocument } from "../helpers/manifest-document";

const RULE = loadCalibrations(join(__dirname, "../..", "models/calibrations.json")).adaptive;
const ADAPTIVE = { rule: RULE, calibrations: { file: "calibrations.json", sha256: SHA } };

/** A well-formed manifest document (a plain circuit's). */
const plainManifest = (): Record<string, unknown> => manifestDocument();

const parse = (doc: Record<string, unknown>) =>
  parseManifest(JSON.parse(JSON.stringify(doc)), "artifacts.json");

describe("the adaptive rule in the manifest", () => {
  it("is absent for a plain circuit and read back as written for an adaptive one", () => {
    expect(parse(plainManifest()).adaptive).toBeUndefined();
    expect(parse({ ...plainManifest(), adaptive: ADAPTIVE }).adaptive).toEqual(ADAPTIVE);
  });

  it("refuses a malformed entry, naming the file and the field", () => {
    const cases: [unknown, string][] = [
      [{ ...ADAPTIVE, extra: 1 }, "artifacts.json: adaptive.extra: unknown key"],
      [{ ...ADAPTIVE, calibrations: { file: "c.json", sha256: "xyz" } }, "adaptive.calibrations.sha256"],
      [{ ...ADAPTIVE, rule: { ...RULE, upNums: [1, 2] } }, "adaptive.rule.upNums: expected 4 entries"],
      [
        { ...ADAPTIVE, rule: { ...RULE, minNum: RULE.maxNum + 1 } },
        "adaptive.rule.minNum: must be <= maxNum",
      ],
      [{ rule: RULE }, "adaptive.calibrations: missing"],
    ];
    for (const [adaptive, message] of cases) {
      let err: unknown;
      try {
        parse({ ...plainManifest(), adaptive });
      } catch (e) {
        err = e;
      }
      expect(err, message).toBeInstanceOf(SetupError);
      expect((err as Error).message).toContain(message);
    }
  });

  it("is copied from circuit.json by writeManifest, and absent without one", () => {
    const dir = mkdtempSync(join(tmpdir(), "zkrisk-manifest-adaptive-"));
    const files = Object.fromEntries(
      ["r1cs", "wasm", "zkey", "vkey", "verifier", "model"].map((k) => {
        writeFileSync(join(dir, k), k);
        return [k, join(dir, k)];
      }),
    );
    const spec = {
      ...(plainManifest() as unknown as Omit<ArtifactManifest, "files">),
      files: files as Record<"r1cs" | "wasm" | "zkey" | "vkey" | "verifier", string>,
      modelPath: files.model,
    };
    expect(circuitInfoAdaptive(dir)).toBeUndefined();
    expect(writeManifest(dir, spec).adaptive).toBeUndefined();
    writeFileSync(join(dir, "circuit.json"), JSON.stringify({ mode: "constant", adaptive: ADAPTIVE }));
    expect(circuitInfoAdaptive(dir)).toEqual(ADAPTIVE);
    expect(writeManifest(dir, spec).adaptive).toEqual(ADAPTIVE);
  });
});
