/**
 * `--architecture <circuit.json>` (quantize, market-model) is read strictly, by the check `setup` makes of an
 * artifacts directory's circuit.json: an unknown key, a missing field or a value of the wrong type, in the
 * architecture or outside it, exits 2 naming the file, the field path and the value, before any work is done. So is
 * an artifacts directory's circuit.json with a key `zkrisk compile` does not write.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { architectureOf, architectureToJson } from "../../circuits/architecture";
import { loadQuantizedModel } from "../../models/quantized-model";
import { zkrisk } from "../helpers/zkrisk-cli";

const ROOT = join(__dirname, "../..");
const MODEL = join(ROOT, "models/btc-usdt-2h.quantized.json");

/**
 * A committed-weights circuit.json as `zkrisk compile` writes it (sizes and hashes made up, each of its type: the
 * whole file is checked, as setup checks an artifact directory's).
 */
function circuitJson(): Record<string, unknown> {
  return {
    mode: "committed",
    quorum: 1,
    model: { file: "btc-usdt-2h.quantized.json", sha256: "00".repeat(32) },
    modelCommitment: "1",
    publicSignals: ["a"],
    constraints: 1,
    wires: 2,
    outputs: 1,
    publicInputs: 0,
    privateInputs: 1,
    r1cs: "build/zkrisk.r1cs",
    wasm: "build/zkrisk_js/zkrisk.wasm",
    source: "build/zkrisk.circom",
    architecture: architectureToJson(architectureOf(loadQuantizedModel(MODEL))),
  };
}

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Each edit of circuit.json and what the error must name. */
const CASES: [string, (d: Doc) => void, RegExp][] = [
  ["unknown top-level key", (d) => (d.extra = 1), /circuit\.json: extra: unknown key/],
  [
    "unknown key under architecture",
    (d) => (d.architecture.extra = 1),
    /circuit\.json: architecture\.extra: unknown key/,
  ],
  [
    "unknown key in a layer",
    (d) => (d.architecture.layers[0].extra = 1),
    /circuit\.json: architecture\.layers\[0\]\.extra: unknown key/,
  ],
  [
    "missing features",
    (d) => delete d.architecture.features,
    /circuit\.json: architecture\.features: missing/,
  ],
  [
    "a feature min that is not an integer",
    (d) => (d.architecture.features[0].min = "abc"),
    /circuit\.json: architecture\.features\[0\]\.min: expected a decimal integer string, got "abc"/,
  ],
  [
    "a layer shift that is not a number",
    (d) => (d.architecture.layers[0].shift = "x"),
    /circuit\.json: architecture\.layers\[0\]\.shift: expected a finite number, got "x"/,
  ],
  // Fields outside the architecture are checked too, as setup checks them.
  [
    "a quorum that is not a number",
    (d) => (d.quorum = "x"),
    /circuit\.json: quorum: expected a finite number, got "x"/,
  ],
  ["a model sha256 that is not one", (d) => (d.model.sha256 = "00"), /circuit\.json: model\.sha256: /],
  ["a missing modelCommitment", (d) => delete d.modelCommitment, /circuit\.json: modelCommitment: missing/],
];

describe("--architecture <circuit.json> is read strictly", () => {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-architecture-input-"));

  it("accepts the circuit.json of a committed circuit (market-model writes the market's model)", () => {
    const file = join(dir, "good.json");
    writeFileSync(file, JSON.stringify(circuitJson()));
    const out = join(dir, "good-out.json");
    const r = zkrisk("market-model", "--market", "BTC-USDT", "--architecture", file, "--out", out);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  for (const [name, edit, message] of CASES) {
    it(`refuses ${name} (quantize and market-model exit 2, nothing written)`, () => {
      const doc = circuitJson();
      edit(doc);
      const file = join(dir, "circuit.json");
      writeFileSync(file, JSON.stringify(doc));
      const out = join(dir, "out.json");
      for (const args of [
        ["quantize", "--architecture", file, "--out", out],
        ["market-model", "--market", "BTC-USDT", "--architecture", file, "--out", out],
      ]) {
        const r = zkrisk(...args);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/TypeError|SyntaxError|\n\s+at /);
        expect(r.code).toBe(2);
        expect(existsSync(out)).toBe(false);
      }
    });
  }

  it("refuses a model that does not fit a well-formed architecture, naming the file, the field and both values", () => {
    const doc: Doc = circuitJson();
    doc.architecture.layers[0].inputs += 1;
    const file = join(dir, "misfit.json");
    writeFileSync(file, JSON.stringify(doc));
    const out = join(dir, "misfit-out.json");
    const inputs = doc.architecture.layers[0].inputs;
    for (const [args, what] of [
      [["quantize", "--architecture", file, "--out", out], "the model quantised from "],
      [
        ["market-model", "--market", "ETH-USDT", "--architecture", file, "--out", out],
        "the model of ETH-USDT ",
      ],
    ] as const) {
      const r = zkrisk(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(what);
      expect(r.stderr).toContain(
        `does not fit the circuit's architecture (${file}): layer 0 inputs is ${inputs - 1}, the circuit has ` +
          `${inputs} (architecture.layers[0].inputs)`,
      );
      expect(existsSync(out)).toBe(false);
    }
  });

  it("an artifacts directory's circuit.json with an unknown key is refused by setup, naming the key", () => {
    const artifacts = join(dir, "artifacts");
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, "circuit.json"), JSON.stringify({ ...circuitJson(), constraint: 1 }));
    const r = zkrisk("setup", "--artifacts", artifacts);
    expect(r.stderr).toMatch(/circuit\.json: constraint: unknown key \(expected one of mode, /);
    expect(r.code).toBe(2);
    expect(existsSync(join(artifacts, "artifacts.json"))).toBe(false);
  });
});
