import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors";
import { sha256File } from "../../core/io";
import { loadArtifacts, MANIFEST_FILE, readManifest } from "../../setup/artifacts";
import { inProcessChain, rpcChain } from "../../onchain/chain";
import { deployVerifier } from "../../onchain/oracle";
import { DEV_KEYS, startHardhatNode, type HardhatNode } from "../helpers/hardhat-node";
import {
  checkPtau,
  contribute,
  DEV_PTAU_FLAG,
  devPtau,
  finalize,
  hashedHPoints,
  readCeremony,
  releaseCurves,
  requiredPower,
  requiredPowerForR1cs,
  runContribute,
  runSetup,
  SetupError,
  snarkjs,
  verifyZkey,
  type DevPtau,
  type DevPtauProgress,
  type RunSetupResult,
  type SetupLog,
  type VerificationKey,
} from "../../setup";
import { compileCircomSource } from "../helpers/circom-source";
import { goneProcessId, writeHeldLock } from "../helpers/build-locks";
import { readPtauHeader } from "../../circuits/binfile";

// Hardhat loads hardhat.config.ts with Node's require: under vitest nothing handles .ts there (as in
// test/contracts/fixture.ts).
const requireHere = createRequire(__filename);
if (!requireHere.extensions[".ts"]) requireHere("ts-node").register({ transpileOnly: true });

const ROOT = join(__dirname, "../..");

// Three multiplications: c = a*b, t = c*c, y = t*k. One private pair (a, b), one public input (k), one output (y).
// cost: 3 constraints (one per product); requiredPower: 3 + 2 public signals + 1 = 6 rows -> 2^3.
// Two public signals, both outputs: the shape of a signed update, so \`deployVerifier\` takes it (it deploys only
// the oracle's circuits' verifiers).
const TINY = `pragma circom 2.1.0;
template Tiny() {
  signal input a;
  signal input b;
  signal input k;
  signal output y;
  signal output kOut;
  signal c;
  signal t;
  c <== a * b;
  t <== c * c;
  y <== t * k;
  kOut <== k * a;
}
component main = Tiny();
`;

/** A log that remembers everything, for asserting on warnings. */
function recordingLog(): SetupLog & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return {
    lines,
    warnings,
    info: (m) => lines.push(m),
    warn: (m) => warnings.push(m),
  };
}

function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  const at = Math.min(offset, bytes.length - 1);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(file, bytes);
}

function expectSetupError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SetupError);
    expect((err as SetupError).code).toBe("SETUP_INVALID");
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error(`expected a SetupError matching ${pattern}`);
}

/** A proof of the tiny circuit from `result`'s zkey verifies with its exported key, and not for another output. */
async function expectTinyProofs(result: RunSetupResult): Promise<void> {
  const vkey = JSON.parse(readFileSync(result.paths.vkey, "utf8")) as VerificationKey;
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(
    { a: 3, b: 5, k: 2 },
    result.paths.wasm,
    result.paths.zkey,
  );
  // The outputs in declaration order: y = (3*5)^2 * 2 = 450, kOut = 2 * 3 = 6.
  expect(publicSignals).toEqual(["450", "6"]);
  expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).toBe(true);
  expect(await snarkjs.groth16.verify(vkey, ["451", "6"], proof)).toBe(false);
}

let tmp: string;
let cacheDir: string;
let r1cs: string;
let wasm: string;
let model: string;
let ptau: DevPtau;
const progress: DevPtauProgress[] = [];
const ptauLog = recordingLog();
/** The ceremony path (snarkjs's phase 2) on the cached development ptau. */
let setup: RunSetupResult;
/** The default: a direct development setup. */
let direct: RunSetupResult;
const directLog = recordingLog();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "zkrisk-setup-"));
  cacheDir = join(tmp, "cache");
  ({ r1cs, wasm } = compileCircomSource(tmp, "tiny", TINY));
  model = join(tmp, "tiny.model.json");
  writeFileSync(model, JSON.stringify({ name: "tiny test model", weights: [1, 2, 3] }));

  ptau = await devPtau(3, { cacheDir, log: ptauLog, onProgress: (p) => progress.push(p) });
  setup = await runSetup(
    { r1cs, wasm, model, out: join(tmp, "artifacts"), ptau: DEV_PTAU_FLAG, cacheDir },
    recordingLog(),
  );
  direct = await runSetup({ r1cs, wasm, model, out: join(tmp, "direct") }, directLog);
});

