/**
 * `zkrisk deploy`, `zkrisk register-market`, `zkrisk submit`: the oracle on a JSON-RPC node. A market registered
 * with `--publishers` takes signed updates only; `submit` sends a signed proof file (`prove --window`) with
 * `submitSignedUpdate` and an unsigned one with `submitUpdate`.
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
  setPublisherSet,
  submitSignedUpdate,
  submitUpdate,
  type MarketLimits,
} from "../../prover/onchain/oracle";
import { loadArtifacts } from "../../prover/artifacts";
import { outFileOption, parseIntOption, printJson } from "../options";
import { readProofFile, requireInputCommitment } from "../../prover/proof-file";
import { isSignedProofDocument, readSignedProofFile } from "../../prover/signed-proof-file";
import { readJsonFile } from "../../models/io";
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
  /** Publisher set file: the market then takes signed updates only (`setPublisherSet` with `--verifier`). */
  publishers?: string;
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

/** `zkrisk register-market`: register a market on the oracle. */
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
  const publishers = f.publishers === undefined ? undefined : await readPublisherSet(f.publishers);
  const { receipt, signed } = await withChain(f.rpc, f.key, async (chain) => {
    const oracle = oracleAt(address("--oracle", f.oracle), chain.signer);
    const verifier = address("--verifier", f.verifier);
    const registered = await registerMarket(oracle, marketId, {
      verifier,
      modelCommitment: commitment,
      guardian: f.guardian ? address("--guardian", f.guardian) : await chain.signer.getAddress(),
      limits,
    });
    if (publishers === undefined) return { receipt: registered, signed: undefined };
    const set = await setPublisherSet(oracle, marketId, {
      verifier,
      modelCommitment: commitment,
      publisherSet: await publisherSetCommitment(publishers),
      quorum: publishers.quorum,
    });
    return { receipt: registered, signed: set };
  });
  const out = {
    marketId: marketId.toString(),
    modelCommitment: commitment.toString(),
    limits,
    txHash: receipt.hash,
    ...(signed === undefined
      ? {}
      : {
          publisherSet: {
            commitment: signed.config.publisherSet.toString(),
            quorum: signed.config.quorum,
            statementKey: signed.config.statementKey.toString(),
            txHash: signed.receipt.hash,
          },
        }),
  };
  if (f.json) printJson(out);
  else {
    process.stdout.write(`registered ${f.market} (id ${marketId}) on ${f.oracle}: tx ${receipt.hash}\n`);
    if (signed !== undefined) {
      process.stdout.write(
        `publisher set ${signed.config.publisherSet} (quorum ${signed.config.quorum}), statement key ` +
          `${signed.config.statementKey}: signed updates only; tx ${signed.receipt.hash}\n`,
      );
    }
  }
}

/** `zkrisk submit`: submit a proof file to the oracle (signed or unsigned, by the file's format). */
export async function submitAction(proofFile: string, f: SubmitFlags): Promise<void> {
  const doc = readJsonFile(proofFile, "PROOF_INVALID");
  let receipt;
  if (isSignedProofDocument(doc)) {
    const update = readSignedProofFile(proofFile);
    receipt = await withChain(f.rpc, f.key, (chain) =>
      submitSignedUpdate(
        oracleAt(address("--oracle", f.oracle), chain.signer),
        BigInt(update.parameters.marketId),
        update.calldata,
      ),
    );
  } else {
    const update = readProofFile(proofFile);
    // The oracle's event publishes the features, which the proof binds only through their commitment.
    await requireInputCommitment(update, proofFile);
    receipt = await withChain(f.rpc, f.key, (chain) =>
      submitUpdate(oracleAt(address("--oracle", f.oracle), chain.signer), update),
    );
  }
  const out = { txHash: receipt.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString() };
  if (f.json) printJson(out);
  else process.stdout.write(`accepted: tx ${out.txHash}, block ${out.block}, gas ${out.gasUsed}\n`);
}
