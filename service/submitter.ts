/**
 * Sending proven signed updates to the oracle (`submitSignedUpdate`, with the arguments the chain client
 * builds: onchain/oracle.ts `signedUpdateArgs`), and proven signed batches (`submitSignedBatch`,
 * `signedBatchArguments`), from one signing key: a dry run first (a refusal costs no gas and names
 * the oracle's error), a gas-price ceiling, locally tracked nonces, and transactions signed and recorded
 * before they are broadcast, so that after a crash the same transaction (same nonce, same hash) is looked up
 * or sent again rather than a second one made. A transaction left pending is replaced by one of the same nonce
 * with higher fees (`replace`), and settled by whichever of them is mined; a node's refusal of a transaction is
 * classified (`classifyBroadcastError`) into what waiting can and cannot change.
 */
import {
  Transaction,
  type Contract,
  type JsonRpcProvider,
  type TransactionReceipt,
  type Wallet,
} from "ethers";
import { ZkriskError } from "../core/errors";
import {
  decodeRevert,
  OracleError,
  adaptiveBatchArguments,
  signedBatchArguments,
  signedUpdateArgs,
} from "../onchain/oracle";
import { isInsufficientFunds } from "../onchain/insufficient-funds";
import { isBatchProof, type ProvedJob, type SentTransaction } from "./jobs";

/**
 * What a job waits on the chain for, spending no attempt (the `reason` label of `zkrisk_submit_waits_total`): a gas
 * price under the ceiling, a node that answers, or the settling of an earlier transaction of its market.
 */
export type WaitReason = "gas_price" | "node_unreachable" | "earlier_transaction";

/** A failure worth retrying later (node unreachable, gas price above the ceiling, ...). */
export class TransientError extends ZkriskError {
  constructor(
    message: string,
    /** Whether the retry counts as an attempt (a gas-price wait does not). */
    readonly countsAsAttempt = true,
    /**
     * The `reason` label of `zkrisk_submit_failures_total` when it is counted: `insufficient_funds` for an account
     * that cannot pay (an operator must top it up), `transient` otherwise.
     */
    readonly metricReason: "transient" | "insufficient_funds" = "transient",
    /** Set when the retry is a wait on the chain (no attempt spent, whatever `countsAsAttempt` says). */
    readonly wait?: WaitReason,
  ) {
    super("TRANSIENT", message);
  }
}

/**
 * The node refused a transaction as too cheap for its pool or the next block (its fees below the base fee, or the
 * pool's minimum tip): it does not hold it, most likely lost it (a restart, an eviction) while fees rose. Waiting
 * for fees to fall may help; a replacement at the current fees does (`JobRunner` replaces it when it is due).
 */
export class UnderpricedError extends TransientError {
  constructor(
    message: string,
    /** The refused transaction. */
    readonly tx: SentTransaction,
  ) {
    super(message, false);
  }
}

/**
 * A node refused a transaction for a reason waiting cannot change (it is malformed or invalid for this chain: a bad
 * chain id or signature, too little gas, more gas than a block or a transaction may use, a tip above its fee cap,
 * ...). The transaction will never be mined; the caller makes sure no other transaction of the job was, then signs
 * again or gives up.
 */
export class NodeRefusalError extends ZkriskError {
  constructor(
    message: string,
    /** The refused transaction. */
    readonly tx: SentTransaction,
  ) {
    super("NODE_REFUSED", message);
  }
}

/** How a broadcast transaction ended. `hash`: which of the job's transactions of that nonce was mined. */
export type Settlement =
  | { status: "confirmed"; block: number; hash: string; receipt: TransactionReceipt }
  /** `error`: the oracle's custom error (e.g. `OracleAdaptiveStateMismatch`) or "unknown"; `reason` in words. */
  | { status: "reverted"; block: number; hash: string; error: string; reason: string }
  /** None of them mined, and their nonce is taken by another transaction: none ever will be. */
  | { status: "dropped" }
  /**
   * Not mined yet (within the wait); or, with `block` and `hash`, mined (that one of them, in that block) but not yet
   * `confirmations` blocks deep: its nonce is used, so it is waited for, never replaced.
   */
  | { status: "pending"; block?: number; hash?: string };