afterAll(async () => {
  // snarkjs keeps the bn128 curve's worker threads alive in globalThis.curve_bn128.
  await releaseCurves();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("requiredPower", () => {
  it("is the smallest power >= 1 with 2^power >= constraints + public signals + 1", () => {
    expect(requiredPower(0, 0)).toBe(1);
    expect(requiredPower(1, 0)).toBe(1); // 2 rows
    expect(requiredPower(2, 0)).toBe(2); // 3 rows
    expect(requiredPower(3, 2)).toBe(3); // 6 rows
    expect(requiredPower(5, 2)).toBe(3); // 8 rows: exactly 2^3
    expect(requiredPower(6, 2)).toBe(4); // 9 rows
    expect(requiredPower(2 ** 15 - 1, 0)).toBe(15);
    expect(requiredPower(2 ** 15, 0)).toBe(16);
    expect(requiredPower(2 ** 28 - 1, 0)).toBe(28);
  });

  it("refuses sizes beyond bn128's 2^28 domain and invalid counts", () => {
    expectSetupError(() => requiredPower(2 ** 28, 0), /2\^29.*maximum 2\^28/);
    expectSetupError(() => requiredPower(-1, 0), /constraints must be a non-negative integer, got -1/);
    expectSetupError(() => requiredPower(3, 1.5), /publicSignals must be a non-negative integer, got 1.5/);
  });

  it("reads the circuit's sizes from its r1cs", () => {
    expect(requiredPowerForR1cs(r1cs)).toBe(3);
  });
});

describe("ptau", () => {
  it("generates a dev ptau once, warns loudly, and reuses the cached file", async () => {
    expect(ptau).toMatchObject({ power: 3, requestedPower: 3, cached: false, dev: true });
    expect(ptau.path).toBe(join(cacheDir, "dev-pot3.ptau"));
    // Progress runs through the file's point sections in order, to the last unit of work.
    expect([...new Set(progress.map((p) => p.stage))]).toEqual([
      "tauG1",
      "tauG2",
      "alphaTauG1",
      "betaTauG1",
      "betaG2",
      "lagrangeTauG1",
      "lagrangeTauG2",
      "lagrangeAlphaTauG1",
      "lagrangeBetaTauG1",
    ]);
    expect(progress.at(-1)!.step).toBe(progress.at(-1)!.steps);
    expect(ptauLog.warnings.join("\n")).toMatch(/INSECURE DEVELOPMENT PTAU/);

    const mtime = statSync(ptau.path).mtimeMs;
    const log = recordingLog();
    const again = await devPtau(3, { cacheDir, log });
    expect(again).toMatchObject({ path: ptau.path, cached: true, power: 3 });
    expect(statSync(ptau.path).mtimeMs).toBe(mtime);
    expect(log.warnings.join("\n")).toMatch(/INSECURE/);
  });

  it("serves a smaller power from a larger cached file", async () => {
    const smaller = await devPtau(2, { cacheDir });
    expect(smaller).toMatchObject({ path: ptau.path, power: 3, requestedPower: 2, cached: true });
  });

  it("lets concurrent callers share one generation", async () => {
    const dir = join(tmp, "cache-concurrent");
    const [a, b] = await Promise.all([devPtau(2, { cacheDir: dir }), devPtau(2, { cacheDir: dir })]);
    expect(a.path).toBe(b.path);
    expect([a.cached, b.cached].sort()).toEqual([false, true]);
    expect(existsSync(join(dir, "dev-pot2.lock"))).toBe(false);
  });

  it("takes over a lock left by a dead process", async () => {
    const dir = join(tmp, "cache-stale");
    mkdirSync(dir);
    writeHeldLock(join(dir, "dev-pot1.lock"), goneProcessId());
    const log = recordingLog();
    const got = await devPtau(1, { cacheDir: dir, log });
    expect(got.cached).toBe(false);
    expect(log.warnings.join("\n")).toMatch(/abandoned lock/);
  });

  it("refuses a ptau too small, naming the power needed and the power it has", async () => {
    const small = await devPtau(2, { cacheDir: join(tmp, "cache-concurrent") });
    expect(small.power).toBe(2);
    await expect(checkPtau(small.path, 3)).rejects.toThrow(/needs power 3 .* has power 2/);
    await expect(checkPtau(small.path, 3)).rejects.toBeInstanceOf(SetupError);
    // snarkjs draws the boundary at the same place: power 2 is refused for this circuit, power 3 accepted (setup).
    const logged: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => logged.push(m) };
    expect(await snarkjs.zKey.newZKey(r1cs, small.path, join(tmp, "refused.zkey"), logger)).toBe(-1);
    expect(logged.join("\n")).toMatch(/circuit too big/);
  });

  it("refuses a ptau not prepared for phase 2", async () => {
    const raw = join(tmp, "raw.ptau");
    await snarkjs.powersOfTau.newAccumulator(await snarkjs.curves.getCurveFromName("bn128"), 3, raw);
    await expect(checkPtau(raw, 3)).rejects.toThrow(/raw.ptau: ptau is not prepared for phase 2/);
  });

  it("refuses a directory given as a ptau, naming it (no bare EISDIR)", async () => {
    const reason = new SetupError(`${tmp}: is a directory, not a file`);
    expect(() => readPtauHeader(tmp)).toThrow(reason);
    await expect(checkPtau(tmp, 3)).rejects.toThrow(reason);
    await expect(checkPtau(tmp, 3)).rejects.toBeInstanceOf(SetupError);
  });

  it("verifies a ptau's contributions only when asked", async () => {
    // A ptau from snarkjs's own ceremony steps verifies ...
    const curve = await snarkjs.curves.getCurveFromName("bn128");
    const steps = ["new", "contributed", "prepared"].map((n) => join(tmp, `ceremony-${n}.ptau`));
    await snarkjs.powersOfTau.newAccumulator(curve, 3, steps[0]!);
    await snarkjs.powersOfTau.contribute(steps[0]!, steps[1]!, "test", "test entropy");
    await snarkjs.powersOfTau.preparePhase2(steps[1]!, steps[2]!);
    const info = await checkPtau(steps[2]!, 3, { verify: true });
    expect(info).toMatchObject({ power: 3, preparedPhase2: true, sha256: sha256File(steps[2]!) });
    // ... while a development ptau, which no ceremony made, is accepted for its size but fails verification.
    await expect(checkPtau(ptau.path, 3)).resolves.toMatchObject({ power: 3 });
    await expect(checkPtau(ptau.path, 3, { verify: true })).rejects.toThrow(/has no contribution/);
  });

  it("holds the Lagrange sections snarkjs's prepare phase2 computes from its powers", async () => {
    // prepare phase2 copies sections 1-7 and recomputes 12-15 by FFT: the two files must be identical.
    const prepared = join(tmp, "dev-prepared.ptau");
    await snarkjs.powersOfTau.preparePhase2(ptau.path, prepared);
    expect(readFileSync(prepared).equals(readFileSync(ptau.path))).toBe(true);
  });
});

describe("setup", () => {
  it("writes every artifact and a manifest with their hashes", () => {
    const m = setup.manifest;
    expect(setup.ptau).toMatchObject({ requiredPower: 3, power: 3, dev: true, cached: true });
    expect(m.setup).toEqual({ method: "ceremony", insecure: true });
    expect(m.circuit).toMatchObject({
      name: "tiny",
      constraints: 4,
      publicSignals: 2,
      outputs: 2,
      publicInputs: 0,
    });
    expect(m.ptau).toEqual({ file: "dev-pot3.ptau", power: 3, sha256: sha256File(ptau.path), dev: true });
    expect(m.ceremony.steps.map((s) => s.kind)).toEqual(["contribution", "beacon"]);
    expect(m.ceremony.steps[0]!.name).toBe("zkrisk setup");
    for (const kind of ["r1cs", "wasm", "zkey", "vkey", "verifier"] as const) {
      const file = setup.paths[kind];
      expect(existsSync(file), file).toBe(true);
      expect(m.files[kind].sha256).toBe(sha256File(file));
    }
    expect(m.model.sha256).toBe(sha256File(model));
    expect(readManifest(setup.dir)).toEqual(m);
    expect(readdirSync(setup.dir).sort()).toEqual(
      [
        MANIFEST_FILE,
        "Groth16Verifier.sol",
        "tiny.r1cs",
        "tiny.wasm",
        "tiny.zkey",
        "verification_key.json",
      ].sort(),
    );
  });

  it("produces a zkey whose Groth16 proofs verify with the exported key", async () => {
    await expectTinyProofs(setup);
  });

  it("exports a generated Solidity verifier sized for the public signals", () => {
    const sol = readFileSync(setup.paths.verifier, "utf8");
    expect(sol.split("\n")[0]).toMatch(/^\/\/ SPDX-License-Identifier/);
    expect(sol).toMatch(/GENERATED FILE: do not edit/);
    expect(sol).toMatch(/contract Groth16Verifier/);
    expect(sol).toMatch(/uint\[2\] calldata _pubSignals/);
  });
});

describe("ceremony", () => {
  it("adds a contribution that verifies, changes delta, and is recorded with its hash", async () => {
    const dir = join(tmp, "contributed");
    cpSync(setup.dir, dir, { recursive: true });
    const oldVkey = JSON.parse(readFileSync(join(dir, "verification_key.json"), "utf8")) as VerificationKey;

    const result = await runContribute(
      { dir, name: "alice", entropy: "alice's dice rolls", cacheDir },
      recordingLog(),
    );
    const steps = result.manifest.ceremony.steps;
    expect(steps.map((s) => s.name)).toEqual(["zkrisk setup", "zkrisk final beacon", "alice"]);
    // The hashes read back from the zkey are the ones snarkjs returned when contributing.
    expect(steps[2]!.hash).toBe(result.contribution.hash);
    expect(steps.slice(0, 2)).toEqual(setup.manifest.ceremony.steps);
    expect(result.manifest.ceremony.circuitHash).toBe(setup.manifest.ceremony.circuitHash);

    await verifyZkey(result.paths.r1cs, ptau.path, result.paths.zkey);
    const newVkey = JSON.parse(readFileSync(result.paths.vkey, "utf8")) as VerificationKey;
    expect(newVkey.vk_delta_2).not.toEqual(oldVkey.vk_delta_2);
    expect(newVkey.vk_alpha_1).toEqual(oldVkey.vk_alpha_1);

    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      { a: 2, b: 7, k: 3 },
      result.paths.wasm,
      result.paths.zkey,
    );
    expect(await snarkjs.groth16.verify(newVkey, publicSignals, proof)).toBe(true);
    expect(await snarkjs.groth16.verify(oldVkey, publicSignals, proof)).toBe(false);
    expect(loadArtifacts(dir).manifest).toEqual(result.manifest);
    expect(readFileSync(result.paths.verifier, "utf8")).not.toBe(readFileSync(setup.paths.verifier, "utf8"));
  });

  it("refuses a contributor name snarkjs would drop or cut", async () => {
    const zkeyOut = join(tmp, "unused.zkey");
    await expect(contribute({ zkeyIn: setup.paths.zkey, zkeyOut, name: "" })).rejects.toThrow(
      /1 to 64 characters/,
    );
    await expect(contribute({ zkeyIn: setup.paths.zkey, zkeyOut, name: "x".repeat(65) })).rejects.toThrow(
      /1 to 64 characters, got 65/,
    );
    expect(existsSync(zkeyOut)).toBe(false);
  });

  it("refuses to install a zkey that drops earlier contributions", async () => {
    const dir = join(tmp, "contributed");
    const before = sha256File(join(dir, "tiny.zkey"));
    // The original setup's zkey is valid for the circuit but lacks alice's contribution.
    await expect(finalize({ dir, zkeyPath: setup.paths.zkey, ptauPath: ptau.path })).rejects.toThrow(
      /does not extend the current ceremony: step 3 \(alice.*missing/,
    );
    expect(sha256File(join(dir, "tiny.zkey"))).toBe(before);
    expect((await readCeremony(join(dir, "tiny.zkey"))).steps).toHaveLength(3);
  });

  it("refuses a ptau other than the one the setup used", async () => {
    const other = await devPtau(2, { cacheDir: join(tmp, "cache-concurrent") });
    await expect(
      runContribute({ dir: join(tmp, "contributed"), name: "bob", ptau: other.path }, recordingLog()),
    ).rejects.toThrow(/ptau sha256 [0-9a-f]{64} does not match [0-9a-f]{64}/);
  });

  it("refuses a malformed --beacon, an unreadable --ptau or a directory for a file before contributing", async () => {
    const dir = join(tmp, "contributed");
    const before = sha256File(join(dir, "tiny.zkey"));
    const refused = (options: { beaconHash?: string; ptau?: string; model?: string }) =>
      runContribute({ dir, name: "erin", ...options }, recordingLog());
    await expect(refused({ beaconHash: "zz" })).rejects.toThrow(
      new UsageError("--beacon: 'zz' is not a beacon hash (1 to 255 bytes of hex)"),
    );
    await expect(refused({ beaconHash: "abc" })).rejects.toThrow(/--beacon: 'abc' is not a beacon hash/);
    const notPtau = join(tmp, "not-a.ptau");
    writeFileSync(notPtau, "not a ptau file");
    await expect(refused({ ptau: notPtau })).rejects.toThrow(/^--ptau: .*not-a\.ptau: not a \.ptau file/);
    await expect(refused({ ptau: join(tmp, "missing.ptau") })).rejects.toThrow(
      new UsageError(`--ptau: ${join(tmp, "missing.ptau")}: file not found`),
    );
    await expect(refused({ ptau: tmp })).rejects.toThrow(
      new UsageError(`--ptau: '${tmp}' is a directory, not a file`),
    );
    await expect(refused({ model: tmp })).rejects.toThrow(
      new UsageError(`--model: '${tmp}' is a directory, not a file`),
    );
    await expect(refused({ ptau: notPtau })).rejects.toBeInstanceOf(UsageError);
    expect(sha256File(join(dir, "tiny.zkey"))).toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith(".contribute-"))).toEqual([]);
  });
});

