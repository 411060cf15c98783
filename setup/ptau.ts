/**
 * Phase 1 of the Groth16 trusted setup: the powers-of-tau (`.ptau`) file. How big it must be for a circuit, how to
 * check one we did not make, and a cached, clearly INSECURE development ptau for local work and tests.
 */
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, isAbsolute, join } from "node:path";
import { writeFileVia } from "../core/atomic-file";
import { sha256File } from "../core/io";
import { readPtauHeader, readR1csHeader, type PtauHeader } from "../circuits/binfile";
import { SetupError } from "../core/errors";
import { silentLog, snarkjsLogger, type SetupLog } from "./log";
import { snarkjs } from "./snarkjs";
import { writeDirectPtau } from "./direct-ptau";
import { buildOnce } from "../core/build-lock";

/**
 * Largest power a bn128 ptau can have: 2^28 is the largest power-of-two subgroup of the scalar field (the field's
 * 2-adicity, `Fr.s` in ffjavascript), so no Groth16 domain over bn128 can be larger.
 */
export const MAX_PTAU_POWER = 28;

/**
 * The smallest ptau power that snarkjs accepts for a Groth16 circuit: the smallest `power >= 1` with
 * `2^power >= constraints + publicSignals + 1`.
 *
 * This is snarkjs's own rule, in `newZKey` (node_modules/snarkjs/src/zkey_new.js):
 * `cirPower = log2(nConstraints + nPubInputs + nOutputs + 1 - 1) + 1` with `log2` the floor of the base-2 logarithm
 * (src/misc.js), the evaluation domain is `2^cirPower`, and the ptau is refused when `cirPower > power`. The `+ 1`
 * and the public signals come from the extra constraints snarkjs adds to bind each public signal (and the constant
 * one wire) to the proof. `floor(log2(n - 1)) + 1` is the smallest `p >= 1` with `2^p >= n`.
 *
 * @param constraints number of r1cs constraints (circom's "non-linear + linear constraints" after simplification)
 * @param publicSignals public outputs plus public inputs (`nOutputs + nPubInputs`); 0 gives a lower bound only
 * @returns the power (log2 of the domain size); throws a {@link SetupError} above {@link MAX_PTAU_POWER}
 */
export function requiredPower(constraints: number, publicSignals = 0): number {
  for (const [name, value] of [
    ["constraints", constraints],
    ["publicSignals", publicSignals],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SetupError(`${name} must be a non-negative integer, got ${value}`);
    }
  }
  const rows = constraints + publicSignals + 1;
  let power = 1;
  while (2 ** power < rows) power++;
  if (power > MAX_PTAU_POWER) {
    throw new SetupError(
      `circuit needs a domain of 2^${power} >= ${rows} rows (constraints ${constraints} + public signals ` +
        `${publicSignals} + 1), above bn128's maximum 2^${MAX_PTAU_POWER}`,
    );
  }
  return power;
}

/**
 * The ptau power a compiled circuit needs, from its `.r1cs` header (see {@link requiredPower}).
 * @param r1csPath path of the circuit's `.r1cs` file
 */
export function requiredPowerForR1cs(r1csPath: string): number {
  const h = readR1csHeader(r1csPath);
  return requiredPower(h.constraints, h.outputs + h.publicInputs);
}

/** What zkrisk knows about a ptau file. */
export interface PtauInfo extends PtauHeader {
  /** Path of the file, as given. */
  path: string;
  /** sha256 of the file's bytes, lowercase hex. */
  sha256: string;
  /** File size in bytes. */
  bytes: number;
}

/**
 * Read a ptau file's header (power, whether phase 2 is prepared) and hash it. Reads the whole file once for the hash
 * (a power-20 file is about 1.2 GB).
 * @param file path of the `.ptau` file
 */
export function ptauInfo(file: string): PtauInfo {
  const header = readPtauHeader(file);
  return { ...header, path: file, sha256: sha256File(file), bytes: statSync(file).size };
}

/** Options of {@link checkPtau}. */
export interface CheckPtauOptions {
  /**
   * Also check every contribution of the file with snarkjs `powersOfTau.verify`. Slow (minutes for power 15, hours
   * for power 20+): use it once for a ptau obtained from elsewhere, never for one {@link devPtau} made.
   */
  verify?: boolean;
  log?: SetupLog;
}

