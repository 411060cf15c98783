/**
 * `zkrisk set-batch-verifier`: governance's `setBatchVerifier` (or `setAdaptiveBatchVerifier` for an adaptive batch
 * circuit) for a signed batch artifact directory: its verifier, deployed unless `--verifier` names one already
 * deployed, approved for batches of the circuit's N markets holding markets of each `--model` (or `--commitment`).
 */
import type { Contract } from "ethers";
import { UsageError } from "../../core/errors";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import {
  deployVerifier,
  isAdaptiveCircuit,
  setAdaptiveBatchVerifier,
  setBatchVerifier,
  signedBatchSize,
} from "../../onchain/oracle";
import { loadArtifacts } from "../../setup/artifacts";
import { output } from "../options";
import { addressOption, contractOption, oracleOption, withChain } from "../chain-options";

/** The options of `zkrisk set-batch-verifier`, as commander gives them (cli/register/chain.ts). */
export interface SetBatchVerifierFlags {
  oracle: string;
  /** A signed batch circuit's artifact directory (`zkrisk compile --batch N`, then `zkrisk setup`). */
  artifacts: string;
  /** Model files whose markets the batches may hold (repeatable). */
  model?: string[];
  /** Model commitments instead of files (repeatable, decimal). */
  commitment?: string[];
  /** An already deployed verifier of `artifacts` (default: deploy one). */
  verifier?: string;
  allowInsecureSetup?: boolean;
  rpc: string;
  key: string;
  json?: boolean;
}

/** One model approved. */
export interface ApprovedModel {
  /** The model file, when given with --model. */
  file?: string;
  /** Its commitment, decimal. */
  commitment: string;
  txHash: string;
}

/** What `zkrisk set-batch-verifier` did (also the `--json` document). */
export interface SetBatchVerifierResult {
  oracle: string;
  /** Markets per batch (the circuit's N). */
  batchSize: number;
  /** Registered with `setAdaptiveBatchVerifier` (an adaptive batch circuit). */
  adaptive: boolean;
  verifier: string;
  /** Whether this run deployed the verifier. */
  deployed: boolean;
  models: ApprovedModel[];
}

/** The models to approve, checked before anything is sent: files read and committed, commitments parsed. */
async function modelsOf(f: SetBatchVerifierFlags): Promise<{ file?: string; commitment: bigint }[]> {
  const files = f.model ?? [];
  const commitments = f.commitment ?? [];
  if (files.length + commitments.length === 0) {
    throw new UsageError("give --model FILE or --commitment N (repeatable): the models the batches may hold");
  }
  const out: { file?: string; commitment: bigint }[] = [];
  for (const file of files) out.push({ file, commitment: await modelCommitment(loadQuantizedModel(file)) });
  for (const c of commitments) {
    if (!/^\d+$/.test(c)) throw new UsageError(`--commitment: '${c}' is not a decimal integer`);
    out.push({ commitment: BigInt(c) });
  }
  const seen = new Set<bigint>();
  for (const m of out) {
    if (seen.has(m.commitment)) {
      throw new UsageError(`--model/--commitment: commitment ${m.commitment} is given twice`);
    }
    seen.add(m.commitment);
  }
  return out;
}

/**
 * Approve the verifier of `--artifacts` for each model. The artifacts (a signed batch circuit), the models and the
 * addresses are checked before anything is sent; the oracle's refusals (a key without the governor role, a
 * verifier of another batch size) are OracleErrors naming its error.
 */
export async function runSetBatchVerifier(f: SetBatchVerifierFlags): Promise<SetBatchVerifierResult> {
  const { manifest } = loadArtifacts(f.artifacts, { model: "not needed" });
  const batchSize = signedBatchSize(manifest);
  if (batchSize === undefined) {
    throw new UsageError(
      `--artifacts: ${f.artifacts} does not hold a signed batch circuit (\`zkrisk compile --batch N\`, then ` +
        "`zkrisk setup`); a signed-update circuit's verifier is a market's, given to `zkrisk register-market`",
    );
  }
  const adaptive = isAdaptiveCircuit(manifest);
  const models = await modelsOf(f);
  addressOption("--oracle", f.oracle);
  if (f.verifier !== undefined) addressOption("--verifier", f.verifier);
  return withChain(f.rpc, f.key, async (chain) => {
    const oracle: Contract = await oracleOption(chain, f.oracle);
    const verifier =
      f.verifier === undefined
        ? await (
            await deployVerifier(chain.signer, f.artifacts, { allowInsecureSetup: f.allowInsecureSetup })
          ).getAddress()
        : await contractOption(chain, "--verifier", f.verifier);
    const approve = adaptive ? setAdaptiveBatchVerifier : setBatchVerifier;
    const approved: ApprovedModel[] = [];
    for (const m of models) {
      const receipt = await approve(oracle, m.commitment, batchSize, verifier);
      approved.push({
        ...(m.file !== undefined && { file: m.file }),
        commitment: m.commitment.toString(),
        txHash: receipt.hash,
      });
    }
    return {
      oracle: f.oracle,
      batchSize,
      adaptive,
      verifier,
      deployed: f.verifier === undefined,
      models: approved,
    };
  });
}

/** The text output of `zkrisk set-batch-verifier`. */
export function formatSetBatchVerifier(r: SetBatchVerifierResult): string {
  const how = r.adaptive ? "setAdaptiveBatchVerifier" : "setBatchVerifier";
  const lines = [
    `${r.deployed ? "deployed" : "using"} verifier ${r.verifier} (${r.adaptive ? "adaptive " : ""}batches of ` +
      `${r.batchSize} markets) on ${r.oracle}`,
    ...r.models.map(
      (m) => `${how}: model ${m.file ?? m.commitment} (commitment ${m.commitment}); tx ${m.txHash}`,
    ),
  ];
  return lines.join("\n") + "\n";
}

/** `zkrisk set-batch-verifier`: deploy and approve, then print what was done. */
export async function setBatchVerifierAction(f: SetBatchVerifierFlags): Promise<void> {
  output(await runSetBatchVerifier(f), f.json, formatSetBatchVerifier);
}