describe("direct development setup", () => {
  it("records an INSECURE direct setup: its own ptau, one contribution, every file hashed", () => {
    const m = direct.manifest;
    expect(m.setup).toEqual({ method: "direct", insecure: true });
    expect(m.ptau).toEqual({
      file: "tiny.dev-pot3.ptau",
      power: 3,
      sha256: sha256File(join(direct.dir, "tiny.dev-pot3.ptau")),
      dev: true,
    });
    expect(direct.ptau).toMatchObject({ requiredPower: 3, power: 3, dev: true, cached: false });
    expect(m.ceremony.steps).toEqual([
      {
        kind: "contribution",
        name: "zkrisk development setup (INSECURE)",
        hash: expect.stringMatching(/^[0-9a-f]{128}$/),
      },
    ]);
    for (const kind of ["r1cs", "wasm", "zkey", "vkey", "verifier"] as const) {
      expect(m.files[kind].sha256).toBe(sha256File(direct.paths[kind]));
    }
    expect(readdirSync(direct.dir).sort()).toEqual(
      [
        MANIFEST_FILE,
        "Groth16Verifier.sol",
        "tiny.dev-pot3.ptau",
        "tiny.r1cs",
        "tiny.wasm",
        "tiny.zkey",
        "verification_key.json",
      ].sort(),
    );
    expect(directLog.warnings.join("\n")).toMatch(/INSECURE development setup/);
  });

  it("passes `snarkjs zkey verify` against its ptau (the snarkjs command line)", () => {
    const cli = join(ROOT, "node_modules/snarkjs/cli.js");
    const run = spawnSync(
      process.execPath,
      [
        cli,
        "zkey",
        "verify",
        direct.paths.r1cs,
        join(direct.dir, direct.manifest.ptau.file),
        direct.paths.zkey,
      ],
      { encoding: "utf8" },
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ZKey Ok!/);
    // The same key checked against another ptau of the same power is refused.
    const other = spawnSync(
      process.execPath,
      [cli, "zkey", "verify", direct.paths.r1cs, ptau.path, direct.paths.zkey],
      {
        encoding: "utf8",
      },
    );
    expect(other.stdout + other.stderr).not.toMatch(/ZKey Ok!/);
  });

  it("has the circuit hash snarkjs computes for the circuit and ptau", async () => {
    // zkey new rebuilds the key before any contribution from the same ptau: its hash must be the recorded one.
    const fresh = join(tmp, "direct-new.zkey");
    const hash = await snarkjs.zKey.newZKey(
      direct.paths.r1cs,
      join(direct.dir, direct.manifest.ptau.file),
      fresh,
    );
    expect(Buffer.from(hash as Uint8Array).toString("hex")).toBe(direct.manifest.ceremony.circuitHash);
  });

  it("proves with snarkjs and verifies with the exported key; a changed signal is refused", async () => {
    await expectTinyProofs(direct);
  });

  it("takes a ceremony contribution on top, checked against its own ptau", async () => {
    const dir = join(tmp, "direct-contributed");
    cpSync(direct.dir, dir, { recursive: true });
    const result = await runContribute({ dir, name: "carol", entropy: "carol's coin flips" }, recordingLog());
    expect(result.manifest.ceremony.steps.map((s) => s.name)).toEqual([
      "zkrisk development setup (INSECURE)",
      "carol",
    ]);
    expect(result.manifest.setup).toEqual({ method: "direct", insecure: true });
  });

  it("refuses a contribution when its ptau was edited by one byte", async () => {
    const dir = join(tmp, "direct-edited-ptau");
    cpSync(direct.dir, dir, { recursive: true });
    flipByte(join(dir, direct.manifest.ptau.file), 1000);
    await expect(runContribute({ dir, name: "dave" }, recordingLog())).rejects.toThrow(
      /tiny.dev-pot3.ptau: ptau sha256 [0-9a-f]{64} does not match/,
    );
  });

  it("refuses a contribution when its ptau is gone, saying to give it with --ptau", async () => {
    const dir = join(tmp, "direct-no-ptau");
    cpSync(direct.dir, dir, { recursive: true });
    const ptauPath = join(dir, direct.manifest.ptau.file);
    rmSync(ptauPath);
    await expect(runContribute({ dir, name: "dave" }, recordingLog())).rejects.toThrow(
      new SetupError(`${ptauPath}: the ptau ${dir} was set up with is missing: give it with --ptau`),
    );
  });

  it("refuses to replace the keys of a directory already set up, unless forced", async () => {
    const dir = join(tmp, "direct-again");
    cpSync(direct.dir, dir, { recursive: true });
    const zkeyBefore = sha256File(join(dir, "tiny.zkey"));
    await expect(runSetup({ r1cs, wasm, model, out: dir }, recordingLog())).rejects.toThrow(
      /artifacts.json: .* already holds a set-up circuit.*--force/,
    );
    expect(sha256File(join(dir, "tiny.zkey"))).toBe(zkeyBefore);
    const again = await runSetup({ r1cs, wasm, model, out: dir, force: true }, recordingLog());
    // Fresh secrets: a new key and a new delta, for the same circuit.
    expect(sha256File(again.paths.zkey)).not.toBe(zkeyBefore);
    expect(again.manifest.ceremony.circuitHash).not.toBe(direct.manifest.ceremony.circuitHash);
  });

  it("refuses a zkey edited by one byte", () => {
    const dir = join(tmp, "direct-edited-zkey");
    cpSync(direct.dir, dir, { recursive: true });
    flipByte(join(dir, "tiny.zkey"), 300);
    expectSetupError(() => loadArtifacts(dir), /tiny.zkey: zkey sha256 [0-9a-f]{64} does not match/);
  });

  it("hashes the H points `zkey new` hashes: n - 1 up to a domain of 2^14, n above", () => {
    // zkey_new.js hashHPoints: chunks of min(n - 1, 2^14) points while i < n - 1.
    expect(hashedHPoints(2)).toBe(1);
    expect(hashedHPoints(8)).toBe(7);
    expect(hashedHPoints(2 ** 14)).toBe(2 ** 14 - 1);
    expect(hashedHPoints(2 ** 15)).toBe(2 ** 15);
    expect(hashedHPoints(2 ** 18)).toBe(2 ** 18);
  });

  it("refuses a --ptau that is a directory before any work", async () => {
    const out = join(tmp, "never-set-up");
    await expect(runSetup({ r1cs, wasm, model, out, ptau: tmp }, recordingLog())).rejects.toThrow(
      new UsageError(`--ptau: '${tmp}' is a directory, not a file`),
    );
    expect(existsSync(out)).toBe(false);
  });

  it("refuses --beacon without --ptau, and a malformed one with --ptau dev, before any work", async () => {
    const out = join(tmp, "never-set-up");
    const devCache = join(tmp, "cache-never");
    await expect(runSetup({ r1cs, wasm, model, out, beaconHash: "00ff" }, recordingLog())).rejects.toThrow(
      new UsageError(
        "--beacon 00ff: the direct development setup (no --ptau) has no beacon; a beacon closes snarkjs's " +
          "phase 2 (--ptau FILE or --ptau dev)",
      ),
    );
    await expect(
      runSetup(
        { r1cs, wasm, model, out, ptau: DEV_PTAU_FLAG, cacheDir: devCache, beaconHash: "zz" },
        recordingLog(),
      ),
    ).rejects.toThrow(new UsageError("--beacon: 'zz' is not a beacon hash (1 to 255 bytes of hex)"));
    expect(existsSync(out)).toBe(false);
    expect(existsSync(devCache)).toBe(false);
  });
});

