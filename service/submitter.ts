/**
 * Sending proven signed updates to the oracle (`submitSignedUpdate`, with the arguments the chain client
 * builds: onchain/oracle.ts `signedUpdateArgs`), and proven signed batches (`submitSignedBatch`,
 * `signedBatchArguments`), from one signing key: a dry run first (a refusal costs no gas and names
 * the oracle's error), a gas-price ceiling, locally tracked nonces, and transactions signed and recorded
 * before they are broadcast, so that after a crash the same transaction (same nonce, same hash) is looked up
 * or sent again rather than a second one made.
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
import { isBatchProof, type ProvedJob, type SentTransaction } from "./jobs";

/** A failure worth retrying later (node unreachable, gas price above the ceiling, ...). */
export class TransientError extends ZkriskError {
  constructor(
    message: string,
    /** Whether the retry counts as an attempt (a gas-price wait does not). */
    readonly countsAsAttempt = true,
  ) {
    super("TRANSIENT", message);
  }
}

/** How a broadcast transaction ended. */
export type Settlement =
  | { status: "confirmed"; block: number; receipt: TransactionReceipt }
  /** `error`: the oracle's custom error (e.g. `OracleAdaptiveStateMismatch`) or "unknown"; `reason` in words. */
  | { status: "reverted"; block: number; error: string; reason: string }
  /** Not mined, and its nonce is taken by another transaction: it never will be. */
  | { status: "dropped" }
  /** Not mined yet (within the wait). */
  | { status: "pending" };

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

/** Whether an error from a node says the transaction is already known (sent before, not yet mined). */
function alreadyKnown(err: unknown): boolean {
  const m = String((err as Error)?.message ?? err).toLowerCase();
  return m.includes("already known") || m.includes("known transaction") || m.includes("already imported");
}

/** Whether an error from a node says the nonce was used (by this or another transaction). */
function nonceTaken(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const m = String(e?.message ?? err).toLowerCase();
  return (
    e?.code === "NONCE_EXPIRED" || m.includes("nonce too low") || m.includes("nonce has already been used")
  );
}

/**
 * Whether an error from a node says the nonce is beyond the account's next one (a transaction before it was never
 * sent): it cannot be mined until that gap is filled (a node with automine refuses it outright, another may keep
 * it queued).
 */
function nonceTooHigh(err: unknown): boolean {
  const m = String((err as Error)?.message ?? err).toLowerCase();
  return m.includes("nonce too high");
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
      return { hash: Transaction.from(raw).hash!, raw, nonce: request.nonce };
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
   * it cannot be mined with its nonce: taken by another transaction, or beyond the account's next one (a
   * transaction before it was never sent); it is then to be signed again.
   */
  async broadcast(tx: SentTransaction): Promise<boolean> {
    try {
      await this.provider.broadcastTransaction(tx.raw);
      return true;
    } catch (err) {
      if (alreadyKnown(err)) return true;
      if (nonceTooHigh(err)) {
        this.nextNonce = undefined;
        return false;
      }
      if (nonceTaken(err)) {
        // Mined already (then it has a receipt) or replaced: the caller settles it by its receipt.
        this.nextNonce = undefined;
        return (await this.provider.getTransactionReceipt(tx.hash)) !== null;
      }
      this.nextNonce = undefined; // the node's count is the truth after a failed send
      throw new TransientError(`broadcast failed: ${(err as Error).message}`);
    }
  }

  /** Wait up to `timeoutMs` for the transaction's receipt and confirmations (polling the node). */
  async settle(tx: SentTransaction, timeoutMs: number, pollMs = 500): Promise<Settlement> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.rpc(() => this.provider.getTransactionReceipt(tx.hash));
      if (receipt !== null) {
        const head = await this.rpc(() => this.provider.getBlockNumber());
        if (head - receipt.blockNumber + 1 >= this.options.confirmations) {
          if (receipt.status === 1) return { status: "confirmed", block: receipt.blockNumber, receipt };
          const refused = await this.revertReason(tx, receipt);
          return {
            status: "reverted",
            block: receipt.blockNumber,
            error: refused.reason,
            reason: refused.message,
          };
        }
      } else {
        const mined = await this.rpc(() => this.provider.getTransactionCount(this.wallet.address, "latest"));
        if (mined > tx.nonce) {
          // The nonce is used: by this transaction (its receipt appears next poll) or by another one.
          const again = await this.rpc(() => this.provider.getTransactionReceipt(tx.hash));
          if (again === null) return { status: "dropped" };
          continue;
        }
      }
      if (Date.now() >= deadline) return { status: "pending" };
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
      throw new TransientError(`the node did not answer: ${(err as Error).message}`);
    }
  }
}

/** wei as gwei with up to 3 decimals. */
export function formatGwei(wei: bigint): string {
  const milli = (wei * 1000n) / GWEI;
  return (Number(milli) / 1000).toString();
}

export { OracleError };
