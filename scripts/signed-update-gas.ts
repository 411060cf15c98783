/**
 * Gas of `RiskOracle.submitSignedUpdate` on the in-process Hardhat network, from receipts: a fresh verifier of
 * the three-signal stand-in circuit (signed-update-stand-in.ts; a verifier's cost depends only on its number of
 * public signals) and oracle, one market registered with a publisher set, a first and a later update, each split
 * into the verifier call and the rest (read from the transaction's trace).
 */
import type { Contract, TransactionReceipt } from "ethers";
import { marketIdOf } from "../candles/market-id";
import { poseidonSponge } from "../circuits/poseidon-sponge";
import { UPDATE_SIGNALS } from "../circuits/public-signals";
import { oracleDomain } from "../prover/domain";
import { inProcessChain, type Chain } from "../prover/onchain/chain";
import {
  DEFAULT_LIMITS,
  deployOracle,
  deployVerifier,
  registerMarket,
  setPublisherSet,
  submitSignedUpdate,
} from "../prover/onchain/oracle";
import { silentLog, type SetupLog } from "../prover/setup";
import { proveStandIn, standInArtifacts } from "./signed-update-stand-in";

/** Gas of one accepted signed update, and its parts. */
export interface SignedUpdateGasRow {
  /** The receipt's gasUsed. */
  total: number;
  /**
   * The verifier call as the oracle pays it: the STATICCALL's own cost (cold account access, memory) and all
   * the verifier's execution (field checks, 3 scalar multiplications and additions, the pairing precompile).
   */
  verifier: number;
  /** total - verifier: the 21,000 base cost, calldata, and the oracle's own reads, guards, write and event. */
  rest: number;
  /** Of `rest`: the calldata, at 4 gas per zero byte and 16 per other byte. */
  calldata: number;
  /** Bytes of the transaction's data (selector included). */
  calldataBytes: number;
  txHash: string;
}

/** What {@link measureSignedUpdateGas} measured. */
export interface SignedUpdateGas {
  /** A market's first signed update (no previous parameters: no rate-of-change or interval guard). */
  first: SignedUpdateGasRow;
  /** The next one (every guard runs). */
  later: SignedUpdateGasRow;
  /** Public signals of the verifier (what its cost depends on). */
  publicSignals: number;
  /** How the figures are taken. */
  method: string;
}

/** How the figures are taken (copied into the report). */
export const SIGNED_UPDATE_GAS_METHOD =
  "receipts of submitSignedUpdate on the in-process Hardhat network: a fresh verifier of the three-signal " +
  "stand-in circuit (scripts/signed-update-stand-in.ts; a Groth16 verifier's gas depends on the number of public " +
  "signals, not on the circuit) and a fresh RiskOracle, one market registered with DEFAULT_LIMITS and then a " +
  "publisher set (setPublisherSet); two updates 2 h apart, each sent 60 s after its data timestamp. verifier = " +
  "gas of the oracle's STATICCALL into the verifier, from debug_traceTransaction (gas before the call minus gas " +
  "after it returns); rest = gasUsed - verifier; calldata = 4 per zero byte + 16 per other byte of the data";

/** Calldata gas of hex `data` (EIP-2028: 4 per zero byte, 16 per other byte). */
export function calldataGas(data: string): number {
  let gas = 0;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === "00" ? 4 : 16;
  return gas;
}

interface StructLog {
  op: string;
  gas: number;
  depth: number;
}

/** Gas spent by the oracle's (depth-1) STATICCALL into `verifier` in transaction `hash`, from its trace. */
export async function verifierCallGas(chain: Chain, hash: string): Promise<number> {
  const rpc = chain.provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> };
  const trace = (await rpc.send("debug_traceTransaction", [
    hash,
    { disableStorage: true, disableMemory: true, disableStack: true },
  ])) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const top = logs[0]?.depth ?? 1;
  const at = logs.findIndex((l) => l.depth === top && l.op === "STATICCALL");
  const back = logs.findIndex((l, i) => i > at && l.depth === top);
  if (at < 0 || back < 0) throw new Error(`${hash}: no STATICCALL from the oracle in the trace`);
  return logs[at].gas - logs[back].gas;
}

async function row(chain: Chain, receipt: TransactionReceipt): Promise<SignedUpdateGasRow> {
  const tx = await chain.provider.getTransaction(receipt.hash);
  if (!tx) throw new Error(`${receipt.hash}: transaction not found`);
  const total = Number(receipt.gasUsed);
  const verifier = await verifierCallGas(chain, receipt.hash);
  return {
    total,
    verifier,
    rest: total - verifier,
    calldata: calldataGas(tx.data),
    calldataBytes: (tx.data.length - 2) / 2,
    txHash: receipt.hash,
  };
}

/** Deploy, register, prove and submit two signed updates; their gas. */
export async function measureSignedUpdateGas(opts: { log?: SetupLog } = {}): Promise<SignedUpdateGas> {
  const log = opts.log ?? silentLog;
  const dir = await standInArtifacts(log);
  const chain = await inProcessChain();
  try {
    const me = await chain.signer.getAddress();
    const marketId = marketIdOf("BTC-USDT");
    const verifier = await deployVerifier(chain.signer, dir);
    const oracle: Contract = await deployOracle(chain.signer, me);
    // Commitments that look like real ones (random-looking field elements: their calldata bytes are non-zero).
    const modelCommitment = await poseidonSponge([1n, 2n, 3n]);
    const publisherSet = await poseidonSponge([4n, 5n, 6n]);
    await registerMarket(oracle, marketId, {
      verifier: await verifier.getAddress(),
      modelCommitment,
      guardian: me,
      limits: DEFAULT_LIMITS,
    });
    await setPublisherSet(oracle, marketId, {
      verifier: await verifier.getAddress(),
      modelCommitment,
      publisherSet,
      quorum: 1,
    });
    const domain = oracleDomain(chain.chainId, await oracle.getAddress());
    const statement = { marketId, modelCommitment, publisherSet, domain };
    const rows: SignedUpdateGasRow[] = [];
    // Block time only moves forward: the bars are placed after the chain's present.
    const start = (await chain.now()) + 3600;
    for (const [k, margins] of [
      [2400n, 3600n],
      [2500n, 3750n],
    ].entries()) {
      const dataTimestamp = start + 7200 * k;
      const proof = await proveStandIn(dir, {
        mm: margins[0],
        im: margins[1],
        dataTimestamp: BigInt(dataTimestamp),
        windowDigest: await poseidonSponge([BigInt(dataTimestamp)]),
        statement,
      });
      // An empty block first, so the pre-flight call runs after the data timestamp too.
      await chain.mineAt(dataTimestamp + 59);
      await chain.setNextBlockTime(dataTimestamp + 60);
      rows.push(await row(chain, await submitSignedUpdate(oracle, marketId, proof.calldata)));
    }
    log.info(`submitSignedUpdate gas: first ${rows[0].total}, later ${rows[1].total}`);
    return {
      first: rows[0],
      later: rows[1],
      publicSignals: UPDATE_SIGNALS.length,
      method: SIGNED_UPDATE_GAS_METHOD,
    };
  } finally {
    await chain.close();
  }
}
