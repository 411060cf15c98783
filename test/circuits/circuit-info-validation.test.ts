/**
 * circuit.json is read strictly (circuits/compile-model.ts `readCircuitInfo`): every field `zkrisk compile` writes,
 * each of its type and in its range, so a hand-edited or damaged file is an ARTIFACTS_INVALID error naming the file,
 * the field and the value, not a contradictory message later (`quorum is 1, the circuit checks 1 signature(s)` for
 * a quorum of "1") or a mode nothing handles.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { architectureOf, architectureToJson } from "../../circuits/architecture";
import { CIRCUIT_INFO_FILE, readCircuitInfo } from "../../circuits/compile-model";
import { ZkriskError } from "../../core/errors";
import { loadCalibrations } from "../../models/market-calibrations";
import { loadQuantizedModel } from "../../models/quantized-model";
import { signedUpdateCircuitInfo, type CircuitInfoDoc } from "../helpers/circuit-info";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");
const CALIBRATIONS = join(ROOT, "models/calibrations.json");
const root = mkdtempSync(join(tmpdir(), "zkrisk-circuit-info-"));

type Doc = CircuitInfoDoc;
const updateInfo = signedUpdateCircuitInfo;

/** A signed adaptive batch circuit.json of committed weights (2 markets, quorum 2). */
function batchInfo(): Doc {
  return {
    ...updateInfo(),
    mode: "committed",
    batchSize: 2,
    quorum: 2,
    publicSignals: [
      "update[0]",
      "update[1]",
      "modelCommitment[0]",
      "modelCommitment[1]",
      "publisherSet",
      "marketId[0]",
      "marketId[1]",
      "domain",
    ],
    outputs: 5,
    publicInputs: 3,
    architecture: architectureToJson(architectureOf(loadQuantizedModel(MODEL))),
    adaptive: {
      rule: loadCalibrations(CALIBRATIONS).adaptive,
      calibrations: { file: "calibrations.json", sha256: "b2".repeat(32) },
    },
  };
}

let n = 0;
/** An artifact directory whose circuit.json is `doc`. */
function artifacts(doc: Doc): { dir: string; file: string } {
  const dir = join(root, `a${n++}`);
  mkdirSync(dir);
  const file = join(dir, CIRCUIT_INFO_FILE);
  writeFileSync(file, JSON.stringify(doc));
  return { dir, file };
}

/** The error reading `doc` as circuit.json gives (fails the test if it is accepted). */
function readError(doc: Doc): { error: ZkriskError; file: string } {
  const { dir, file } = artifacts(doc);
  try {
    readCircuitInfo(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ZkriskError);
    return { error: error as ZkriskError, file };
  }
  throw new Error("circuit.json accepted, expected ARTIFACTS_INVALID");
}

