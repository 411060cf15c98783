/**
 * `zkrisk prove --window FILE [--window FILE ...]`: prove a signed update from k publishers' signed windows
 * with a signed-update artifact directory (`zkrisk compile`, then `zkrisk setup`); with `--snarkjs DIR`,
 * also the proof, its public signals and the verification key as snarkjs's own files. With adaptive artifacts
 * (`zkrisk compile --adaptive`) the update also steps the market's adaptive state, from the prior the oracle will
 * check: read from `--oracle` on `--rpc` (`readAdaptivePrior`), or given as `--prior num,outcomes,mmS[,lag]`.
 */
import { join } from "node:path";
import { UsageError } from "../../core/errors";
import { jsonText } from "../../core/io";
import { writeFilesAtomic } from "../../core/atomic-file";
import { marketIdOf } from "../../candles/market-id";
import {
  SignedUpdateProver,
  type AdaptivePriorState,
  type ProvedSignedUpdate,
} from "../../prover/prove-signed-update";
import { snarkjsProofFiles } from "../../prover/proof-file";
import { makePublisherSet, readPublisherSet, readSignedWindow } from "../../publisher";
import { readCircuitInfo } from "../../circuits/compile-model";
import { ADAPTIVE_UPDATE_PACKING } from "../../circuits/statement";
import { MAX_OUTCOME_LAG, TARGET_HORIZON_BARS } from "../../models/target";
import { FEATURE_INTERVAL_MS } from "../../features/window-features";
import { addressOption, readOracleOption } from "../chain-options";
import { readSignedFiles } from "../options";
import { readOnlyProvider } from "../../onchain/chain";
import { readAdaptivePrior } from "../../onchain/oracle";

/** The files `--snarkjs DIR` gets: the proof and its public signals as snarkjs writes them, and the verification key. */
export const SNARKJS_FILES: readonly string[] = ["proof.json", "public.json", "verification_key.json"];

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
  /** Adaptive artifacts: the oracle whose prior is read (unless `prior` is given), on `rpc`. */
  oracle?: string;
  rpc?: string;
  /** Adaptive artifacts: `num,outcomes,mmS[,lag]` (lag 0 when absent). */
  prior?: string;
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
  /** An adaptive update: the transition proved, and where its prior came from. */
  adaptive?: ProvedSignedUpdate["adaptive"] & { priorFrom: "--prior" | "oracle" };
}

/**
 * `--prior num,outcomes,mmS[,lag]`: three or four decimal integers, num, outcomes and mmS each within the bits the
 * packed update gives it, lag (the pending outcome's bar s = t - 12 - lag; 0 when absent) in [0, MAX_OUTCOME_LAG].
 */
export function parsePriorOption(value: string): AdaptivePriorState {
  const P = ADAPTIVE_UPDATE_PACKING;
  const parts = value.split(",").map((x) => x.trim());
  const bad = (why: string) =>
    new UsageError(`--prior: '${value}' ${why} (expected num,outcomes,mmS[,lag], e.g. 12549120,0,0)`);
  if (parts.length !== 3 && parts.length !== 4) throw bad(`has ${parts.length} part(s)`);
  const fields: [string, bigint][] = [
    ["num", 1n << BigInt(P.numBits)],
    ["outcomes", 1n << BigInt(P.outcomesBits)],
    ["mmS", 1n << BigInt(P.marginSBits)],
    ["lag", BigInt(MAX_OUTCOME_LAG) + 1n],
  ];
  const [num, outcomes, marginS, lag = 0n] = parts.map((part, i) => {
    const [name, end] = fields[i];
    if (!/^\d+$/.test(part)) throw bad(`has ${name} '${part}', not a non-negative integer`);
    const v = BigInt(part);
    if (v >= end) {
      throw bad(
        name === "lag"
          ? `has lag ${part}, not in [0, ${MAX_OUTCOME_LAG}] (bar s = t - 12 - lag is among bars t - 23 .. t - 12)`
          : `has ${name} ${part}, which does not fit its ${end.toString(2).length - 1} bits`,
      );
    }
    return v;
  });
  if (num === 0n) throw bad("has num 0, a plain market's (an adaptive market's num is at least 1)");
  return { state: { num, outcomes: Number(outcomes) }, marginS, lag: Number(lag) };
}

/**
 * The prior of an adaptive update of the window ending at `dataTimestamp`: `--prior`, else the oracle's
 * (`--oracle` on `--rpc`); neither is a UsageError, as is an oracle that does not hold the market as adaptive.
 */
