/** `zkrisk deploy`: an artifact directory's generated verifier and a RiskOracle, on a JSON-RPC node. */
import { getAddress, ZeroAddress } from "ethers";
import { UsageError, ZkriskError } from "../../core/errors";
import { writeJsonAtomic } from "../../core/io";
import {
  decodeRevert,
  deployOracle,
  deployVerifier,
  oracleInterface,
  OracleError,
} from "../../onchain/oracle";
import { loadArtifacts } from "../../setup/artifacts";
import { fileOptions, outFileOption, output, refuseOverwrites } from "../options";
import { addressOption, withChain } from "../chain-options";

/** The options of `zkrisk deploy`, as commander gives them (cli/register/chain.ts). */
export interface DeployFlags {
  artifacts: string;
  rpc: string;
  key: string;
  governor?: string;
  allowInsecureSetup?: boolean;
  out?: string;
  json?: boolean;
}

/** The deployed contracts (also the `--out` file and the `--json` document). */
export interface DeployResult {
  /** Chain id, decimal. */
  chainId: string;
  verifier: string;
  oracle: string;
  /** Governance account of the oracle. */
  governor: string;
}

/**
 * `--governor`: an address, not the zero address (no account could govern the oracle: its constructor reverts with
 * `OracleInvalidGovernor`, after the verifier's deployment has been paid for).
 */
export function governorOption(value: string): string {
  const governor = addressOption("--governor", value);
  if (getAddress(governor) === ZeroAddress) {
    throw new UsageError(
      `--governor: ${value} is the zero address, which no account controls: the oracle could never be governed ` +
        "(its constructor refuses it with OracleInvalidGovernor)",
    );
  }
  return governor;
}

/**
 * The error of a step that failed after the verifier was deployed on chain `chainId` at `verifier`: a revert of the
 * oracle's deployment decoded with the oracle's ABI (its custom error and arguments, as `submit` reports them), any
 * other failure by its short message; either way the message says where the verifier is, so it is not lost.
 */
export function afterVerifierFailure(err: unknown, verifier: string, chainId: bigint): ZkriskError {
  const where = `; the verifier was already deployed, at ${verifier} on chain ${chainId}`;
  const decoded = decodeRevert(err, oracleInterface());
  if (decoded.reason !== "unknown") {
    return new OracleError(decoded.reason, `deploying the RiskOracle failed: ${decoded.message}${where}`);
  }
  const { code, shortMessage, message } = err as {
    code?: unknown;
    shortMessage?: unknown;
    message?: unknown;
  };
  const said =
    typeof shortMessage === "string" ? shortMessage : typeof message === "string" ? message : String(err);
  return new ZkriskError(
    err instanceof ZkriskError ? err.code : typeof code === "string" ? code : "CHAIN_ERROR",
    `deploying the RiskOracle failed: ${said}${where}`,
  );
}

/**
 * Deploy the verifier of `--artifacts` (checked against its manifest first) and a RiskOracle governed by
 * `--governor` (default: the deployer); with `--out`, write the addresses there. The options are checked before
 * any connection: an `--out` that is a file of the artifact directory (its manifest, keys) is refused.
 */
export async function runDeploy(f: DeployFlags): Promise<DeployResult> {
  const given = f.governor === undefined ? undefined : governorOption(f.governor);
  if (f.out !== undefined) outFileOption("--out", f.out);
  refuseOverwrites({ reads: fileOptions("--artifacts", f.artifacts), writes: fileOptions("--out", f.out) });
  // deploy has no --model: the manifest's model file is the only one it can check
  loadArtifacts(f.artifacts, {
    missingModelHint: "restore it there, or run `zkrisk setup` again for these artifacts",
  });
  const result = await withChain(f.rpc, f.key, async (chain) => {
    const governor = given ?? (await chain.signer.getAddress());
    const verifier = await (
      await deployVerifier(chain.signer, f.artifacts, { allowInsecureSetup: f.allowInsecureSetup })
    ).getAddress();
    try {
      const oracle = await deployOracle(chain.signer, governor);
      return { chainId: chain.chainId.toString(), verifier, oracle: await oracle.getAddress(), governor };
    } catch (err) {
      throw afterVerifierFailure(err, verifier, chain.chainId);
    }
  });
  if (f.out) {
    try {
      writeJsonAtomic(f.out, result);
    } catch (err) {
      // The contracts exist now: an --out that fails after the check must not lose their addresses.
      throw new ZkriskError(
        "FILE_ERROR",
        `--out: cannot write ${f.out}: ${(err as Error).message}; deployed anyway: ` +
          formatDeploy(result).trim().replace(/\s+/g, " "),
      );
    }
  }
  return result;
}

/** The text output of `zkrisk deploy`. */
export function formatDeploy(r: DeployResult): string {
  return `verifier ${r.verifier}\noracle   ${r.oracle} (governor ${r.governor}, chain ${r.chainId})\n`;
}

/** `zkrisk deploy`: deploy, then print the addresses. */
export async function deployAction(f: DeployFlags): Promise<void> {
  output(await runDeploy(f), f.json, formatDeploy);
}