const CASES: [string, () => Doc, (d: Doc) => void, string][] = [
  ["a quorum as a string", updateInfo, (d) => (d.quorum = "1"), 'quorum: expected a finite number, got "1"'],
  ["a quorum of 0", updateInfo, (d) => (d.quorum = 0), "quorum: expected an integer in [1, "],
  [
    "an unknown mode",
    updateInfo,
    (d) => (d.mode = "bogus"),
    'mode: expected one of committed, constant, got "bogus"',
  ],
  ["no mode", updateInfo, (d) => delete d.mode, "mode: missing"],
  [
    "a batch size of 0",
    batchInfo,
    (d) => (d.batchSize = 0),
    "batchSize: expected an integer in [1, 32], got 0",
  ],
  [
    "a batch size of 33",
    batchInfo,
    (d) => (d.batchSize = 33),
    "batchSize: expected an integer in [1, 32], got 33",
  ],
  [
    "a batch without a quorum",
    batchInfo,
    (d) => delete d.quorum,
    "batchSize: a signed batch circuit records its quorum too, and there is none",
  ],
  [
    "a model file that is a number",
    updateInfo,
    (d) => (d.model.file = 5),
    "model.file: expected a string, got 5",
  ],
  [
    "a model sha256 that is not one",
    updateInfo,
    (d) => (d.model.sha256 = "zz"),
    'model.sha256: expected 64 lowercase hex digits (a sha256), got "zz"',
  ],
  [
    "an unknown key in model",
    updateInfo,
    (d) => (d.model.path = "x"),
    "model.path: unknown key (expected one of file, sha256)",
  ],
  [
    "a model commitment that is not decimal",
    updateInfo,
    (d) => (d.modelCommitment = "0x12"),
    'modelCommitment: expected a field element in decimal, got "0x12"',
  ],
  [
    "a model commitment as a number",
    updateInfo,
    (d) => (d.modelCommitment = 12),
    "modelCommitment: expected a string, got 12",
  ],
  [
    "a model commitment not below p",
    updateInfo,
    (d) =>
      (d.modelCommitment = "21888242871839275222246405745257275088548364400416034343698204186575808495617"),
    "modelCommitment: expected a field element in decimal",
  ],
  [
    "negative constraints",
    updateInfo,
    (d) => (d.constraints = -1),
    "constraints: expected an integer in [0, ",
  ],
  [
    "wires as a string",
    updateInfo,
    (d) => (d.wires = "22074"),
    'wires: expected a finite number, got "22074"',
  ],
  [
    "public signals that do not match the outputs",
    updateInfo,
    (d) => (d.publicSignals = ["update"]),
    "publicSignals: 1 names, but the circuit has 2 outputs and 0 public inputs (one name per public signal)",
  ],
  [
    "a public signal name that is a number",
    updateInfo,
    (d) => (d.publicSignals[1] = 7),
    "publicSignals[1]: expected a string, got 7",
  ],
  ["an empty wasm path", updateInfo, (d) => (d.wasm = ""), "wasm: expected a non-empty string"],
  ["no r1cs", updateInfo, (d) => delete d.r1cs, "r1cs: missing"],
  [
    "an architecture in a constant-weights circuit",
    updateInfo,
    (d) => (d.architecture = batchInfo().architecture),
    "architecture: only a committed-weights circuit has an architecture",
  ],
  [
    "a committed-weights circuit without its architecture",
    batchInfo,
    (d) => delete d.architecture,
    "architecture: missing",
  ],
  [
    "an architecture of another format",
    batchInfo,
    (d) => (d.architecture.format = "x"),
    'architecture.format: expected one of zkrisk-architecture/1, got "x"',
  ],
  [
    "an adaptive rule with a bad constant",
    batchInfo,
    (d) => (d.adaptive.rule.upShift = "16"),
    'adaptive.rule.upShift: expected a finite number, got "16"',
  ],
  [
    "an adaptive calibrations sha256 that is not one",
    batchInfo,
    (d) => (d.adaptive.calibrations.sha256 = "B2".repeat(32)),
    "adaptive.calibrations.sha256: expected 64 lowercase hex digits (a sha256)",
  ],
  [
    "an adaptive rule in a circuit without a quorum",
    batchInfo,
    (d) => {
      delete d.quorum;
      delete d.batchSize;
    },
    "adaptive: only a signed circuit (with a quorum) proves the adaptive rule",
  ],
];

describe("readCircuitInfo", () => {
  it("accepts circuit.json as compile writes it: a signed update, an adaptive committed batch", () => {
    for (const doc of [updateInfo(), batchInfo()]) {
      const { dir } = artifacts(doc);
      expect(readCircuitInfo(dir)).toEqual(doc);
    }
  });

  it.each(CASES)(
    "refuses %s: ARTIFACTS_INVALID naming the file, the field and the value",
    (_what, base, edit, message) => {
      const doc = base();
      edit(doc);
      const { error, file } = readError(doc);
      expect(error.code).toBe("ARTIFACTS_INVALID");
      expect(error.message).toContain(`${file}: ${message}`);
    },
  );

  it("still refuses an unknown key first, naming it", () => {
    const { error, file } = readError({ ...updateInfo(), quorum: "1", constraint: 1 });
    expect(error.message).toMatch(new RegExp(`^${file}: constraint: unknown key \\(expected one of mode, `));
  });
});

describe("zkrisk setup: a circuit.json with a quorum as a string", () => {
  it("exits 2 naming the file, the field and the value", () => {
    const doc = updateInfo();
    doc.quorum = "1";
    const { dir, file } = artifacts(doc);
    const r = zkrisk("setup", "--artifacts", dir, "--model", MODEL);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(`zkrisk: ${file}: quorum: expected a finite number, got "1"\n`);
  }, 120_000);
});
