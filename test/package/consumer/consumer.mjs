// A plain-ESM integrator of the installed zkrisk (test/package/pack.test.ts): features of a signed window,
// then a proof, its check, and the check of an edited signal; and the window checked in a worker thread as
// `zkrisk audit` checks it (the build's thread entry, publisher/check-thread.cjs).
import { readFileSync } from "node:fs";
import { readSignedWindow, readPublisherSet, windowFeatures, WINDOW_FEATURES } from "zkrisk";
import { CheckThreads } from "zkrisk/publisher";
import { SignedUpdateProver } from "zkrisk/prover";

const [windowFile, setFile, artifacts] = process.argv.slice(2);
const signed = await readSignedWindow(windowFile);
const publishers = await readPublisherSet(setFile);
const features = windowFeatures(signed.window);
const threads = new CheckThreads(1);
const checked = await threads.window(JSON.parse(readFileSync(windowFile, "utf8")), windowFile);
await threads.close();
const prover = SignedUpdateProver.open(artifacts, { mode: "constant", quorum: 1 });
try {
  const proved = await prover.prove({ windows: [signed], publishers, domain: 0n }, { market: "BTC-USDT" });
  const verified = await prover.verify(proved.proof, proved.publicSignals);
  const tampered = [...proved.publicSignals];
  tampered[0] = (BigInt(tampered[0]) + 1n).toString();
  const tamperedVerified = await prover.verify(proved.proof, tampered);
  process.stdout.write(
    JSON.stringify({
      features: Object.fromEntries(WINDOW_FEATURES.map((f, i) => [f.name, features[i].toString()])),
      parameters: proved.parameters,
      verified,
      tamperedVerified,
      checkedInThread: checked.kind === "found" ? String(checked.window.digest) : checked.reason,
    }) + "\n",
  );
} finally {
  await prover.close();
}
