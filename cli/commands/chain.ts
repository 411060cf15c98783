/**
 * `zkrisk deploy`, `zkrisk register-market`, `zkrisk submit`: the oracle on a JSON-RPC node. A market is registered
 * with its publisher set; `submit` sends a signed proof file (`prove --window`) with `submitSignedUpdate`, a signed batch's (`prove --batch`) with
 * `submitSignedBatch`.
 */
import { isAddress } from "ethers";
import { UsageError } from "../../models/errors";
import { writeJsonAtomic } from "../../models/io";
import { modelCommitment } from "../../circuits/commitments";
import { loadQuantizedModel } from "../../models/quantized-model";
import { marketIdOf } from "../../candles/market-id";
import { rpcChain, type Chain } from "../../prover/onchain/chain";
import {
  deployOracle,
  deployVerifier,
  oracleAt,
  registerMarket,
  submitSignedBatch,
  submitSignedUpdate,
  type MarketLimits,
} from "../../prover/onchain/oracle";
import { loadArtifacts } from "../../prover/artifacts";
import { outFileOption, parseIntOption, printJson } from "../options";
import { readJsonFile } from "../../models/io";
import { readSignedProofFile } from "../../prover/signed-proof-file";
import { isSignedBatchProofDocument, readSignedBatchProofFile } from "../../prover/signed-batch-proof-file";
import { publisherSetCommitment, readPublisherSet } from "../../publisher";

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

/** The guard options of `zkrisk register-market` (bps and seconds, as given). */
export interface LimitFlags {
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

/** The options of `zkrisk register-market`. */
export interface RegisterMarketFlags extends LimitFlags {
  oracle: string;
  market: string;
  verifier: string;
  model?: string;
  commitment?: string;
  guardian?: string;
  /** Publisher set file of the market (`zkrisk publisher set`). */
  publishers: string;
  rpc: string;
  key: string;
  json?: boolean;
}

/** The options of `zkrisk submit`. */
export interface SubmitFlags {
  oracle: string;
  rpc: string;
  key: string;
  json?: boolean;
}

/** `zkrisk deploy`: the generated verifier and a RiskOracle. */
export async function deployAction(f: DeployFlags): Promise<void> {
  if (f.out !== undefined) outFileOption("--out", f.out);
  loadArtifacts(f.artifacts);
  const result = await withChain(f.rpc, f.key, async (chain) => {
    const governor = f.governor ? address("--governor", f.governor) : await chain.signer.getAddress();
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
  if (f.out) writeJsonAtomic(f.out, result);
  if (f.json) printJson(result);
  else
    process.stdout.write(
      `verifier ${result.verifier}\noracle   ${result.oracle} (governor ${result.governor}, chain ${result.chainId})\n`,
    );
}

/** `zkrisk register-market`: register a market with its publisher set on the oracle. */
export async function registerMarketAction(f: RegisterMarketFlags): Promise<void> {
  if ((f.model === undefined) === (f.commitment === undefined)) {
    throw new UsageError("give exactly one of --model or --commitment");
  }
  if (f.commitment !== undefined && !/^\d+$/.test(f.commitment)) {
    throw new UsageError(`--commitment: '${f.commitment}' is not a decimal integer`);
  }
  const commitment = f.model ? await modelCommitment(loadQuantizedModel(f.model)) : BigInt(f.commitment!);
  const limits = limitsOf(f);
  const marketId = marketIdOf(f.market);
  // The publisher set file is read (and checked) before anything is sent.
  const set = await readPublisherSet(f.publishers);
  const publisherSet = await publisherSetCommitment(set);
  const { receipt, publishers } = await withChain(f.rpc, f.key, async (chain) =>
    registerMarket(oracleAt(address("--oracle", f.oracle), chain.signer), marketId, {
      publishers: {
        verifier: address("--verifier", f.verifier),
        modelCommitment: commitment,
        publisherSet,
        quorum: set.quorum,
      },
      guardian: f.guardian ? address("--guardian", f.guardian) : await chain.signer.getAddress(),
      limits,
    }),
  );
  const out = {
    marketId: marketId.toString(),
    modelCommitment: commitment.toString(),
    publisherSet: publishers.publisherSet.toString(),
    quorum: publishers.quorum,
    statementKey: publishers.statementKey.toString(),
    limits,
    txHash: receipt.hash,
  };
  if (f.json) printJson(out);
  else
    process.stdout.write(
      `registered ${f.market} (id ${marketId}) on ${f.oracle}: publisher set ${out.publisherSet} (quorum ` +
        `${out.quorum}), statement key ${out.statementKey}; tx ${receipt.hash}\n`,
    );
}

/**
 * `zkrisk submit`: submit a signed update's proof file (`zkrisk prove --window`) or a signed batch's (`zkrisk prove
 * --batch`) to the oracle, by the file's format. The file is read strictly before anything is sent.
 */
export async function submitAction(proofFile: string, f: SubmitFlags): Promise<void> {
  const batch = isSignedBatchProofDocument(readJsonFile(proofFile, "PROOF_INVALID"))
    ? readSignedBatchProofFile(proofFile)
    : undefined;
  const update = batch === undefined ? readSignedProofFile(proofFile) : undefined;
  const receipt = await withChain(f.rpc, f.key, (chain) => {
    const oracle = oracleAt(address("--oracle", f.oracle), chain.signer);
    return batch !== undefined
      ? submitSignedBatch(oracle, batch)
      : submitSignedUpdate(oracle, BigInt(update!.parameters.marketId), update!.calldata);
  });
  const out = { txHash: receipt.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString() };
  if (f.json) printJson(out);
  else process.stdout.write(`accepted: tx ${out.txHash}, block ${out.block}, gas ${out.gasUsed}\n`);
}
