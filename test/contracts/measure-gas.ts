/**
 * Gas of `RiskOracle.submitUpdate` with real proofs of the shipped model, read from the receipts: a first update
 * (bar 2024-06-20 10:00) and a later one (bar 12:00, so the rate-of-change guards run too).
 *
 *   npx tsx test/contracts/measure-gas.ts     # prints {"firstUpdate":..., "laterUpdate":...}
 *
 * Takes about 20 s (one circuit compile and one development trusted setup). Gas varies by a few tens between
 * proofs of the same statement: calldata costs more for non-zero bytes of the proof points.
 */
import { rmSync } from "node:fs";
import { releaseCurves } from "../../prover/setup";
import { BAR_SECONDS, buildProvingArtifacts, deploy, proveBarAt, submitAt, utc } from "./fixture";

/** Gas used by accepted updates. */
export interface SubmitUpdateGas {
  /** The market's first update (bounds checked, no previous parameters). */
  firstUpdate: bigint;
  /** A later update (rate-of-change guards checked too). */
  laterUpdate: bigint;
}

/** Deploy the verifier and the oracle on the in-process network, submit two real updates, return their gas. */
export async function measureSubmitUpdateGas(): Promise<SubmitUpdateGas> {
  const dir = await buildProvingArtifacts();
  const d = await deploy(dir);
  try {
    const first = utc(2024, 6, 20, 10);
    const later = first + BAR_SECONDS;
    const a = await proveBarAt(d, first, { domain: d.domain });
    const b = await proveBarAt(d, later, { domain: d.domain });
    const firstUpdate = (await submitAt(d.oracle, a, first + BAR_SECONDS + 60)).gasUsed;
    const laterUpdate = (await submitAt(d.oracle, b, later + BAR_SECONDS + 60)).gasUsed;
    return { firstUpdate, laterUpdate };
  } finally {
    await d.prover.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  measureSubmitUpdateGas()
    .then((gas) => {
      console.log(
        JSON.stringify({ firstUpdate: Number(gas.firstUpdate), laterUpdate: Number(gas.laterUpdate) }),
      );
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => releaseCurves());
}
