/**
 * A transaction the node refuses because its sender cannot pay for it, told apart from other failures and reported
 * with the account, its balance and what the transaction could cost. ethers names the refusal INSUFFICIENT_FUNDS
 * when the node's words contain "insufficient funds" (geth, Anvil and most nodes); Hardhat says "Sender doesn't have
 * enough funds to send tx", which ethers leaves as "could not coalesce error" with the node's error attached.
 */
import { formatEther, isError, Transaction, type Provider } from "ethers";
import { UsageError } from "../core/errors";

/** The node's words for the refusal: geth's and most nodes' ("insufficient funds"), Hardhat's ("enough funds"). */
const REFUSAL = /insufficient funds|enough funds/i;

/** The node's JSON-RPC error and request, where ethers keeps them on the errors it throws. */
interface NodeFailure {
  message?: unknown;
  transaction?: unknown;
  error?: { message?: unknown };
  payload?: { method?: unknown; params?: unknown[] };
  info?: { error?: { message?: unknown }; payload?: { method?: unknown; params?: unknown[] } };
}

/**
 * Whether `err` is a node's refusal of a transaction whose sender cannot pay for it: ethers' INSUFFICIENT_FUNDS, or
 * the node's words for it in its error (`error`, `info.error`: Hardhat's "Sender doesn't have enough funds", which
 * ethers leaves as UNKNOWN_ERROR) or in the error's own message. A revert is never one, whatever its reason says.
 * The one rule for it: the CLI's signer (chain.ts) and the prover service's broadcasts (service/submitter.ts).
 */
export function isInsufficientFunds(err: unknown): boolean {
  if (isError(err, "INSUFFICIENT_FUNDS")) return true;
  if (isError(err, "CALL_EXCEPTION")) return false;
  const e = err as NodeFailure | undefined;
  return [e?.error?.message, e?.info?.error?.message, e?.message].some(
    (said) => typeof said === "string" && REFUSAL.test(said),
  );
}

/**
 * The most the refused transaction could cost (wei): gas limit × max fee per gas (or gas price) + value, read from
 * the signed transaction the refusal carries (`eth_sendRawTransaction`'s parameter); undefined without one.
 */
function upfrontCost(err: unknown): bigint | undefined {
  const e = err as NodeFailure;
  const payload = e.payload ?? e.info?.payload;
  const raw =
    typeof e.transaction === "string"
      ? e.transaction
      : payload?.method === "eth_sendRawTransaction"
        ? payload.params?.[0]
        : undefined;
  if (typeof raw !== "string") return undefined;
  try {
    const tx = Transaction.from(raw);
    const fee = tx.maxFeePerGas ?? tx.gasPrice;
    return fee === null ? undefined : tx.gasLimit * fee + tx.value;
  } catch {
    return undefined;
  }
}

/** An amount of wei in ETH, without a trailing ".0". */
const eth = (wei: bigint): string => `${formatEther(wei).replace(/\.0$/, "")} ETH`;

/**
 * The error of a transaction from `account` refused for lack of funds ({@link isInsufficientFunds}): a UsageError
 * (exit 2) naming `option`, the account, its balance on the chain (read now) and, when the refusal carries the
 * signed transaction, the most it could cost.
 * @param option the option that gave the signing key (`--key`)
 */
export async function insufficientFundsError(
  provider: Provider,
  account: string,
  err: unknown,
  option: string,
): Promise<UsageError> {
  const cost = upfrontCost(err);
  const network = await provider.getNetwork().catch(() => undefined);
  const balance = await provider.getBalance(account).catch(() => undefined);
  const chain = network === undefined ? "" : ` on chain ${network.chainId}`;
  const standing =
    balance === undefined
      ? `${account}${chain} cannot pay`
      : `${account} has ${eth(balance)}${chain}, too little to pay`;
  const costs =
    cost === undefined
      ? "the node refused it for lack of funds"
      : `it may cost up to ${eth(cost)}: gas limit × max fee per gas + value`;
  return new UsageError(
    `${option}: account ${standing} for this transaction (${costs}); fund the account or give another ${option}`,
  );
}
