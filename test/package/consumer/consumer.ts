// A TypeScript integrator of the installed zkrisk (test/package/pack.test.ts), compiled with nodenext
// resolution against the package's declarations: typed imports of the root, the circuits and the prover entry.
import { marketIdOf, readSignedWindow, readPublisherSet, windowFeatures, type SignedWindow } from "zkrisk";
import type { WeightMode } from "zkrisk/circuits";
import { ProofError, SignedUpdateProver, type ProvedSignedUpdate } from "zkrisk/prover";

async function main(windowFile: string, setFile: string, artifacts: string): Promise<void> {
  const signed: SignedWindow = await readSignedWindow(windowFile);
  const publishers = await readPublisherSet(setFile);
  const features: bigint[] = windowFeatures(signed.window);
  if (signed.window.marketId !== marketIdOf("BTC-USDT")) throw new Error("not a BTC-USDT window");
  const mode: WeightMode = "constant";
  const prover = SignedUpdateProver.open(artifacts, { mode, quorum: 1 });
  try {
    const proved: ProvedSignedUpdate = await prover.prove(
      { windows: [signed], publishers, domain: 0n },
      { market: "BTC-USDT" },
    );
    const verified: boolean = await prover.verify(proved.proof, proved.publicSignals);
    // An adaptive prior on a plain circuit is refused with the exported error class.
    const refused = await prover
      .prove(
        { windows: [signed], publishers, domain: 0n },
        {
          market: "BTC-USDT",
          prior: { state: { num: 1n << 24n, outcomes: 0 }, marginS: 0n, lag: 0 },
        },
      )
      .then(() => false)
      .catch((err: unknown) => err instanceof ProofError);
    const mm: number = proved.parameters.maintenanceMarginBps;
    process.stdout.write(JSON.stringify({ features: features.map(String), mm, verified, refused }) + "\n");
  } finally {
    await prover.close();
  }
}

const [windowFile, setFile, artifacts] = process.argv.slice(2);
await main(windowFile, setFile, artifacts);
