/** `zkrisk deploy`, `zkrisk register-market`, `zkrisk submit`: the oracle on a JSON-RPC node. */
import type { Command } from "commander";
import { isAddress } from "ethers";
import { UsageError } from "../../models/errors";
import { writeJsonAtomic } from "../../models/io";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../prover/circuit-input";
import { rpcChain, type Chain } from "../../prover/onchain/chain";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  oracleAt,
  registerMarket,
  submitUpdate,
  type MarketLimits,
} from "../../prover/onchain/oracle";
import { loadArtifacts } from "../../prover/artifacts";
import { readProofFile, requireInputCommitment } from "../../prover/proof-file";
import { outFileOption, parseIntOption, printJson } from "../options";

const DEFAULT_RPC = "http://127.0.0.1:8545";
const KEY_HELP = "signing key: 0x-hex or env:NAME (default env:ZKRISK_PRIVATE_KEY); never printed";

function address(option: string, value: string): string {
  if (!isAddress(value)) throw new UsageError(`${option}: '${value}' is not an address`);
  return value;
}

async function withChain<T>(rpc: string, key: string, work: (chain: Chain) => Promise<T>): Promise<T> {
  const chain = await rpcChain(rpc, key);
  try {
    return await work(chain);
  } finally {
    await chain.close();
  }
}

interface LimitFlags {
  minMm: string;
  maxMm: string;
  minIm: string;
  maxIm: string;
  maxIncrease: string;
  maxDecrease: string;
  minInterval: string;
  maxAge: string;
}

function limitsOf(f: LimitFlags): MarketLimits {
  return {
    minMaintenanceMarginBps: parseIntOption("--min-mm", f.minMm, 0, 10000),
    maxMaintenanceMarginBps: parseIntOption("--max-mm", f.maxMm, 0, 10000),
    minInitialMarginBps: parseIntOption("--min-im", f.minIm, 0, 10000),
    maxInitialMarginBps: parseIntOption("--max-im", f.maxIm, 0, 10000),
    maxIncreaseBps: parseIntOption("--max-increase", f.maxIncrease, 0, 10000),
    maxDecreaseBps: parseIntOption("--max-decrease", f.maxDecrease, 0, 10000),
    minUpdateInterval: parseIntOption("--min-interval", f.minInterval, 0, 2 ** 32 - 1),
    maxDataAge: parseIntOption("--max-age", f.maxAge, 1, 2 ** 32 - 1),
  };
}

