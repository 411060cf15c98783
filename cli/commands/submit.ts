/**
 * `zkrisk submit`: a signed update's proof file (`zkrisk prove --window`) sent with `submitSignedUpdate`, or a
 * signed batch's (`zkrisk prove --batch`) with `submitSignedBatch`, by the file's format.
 */
import { oracleAt, submitSignedBatch, submitSignedUpdate } from "../../onchain/oracle";
import { readAnySignedProofFile } from "../../prover/signed-batch-proof-file";
import { output } from "../options";
import { addressOption, withChain } from "../chain-options";

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
  const file = readAnySignedProofFile(f.proof);
  const receipt = await withChain(f.rpc, f.key, (chain) => {
    const oracle = oracleAt(addressOption("--oracle", f.oracle), chain.signer);
    return "batch" in file
      ? submitSignedBatch(oracle, file.batch)
      : submitSignedUpdate(oracle, BigInt(file.update.parameters.marketId), file.update.calldata);
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
