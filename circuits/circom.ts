/**
 * Running the circom compiler from the `circom2` npm package (circom 2.2.x compiled to WebAssembly): no
 * Rust toolchain, works offline. circom2 runs in a WASI sandbox that can see only the working directory and
 * its parents, so it is started in "/" with every path made relative to it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { packagePath } from "../core/package-root";
import { ZkriskError } from "../core/errors";
import { onInterrupt } from "../core/interrupt";

/** The circom compiler failed; the message carries its output. */
export class CircomError extends ZkriskError {
  constructor(message: string) {
    super("CIRCOM_FAILED", message);
  }
}

/** The folder of the template library (circuits/lib) and of circomlib's circuits. */
export const CIRCUIT_LIB_DIR = packagePath("circuits/lib");
export const CIRCOMLIB_DIR = dirname(require.resolve("circomlib/circuits/poseidon.circom"));

/** Paths of what circom wrote for `<name>.circom`. */
export interface CompiledCircuit {
  name: string;
  r1csPath: string;
  wasmPath: string;
  symPath: string;
  /** circom's summary (constraints, wires, ...), as printed. */
  log: string;
}

/** How long a child asked to stop (SIGTERM) has before it is killed (SIGKILL), ms. */
const STOP_GRACE_MS = 3_000;

/** Stop `child` (SIGTERM, then SIGKILL if it has not exited within {@link STOP_GRACE_MS}); resolves once it has. */
async function stopChild(child: ChildProcess, closed: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return closed;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Compile `circuitPath` into `outDir` (--r1cs --wasm --sym) at optimisation level `O` (default 2). When a signal
 * stops this process meanwhile (core/interrupt.ts), the compiler is stopped first.
 */
export function compileCircom(
  circuitPath: string,
  outDir: string,
  opts: { O?: 0 | 1 | 2 } = {},
): Promise<CompiledCircuit> {
  mkdirSync(outDir, { recursive: true });
  const bin = require.resolve("circom2/cli.js");
  const rel = (p: string) => relative("/", resolve(p)) || ".";
  const args = [
    bin,
    rel(circuitPath),
    "--r1cs",
    "--wasm",
    "--sym",
    `--O${opts.O ?? 2}`,
    "-l",
    rel(CIRCUIT_LIB_DIR),
    "-l",
    rel(CIRCOMLIB_DIR),
    "-o",
    rel(outDir),
  ];
  const name = circuitPath.replace(/^.*\//, "").replace(/\.circom$/, "");
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
    // circom is a process of its own: stopping zkrisk stops it, or it would go on writing into outDir.
    const forget = onInterrupt(() => stopChild(child, closed));
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("error", (err) => {
      forget();
      fail(new CircomError(`cannot run circom2: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      forget();
      if (signal !== null) {
        fail(new CircomError(`circom was stopped by ${signal} while compiling ${circuitPath}`));
        return;
      }
      const paths = {
        r1csPath: join(outDir, `${name}.r1cs`),
        wasmPath: join(outDir, `${name}_js`, `${name}.wasm`),
        symPath: join(outDir, `${name}.sym`),
      };
      if (code !== 0 || !existsSync(paths.r1csPath) || !existsSync(paths.wasmPath)) {
        fail(new CircomError(`circom failed on ${circuitPath} (exit ${code}):\n${log}`));
        return;
      }
      done({ name, ...paths, log });
    });
  });
}