/** Options of a submitter. */
export interface SubmitterOptions {
  /** Highest max fee per gas to pay, wei. */
  gasPriceCeilingWei: bigint;
  /** Blocks on top of the transaction's block before it counts as confirmed (1 = mined). */
  confirmations: number;
  /**
   * Count nonces here (one process signs with the key). When several processes share the key (Redis mode),
   * each transaction takes the node's pending count instead; a rare collision is sent as dropped and signed
   * again.
   */
  trackNonces?: boolean;
}

const GWEI = 1_000_000_000n;

/** The fee fields of an EIP-1559 transaction, wei per gas. */
export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** A replacement's raise of both fees over the transaction it replaces, per mille (12.5 %). */
export const FEE_BUMP_PERMILLE = 125n;

/**
 * The raise of both fees a node requires to take a transaction in place of another of the same nonce, percent:
 * geth's txpool `PriceBump` default, Hardhat's too; both also need each fee strictly higher.
 */
export const NODE_MIN_BUMP_PERCENT = 10n;

/** `x` raised by `num / den`, rounded up, and by at least 1 wei. */
function raised(x: bigint, num: bigint, den: bigint): bigint {
  const r = (x * (den + num) + den - 1n) / den;
  return r > x ? r : x + 1n;
}

/**
 * The fees of a replacement of a transaction with fees `old`: each raised by `FEE_BUMP_PERMILLE` and at least the
 * node's `current` fees, the max fee capped at `ceilingWei` and the tip at the max fee. Undefined when the cap
 * leaves either fee below the raise of `NODE_MIN_BUMP_PERCENT` a node requires (no replacement it would take).
 */
