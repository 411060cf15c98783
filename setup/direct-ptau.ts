/**
 * An INSECURE development ptau computed directly from its secrets. A ceremony never knows tau, alpha and beta, so
 * snarkjs builds a ptau by multiplying points (contributions) and derives the Lagrange sections with elliptic-curve
 * FFTs (`prepare phase2`: 690 of the 736 s of a power-15 file here). A development setup has nothing to protect: this
 * module draws tau, alpha and beta from the OS CSPRNG, computes every scalar the file needs in the field (powers of
 * tau and Lagrange-basis values), multiplies the generators by them on worker threads (fixed-base.ts), writes the
 * file, and lets the secrets go out of scope. The file is laid out exactly as snarkjs's `prepare phase2` writes it,
 * so snarkjs uses it unchanged.
 *
 * Layout (snarkjs powersoftau_new.js, powersoftau_preparephase2.js), N = 2^power:
 * 1 header (n8, q, power, ceremony power); 2 tau^i G1, i < 2N - 1; 3 tau^i G2, i < N; 4 alpha tau^i G1, i < N;
 * 5 beta tau^i G1, i < N; 6 beta G2; 7 contributions (none: no ceremony took place);
 * 12 / 13 / 14 / 15: for every domain 2^p, p = 0..power, the Lagrange basis at tau, L_i(tau) G1 / G2 / alpha G1 /
 * beta G1; section 12 also holds p = power + 1, computed as snarkjs does from the 2N - 1 powers of section 2 with a
 * zero in place of the missing tau^(2N-1).
 */
import { BN128_Q, BinFileWriter } from "../circuits/binfile";
import { AFFINE_BYTES, FixedBaseMultiplier, JOB_POINTS, type Group } from "./fixed-base";
import { SetupError } from "../core/errors";
import { lagrangeValues, mul, pow, randomScalar, truncatedLagrangeValues, TWO_ADICITY } from "./scalar-field";

/** Largest power this generator makes: section 12 needs a domain of 2^(power + 1) inside the field's 2^28. */
export const MAX_DIRECT_PTAU_POWER = TWO_ADICITY - 1;

/** Jobs in flight per thread: enough to keep every thread busy while the main thread prepares the next scalars. */
const IN_FLIGHT_PER_THREAD = 3;

/** Progress of {@link writeDirectPtau}: `done` of `total` points, weighted by cost (a G2 point counts 4). */
export interface DirectPtauProgress {
  /** The section being written (`tauG1`, `tauG2`, `alphaTauG1`, `betaTauG1`, `lagrangeG1`, ...). */
  section: string;
  done: number;
  total: number;
}

/** Options of {@link writeDirectPtau}. */
export interface DirectPtauOptions {
  /** Worker threads (default: available parallelism). */
  threads?: number;
  onProgress?: (progress: DirectPtauProgress) => void;
}

/** The secrets of one ptau ("toxic waste"). They live only while a development setup is being written. */
export interface PtauSecrets {
  tau: bigint;
  alpha: bigint;
  beta: bigint;
}

/** Scalars of one job: a function so that they are computed only when the job is about to be sent. */
type Job = { group: Group; count: number; scalars: () => bigint[] };

/** G2 points cost about four G1 points. */
const weight = (g: Group) => (g === "g2" ? 4 : 1);

/** Jobs of at most {@link JOB_POINTS} points covering `count` scalars; `scalars(start, n)` makes one job's. */
function jobs(group: Group, count: number, scalars: (start: number, n: number) => bigint[]): Job[] {
  const out: Job[] = [];
  for (let start = 0; start < count; start += JOB_POINTS) {
    const n = Math.min(JOB_POINTS, count - start);
    out.push({ group, count: n, scalars: () => scalars(start, n) });
  }
  return out;
}

/** Jobs for `count` scalars `first * ratio^i`. */
function geometric(group: Group, first: bigint, ratio: bigint, count: number): Job[] {
  return jobs(group, count, (start, n) => {
    const out = new Array<bigint>(n);
    let cur = mul(first, pow(ratio, BigInt(start)));
    for (let i = 0; i < n; i++) {
      out[i] = cur;
      cur = mul(cur, ratio);
    }
    return out;
  });
}

/**
 * Jobs for the Lagrange values at tau of every domain 2^p, p = 0..maxPower, times `factor`; with `truncateLast` the
 * largest domain's are {@link truncatedLagrangeValues}, as section 12 holds them.
 */
function lagrange(group: Group, tau: bigint, factor: bigint, maxPower: number, truncateLast = false): Job[] {
  const out: Job[] = [];
  for (let p = 0; p <= maxPower; p++) {
    const values = truncateLast && p === maxPower ? truncatedLagrangeValues : lagrangeValues;
    out.push(...jobs(group, 2 ** p, (start, n) => values(tau, p, { start, count: n, factor })));
  }
  return out;
}

/**
 * Draw the secrets of a ptau of `power` from the OS CSPRNG; tau must lie outside every FFT domain the file uses
 * (redrawn otherwise, with probability ~2^-225).
 */
