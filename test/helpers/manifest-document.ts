/**
 * A well-formed artifact manifest document (`artifacts.json`) written by hand, for the tests of its reader: a
 * plain circuit's, with no ceremony step unless `steps` are given. A fresh copy each call: no object is shared.
 */
export const MANIFEST_SHA = "ab".repeat(32);

export function manifestDocument(
  setup: "direct" | "ceremony" = "direct",
  steps: unknown[] = [],
): Record<string, unknown> {
  const file = { path: "x", sha256: MANIFEST_SHA, bytes: 1 };
  return JSON.parse(
    JSON.stringify({
      version: 2,
      circuit: {
        name: "zkrisk",
        constraints: 1,
        publicSignals: 2,
        outputs: 2,
        publicInputs: 0,
        privateInputs: 1,
        wires: 4,
        curve: "bn128",
      },
      setup: { method: setup, insecure: true },
      ptau: { file: "p.ptau", power: 10, sha256: MANIFEST_SHA, dev: true },
      ceremony: { circuitHash: "00", steps },
      files: { r1cs: file, wasm: file, zkey: file, vkey: file, verifier: file },
      model: { path: "m.json", sha256: MANIFEST_SHA },
    }),
  ) as Record<string, unknown>;
}
