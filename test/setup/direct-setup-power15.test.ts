/**
 * The direct development setup of a circuit whose domain is above 2^14, the size of the real circuits (power 15),
 * then a ceremony contribution that snarkjs verifies against the setup's own ptau. Above 2^14 snarkjs's `zkey new`
 * hashes one more H point into the circuit hash, read past the end of a ptau of the circuit's power
 * (`hashedHPoints`): the tiny circuit of setup.test.ts (power 3) does not reach it. Slow suite (a big setup): 50 to
 * 65 s on 2 cores.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  releaseCurves,
  runContribute,
  runSetup,
  snarkjs,
  type RunSetupResult,
  type SetupLog,
} from "../../setup";
import { compileCircomSource } from "../helpers/circom-source";

/** Products in the chain: just above a domain of 2^14. */
const LINKS = 16_400;

// x[0] = a * a, x[i] = x[i-1] * a, y = x[LINKS-1] * k: one public input (k), one output (y).
// cost: LINKS + 1 constraints (one per product); requiredPower: 16,401 + 2 public signals + 1 = 16,404 rows -> 2^15.
const CHAIN = `pragma circom 2.1.0;
template Chain(N) {
  signal input a;
  signal input k;
  signal output y;
  signal x[N];
  x[0] <== a * a;
  for (var i = 1; i < N; i++) x[i] <== x[i - 1] * a;
  y <== x[N - 1] * k;
}
component main {public [k]} = Chain(${LINKS});
`;

const quiet: SetupLog = { info: () => {}, warn: () => {} };

let tmp: string;
let direct: RunSetupResult;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-setup-power15-"));
  const { r1cs, wasm } = compileCircomSource(tmp, "chain", CHAIN);
  const model = join(tmp, "chain.model.json");
  writeFileSync(model, JSON.stringify({ name: "chain test model" }));
  direct = await runSetup(
    {
      r1cs,
      wasm,
      model,
      out: join(tmp, "direct"),
    },
    quiet,
  );
});

afterAll(async () => {
  // snarkjs keeps the bn128 curve's worker threads alive in globalThis.curve_bn128.
  await releaseCurves();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("direct development setup above a domain of 2^14", () => {
  it("has power 15, its own ptau of that power", () => {
    expect(direct.manifest.circuit.constraints).toBe(LINKS + 1);
    expect(direct.ptau).toMatchObject({ requiredPower: 15, power: 15, dev: true });
    expect(direct.manifest.ptau.file).toBe("chain.dev-pot15.ptau");
  });

  it("records the circuit hash snarkjs's `zkey new` computes from the circuit and that ptau", async () => {
    const hash = await snarkjs.zKey.newZKey(
      direct.paths.r1cs,
      join(direct.dir, direct.manifest.ptau.file),
      join(tmp, "new.zkey"),
    );
    expect(Buffer.from(hash as Uint8Array).toString("hex")).toBe(direct.manifest.ceremony.circuitHash);
  });

  it("takes a ceremony contribution that snarkjs verifies against that ptau (the default)", async () => {
    const dir = join(tmp, "contributed");
    cpSync(direct.dir, dir, { recursive: true });
    // runContribute installs the contributed zkey only once snarkjs's `zkey verify` accepts it against the ptau.
    const result = await runContribute({ dir, name: "alice", entropy: "alice's dice rolls" }, quiet);
    expect(result.manifest.ceremony.steps.map((s) => s.name)).toEqual([
      "zkrisk development setup (INSECURE)",
      "alice",
    ]);
    expect(result.manifest.ceremony.circuitHash).toBe(direct.manifest.ceremony.circuitHash);
    expect(result.manifest.setup).toEqual({ method: "direct", insecure: true });
  });
});
