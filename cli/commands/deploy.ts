/** `zkrisk deploy`: an artifact directory's generated verifier and a RiskOracle, on a JSON-RPC node. */
import { ZkriskError } from "../../core/errors";
import { writeJsonAtomic } from "../../core/io";
import { deployOracle, deployVerifier } from "../../onchain/oracle";
import { loadArtifacts } from "../../setup/artifacts";
import { outFileOption, output } from "../options";
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
 * Deploy the verifier of `--artifacts` (checked against its manifest first) and a RiskOracle governed by
 * `--governor` (default: the deployer); with `--out`, write the addresses there.
 */
export async function runDeploy(f: DeployFlags): Promise<DeployResult> {
  if (f.out !== undefined) outFileOption("--out", f.out);
  // deploy has no --model: the manifest's model file is the only one it can check
  loadArtifacts(f.artifacts, {
    missingModelHint: "restore it there, or run `zkrisk setup` again for these artifacts",
  });
  const result = await withChain(f.rpc, f.key, async (chain) => {
    const governor = f.governor ? addressOption("--governor", f.governor) : await chain.signer.getAddress();
    const verifier = await deployVerifier(chain.signer, f.artifacts, {
      allowInsecureSetup: f.allowInsecureSetup,
    });
    const oracle = await deployOracle(chain.signer, governor);
    return {
      chainId: chain.chainId.toString(),
      verifier: await verifier.getAddress(),
      oracle: await oracle.getAddress(),
      governor,
    };
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
