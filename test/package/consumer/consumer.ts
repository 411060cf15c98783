// A TypeScript integrator of the installed zkrisk (test/package/pack.test.ts), compiled with nodenext
// resolution against the package's declarations: typed imports of the root and the prover entry.
import { readSignedWindow, readPublisherSet, windowFeatures, type SignedWindow } from "zkrisk";
import { SignedUpdateProver, type ProvedSignedUpdate } from "zkrisk/prover";

async function main(windowFile: string, setFile: string, artifacts: string): Promise<void> {
  const signed: SignedWindow = await readSignedWindow(windowFile);
  const publishers = await readPublisherSet(setFile);
  const features: bigint[] = windowFeatures(signed.window);
  const prover = SignedUpdateProver.open(artifacts, { mode: "constant", quorum: 1 });
  try {
    const proved: ProvedSignedUpdate = await prover.prove(
      { windows: [signed], publishers, domain: 0n },
      { market: "BTC-USDT" },
    );
    const verified: boolean = await prover.verify(proved.proof, proved.publicSignals);
    const mm: number = proved.parameters.maintenanceMarginBps;
    process.stdout.write(JSON.stringify({ features: features.map(String), mm, verified }) + "\n");
  } finally {
    await prover.close();
  }
}

const [windowFile, setFile, artifacts] = process.argv.slice(2);
await main(windowFile, setFile, artifacts);
