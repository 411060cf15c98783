/**
 * `zkrisk prove --window FILE [--window FILE ...]`: prove a signed update from k publishers' signed windows
 * with a signed-update artifact directory (`zkrisk compile --signed`, then `zkrisk setup`); with `--snarkjs DIR`,
 * also the proof, its public signals and the verification key as snarkjs's own files.
 */
import { join } from "node:path";
import { UsageError } from "../../core/errors";
import { writeJsonAtomic } from "../../core/io";
import { marketIdOf } from "../../candles/market-id";
import { SignedUpdateProver, type ProvedSignedUpdate } from "../../prover/prove-signed-update";
import { snarkjsProofFiles } from "../../prover/proof-file";
import { makePublisherSet, readPublisherSet, readSignedWindow } from "../../publisher";
import { readCircuitInfo } from "../../circuits/compile-model";

/** The options `zkrisk prove` takes for a signed update. */
export interface ProveSignedFlags {
  model: string;
  artifacts: string;
  window: string[];
  publishers?: string;
  market: string;
  out: string;
  /** Also write DIR/proof.json, DIR/public.json and DIR/verification_key.json for `snarkjs groth16 verify`. */
  snarkjs?: string;
  json?: boolean;
}

/** The signed update proved (written to `out`). */
export interface ProveSignedResult {
  /** `--market` as given. */
  market: string;
  /** Signed window files proved from, one per publisher. */
  signedWindows: number;
  /** The proof file written. */
  out: string;
  /** Open time of the proved bar, ISO 8601. */
  bar: ProvedSignedUpdate["bar"];
  parameters: ProvedSignedUpdate["parameters"];
  /** Wall-clock proving time, ms. */
  provingMs: number;
}

/**
 * Prove from signed windows for `domain` (cli/commands/prove.ts checks the options they share with --batch) and
 * write the proof file (and with --snarkjs, snarkjs's own files). The publisher set is --publishers, or by default
 * the windows' own keys with a quorum of all of them (a set of k keys and quorum k).
 */
export async function runProveSigned(f: ProveSignedFlags, domain: bigint): Promise<ProveSignedResult> {
  const info = readCircuitInfo(f.artifacts);
  if (info.quorum === undefined || info.batchSize !== undefined) {
    throw new UsageError(
      `--window: ${f.artifacts} holds ${info.batchSize === undefined ? "a circuit that takes features" : "a signed batch circuit (prove it with --batch)"}; ` +
        "compile one with `zkrisk compile --signed`",
    );
  }
  const windows = [];
  for (const file of f.window) windows.push(await readSignedWindow(file));
  const marketId = marketIdOf(f.market);
  windows.forEach((w, i) => {
    if (w.window.marketId !== marketId) {
      throw new UsageError(`--window ${f.window[i]}: market '${w.market}' is not --market '${f.market}'`);
    }
  });
  const publishers =
    f.publishers === undefined
      ? await makePublisherSet(
          windows.map((w) => w.publicKey),
          windows.length,
        )
      : await readPublisherSet(f.publishers);
  if (publishers.quorum !== info.quorum) {
    throw new UsageError(
      `${f.publishers ?? "--window"}: the publisher set's quorum is ${publishers.quorum}, the circuit in ` +
        `${f.artifacts} checks ${info.quorum} signature(s)`,
    );
  }
  const prover = SignedUpdateProver.open(
    f.artifacts,
    { mode: info.mode, quorum: info.quorum },
    { modelPath: f.model },
  );
  try {
    const update = await prover.prove({ windows, names: f.window, publishers, domain }, { market: f.market });
    writeJsonAtomic(f.out, update);
    if (f.snarkjs !== undefined) {
      const files = { ...snarkjsProofFiles(update), "verification_key.json": prover.vkey };
      for (const [name, doc] of Object.entries(files)) writeJsonAtomic(join(f.snarkjs, name), doc);
    }
    return {
      market: f.market,
      signedWindows: windows.length,
      out: f.out,
      bar: update.bar,
      parameters: update.parameters,
      provingMs: update.provingMs,
    };
  } finally {
    await prover.close();
  }
}

/** The `--json` document of `zkrisk prove --window`: `{out, bar, parameters, provingMs}`. */
export function proveSignedJson(r: ProveSignedResult): unknown {
  return { out: r.out, bar: r.bar, parameters: r.parameters, provingMs: r.provingMs };
}

/** The text output of `zkrisk prove --window`: one line, the bar's margins and the file written. */
export function formatProveSigned(r: ProveSignedResult): string {
  return (
    `proved ${r.market} bar ${r.bar} from ${r.signedWindows} signed window(s): ` +
    `MM ${r.parameters.maintenanceMarginBps} bps, IM ${r.parameters.initialMarginBps} bps ` +
    `(${r.provingMs.toFixed(0)} ms); verified locally; wrote ${r.out}\n`
  );
}
