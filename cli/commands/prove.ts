/** `zkrisk prove` and `zkrisk verify`: one proven risk-parameter update, and checking it offline. */
import { readFileSync } from "node:fs";
import { UsageError } from "../../models/errors";
import { oracleDomain } from "../../prover/domain";
import { readJsonFile, writeJsonAtomic } from "../../models/io";
import { loadCandles, loadFunding } from "../../models/load-data";
import { PUBLIC_SIGNALS } from "../../circuits/public-signals";
import { loadArtifacts } from "../../prover/artifacts";
import { toVerifierCalldata } from "../../prover/calldata";
import { marketIdOf } from "../../prover/circuit-input";
import { UpdateProver, type ProvedUpdate } from "../../prover/prove-update";
import { snarkjs, type VerificationKey } from "../../prover/setup/snarkjs";
import { parseDateOption, printJson } from "../options";
import { barIndexAt } from "./infer";

/** The domain from --domain, or from --oracle and --chain-id (0 when none is given: no oracle yet). */
function domainOf(f: { domain?: string; oracle?: string; chainId?: string }): bigint {
  if (f.domain !== undefined) {
    if (f.oracle !== undefined || f.chainId !== undefined)
      throw new UsageError("give --domain or --oracle with --chain-id, not both");
    if (!/^\d+$/.test(f.domain))
      throw new UsageError(`--domain: '${f.domain}' is not a non-negative integer`);
    return BigInt(f.domain);
  }
  if ((f.oracle === undefined) !== (f.chainId === undefined))
    throw new UsageError("--oracle and --chain-id go together");
  if (f.oracle === undefined) return 0n;
  if (!/^\d+$/.test(f.chainId!)) throw new UsageError(`--chain-id: '${f.chainId}' is not a positive integer`);
  return oracleDomain(BigInt(f.chainId!), f.oracle);
}

/** Check a proof file's proof against an artifact directory's verification key; returns the reasons it fails. */
export async function verifyProofFile(update: ProvedUpdate, vkey: VerificationKey): Promise<string[]> {
  const problems: string[] = [];
  if (update.publicSignals.length !== PUBLIC_SIGNALS.length) {
    problems.push(`expected ${PUBLIC_SIGNALS.length} public signals, found ${update.publicSignals.length}`);
  } else if (!(await snarkjs.groth16.verify(vkey, update.publicSignals, update.proof))) {
    problems.push("the Groth16 proof does not verify with the verification key");
  }
  const calldata = toVerifierCalldata(update.proof, update.publicSignals);
  if (JSON.stringify(calldata) !== JSON.stringify(update.calldata)) {
    problems.push("calldata does not match the proof and public signals");
  }
  const p = update.parameters;
  const claimed = [
    p.maintenanceMarginBps,
    p.initialMarginBps,
    p.modelCommitment,
    p.inputCommitment,
    p.marketId,
    p.dataTimestamp,
    p.domain,
  ];
  PUBLIC_SIGNALS.forEach((name, i) => {
    if (String(claimed[i]) !== update.publicSignals[i]) {
      problems.push(
        `parameters.${name} = ${claimed[i]} but the proven public signal is ${update.publicSignals[i]}`,
      );
    }
  });
  return problems;
}

/** The options of `zkrisk prove`, as commander gives them (cli/register/prove.ts). */
export interface ProveFlags {
  model: string;
  artifacts: string;
  data: string;
  funding?: string;
  at?: string;
  market: string;
  domain?: string;
  oracle?: string;
  chainId?: string;
  out: string;
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
  const domain = domainOf(f);
  const series = loadCandles(f.data);
  const funding = f.funding ? loadFunding(f.funding) : undefined;
  const prover = await UpdateProver.open(f.artifacts, { modelPath: f.model });
  try {
    const index = f.at === undefined ? undefined : barIndexAt(series, parseDateOption("--at", f.at));
    const update = await prover.proveBar(series, {
      market: f.market,
      marketId: marketIdOf(f.market),
      domain,
      index,
      funding,
    });
    writeJsonAtomic(f.out, update);
    if (f.json)
      printJson({
        out: f.out,
        bar: update.bar,
        parameters: update.parameters,
        provingMs: update.provingMs,
      });
    else
      process.stdout.write(
        `proved ${f.market} bar ${update.bar}: MM ${update.parameters.maintenanceMarginBps} bps, ` +
          `IM ${update.parameters.initialMarginBps} bps (${prover.mode} weights, ${update.provingMs.toFixed(0)} ms); ` +
          `verified locally; wrote ${f.out}\n`,
      );
  } finally {
    await prover.close();
  }
}

/** `zkrisk verify`: check a proof file offline; exit code 1 when it fails. */
export async function verifyAction(proofFile: string, f: VerifyFlags): Promise<void> {
  const artifacts = loadArtifacts(f.artifacts, { modelPath: f.model });
  const vkey = JSON.parse(readFileSync(artifacts.paths.vkey, "utf8")) as VerificationKey;
  const update = readJsonFile(proofFile, "PROOF_INVALID") as ProvedUpdate;
  const problems = await verifyProofFile(update, vkey);
  if (f.json) printJson({ ok: problems.length === 0, problems });
  else
    process.stdout.write(
      problems.length === 0
        ? `OK ${proofFile}\n`
        : `FAIL ${proofFile}\n${problems.map((p) => `  ${p}\n`).join("")}`,
    );
  if (problems.length > 0) process.exitCode = 1;
}
