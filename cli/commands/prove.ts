/**
 * `zkrisk prove`: a proven update from signed candles, one market's windows (`--window`, cli/commands/prove-signed.ts)
 * or a batch of markets (`--batch`, cli/commands/prove-batch.ts). The options they share are checked here.
 */
import { isAddress } from "ethers";
import { UsageError } from "../../core/errors";
import { oracleDomain } from "../../prover/domain";
import { FIELD_MODULUS } from "../../crypto/field";
import { fileOptions, labelledFile, outDirOption, outFileOption, output, refuseOverwrites } from "../options";
import { formatProveBatch, proveBatchJson, runProveBatch } from "./prove-batch";
import { formatProveSigned, proveSignedJson, runProveSigned, SNARKJS_FILES } from "./prove-signed";

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
  // Every problem of the two at once: a malformed value as well as the missing other one.
  const problems: string[] = [];
  if (f.oracle !== undefined && !isAddress(f.oracle))
    problems.push(`--oracle: '${f.oracle}' is not an address`);
  // No chain has id 0 (EIP-155): a proof for it would be refused by every oracle, as `audit` refuses it.
  if (f.chainId !== undefined && !/^[1-9]\d*$/.test(f.chainId))
    problems.push(`--chain-id: '${f.chainId}' is not a positive integer`);
  if (f.oracle !== undefined && f.chainId === undefined)
    problems.push("--oracle needs --chain-id, the chain id of the oracle (they make the domain together)");
  if (f.oracle === undefined && f.chainId !== undefined)
    problems.push("--chain-id needs --oracle, the oracle the proof is for (they make the domain together)");
  if (problems.length > 0) throw new UsageError(problems.join("; "));
  if (f.oracle === undefined || f.chainId === undefined) return 0n;
  return oracleDomain(BigInt(f.chainId), f.oracle, { chainId: "--chain-id", oracle: "--oracle" });
}

/** The options of `zkrisk prove`, as commander gives them (cli/register/prove.ts). */
export interface ProveFlags {
  model: string;
  artifacts: string;
  /** Market label or id; required with --window (with --batch it may list the batch's markets). */
  market?: string;
  domain?: string;
  oracle?: string;
  chainId?: string;
  /**
   * JSON-RPC node of --oracle as given (undefined when left out: http://127.0.0.1:8545): adaptive artifacts read
   * the market's prior there (unless --prior is given); other artifacts refuse it.
   */
  rpc?: string;
  /** Adaptive artifacts: the prior `num,outcomes,mmS[,lag]` (instead of reading it from --oracle). */
  prior?: string;
  out: string;
  snarkjs?: string;
  /** Signed window files (one per publisher): prove a signed update. */
  window?: string[];
  /** Signed batch files (one per publisher): prove a signed batch of N markets. */
  batch?: string[];
  /** With --batch: markets' own model files, as LABEL=FILE. */
  marketModel?: string[];
  /** Publisher set file of the market (with --window) or of every market of the batch (with --batch). */
  publishers?: string;
  json?: boolean;
}

/**
 * `zkrisk prove`: prove a signed update (--window, prove-signed.ts) or a signed batch (--batch, prove-batch.ts),
 * write the proof file and print what was proved.
 */
export async function proveAction(f: ProveFlags): Promise<void> {
  outFileOption("--out", f.out);
  if (f.snarkjs !== undefined) outDirOption("--snarkjs", f.snarkjs);
  refuseOverwrites({
    reads: [
      ...fileOptions("--model", f.model),
      ...fileOptions("--artifacts", f.artifacts),
      ...fileOptions("--window", f.window),
      ...fileOptions("--batch", f.batch),
      ...fileOptions(
        "--market-model",
        f.marketModel?.flatMap((spec) => labelledFile(spec) ?? []),
      ),
      ...fileOptions("--publishers", f.publishers),
    ],
    writes: [
      ...fileOptions("--out", f.out),
      ...fileOptions("--snarkjs", f.snarkjs).map((dir) => ({
        ...dir,
        entries: (e: string) => SNARKJS_FILES.includes(e),
      })),
    ],
  });
  const domain = domainOf(f);
  if (f.batch !== undefined) {
    if (f.window !== undefined) throw new UsageError("give --window or --batch, not both");
    if (f.snarkjs !== undefined) throw new UsageError("--snarkjs is not available with --batch yet");
    if (f.prior !== undefined)
      throw new UsageError(
        "--prior: an adaptive batch reads every market's prior from --oracle (with --rpc); --prior is for --window",
      );
    output(await runProveBatch({ ...f, batch: f.batch }, domain), f.json, formatProveBatch, proveBatchJson);
    return;
  }
  if (f.window === undefined)
    throw new UsageError("give --window (a signed update) or --batch (a signed batch)");
  if (f.market === undefined) throw new UsageError("--market is required with --window");
  if (f.marketModel !== undefined) {
    throw new UsageError("--market-model is for --batch; a signed update's model is --model");
  }
  output(
    await runProveSigned({ ...f, market: f.market, window: f.window }, domain),
    f.json,
    formatProveSigned,
    proveSignedJson,
  );
}
