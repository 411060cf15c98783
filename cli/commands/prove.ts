/** `zkrisk prove` and `zkrisk verify`: one proven risk-parameter update, and checking it offline. */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../../models/errors";
import { oracleDomain } from "../../prover/domain";
import { readJsonFile, writeJsonAtomic } from "../../models/io";
import { loadCandles } from "../../models/load-data";
import { FIELD_MODULUS } from "../../circuits/field";
import { loadArtifacts } from "../../prover/artifacts";
import { marketIdOf } from "../../candles/market-id";
import { UpdateProver } from "../../prover/prove-update";
import { checkProofFile, readProofFile, snarkjsProofFiles } from "../../prover/proof-file";
import {
  checkSignedProofFile,
  isSignedProofDocument,
  readSignedProofFile,
} from "../../prover/signed-proof-file";
import { loadQuantizedModel } from "../../models/quantized-model";
import type { VerificationKey } from "../../prover/setup/snarkjs";
import { outDirOption, outFileOption, parseDateOption, printJson } from "../options";
import { barIndexAt } from "./infer";
import { proveBatchAction } from "./prove-batch";
import { proveSignedAction } from "./prove-signed";

/** The domain from --domain, or from --oracle and --chain-id (0 when none is given: no oracle yet). */
function domainOf(f: { domain?: string; oracle?: string; chainId?: string }): bigint {
  if (f.domain !== undefined) {
    if (f.oracle !== undefined || f.chainId !== undefined)
      throw new UsageError("give --domain or --oracle with --chain-id, not both");
    if (!/^\d+$/.test(f.domain))
      throw new UsageError(`--domain: '${f.domain}' is not a non-negative integer`);
    const domain = BigInt(f.domain);
    // The circuit would take it mod p and prove another value than the one asked for.
    if (domain >= FIELD_MODULUS)
      throw new UsageError(`--domain: ${f.domain} is not below the field modulus p = ${FIELD_MODULUS}`);
    return domain;
  }
  if ((f.oracle === undefined) !== (f.chainId === undefined))
    throw new UsageError("--oracle and --chain-id go together");
  if (f.oracle === undefined) return 0n;
  if (!/^\d+$/.test(f.chainId!)) throw new UsageError(`--chain-id: '${f.chainId}' is not a positive integer`);
  return oracleDomain(BigInt(f.chainId!), f.oracle);
}

/** The options of `zkrisk prove`, as commander gives them (cli/register/prove.ts). */
export interface ProveFlags {
  model: string;
  artifacts: string;
  data: string;
  at?: string;
  /** Market label or id; required but for --batch (where it may list the batch's markets). */
  market?: string;
  domain?: string;
  oracle?: string;
  chainId?: string;
  out: string;
  snarkjs?: string;
  /** Signed window files (one per publisher): prove a signed update instead of a bar of --data. */
  window?: string[];
  /** Signed batch files (one per publisher): prove a signed batch of N markets. */
  batch?: string[];
  /** Publisher set file of the market (with --window) or of every market of the batch (with --batch). */
  publishers?: string;
  json?: boolean;
}

/** The options of `zkrisk verify`. */
export interface VerifyFlags {
  artifacts: string;
  model?: string;
  json?: boolean;
}

/** `zkrisk prove`: prove one bar, write the proof file, print its parameters. */
export async function proveAction(f: ProveFlags): Promise<void> {
  outFileOption("--out", f.out);
  if (f.snarkjs !== undefined) {
    outDirOption("--snarkjs", f.snarkjs);
    if (resolve(f.snarkjs, "proof.json") === resolve(f.out))
      throw new UsageError(`--snarkjs: ${f.snarkjs}/proof.json would overwrite --out ${f.out}`);
  }
  const domain = domainOf(f);
  if (f.batch !== undefined) {
    if (f.window !== undefined) throw new UsageError("give --window or --batch, not both");
    if (f.snarkjs !== undefined) throw new UsageError("--snarkjs is not available with --batch yet");
    if (f.at !== undefined) throw new UsageError("--at does not go with --batch (the files name their bars)");
    await proveBatchAction({ ...f, batch: f.batch }, domain);
    return;
  }
  if (f.market === undefined) throw new UsageError("--market is required (but for --batch)");
  const market = f.market;
  if (f.window !== undefined) {
    await proveSignedAction({ ...f, market, window: f.window }, domain);
    return;
  }
  if (f.publishers !== undefined) throw new UsageError("--publishers goes with --window or --batch");
  const series = loadCandles(f.data);
  const prover = await UpdateProver.open(f.artifacts, { modelPath: f.model });
  try {
    const index = f.at === undefined ? undefined : barIndexAt(series, parseDateOption("--at", f.at));
    const update = await prover.proveBar(series, {
      market,
      marketId: marketIdOf(market),
      domain,
      index,
    });
    writeJsonAtomic(f.out, update);
    if (f.snarkjs !== undefined) {
      for (const [name, doc] of Object.entries(snarkjsProofFiles(update)))
        writeJsonAtomic(join(f.snarkjs, name), doc);
    }
    if (f.json)
      printJson({
        out: f.out,
        bar: update.bar,
        parameters: update.parameters,
        provingMs: update.provingMs,
      });
    else
      process.stdout.write(
        `proved ${market} bar ${update.bar}: MM ${update.parameters.maintenanceMarginBps} bps, ` +
          `IM ${update.parameters.initialMarginBps} bps (${prover.mode} weights, ${update.provingMs.toFixed(0)} ms); ` +
          `verified locally; wrote ${f.out}\n`,
      );
  } finally {
    await prover.close();
  }
}

/** `zkrisk verify`: check a proof file (signed or unsigned, by its format) offline; exit code 1 when it fails. */
export async function verifyAction(proofFile: string, f: VerifyFlags): Promise<void> {
  const artifacts = loadArtifacts(f.artifacts, { modelPath: f.model });
  const vkey = JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey;
  const model = loadQuantizedModel(artifacts.modelPath);
  const problems = isSignedProofDocument(readJsonFile(proofFile, "PROOF_INVALID"))
    ? await checkSignedProofFile(readSignedProofFile(proofFile), { model, vkey })
    : await checkProofFile(readProofFile(proofFile), { model, vkey });
  if (f.json) printJson({ ok: problems.length === 0, problems });
  else
    process.stdout.write(
      problems.length === 0
        ? `OK ${proofFile}\n`
        : `FAIL ${proofFile}\n${problems.map((p) => `  ${p}\n`).join("")}`,
    );
  if (problems.length > 0) process.exitCode = 1;
}
