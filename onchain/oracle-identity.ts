/**
 * Whether a contract is a RiskOracle: one `eth_call` of a view only a RiskOracle answers, before a command reads
 * from or sends to an `--oracle`. Another contract (the verifier's address given by mistake) would otherwise be
 * read as an oracle with nothing on it (an audit finding no update, exit 0) or fail with ethers' words for a revert.
 */
import { getAddress, isError, type Interface, type Provider } from "ethers";
import { UsageError, ZkriskError } from "../core/errors";
import { oracleInterface, READING_STATUSES } from "./oracle";

/** What to give instead, said with every refusal. */
const HINT = "give the oracle's address, which `zkrisk deploy` prints as `oracle`, not the verifier's";

/** The market the probe reads: any id does, `readings` answers for unknown ones too. */
const PROBE_MARKET = 0n;

/**
 * Whether a failed `eth_call` is the contract's refusal (a revert) rather than the node's failure: ethers calls
 * both CALL_EXCEPTION, but only a revert carries revert data (Hardhat: `0x` for none) or says "revert" (geth,
 * Anvil: "execution reverted" without data); a node that fails the call ("header not found") does neither.
 */
function isRevert(err: unknown): boolean {
  if (!isError(err, "CALL_EXCEPTION")) return false;
  if (typeof err.data === "string") return true;
  const said = (err.info as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof said === "string" && /revert/i.test(said);
}

/**
 * Refuse a contract that is not a RiskOracle: it must answer `readings([0], 0)`, which every RiskOracle answers
 * without reverting, with exactly the ABI encoding of one `Reading` of a known status (the answer decoded and
 * encoded again gives the same bytes: no masked bits, no trailing data). One `eth_call` at the latest block.
 * Check that the address holds code first: an account without code answers every call with nothing, which this
 * would refuse with a less helpful reason.
 * @param option the name the messages start with (`--oracle`, or `oracle` for the audit's option field)
 * @throws UsageError `OPTION: ADDRESS is not a RiskOracle (why)` for a revert or an answer that is not one
 * @throws ZkriskError `RPC_FAILED` when the node fails the call without the contract reverting (not the address's
 *   fault); any other error of the node (unreachable) as ethers throws it
 */
export async function checkRiskOracle(provider: Provider, address: string, option: string): Promise<void> {
  const iface = oracleInterface();
  const readings = iface.getFunction("readings")!;
  const signature = readings.format("sighash");
  const oracle = getAddress(address);
  let answer: string;
  try {
    answer = await provider.call({
      to: oracle,
      data: iface.encodeFunctionData(readings, [[PROBE_MARKET], 0n]),
    });
  } catch (err) {
    if (isRevert(err)) {
      throw new UsageError(
        `${option}: ${oracle} is not a RiskOracle (the contract there reverts ${signature}, which every ` +
          `RiskOracle answers; ${HINT})`,
      );
    }
    if (!isError(err, "CALL_EXCEPTION")) throw err;
    const said = (err.info as { error?: { message?: unknown } } | undefined)?.error?.message;
    throw new ZkriskError(
      "RPC_FAILED",
      `cannot check that ${oracle} is a RiskOracle: the node failed the call of ${signature}` +
        (typeof said === "string" ? ` (the node said: ${said})` : ""),
    );
  }
  if (!isReadingsAnswer(iface, answer)) {
    const bytes = (answer.length - 2) / 2;
    throw new UsageError(
      `${option}: ${oracle} is not a RiskOracle (its answer to ${signature}, ${bytes} bytes, is not the ` +
        `reading a RiskOracle returns; ${HINT})`,
    );
  }
}

/** Whether `answer` is exactly the encoding of `readings`' result for one market (see {@link checkRiskOracle}). */
function isReadingsAnswer(iface: Interface, answer: string): boolean {
  try {
    const result = iface.decodeFunctionResult("readings", answer);
    const values = result[0] as unknown[][];
    return (
      values.length === 1 &&
      Number(values[0][4]) < READING_STATUSES.length &&
      iface.encodeFunctionResult("readings", result).toLowerCase() === answer.toLowerCase()
    );
  } catch {
    return false;
  }
}
