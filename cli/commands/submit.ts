/**
 * `zkrisk submit`: a signed update's proof file (`zkrisk prove --window`) sent with `submitSignedUpdate`, or a
 * signed batch's (`zkrisk prove --batch`) with `submitSignedBatch`, by the file's format.
 */
import { readJsonFile } from "../../models/io";
import { oracleAt, submitSignedBatch, submitSignedUpdate } from "../../prover/onchain/oracle";
import { readSignedProofFile } from "../../prover/signed-proof-file";
import { isSignedBatchProofDocument, readSignedBatchProofFile } from "../../prover/signed-batch-proof-file";
import { output } from "../options";
import { addressOption, withChain } from "./chain";

/** The options of `zkrisk submit`, as commander gives them (cli/register/chain.ts), and its argument. */
export interface SubmitFlags {
  /** The proof file (the command's argument). */
  proof: string;
  oracle: string;
  rpc: string;
  key: string;
  json?: boolean;
}

/** The accepted transaction (also the `--json` document). */
export interface SubmitResult {
  txHash: string;
  block: number;
  /** Gas used, decimal. */
  gasUsed: string;
}

/** Submit the proof file to the oracle; it is read strictly before anything is sent. A refusal throws. */
export async function runSubmit(f: SubmitFlags): Promise<SubmitResult> {
  const batch = isSignedBatchProofDocument(readJsonFile(f.proof, "PROOF_INVALID"))
    ? readSignedBatchProofFile(f.proof)
    : undefined;
  const update = batch === undefined ? readSignedProofFile(f.proof) : undefined;
  const receipt = await withChain(f.rpc, f.key, (chain) => {
    const oracle = oracleAt(addressOption("--oracle", f.oracle), chain.signer);
    return batch !== undefined
      ? submitSignedBatch(oracle, batch)
      : submitSignedUpdate(oracle, BigInt(update!.parameters.marketId), update!.calldata);
  });
  return { txHash: receipt.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString() };
}

/** The text output of `zkrisk submit`. */
export function formatSubmit(r: SubmitResult): string {
  return `accepted: tx ${r.txHash}, block ${r.block}, gas ${r.gasUsed}\n`;
}

/** `zkrisk submit`: submit, then print the transaction. */
export async function submitAction(f: SubmitFlags): Promise<void> {
  output(await runSubmit(f), f.json, formatSubmit);
}