/**
 * Check that a ptau file can serve a circuit of the given power: bn128, prepared for phase 2 and large enough; with
 * `verify`, also check its contribution chain. Throws a {@link SetupError} that names the power needed and the power
 * the file has.
 * @param file path of the `.ptau` file
 * @param power power the circuit needs ({@link requiredPower})
 * @returns the file's header and sha256
 */
export async function checkPtau(
  file: string,
  power: number,
  options: CheckPtauOptions = {},
): Promise<PtauInfo> {
  const header = readPtauHeader(file);
  if (header.power < power) {
    throw new SetupError(
      `${file}: ptau too small: the circuit needs power ${power} (a domain of 2^${power}) but the file has power ` +
        `${header.power}; use a ptau of power >= ${power}`,
    );
  }
  if (!header.preparedPhase2) {
    throw new SetupError(
      `${file}: ptau is not prepared for phase 2 (no Lagrange section); run \`snarkjs powersoftau prepare phase2\` ` +
        `on it or use a *_final.ptau`,
    );
  }
  if (options.verify) {
    const log = options.log ?? silentLog;
    log.info(`verifying every contribution of ${file} (slow)`);
    const logger = snarkjsLogger(log);
    const ok = await snarkjs.powersOfTau.verify(file, logger);
    if (!ok) {
      throw new SetupError(
        `${file}: ptau does not verify: ${logger.errors.join("; ") || "snarkjs reported failure"}`,
      );
    }
  }
  return ptauInfo(file);
}

/**
 * Directory of zkrisk's cached development ptau files: `$ZKRISK_CACHE_DIR/ptau` when that is set, else
 * `$XDG_CACHE_HOME/zkrisk/ptau`, else `~/.cache/zkrisk/ptau`.
 * @param env environment to read (defaults to `process.env`)
 */
export function defaultPtauCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const root =
    env.ZKRISK_CACHE_DIR || join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "zkrisk");
  return join(root, "ptau");
}

/**
 * Progress of {@link devPtau}: `step` of `steps` work units (points, a G2 point counting 4) done, `stage` the section
 * being written; `waiting` (step 0) means another process holds the lock for this power.
 */
export interface DevPtauProgress {
  stage: string;
  step: number;
  steps: number;
}

/** Options of {@link devPtau}. */
export interface DevPtauOptions {
  /** Directory holding the `dev-pot{power}.ptau` files (default {@link defaultPtauCacheDir}). */
  cacheDir?: string;
  /** Called as sections are written. */
  onProgress?: (progress: DevPtauProgress) => void;
  /** Receives the insecurity warning (on every call) and progress messages. */
  log?: SetupLog;
}

/** A development ptau from {@link devPtau}. */
export interface DevPtau {
  /** Path of the cached file. */
  path: string;
  /** Power of the file (>= the power asked for: a larger cached file is reused). */
  power: number;
  /** Power that was asked for. */
  requestedPower: number;
  /** `true` when an existing file was reused, `false` when this call generated it. */
  cached: boolean;
  /** Always `true`: a dev ptau must never back a deployed verifier. */
  dev: true;
}

const DEV_FILE = /^dev-pot(\d+)\.ptau$/;

/** File name of the development ptau of a given power inside the cache directory. */
export function devPtauFileName(power: number): string {
  return `dev-pot${power}.ptau`;
}

function insecureWarning(path: string): string {
  return [
    "*** INSECURE DEVELOPMENT PTAU ***",
    `${path} was generated on this machine by a single party (zkrisk devPtau).`,
    "Anyone who could read this process's memory while it ran could know tau and forge proofs for any circuit",
    "set up with it. Use it for local development and tests only; never for a deployed verifier.",
    "For production pass --ptau with a file from a public ceremony (e.g. the Perpetual Powers of Tau).",
  ].join("\n");
}

