/** circuit.json documents for tests that need an artifact directory's description without compiling a circuit. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CircuitInfoDoc = Record<string, any>;

/** A signed-update circuit.json of constant weights as `zkrisk compile --quorum 1` writes it (a new copy each call). */
export function signedUpdateCircuitInfo(): CircuitInfoDoc {
  return {
    mode: "constant",
    quorum: 1,
    model: { file: "btc-usdt-2h.quantized.json", sha256: "06".repeat(32) },
    modelCommitment: "2592894892482222569807926496490303444648016729577279605781441453394857325425",
    publicSignals: ["update", "statement"],
    wires: 22074,
    outputs: 2,
    publicInputs: 0,
    privateInputs: 218,
    constraints: 21941,
    r1cs: "build/zkrisk.r1cs",
    wasm: "build/zkrisk_js/zkrisk.wasm",
    source: "build/zkrisk.circom",
  };
}