export function bumpedFees(old: Fees, current: Fees, ceilingWei: bigint): Fees | undefined {
  const max = (a: bigint, b: bigint) => (a > b ? a : b);
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  const maxFeePerGas = min(
    max(raised(old.maxFeePerGas, FEE_BUMP_PERMILLE, 1000n), current.maxFeePerGas),
    ceilingWei,
  );
  const maxPriorityFeePerGas = min(
    max(raised(old.maxPriorityFeePerGas, FEE_BUMP_PERMILLE, 1000n), current.maxPriorityFeePerGas),
    maxFeePerGas,
  );
  if (maxFeePerGas < raised(old.maxFeePerGas, NODE_MIN_BUMP_PERCENT, 100n)) return undefined;
  if (maxPriorityFeePerGas < raised(old.maxPriorityFeePerGas, NODE_MIN_BUMP_PERCENT, 100n)) return undefined;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/** What a node's refusal of a raw transaction means for the service (`classifyBroadcastError`). */
export type BroadcastRefusal =
  /** The node has it already (sent before, not yet mined): it counts as sent. */
  | "already-known"
  /** Its nonce was used, by this transaction (then it has a receipt) or by another one. */
  | "nonce-taken"
  /** Its nonce is beyond the account's next one (a transaction before it was never sent). */
  | "nonce-too-high"
  /** The node holds another transaction of this nonce that pays as much or nearly (an earlier one of the job's). */
  | "replacement-underpriced"
  /** Its fees are below what the node takes now (the next block's base fee, the pool's minimum tip). */
  | "underpriced"
  /** The account cannot pay for it: not lasting, an operator can top it up. */
  | "insufficient-funds"
  /** Malformed or invalid for this chain: waiting cannot change it (`NodeRefusalError`). */
  | "invalid"
  /** Anything else (the node unreachable, ...): worth retrying. */
  | "other";

/**
 * The node's own message in an error of ethers v6: `UNKNOWN_ERROR` keeps the JSON-RPC error in `error`, a coalesced
 * one such as `INSUFFICIENT_FUNDS` in `info.error`.
 */
function innerMessage(err: unknown): string | undefined {
  const e = err as { error?: { message?: unknown }; info?: { error?: { message?: unknown } } };
  const inner = e?.error?.message ?? e?.info?.error?.message;
  return typeof inner === "string" ? inner : undefined;
}

/** The node's message (if any) and ethers' message of an error, lower case, for matching. */
function nodeMessage(err: unknown): string {
  return `${innerMessage(err) ?? ""} ${String((err as Error)?.message ?? err)}`.toLowerCase();
}

/**
 * Node messages of a refusal waiting cannot change, lower case: geth's txpool and transaction validation
 * (`ErrInvalidSender`, `ErrIntrinsicGas`, `ErrGasLimit`, `ErrTipAboveFeeCap`, `ErrOversizedData`,
 * `ErrTxTypeNotSupported`, `ErrNegativeValue`, fee caps beyond 256 bits, a chain id of another chain, a transaction
 * that is not EIP-155 replay-protected, one that does not decode), and Hardhat's (EDR's) words for the same.
 */
const LASTING_REFUSALS: readonly RegExp[] = [
  /invalid sender/,
  /invalid signature/,
  /invalid chain ?id/,
  /chain ?id mismatch/,
  /incorrect chain ?id/,
  /only replay-protected/,
  /intrinsic gas too low/,
  /requires at least \d+ gas/,
  /exceeds block gas limit/,
  /exceeds transaction gas cap/,
  /gas limit too high/,
  /max priority fee per gas higher than max fee per gas/,
  /tip above fee cap/,
  /maxpriorityfeepergas.*(higher|greater) than.*maxfeepergas/,
  /fee cap (very high|higher than 2\^256)/,
  /tip (very high|higher than 2\^256)/,
  /oversized data/,
  /transaction type not supported/,
  /negative value/,
  /rlp: /,
  /typed transaction too short/,
];

/**
 * Node messages of a transaction too cheap to be taken now, lower case: geth's txpool (`ErrUnderpriced`) and state
 * checks (`ErrFeeCapTooLow`), Erigon's and Nethermind's words for the same, and Hardhat's (EDR's) "too low for the
 * next block". Checked after a replacement's refusal, which says "replacement transaction underpriced".
 */
const UNDERPRICED_REFUSALS: readonly RegExp[] = [
  /transaction underpriced/,
  /max fee per gas less than block base fee/,
  /fee cap less than block base fee/,
  /is too low for the next block/,
  /feetoolow/,
];

/** What a node's refusal of a raw transaction (an error of `broadcastTransaction`, ethers v6) means. */
export function classifyBroadcastError(err: unknown): BroadcastRefusal {
  const code = (err as { code?: string })?.code;
  const m = nodeMessage(err);
  if (m.includes("already known") || m.includes("known transaction") || m.includes("already imported")) {
    return "already-known";
  }
  if (code === "NONCE_EXPIRED" || m.includes("nonce too low") || m.includes("nonce has already been used")) {
    return "nonce-taken";
  }
  if (m.includes("nonce too high")) return "nonce-too-high";
  if (code === "REPLACEMENT_UNDERPRICED" || /replacement (transaction underpriced|fee too low)/.test(m)) {
    return "replacement-underpriced";
  }
  if (isInsufficientFunds(err)) return "insufficient-funds";
  if (LASTING_REFUSALS.some((r) => r.test(m))) return "invalid";
  if (UNDERPRICED_REFUSALS.some((r) => r.test(m))) return "underpriced";
  return "other";
}

/**
 * Words of a failure to reach the node at all, lower case: connections refused, reset or timed out, names that do
 * not resolve, an HTTP answer of a gateway or server with no node behind it (5xx), a rate limit (429) or a request
 * timeout (408), and ethers' `TIMEOUT` and `NETWORK_ERROR`. Another HTTP status (401: a key refused) and a node's
 * JSON-RPC error are answers: they count as failed attempts.
 */
const UNREACHABLE: readonly RegExp[] = [
  /\b(econnrefused|econnreset|etimedout|enotfound|eai_again|ehostunreach|enetunreach|econnaborted|epipe)\b/,
  /fetch failed/,
  /socket hang up/,
  /server response (5\d\d|408|429)\b/,
  /\bcode=(timeout|network_error)\b/,
];

/**
 * Whether `err` says that the node could not be reached or did not answer (not that it answered with an error): an
 * error of the node's transport (ethers, fetch), one of the service's wrapping it (a `TransientError` marked so, or
 * saying "the node did not answer", as the chain view's clock does; an `OracleError` of a read that failed), and no
 * other: a publisher that could not be reached is no wait for the node, though its words are the same.
 */
export function isNodeUnreachable(err: unknown): boolean {
  const words = (m: string) => UNREACHABLE.some((r) => r.test(m.toLowerCase()));
  if (err instanceof TransientError) {
    return (
      err.wait === "node_unreachable" ||
      (err.message.startsWith("the node did not answer: ") && words(err.message))
    );
  }
  if (err instanceof OracleError) return err.reason === "unknown" && words(err.message);
  if (err instanceof ZkriskError) return false;
  const code = (err as { code?: unknown })?.code;
  return code === "TIMEOUT" || code === "NETWORK_ERROR" || words(nodeMessage(err));
}

/**
 * What a failed step waits for on the chain, or undefined when it is a failure (an attempt): a `TransientError`
 * marked with its wait, or an error that says the node was not reached (`isNodeUnreachable`).
 */
export function waitReasonOf(err: unknown): WaitReason | undefined {
  if (err instanceof TransientError && err.wait !== undefined) return err.wait;
  return isNodeUnreachable(err) ? "node_unreachable" : undefined;
}

/** The node's message of an error, for logs and reasons (ethers' own message when it has none). */
function nodeWords(err: unknown): string {
  return innerMessage(err) ?? String((err as Error)?.message ?? err);
}

/** The hashes of a job's transactions of one nonce: the newest first, then those it replaced. */
export function hashesOf(tx: SentTransaction): string[] {
  return [tx.hash, ...(tx.others ?? []).map((o) => o.hash).reverse()];
}

/** Submits proven updates to one oracle with one key. */
export class Submitter {
  private nextNonce: number | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly wallet: Wallet,
    private readonly oracle: Contract,
    private readonly options: SubmitterOptions,
  ) {}

  /** The signing address. */
  get address(): string {
    return this.wallet.address;
  }

  /** Run `fn` alone (nonces are handed out in order). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Dry-run, price and sign the update's transaction (not yet sent). A refusal by the oracle is an
   * OracleError; a gas price above the ceiling or an unreachable node is a TransientError.
   */
  sign(update: ProvedJob): Promise<SentTransaction> {
    return this.exclusive(async () => {
      const [method, args] = isBatchProof(update)
        ? update.markets[0].adaptive === undefined
          ? (["submitSignedBatch", signedBatchArguments(update)] as const)
          : (["submitAdaptiveBatch", adaptiveBatchArguments(update)] as const)
        : ([
            "submitSignedUpdate",
            signedUpdateArgs(BigInt(update.parameters.marketId), update.calldata),
          ] as const);
      const call = this.oracle.getFunction(method);
      let gas: bigint;
      try {
        await call.staticCall(...args, { from: this.wallet.address });
        gas = await call.estimateGas(...args, { from: this.wallet.address });
      } catch (err) {
        if (isNodeUnreachable(err)) throw unanswered(err);
        const refused = decodeRevert(err, this.oracle.interface);
        if (refused.reason !== "unknown") throw refused;
        throw new TransientError(`dry run failed: ${refused.message}`);
      }
      const fee = await this.rpc(() => this.provider.getFeeData());
      const maxFee = fee.maxFeePerGas ?? fee.gasPrice;
      if (maxFee === null) throw new TransientError("the node reports no gas price");
      if (maxFee > this.options.gasPriceCeilingWei) {
        throw new TransientError(
          `gas price ${formatGwei(maxFee)} gwei is above the ceiling of ` +
            `${formatGwei(this.options.gasPriceCeilingWei)} gwei; waiting`,
          false,
          "transient",
          "gas_price",
        );
      }
      const network = await this.rpc(() => this.provider.getNetwork());
      if (this.options.trackNonces === false) this.nextNonce = undefined;
      this.nextNonce ??= await this.rpc(() =>
        this.provider.getTransactionCount(this.wallet.address, "pending"),
      );
      const tip = fee.maxPriorityFeePerGas ?? 0n;
      const request = {
        type: 2,
        chainId: network.chainId,
        nonce: this.nextNonce,
        to: await this.oracle.getAddress(),
        data: this.oracle.interface.encodeFunctionData(method, args),
        gasLimit: (gas * 6n) / 5n,
        maxFeePerGas: maxFee,
        maxPriorityFeePerGas: tip < maxFee ? tip : maxFee,
      };
      const raw = await this.wallet.signTransaction(request);
      this.nextNonce += 1;
      return { hash: Transaction.from(raw).hash!, raw, nonce: request.nonce, signedAt: Date.now() };
    });
  }

  /**
   * Sign a replacement of a sent transaction that is still pending: the same nonce, call and gas limit, both fees
   * raised (`bumpedFees`: 12.5 % and at least the node's current fees, never above the ceiling). Not sent. The
   * replaced transactions are kept in `others`, since any of them may still be the one mined.
   * @returns the replacement with its fees and the replaced one's, or `ceiling` in words when the ceiling leaves no
   *   room for a raise a node would take (then the transaction is only waited for)
   */
  replace(tx: SentTransaction): Promise<{ tx: SentTransaction; from: Fees; to: Fees } | { ceiling: string }> {
    return this.exclusive(async () => {
      const old = Transaction.from(tx.raw);
      const from = {
        maxFeePerGas: old.maxFeePerGas ?? 0n,
        maxPriorityFeePerGas: old.maxPriorityFeePerGas ?? 0n,
      };
      const fee = await this.rpc(() => this.provider.getFeeData());
      const current = {
        maxFeePerGas: fee.maxFeePerGas ?? fee.gasPrice ?? 0n,
        maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 0n,
      };
      const to = bumpedFees(from, current, this.options.gasPriceCeilingWei);
      if (to === undefined) {
        return {
          ceiling:
            `a replacement needs fees at least ${NODE_MIN_BUMP_PERCENT} % above its max fee ` +
            `${formatGwei(from.maxFeePerGas)} gwei and tip ${formatGwei(from.maxPriorityFeePerGas)} gwei, ` +
            `above the ceiling of ${formatGwei(this.options.gasPriceCeilingWei)} gwei; waiting`,
        };
      }
      const raw = await this.wallet.signTransaction({
        type: 2,
        chainId: old.chainId,
        nonce: old.nonce,
        to: old.to,
        data: old.data,
        value: old.value,
        gasLimit: old.gasLimit,
        ...to,
      });
      const replacement: SentTransaction = {
        hash: Transaction.from(raw).hash!,
        raw,
        nonce: tx.nonce,
        signedAt: Date.now(),
        others: [...(tx.others ?? []), { hash: tx.hash, raw: tx.raw }],
      };
      return { tx: replacement, from, to };
    });
  }

  /**
   * A signed transaction that will not be sent (it could not be recorded): its nonce, if it was the last handed
   * out, is read from the node again at the next signing, so that no later transaction waits behind it.
   */
  unsent(tx: SentTransaction): Promise<void> {
    return this.exclusive(async () => {
      if (this.nextNonce !== undefined && tx.nonce < this.nextNonce) this.nextNonce = undefined;
    });
  }

  /**
   * Send a signed transaction (again, after a crash: a node that already has it is fine). Returns false when
   * it cannot be mined with its nonce: taken by another transaction (none of the job's transactions of that nonce
   * has a receipt), or beyond the account's next one (a transaction before it was never sent); it is then to be
   * signed again. A node that holds an earlier transaction of the job with this nonce and refuses this one as too
   * cheap a replacement counts as sent (the transactions are settled by their receipts). A refusal waiting cannot
   * change is a NodeRefusalError; one as too cheap for the node's fees now an UnderpricedError (to be replaced); an
   * account short of funds, and any other failure, a TransientError (marked as a wait for the node when it was not
   * reached).
   */
  async broadcast(tx: SentTransaction): Promise<boolean> {
    try {
      await this.provider.broadcastTransaction(tx.raw);
      return true;
    } catch (err) {
      const refusal = classifyBroadcastError(err);
      this.nextNonce = undefined; // the node's count is the truth after a failed send
      switch (refusal) {
        case "already-known":
        case "replacement-underpriced":
          return true;
        case "nonce-too-high":
          return false;
        case "nonce-taken":
          // Mined already (then one of them has a receipt) or replaced: the caller settles it by its receipt.
          return (await this.receiptOf(tx)) !== null;
        case "insufficient-funds":
          throw new TransientError(
            `account ${this.wallet.address} lacks the funds for transaction ${tx.hash} (nonce ${tx.nonce}); ` +
              `top it up: ${nodeWords(err)}`,
            true,
            "insufficient_funds",
          );
        case "invalid":
          throw new NodeRefusalError(
            `the node refused transaction ${tx.hash} (nonce ${tx.nonce}) as invalid: ${nodeWords(err)}`,
            tx,
          );
        case "underpriced":
          throw new UnderpricedError(
            `the node refused transaction ${tx.hash} (nonce ${tx.nonce}) as underpriced: ${nodeWords(err)}`,
            tx,
          );
        case "other":
          if (isNodeUnreachable(err)) throw unanswered(err);
          throw new TransientError(`broadcast failed: ${(err as Error).message}`);
      }
    }
  }

  /** The receipt of whichever of the job's transactions of `tx`'s nonce was mined, or null. */
  private async receiptOf(tx: SentTransaction): Promise<TransactionReceipt | null> {
    for (const hash of hashesOf(tx)) {
      const receipt = await this.rpc(() => this.provider.getTransactionReceipt(hash));
      if (receipt !== null) return receipt;
    }
    return null;
  }

  /**
   * Whether it is certain that none of the job's transactions of `tx`'s nonce was mined: none has a receipt and the
   * account's mined transactions do not reach the nonce. (It says nothing of whether one may still be.)
   */
  async neverMined(tx: SentTransaction): Promise<boolean> {
    if ((await this.receiptOf(tx)) !== null) return false;
    const mined = await this.rpc(() => this.provider.getTransactionCount(this.wallet.address, "latest"));
    return mined <= tx.nonce && (await this.receiptOf(tx)) === null;
  }

  /**
   * Wait up to `timeoutMs` for the receipt and confirmations of the transaction or any it replaced (same nonce:
   * whichever was mined), polling the node.
   */
  async settle(tx: SentTransaction, timeoutMs: number, pollMs = 500): Promise<Settlement> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.receiptOf(tx);
      if (receipt !== null) {
        const head = await this.rpc(() => this.provider.getBlockNumber());
        if (head - receipt.blockNumber + 1 >= this.options.confirmations) {
          const hash = receipt.hash;
          if (receipt.status === 1) return { status: "confirmed", block: receipt.blockNumber, hash, receipt };
          const refused = await this.revertReason(tx, receipt);
          return {
            status: "reverted",
            block: receipt.blockNumber,
            hash,
            error: refused.reason,
            reason: refused.message,
          };
        }
      } else {
        const mined = await this.rpc(() => this.provider.getTransactionCount(this.wallet.address, "latest"));
        if (mined > tx.nonce) {
          // The nonce is used: by one of these transactions (its receipt appears next poll) or by another one.
          if ((await this.receiptOf(tx)) === null) return { status: "dropped" };
          continue;
        }
      }
      if (Date.now() >= deadline) {
        return receipt === null
          ? { status: "pending" }
          : { status: "pending", block: receipt.blockNumber, hash: receipt.hash };
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Why a mined transaction reverted: its call replayed at its block, decoded to the oracle's error. */
  private async revertReason(tx: SentTransaction, receipt: TransactionReceipt): Promise<OracleError> {
    const t = Transaction.from(tx.raw);
    try {
      await this.provider.call({
        to: t.to,
        data: t.data,
        from: this.wallet.address,
        blockTag: receipt.blockNumber,
      });
      return new OracleError("unknown", "reverted (no reason when replayed)");
    } catch (err) {
      return decodeRevert(err, this.oracle.interface);
    }
  }

  private async rpc<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isNodeUnreachable(err)) throw unanswered(err);
      throw new TransientError(`the node did not answer: ${(err as Error).message}`);
    }
  }
}

/** A node that was not reached (`isNodeUnreachable`): a wait for it, no attempt spent. */
function unanswered(err: unknown): TransientError {
  return new TransientError(
    `the node did not answer: ${(err as Error)?.message ?? String(err)}`,
    false,
    "transient",
    "node_unreachable",
  );
}

/** wei as gwei with up to 3 decimals. */
export function formatGwei(wei: bigint): string {
  const milli = (wei * 1000n) / GWEI;
  return (Number(milli) / 1000).toString();
}

export { OracleError };