export function registerChainCommands(program: Command): void {
  program
    .command("deploy")
    .description("deploy an artifact directory's generated verifier and a RiskOracle")
    .requiredOption("--artifacts <dir>", "artifact directory made by `zkrisk setup`")
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--governor <address>", "governance account of the oracle (default: the deployer)")
    .option("--out <file>", "write the addresses to this JSON file")
    .option("--json", "print the result as one JSON object")
    .action(
      async (f: {
        artifacts: string;
        rpc: string;
        key: string;
        governor?: string;
        out?: string;
        json?: boolean;
      }) => {
        if (f.out !== undefined) outFileOption("--out", f.out);
        loadArtifacts(f.artifacts);
        const result = await withChain(f.rpc, f.key, async (chain) => {
          const governor = f.governor ? address("--governor", f.governor) : await chain.signer.getAddress();
          const verifier = await deployVerifier(chain.signer, f.artifacts);
          const oracle = await deployOracle(chain.signer, governor);
          return {
            chainId: chain.chainId.toString(),
            verifier: await verifier.getAddress(),
            oracle: await oracle.getAddress(),
            governor,
          };
        });
        if (f.out) writeJsonAtomic(f.out, result);
        if (f.json) printJson(result);
        else
          process.stdout.write(
            `verifier ${result.verifier}\noracle   ${result.oracle} (governor ${result.governor}, chain ${result.chainId})\n`,
          );
      },
    );

  program
    .command("register-market")
    .description("register a market on the oracle (governance): verifier, model commitment, guards, guardian")
    .requiredOption("--oracle <address>", "RiskOracle address")
    .requiredOption("--market <id>", "market label (e.g. BTC-USDT) or number")
    .requiredOption("--verifier <address>", "Groth16 verifier of the model's circuit")
    .option("--model <file>", "quantised model whose commitment the market accepts")
    .option("--commitment <n>", "model commitment (instead of --model)")
    .option("--guardian <address>", "account that may pause the market (default: the sender)")
    .option("--min-mm <bps>", "lowest maintenance margin", String(DEFAULT_LIMITS.minMaintenanceMarginBps))
    .option("--max-mm <bps>", "highest maintenance margin", String(DEFAULT_LIMITS.maxMaintenanceMarginBps))
    .option("--min-im <bps>", "lowest initial margin", String(DEFAULT_LIMITS.minInitialMarginBps))
    .option("--max-im <bps>", "highest initial margin", String(DEFAULT_LIMITS.maxInitialMarginBps))
    .option("--max-increase <bps>", "largest rise per update", String(DEFAULT_LIMITS.maxIncreaseBps))
    .option("--max-decrease <bps>", "largest fall per update", String(DEFAULT_LIMITS.maxDecreaseBps))
    .option("--min-interval <s>", "shortest time between updates", String(DEFAULT_LIMITS.minUpdateInterval))
    .option("--max-age <s>", "oldest data an update may carry", String(DEFAULT_LIMITS.maxDataAge))
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(
      async (
        f: LimitFlags & {
          oracle: string;
          market: string;
          verifier: string;
          model?: string;
          commitment?: string;
          guardian?: string;
          rpc: string;
          key: string;
          json?: boolean;
        },
      ) => {
        if ((f.model === undefined) === (f.commitment === undefined)) {
          throw new UsageError("give exactly one of --model or --commitment");
        }
        if (f.commitment !== undefined && !/^\d+$/.test(f.commitment)) {
          throw new UsageError(`--commitment: '${f.commitment}' is not a decimal integer`);
        }
        const commitment = f.model
          ? await modelCommitment(loadQuantizedModel(f.model))
          : BigInt(f.commitment!);
        const limits = limitsOf(f);
        const marketId = marketIdOf(f.market);
        const receipt = await withChain(f.rpc, f.key, async (chain) =>
          registerMarket(oracleAt(address("--oracle", f.oracle), chain.signer), marketId, {
            verifier: address("--verifier", f.verifier),
            modelCommitment: commitment,
            guardian: f.guardian ? address("--guardian", f.guardian) : await chain.signer.getAddress(),
            limits,
          }),
        );
        const out = {
          marketId: marketId.toString(),
          modelCommitment: commitment.toString(),
          limits,
          txHash: receipt.hash,
        };
        if (f.json) printJson(out);
        else
          process.stdout.write(
            `registered ${f.market} (id ${marketId}) on ${f.oracle}: tx ${receipt.hash}\n`,
          );
      },
    );

  program
    .command("submit")
    .description("submit a proof file to the oracle; a refusal names the oracle's reason")
    .argument("<proof>", "proof file written by `zkrisk prove`")
    .requiredOption("--oracle <address>", "RiskOracle address")
    .option("--rpc <url>", "JSON-RPC node", DEFAULT_RPC)
    .option("--key <key>", KEY_HELP, "env:ZKRISK_PRIVATE_KEY")
    .option("--json", "print the result as one JSON object")
    .action(async (proofFile: string, f: { oracle: string; rpc: string; key: string; json?: boolean }) => {
      const update = readProofFile(proofFile);
      // The oracle's event publishes the features, which the proof binds only through their commitment.
      await requireInputCommitment(update, proofFile);
      const receipt = await withChain(f.rpc, f.key, (chain) =>
        submitUpdate(oracleAt(address("--oracle", f.oracle), chain.signer), update),
      );
      const out = { txHash: receipt.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString() };
      if (f.json) printJson(out);
      else process.stdout.write(`accepted: tx ${out.txHash}, block ${out.block}, gas ${out.gasUsed}\n`);
    });
}