async function priorOf(
  f: ProveSignedFlags,
  marketId: bigint,
  dataTimestamp: bigint,
): Promise<{ prior: AdaptivePriorState; from: "--prior" | "oracle" }> {
  if (f.prior !== undefined) return { prior: parsePriorOption(f.prior), from: "--prior" };
  if (f.oracle === undefined) {
    throw new UsageError(
      `--prior: ${f.artifacts} holds a circuit with the adaptive rule, which proves from the market's prior: give ` +
        "--oracle ADDR (with --rpc URL) to read it from the oracle, or --prior num,outcomes,mmS[,lag]",
    );
  }
  const oracleAddress = addressOption("--oracle", f.oracle);
  const url = f.rpc ?? "http://127.0.0.1:8545";
  const provider = await readOnlyProvider(url);
  try {
    const view = await readAdaptivePrior(
      await readOracleOption(provider, url, oracleAddress),
      marketId,
      dataTimestamp,
    );
    if (view.num === 0n) {
      throw new UsageError(
        `--oracle: market '${f.market}' is not adaptive on ${oracleAddress} (its adaptive num is 0): prove it ` +
          "with artifacts compiled without --adaptive",
      );
    }
    return {
      prior: { state: { num: view.num, outcomes: view.outcomes }, marginS: view.marginS, lag: view.lag },
      from: "oracle",
    };
  } finally {
    provider.destroy();
  }
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
        "compile one with `zkrisk compile --out DIR` (without --batch), then `zkrisk setup`",
    );
  }
  if (info.adaptive === undefined && f.rpc !== undefined) {
    throw new UsageError(
      `--rpc: ${f.artifacts} holds a circuit without the adaptive rule, which reads nothing from a chain ` +
        "(--oracle with --chain-id only sets the domain): leave --rpc out",
    );
  }
  const windows = await readSignedFiles("--window", f.window, readSignedWindow);
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
  if (info.adaptive === undefined && f.prior !== undefined) {
    throw new UsageError(
      `--prior: ${f.artifacts} holds a circuit without the adaptive rule, which takes no prior`,
    );
  }
  const adaptive =
    info.adaptive === undefined
      ? undefined
      : await priorOf(f, marketId, BigInt(windows[0].window.endTime / 1000));
  const prover = SignedUpdateProver.open(
    f.artifacts,
    { mode: info.mode, quorum: info.quorum },
    { modelPath: f.model },
  );
  try {
    const update = await prover.prove(
      { windows, names: f.window, publishers, domain },
      { market: f.market, ...(adaptive && { prior: adaptive.prior }) },
    );
    // The proof file and snarkjs's files together, or none of them.
    const snarkjsDir = f.snarkjs;
    const extra =
      snarkjsDir === undefined
        ? []
        : Object.entries({ ...snarkjsProofFiles(update), "verification_key.json": prover.vkey }).map(
            ([name, doc]) => ({ path: join(snarkjsDir, name), data: jsonText(doc) }),
          );
    writeFilesAtomic([{ path: f.out, data: jsonText(update) }, ...extra]);
    return {
      market: f.market,
      signedWindows: windows.length,
      out: f.out,
      bar: update.bar,
      parameters: update.parameters,
      provingMs: update.provingMs,
      ...(update.adaptive && adaptive && { adaptive: { ...update.adaptive, priorFrom: adaptive.from } }),
    };
  } finally {
    await prover.close();
  }
}

/** The `--json` document of `zkrisk prove --window`: `{out, bar, parameters, provingMs}` and, adaptive, `adaptive`. */
export function proveSignedJson(r: ProveSignedResult): unknown {
  return {
    out: r.out,
    bar: r.bar,
    parameters: r.parameters,
    provingMs: r.provingMs,
    ...(r.adaptive && { adaptive: r.adaptive }),
  };
}

/** The text output of `zkrisk prove --window`: one line, the bar's margins and the file written. */
export function formatProveSigned(r: ProveSignedResult): string {
  return (
    `proved ${r.market} bar ${r.bar} from ${r.signedWindows} signed window(s): ` +
    `MM ${r.parameters.maintenanceMarginBps} bps, IM ${r.parameters.initialMarginBps} bps ` +
    `(${r.provingMs.toFixed(0)} ms); verified locally; wrote ${r.out}\n` +
    (r.adaptive === undefined
      ? ""
      : `  adaptive: prior (${r.adaptive.priorFrom}) num ${r.adaptive.prior.num}, outcomes ` +
        `${r.adaptive.prior.outcomes}, ${outcomeBar(r.bar, r.adaptive.prior)}; outcome ` +
        `${r.adaptive.outcome}; new num ${r.adaptive.next.num}, outcomes ${r.adaptive.next.outcomes}; ` +
        `calibrationNum ${r.adaptive.calibrationNum}\n`)
  );
}

/**
 * The pending outcome an adaptive update processes, for the text output: `MM of bar t-15 (2024-06-28T22:00Z, lag
 * 3) 812 bps`, or `no pending outcome (MM 0)`. `bar` is bar t's open time (ISO 8601).
 */
export function outcomeBar(bar: string, prior: { marginS: number; lag: number }): string {
  if (prior.marginS === 0) return "no pending outcome (MM 0)";
  const back = TARGET_HORIZON_BARS + prior.lag;
  const open = new Date(Date.parse(bar) - back * FEATURE_INTERVAL_MS).toISOString().replace(":00.000Z", "Z");
  return `MM of bar t-${back} (${open}, lag ${prior.lag}) ${prior.marginS} bps`;
}
