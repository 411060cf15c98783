/**
 * `zkrisk prove --batch FILE [--batch FILE ...]`: prove a signed batch of N markets from k publishers'
 * signed batch files (`zkrisk publisher sign --batch`) with a signed batch artifact directory
 * (`zkrisk compile --batch N`, then `zkrisk setup`). The files must hold identical candles; otherwise the
 * first differing market, bar and field are named (exit code 2). With adaptive batch artifacts
 * (`zkrisk compile --batch N --adaptive`) every market also steps its adaptive state, from the prior the oracle
 * will check, read for each market from `--oracle` on `--rpc` (`readAdaptivePrior`).
 */
import { UsageError } from "../../core/errors";
import { marketIdOf } from "../../candles/market-id";
import { readMarketModels } from "./market-models";
import type { AdaptivePriorState } from "../../prover/prove-signed-update";
import type { SignedBatch } from "../../publisher/signed-batch";
import { addressOption, readOracleOption } from "../chain-options";
import { readSignedFiles } from "../options";
import { readOnlyProvider } from "../../onchain/chain";
import { readAdaptivePrior } from "../../onchain/oracle";
import { writeJsonAtomic } from "../../core/io";
import { SignedBatchProver, type ProvedSignedBatch } from "../../prover/prove-signed-batch";
import { firstBatchDisagreement, makePublisherSet, readPublisherSet, readSignedBatch } from "../../publisher";
import { readCircuitInfo } from "../../circuits/compile-model";

/** The options `zkrisk prove` takes for a signed batch. */
export interface ProveBatchFlags {
  model: string;
  artifacts: string;
  batch: string[];
  /** Markets' own model files, as LABEL=FILE (`--market-model`). */
  marketModel?: string[];
  publishers?: string;
  /** When given, the batch must hold exactly these markets (labels or ids, any order). */
  market?: string;
  /** Adaptive batch artifacts: the oracle whose priors are read, on `rpc`. */
  oracle?: string;
  rpc?: string;
  out: string;
  json?: boolean;
}

/** The signed batch proved (written to `out`). */
export interface ProveBatchResult {
  /** Signed batch files proved from, one per publisher. */
  signedBatches: number;
  /** The proof file written. */
  out: string;
  batchDigest: ProvedSignedBatch["batchDigest"];
  /** Each market's margins, in the batch's order. */
  markets: ProvedSignedBatch["markets"];
  /** Wall-clock proving time, ms. */
  provingMs: number;
}

/**
 * Prove from signed batches for `domain` (cli/commands/prove.ts checks the options they share with --window) and
 * write the proof file. The publisher set is --publishers (every market of the batch must have registered it), or
 * by default the batches' own keys with a quorum of all of them.
 */
