/**
 * Gas of `RiskOracle.submitSignedUpdate` on the in-process Hardhat network, from receipts: a fresh verifier of
 * the REAL signed-update circuit (quorum 1, constant weights; signed-update-artifacts.ts) and oracle, one market
 * registered with a publisher set, a first and a later update proved from real signed BTC windows, each split
 * into the verifier call and the rest (read from the transaction's trace).
 */
import type { Contract, TransactionReceipt } from "ethers";
import { buildWindow } from "../candles";
import { marketIdOf } from "../candles/market-id";
import { modelCommitment as commitModel } from "../circuits/commitments";
import { UPDATE_SIGNALS } from "../circuits/public-signals";
import { FEATURE_WINDOW_BARS } from "../features/window-features";
import { loadCandles } from "../models/load-data";
import type { CandleSeries } from "../models/types";
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
import { SignedUpdateProver } from "../prover/prove-signed-update";
import { silentLog, type SetupLog } from "../prover/setup";
import { publicKeyOf } from "../publisher/eddsa";
import { makePublisherSet, publisherSetCommitment } from "../publisher/publisher-set";
import { signWindow } from "../publisher/signed-window";
import { signedUpdateArtifacts } from "./signed-update-artifacts";

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
  "receipts of submitSignedUpdate on the in-process Hardhat network: a fresh verifier of the real signed-update " +
  "circuit (quorum 1, constant weights, the benchmarked model; development setup) and a fresh RiskOracle, one " +
  "market registered with DEFAULT_LIMITS and then a one-key publisher set (setPublisherSet); two real proofs of " +
  "the windows ending at the last two bars of the data, signed by a key from a fixed seed (the candles shifted " +
  "forward by whole bars when the chain's clock is already past them), each sent 60 s after its bar's close. verifier = " +
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

/** Options of {@link measureSignedUpdateGas}. */
export interface SignedUpdateGasOptions {
  /** Quantised model file. */
  model: string;
  /** Candles CSV (BTC-USDT, 2 h bars) the two signed windows come from. */
  data: string;
  log?: SetupLog;
}

/** `series` with every candle moved `shiftMs` later (a whole number of bars keeps the windows aligned). */
function shifted(series: CandleSeries, shiftMs: number): CandleSeries {
  if (shiftMs === 0) return series;
  return {
    ...series,
    candles: series.candles.map((c) => ({ ...c, time: c.time + shiftMs })),
    gaps: series.gaps.map((g) => ({ ...g })),
  };
}

/** Deploy, register, prove (real circuit) and submit two signed updates; their gas. */
export async function measureSignedUpdateGas(opts: SignedUpdateGasOptions): Promise<SignedUpdateGas> {
  const log = opts.log ?? silentLog;
  const { dir } = await signedUpdateArtifacts(opts.model, "constant", 1, log);
  const prover = SignedUpdateProver.open(dir, { mode: "constant", quorum: 1 }, { modelPath: opts.model });
  const chain = await inProcessChain();
  try {
    const me = await chain.signer.getAddress();
    const market = "BTC-USDT";
    const marketId = marketIdOf(market);
    const verifier = await deployVerifier(chain.signer, dir);
    const oracle: Contract = await deployOracle(chain.signer, me);
    const modelCommitment = await commitModel(prover.model);
    const privateKey = new Uint8Array(32).fill(1);
    const key = { privateKey, publicKey: await publicKeyOf(privateKey) };
    const publishers = await makePublisherSet([key.publicKey], 1);
    await registerMarket(oracle, marketId, {
      verifier: await verifier.getAddress(),
      modelCommitment,
      guardian: me,
      limits: DEFAULT_LIMITS,
    });
    await setPublisherSet(oracle, marketId, {
      verifier: await verifier.getAddress(),
      modelCommitment,
      publisherSet: await publisherSetCommitment(publishers),
      quorum: 1,
    });
    const domain = oracleDomain(chain.chainId, await oracle.getAddress());
    // Block time only moves forward: when the chain is already past the data's last bars (an earlier part of the
    // benchmark submitted them), the candles move forward by whole bars.
    const raw = loadCandles(opts.data);
    const n = raw.candles.length;
    const barMs = raw.intervalMs;
    const lag = (await chain.now()) * 1000 + 3_600_000 - raw.candles[n - 2].time;
    const series = shifted(raw, lag > 0 ? Math.ceil(lag / barMs) * barMs : 0);
    const rows: SignedUpdateGasRow[] = [];
    for (const index of [n - 2, n - 1]) {
      const window = buildWindow(series, marketId, index, FEATURE_WINDOW_BARS);
      const proof = await prover.prove(
        { windows: [await signWindow(key, market, window)], publishers, domain },
        { market },
      );
      const sendAt = (series.candles[index].time + barMs) / 1000 + 60;
      // An empty block first, so the pre-flight call runs after the bar's close too.
      await chain.mineAt(sendAt - 1);
      await chain.setNextBlockTime(sendAt);
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
    await prover.close();
  }
}