/** The smallest usable cached dev ptau of power >= `power`, if any; unreadable files are skipped with a warning. */
function findCached(dir: string, power: number, log: SetupLog): { path: string; power: number } | undefined {
  const candidates = readdirSync(dir)
    .map((f) => ({ f, m: DEV_FILE.exec(f) }))
    .filter((c): c is { f: string; m: RegExpExecArray } => c.m !== null && Number(c.m[1]) >= power)
    .map((c) => ({ path: join(dir, c.f), power: Number(c.m[1]) }))
    .sort((a, b) => a.power - b.power);
  for (const c of candidates) {
    try {
      const h = readPtauHeader(c.path);
      if (h.power === c.power && h.preparedPhase2) return c;
      log.warn(`${c.path}: ignoring cached dev ptau (header power ${h.power}, prepared ${h.preparedPhase2})`);
    } catch (err) {
      log.warn(`${c.path}: ignoring unreadable cached dev ptau: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/**
 * A LOCAL DEVELOPMENT ptau of at least `power`, cached at `{cacheDir}/dev-pot{power}.ptau` and reused when present
 * (a cached file of a larger power also serves: snarkjs accepts a larger ptau). It is computed directly from secrets
 * this process draws and discards ({@link writeDirectPtau}), seconds instead of the minutes of snarkjs's ceremony
 * steps (power 15: 736 s that way here). It has no contribution record, so `snarkjs powersoftau verify` reports that
 * it has no contribution: it comes from no ceremony. Use it to rehearse snarkjs's phase 2 (`zkrisk setup --ptau dev`).
 *
 * INSECURE: one machine knows (or could have known) tau. Every call sends a loud warning to `log.warn`.
 *
 * Concurrency: the file is written under a temporary name and renamed into place, so a reader never sees half a
 * file; a lock file `dev-pot{power}.lock` (holder pid and host, touched every 5 s) makes a second process wait for
 * the first instead of generating the same file again. A lock whose holder died (same host) or that has not been
 * touched for 10 minutes is taken over.
 *
 * @param power smallest power wanted (1..{@link MAX_PTAU_POWER}), usually {@link requiredPower}
 */
export async function devPtau(power: number, options: DevPtauOptions = {}): Promise<DevPtau> {
  if (!Number.isInteger(power) || power < 1 || power > MAX_PTAU_POWER) {
    throw new SetupError(`ptau power must be an integer in 1..${MAX_PTAU_POWER}, got ${power}`);
  }
  const log = options.log ?? silentLog;
  const dir = options.cacheDir ?? defaultPtauCacheDir();
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, `dev-pot${power}.lock`);

  const found = (hit: { path: string; power: number }, cached: boolean): DevPtau => {
    log.warn(insecureWarning(hit.path));
    return { path: hit.path, power: hit.power, requestedPower: power, cached, dev: true };
  };
  const cached = () => {
    const hit = findCached(dir, power, log);
    return hit === undefined ? undefined : found(hit, true);
  };
  const generate = async (): Promise<DevPtau> => {
    const target = join(dir, devPtauFileName(power));
    log.warn(`generating an INSECURE development ptau of power ${power} at ${target}`);
    let lastSection = "";
    await writeFileVia(target, async (tmp) => {
      await writeDirectPtau(tmp, power, {
        onProgress: (p) => {
          if (p.section !== lastSection) log.info(`dev ptau power ${power}: ${p.section}`);
          lastSection = p.section;
          options.onProgress?.({ stage: p.section, step: p.done, steps: p.total });
        },
      });
      const header = readPtauHeader(tmp);
      if (header.power !== power || !header.preparedPhase2) {
        throw new SetupError(`${tmp}: generated dev ptau is malformed (power ${header.power})`);
      }
    });
    return found({ path: target, power }, false);
  };
  return buildOnce(lockPath, cached, generate, {
    onWait: () => {
      log.info(`waiting for another process generating ${devPtauFileName(power)} (lock ${lockPath})`);
      options.onProgress?.({ stage: "waiting", step: 0, steps: 1 });
    },
    onTakeOver: () => log.warn(`${lockPath}: taking over an abandoned lock`),
  });
}

/**
 * Whether a ptau file is one of zkrisk's development files, judged by its name (`dev-pot{power}.ptau`).
 * @param file path of a `.ptau` file
 */
export function isDevPtauFileName(file: string): boolean {
  return DEV_FILE.test(basename(file));
}