export async function runProveBatch(f: ProveBatchFlags, domain: bigint): Promise<ProveBatchResult> {
  const info = readCircuitInfo(f.artifacts);
  if (info.quorum === undefined || info.batchSize === undefined) {
    throw new UsageError(
      `--batch: ${f.artifacts} does not hold a signed batch circuit; compile one with \`zkrisk compile --batch N\``,
    );
  }
  if (info.adaptive === undefined && f.rpc !== undefined) {
    throw new UsageError(
      `--rpc: ${f.artifacts} holds a batch circuit without the adaptive rule, which reads nothing from a chain ` +
        "(--oracle with --chain-id only sets the domain): leave --rpc out",
    );
  }
  const models = readMarketModels(f.marketModel);
  const batches = await readSignedFiles("--batch", f.batch, readSignedBatch);
  // Before the artifacts are loaded: k publishers that disagree name the first market, bar and field.
  const disagreement = firstBatchDisagreement(batches, f.batch);
  if (disagreement !== undefined) throw new UsageError(`--batch: ${disagreement.message}`);
  if (f.market !== undefined) {
    const wanted = f.market.split(",").map((m) => marketIdOf(m.trim()));
    const held = batches[0].markets.map((m) => m.window.marketId);
    const missing = wanted.filter((id) => !held.includes(id));
    if (missing.length > 0 || wanted.length !== held.length) {
      throw new UsageError(
        `--market: '${f.market}' is not the set of markets in ${f.batch[0]} ` +
          `(${batches[0].markets.map((m) => m.market).join(", ")})`,
      );
    }
  }
  const publishers =
    f.publishers === undefined
      ? await makePublisherSet(
          batches.map((b) => b.publicKey),
          batches.length,
        )
      : await readPublisherSet(f.publishers);
  if (publishers.quorum !== info.quorum) {
    throw new UsageError(
      `${f.publishers ?? "--batch"}: the publisher set's quorum is ${publishers.quorum}, the circuit in ` +
        `${f.artifacts} checks ${info.quorum} signature(s)`,
    );
  }
  const prover = SignedBatchProver.open(
    f.artifacts,
    { mode: info.mode, batchSize: info.batchSize, quorum: info.quorum },
    { modelPath: f.model },
  );
  try {
    const priors = info.adaptive === undefined ? undefined : await batchPriors(f, batches[0]);
    const proved = await prover.prove({ batches, names: f.batch, publishers, domain, models }, priors);
    writeJsonAtomic(f.out, proved);
    return {
      signedBatches: batches.length,
      out: f.out,
      batchDigest: proved.batchDigest,
      markets: proved.markets,
      provingMs: proved.provingMs,
    };
  } finally {
    await prover.close();
  }
}

/**
 * Every market's prior for an adaptive batch ending at the batch's bar, as the oracle at `--oracle` (on `--rpc`)
 * will build it; no --oracle, or a market the oracle does not hold as adaptive, is a UsageError.
 */
async function batchPriors(f: ProveBatchFlags, batch: SignedBatch): Promise<Map<string, AdaptivePriorState>> {
  if (f.oracle === undefined) {
    throw new UsageError(
      `--oracle: ${f.artifacts} holds an adaptive batch circuit, which proves every market from its prior: give ` +
        "--oracle ADDR (with --rpc URL) to read them from the oracle",
    );
  }
  const oracleAddress = addressOption("--oracle", f.oracle);
  const url = f.rpc ?? "http://127.0.0.1:8545";
  const provider = await readOnlyProvider(url);
  try {
    const oracle = await readOracleOption(provider, url, oracleAddress);
    const priors = new Map<string, AdaptivePriorState>();
    for (const { market, window } of batch.markets) {
      const view = await readAdaptivePrior(oracle, window.marketId, BigInt(window.endTime / 1000));
      if (view.num === 0n) {
        throw new UsageError(
          `--oracle: market '${market}' is not adaptive on ${oracleAddress} (its adaptive num is 0): an adaptive ` +
            "batch proves adaptive markets only",
        );
      }
      priors.set(market, {
        state: { num: view.num, outcomes: view.outcomes },
        marginS: view.marginS,
        lag: view.lag,
      });
    }
    return priors;
  } finally {
    provider.destroy();
  }
}

/** The `--json` document of `zkrisk prove --batch`: `{out, batchDigest, markets, provingMs}`. */
export function proveBatchJson(r: ProveBatchResult): unknown {
  return { out: r.out, batchDigest: r.batchDigest, markets: r.markets, provingMs: r.provingMs };
}

/** The text output of `zkrisk prove --batch`: one line, then each market's margins. */
export function formatProveBatch(r: ProveBatchResult): string {
  return (
    `proved a batch of ${r.markets.length} market(s) from ${r.signedBatches} signed batch(es) ` +
    `(${r.provingMs.toFixed(0)} ms); verified locally; wrote ${r.out}\n` +
    r.markets
      .map(
        (m) => `  ${m.market} bar ${m.bar}: MM ${m.maintenanceMarginBps} bps, IM ${m.initialMarginBps} bps\n`,
      )
      .join("")
  );
}