describe("deploying an insecure setup", () => {
  let node: HardhatNode;
  let secure: RunSetupResult;
  beforeAll(async () => {
    node = await startHardhatNode(1337);
    // A ceremony on a ptau that is not a development one counts as secure.
    secure = await runSetup(
      { r1cs, wasm, model, out: join(tmp, "secure"), ptau: join(tmp, "ceremony-prepared.ptau") },
      recordingLog(),
    );
  });
  afterAll(() => node?.stop());

  it("is allowed on the local chain 31337", async () => {
    const chain = await inProcessChain();
    expect(chain.chainId).toBe(31337n);
    const verifier = await deployVerifier(chain.signer, direct.dir);
    expect(await verifier.getAddress()).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it("is refused on another chain unless explicitly allowed, saying why", async () => {
    const chain = await rpcChain(node.rpc, DEV_KEYS[0]);
    try {
      expect(chain.chainId).toBe(1337n);
      const refused = deployVerifier(chain.signer, direct.dir);
      await expect(refused).rejects.toMatchObject({ code: "SETUP_INSECURE" });
      await expect(deployVerifier(chain.signer, direct.dir)).rejects.toThrow(
        /setup is INSECURE \(a direct development setup\).*chain 1337.*--allow-insecure-setup/,
      );
      await expect(deployVerifier(chain.signer, setup.dir)).rejects.toThrow(/phase 2 on a development ptau/);
      const allowed = await deployVerifier(chain.signer, direct.dir, { allowInsecureSetup: true });
      expect(await allowed.getAddress()).toMatch(/^0x/);
      expect(secure.manifest.setup).toEqual({ method: "ceremony", insecure: false });
      expect(await (await deployVerifier(chain.signer, secure.dir)).getAddress()).toMatch(/^0x/);
    } finally {
      await chain.close();
    }
  });
});

describe("loadArtifacts", () => {
  it("accepts an untouched artifact directory", () => {
    const loaded = loadArtifacts(setup.dir);
    expect(loaded.modelPath).toBe(model);
    expect(loaded.paths.zkey).toBe(setup.paths.zkey);
  });

  for (const [kind, file] of [
    ["zkey", "tiny.zkey"],
    ["wasm", "tiny.wasm"],
    ["vkey", "verification_key.json"],
  ] as const) {
    it(`refuses a tampered ${kind}, naming the file and both hashes`, () => {
      const dir = join(tmp, `tampered-${kind}`);
      cpSync(setup.dir, dir, { recursive: true });
      const expected = setup.manifest.files[kind].sha256;
      flipByte(join(dir, file), 200);
      expectSetupError(
        () => loadArtifacts(dir, { modelPath: model }),
        new RegExp(`${file}: ${kind} sha256 [0-9a-f]{64} does not match ${expected}`),
      );
    });
  }

  it("refuses a model file that differs from the manifest's", () => {
    const tampered = join(tmp, "tampered.model.json");
    cpSync(model, tampered);
    flipByte(tampered, 5);
    expectSetupError(
      () => loadArtifacts(setup.dir, { modelPath: tampered }),
      new RegExp(
        `tampered.model.json: model sha256 [0-9a-f]{64} does not match ${setup.manifest.model.sha256}`,
      ),
    );
  });

  it("refuses a --model that is a directory or missing, naming the option", () => {
    expect(() => loadArtifacts(setup.dir, { modelPath: tmp })).toThrow(
      new UsageError(`--model: '${tmp}' is a directory, not a file`),
    );
    const missing = join(tmp, "no-such.model.json");
    expect(() => loadArtifacts(setup.dir, { modelPath: missing })).toThrow(
      new UsageError(`--model: ${missing}: file not found`),
    );
  });

  it("refuses a recorded model path where a directory stands, naming the manifest", () => {
    const copy = join(tmp, "recorded-model-directory", "artifacts");
    cpSync(setup.dir, copy, { recursive: true });
    // The manifest records the model relative to the artifact directory (../tiny.model.json): a directory there.
    mkdirSync(join(copy, setup.manifest.model.path), { recursive: true });
    expectSetupError(
      () => loadArtifacts(copy),
      /model file listed in .*artifacts\.json is not a regular file/,
    );
  });

  it("refuses a directory without a manifest", () => {
    expectSetupError(() => loadArtifacts(join(tmp, "build")), /no artifact manifest/);
  });
});
