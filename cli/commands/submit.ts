/**
 * `zkrisk submit`: a signed update's proof file (`zkrisk prove --window`) sent with `submitSignedUpdate`, or a
 * signed batch's (`zkrisk prove --batch`) with `submitSignedBatch`, by the file's format.
 */
import {
  OracleError,
  submitAdaptiveBatch,
  submitSignedBatch,
  submitSignedUpdate,
} from "../../onchain/oracle";
import { ADAPTIVE_UPDATE_PACKING } from "../../circuits/statement";
import { readAnySignedProofFile } from "../../prover/signed-batch-proof-file";
import { output } from "../options";
import { addressOption, oracleOption, withChain } from "../chain-options";

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

/** A packed adaptive prior (`packAdaptivePrior`) as `num N, outcomes O, MM_s M, lag L`. */
function describePrior(packed: bigint): string {
  const P = ADAPTIVE_UPDATE_PACKING;
  const at = (shift: number, bits: number) =>
    (packed >> BigInt(shift - P.numShift)) & ((1n << BigInt(bits)) - 1n);
  return (
    `num ${at(P.numShift, P.numBits)}, outcomes ${at(P.outcomesShift, P.outcomesBits)}, ` +
    `MM_s ${at(P.marginSShift, P.marginSBits)}, lag ${at(P.lagShift, P.lagBits)}`
  );
}

/**
 * An adaptive update refused for its prior (`OracleAdaptiveStateMismatch(market, expected, proven)`) says what
 * to do: the proof started from another state than the oracle's now, so it must be proved again.
 */
function explainRefusal(err: unknown): unknown {
  if (!(err instanceof OracleError) || err.reason !== "OracleAdaptiveStateMismatch") return err;
  const m = /OracleAdaptiveStateMismatch\((\d+), (\d+), (\d+)\)/.exec(err.message);
  const detail =
    m === null
      ? ""
      : ` (the oracle's prior: ${describePrior(BigInt(m[2]))}; the proof's: ${describePrior(BigInt(m[3]))})`;
  return new OracleError(
    err.reason,
    `${err.message}: the proof's adaptive prior is stale or wrong${detail}. The oracle builds the prior from ` +
      "its state when the update arrives (another update accepted since the proof, or a wrong --prior); prove " +
      "the bar again from the oracle's current prior (`zkrisk prove --oracle ADDR --rpc URL ...`) and submit " +
      "the new proof file",
  );
}

/** Submit the proof file to the oracle; it is read strictly before anything is sent. A refusal throws. */
export async function runSubmit(f: SubmitFlags): Promise<SubmitResult> {
  const file = readAnySignedProofFile(f.proof);
  addressOption("--oracle", f.oracle);
  const receipt = await withChain(f.rpc, f.key, async (chain) => {
    const oracle = await oracleOption(chain, f.oracle);
    if ("batch" in file) {
      return file.batch.markets[0].adaptive === undefined
        ? submitSignedBatch(oracle, file.batch)
        : submitAdaptiveBatch(oracle, file.batch);
    }
    return submitSignedUpdate(oracle, BigInt(file.update.parameters.marketId), file.update.calldata);
  }).catch((err: unknown) => {
    throw explainRefusal(err);
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
