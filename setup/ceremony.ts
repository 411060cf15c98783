/** The phase-2 ceremony record of a zkey: who contributed, in which order, with which contribution hashes. */
import { createHash } from "node:crypto";
import type { CeremonyStep, CeremonySummary } from "./artifacts";
import { readZkeyMpcParams, type ZkeyContributionRecord } from "../circuits/binfile";
import { SetupError } from "../core/errors";
import { snarkjs, type Curve } from "./snarkjs";

/**
 * snarkjs's contribution hash: blake2b-512 over deltaAfter, g1_s, g1_sx (G1) and g2_spx (G2) in uncompressed
 * big-endian form, then the transcript (`hashPubKey` in node_modules/snarkjs/src/zkey_utils.js). It is what
 * `zKey.contribute` returns and what `snarkjs zkey verify` prints for each contribution.
 */
function contributionHash(curve: Curve, c: ZkeyContributionRecord): string {
  const h = createHash("blake2b512");
  for (const [group, point] of [
    [curve.G1, c.deltaAfter],
    [curve.G1, c.g1S],
    [curve.G1, c.g1Sx],
    [curve.G2, c.g2Spx],
  ] as const) {
    const out = new Uint8Array(point.length);
    group.toRprUncompressed(out, 0, new Uint8Array(point));
    h.update(out);
  }
  h.update(c.transcript);
  return h.digest("hex");
}

/**
 * Read the ceremony record of a Groth16 zkey: its circuit hash and every contribution and beacon, oldest first,
 * with the same contribution hashes snarkjs reports.
 * @param zkeyPath path of the `.zkey` file
 */
export async function readCeremony(zkeyPath: string): Promise<CeremonySummary> {
  const mpc = readZkeyMpcParams(zkeyPath);
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  const steps = mpc.contributions.map((c): CeremonyStep => {
    const step: CeremonyStep = {
      kind: c.type === 1 ? "beacon" : "contribution",
      hash: contributionHash(curve, c),
    };
    if (c.name !== undefined) step.name = c.name;
    if (c.type === 1) {
      step.beaconHash = c.beaconHash?.toString("hex") ?? "";
      step.iterationsExp = c.numIterationsExp ?? 0;
    }
    return step;
  });
  return { circuitHash: mpc.csHash.toString("hex"), steps };
}

/**
 * Refuse a zkey whose ceremony does not extend `before`: same circuit hash, and every earlier step still present, in
 * order, with the same hash. This stops a replacement zkey from silently dropping earlier contributors.
 * @param before ceremony of the zkey being replaced
 * @param after ceremony of the new zkey
 * @param zkeyPath path of the new zkey (for messages)
 */
export function assertCeremonyExtends(
  before: CeremonySummary,
  after: CeremonySummary,
  zkeyPath: string,
): void {
  if (before.circuitHash !== after.circuitHash) {
    throw new SetupError(
      `${zkeyPath}: circuit hash ${after.circuitHash.slice(0, 16)}… differs from ${before.circuitHash.slice(0, 16)}… ` +
        `of the current zkey: it was made for another circuit or ptau`,
    );
  }
  before.steps.forEach((step, i) => {
    const now = after.steps[i];
    if (now?.hash !== step.hash) {
      throw new SetupError(
        `${zkeyPath}: does not extend the current ceremony: step ${i + 1} (${step.name ?? "unnamed"}, ${step.hash.slice(0, 16)}…) ` +
          `is ${now ? `replaced by ${now.hash.slice(0, 16)}…` : "missing"}`,
      );
    }
  });
}