export function drawPtauSecrets(power: number): PtauSecrets {
  for (;;) {
    const tau = randomScalar();
    // tau is in a domain of size 2^k (k <= power + 1) iff tau^(2^(power+1)) = 1.
    if (pow(tau, 1n << BigInt(power + 1)) !== 1n) return { tau, alpha: randomScalar(), beta: randomScalar() };
  }
}

/**
 * Write an INSECURE development ptau of `power` to `path` (created or truncated; the caller writes to a temporary
 * name and renames). The secrets are drawn here and dropped when this returns.
 */
export async function writeDirectPtau(
  path: string,
  power: number,
  options: DirectPtauOptions = {},
): Promise<void> {
  checkPower(power);
  const sections = ptauSections(power, drawPtauSecrets(power));
  const pool = new FixedBaseMultiplier({ threads: options.threads, expected: expectedPoints(sections) });
  try {
    await writePtauSections(path, power, sections, pool, options.onProgress);
  } finally {
    await pool.close();
  }
}

function checkPower(power: number): void {
  if (!Number.isInteger(power) || power < 1 || power > MAX_DIRECT_PTAU_POWER) {
    throw new SetupError(
      `development ptau power must be an integer in 1..${MAX_DIRECT_PTAU_POWER}, got ${power}`,
    );
  }
}

/** One section of the file and the jobs that compute its points. */
interface PtauSection {
  id: number;
  name: string;
  jobs: Job[];
}

/** The point sections of a ptau of `power` made from `secrets`, in file order. */
function ptauSections(power: number, { tau, alpha, beta }: PtauSecrets): PtauSection[] {
  const N = 2 ** power;
  return [
    { id: 2, name: "tauG1", jobs: geometric("g1", 1n, tau, 2 * N - 1) },
    { id: 3, name: "tauG2", jobs: geometric("g2", 1n, tau, N) },
    { id: 4, name: "alphaTauG1", jobs: geometric("g1", alpha, tau, N) },
    { id: 5, name: "betaTauG1", jobs: geometric("g1", beta, tau, N) },
    { id: 6, name: "betaG2", jobs: geometric("g2", beta, 1n, 1) },
    { id: 12, name: "lagrangeTauG1", jobs: lagrange("g1", tau, 1n, power + 1, true) },
    { id: 13, name: "lagrangeTauG2", jobs: lagrange("g2", tau, 1n, power) },
    { id: 14, name: "lagrangeAlphaTauG1", jobs: lagrange("g1", tau, alpha, power) },
    { id: 15, name: "lagrangeBetaTauG1", jobs: lagrange("g1", tau, beta, power) },
  ];
}

/** How many G1 and G2 products the sections need (to size the threads' tables). */
function expectedPoints(sections: PtauSection[]): Record<Group, number> {
  const all = sections.flatMap((s) => s.jobs);
  const count = (g: Group) => all.filter((j) => j.group === g).reduce((n, j) => n + j.count, 0);
  return { g1: count("g1"), g2: count("g2") };
}

/**
 * Write an INSECURE development ptau of `power` made from `secrets` to `path`, on `pool`. For a setup that also
 * makes the circuit's keys from the same secrets ({@link writeDevSetup}).
 */
export async function writePtauFromSecrets(
  path: string,
  power: number,
  secrets: PtauSecrets,
  pool: FixedBaseMultiplier,
  onProgress?: (progress: DirectPtauProgress) => void,
): Promise<void> {
  checkPower(power);
  await writePtauSections(path, power, ptauSections(power, secrets), pool, onProgress);
}

async function writePtauSections(
  path: string,
  power: number,
  sections: PtauSection[],
  pool: FixedBaseMultiplier,
  onProgress?: (progress: DirectPtauProgress) => void,
): Promise<void> {
  const total = sections.flatMap((s) => s.jobs).reduce((n, j) => n + j.count * weight(j.group), 0);
  const file = new BinFileWriter(path, "ptau", 11);
  let done = 0;
  try {
    file.startSection(1);
    file.writeU32(32);
    file.writeBigInt(BN128_Q, 32);
    file.writeU32(power);
    file.writeU32(power);
    file.endSection();
    const maxInFlight = pool.threads * IN_FLIGHT_PER_THREAD;
    for (const section of sections) {
      if (section.id === 12) {
        file.startSection(7);
        file.writeU32(0);
        file.endSection();
      }
      file.startSection(section.id);
      const inFlight: { job: Job; points: Promise<Uint8Array> }[] = [];
      const send = (job: Job) => {
        inFlight.push({ job, points: pool.multiplyScalars(job.group, job.scalars()).then((p) => p.points) });
      };
      for (const job of section.jobs) {
        if (inFlight.length >= maxInFlight) await writeNext();
        send(job);
      }
      while (inFlight.length > 0) await writeNext();
      file.endSection();

      async function writeNext(): Promise<void> {
        const next = inFlight.shift()!;
        const points = await next.points;
        if (points.length !== next.job.count * AFFINE_BYTES[next.job.group]) {
          throw new SetupError(`${path}: ${section.name}: a thread returned ${points.length} bytes`);
        }
        file.write(points);
        done += next.job.count * weight(next.job.group);
        onProgress?.({ section: section.name, done, total });
      }
    }
    file.close();
  } catch (err) {
    file.abandon();
    throw err;
  }
}
