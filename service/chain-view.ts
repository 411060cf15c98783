/**
 * The service's view of the chain: the node, the oracle contract, the domain its proofs are bound to, and the
 * chain's time. Time is the chain's: a bar is closed, and data is fresh or stale, as the oracle will judge
 * it, by the latest block's timestamp. Whether the node answered at the last look, and whether it is still on
 * the chain the service started on, is kept for the readiness probe. The node's URL may hold a password or an
 * API key, and ethers quotes it in its errors: every error of the connection is redacted where it arises
 * (`RedactingProvider`), and messages show the URL redacted.
 */
import { Contract, JsonRpcProvider, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { UsageError, ZkriskError } from "../core/errors";
import { redactUrl } from "../core/url";
import { oracleDomain } from "../prover/domain";
import { oracleInterface } from "../onchain/oracle";
import { checkRiskOracle } from "../onchain/oracle-identity";
import { rpcRequest } from "../onchain/rpc-request";
import type { ServiceConfig } from "./config";
import { redactError, redactedErrorMessage } from "./redaction";
import { TransientError } from "./submitter";

/**
 * How long one JSON-RPC request to the node may take, ms. ethers waits 300 s by default: a node that takes
 * connections and never answers would hold the scheduler, the jobs' waits and a graceful stop that long, with
 * the chain still counted reachable.
 */
export const RPC_REQUEST_TIMEOUT_MS = 30_000;

/**
 * How often, at most, the chain's clock (`now`) also asks the node for its chain id, ms. The provider does
 * not ask before every call (that doubled every request), so a node switched to another chain under the same
 * URL is seen by this check, by the one after any failed request, and by the one before every transaction
 * sent.
 */
export const CHAIN_ID_CHECK_INTERVAL_MS = 60_000;

/**
 * A JSON-RPC provider whose transport errors (an HTTP status other than 2xx, a timeout) carry no credential of its
 * URL: ethers puts the URL it was given, password and API key included, in their message and `info.requestUrl`.
 * Everything the service does on chain (reads, the submitter's wallet) goes through `_send`, which also tells
 * the chain view whether the node answered, and checks the node's chain before a transaction leaves.
 */
class RedactingProvider extends JsonRpcProvider {
  /** Told after every exchange with the node whether it answered (any HTTP answer, errors of calls included). */
  onAnswer: (answered: boolean) => void = () => undefined;
  /** Run before a request that sends a transaction; throws to keep it from the node. */
  beforeSend: () => Promise<void> = async () => undefined;
  private nextCheckId = 0;

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    if ([payload].flat().some((p) => p.method === "eth_sendRawTransaction")) await this.beforeSend();
    try {
      const result = await super._send(payload);
      this.onAnswer(true);
      return result;
    } catch (err) {
      this.onAnswer(false);
      throw redactError(err);
    }
  }

  /**
   * The node's chain id, asked now (`eth_chainId`), whatever network the provider holds.
   * @throws the transport's error (redacted), or an Error with the node's when it answers with one
   */
  async chainIdNow(): Promise<bigint> {
    // A negative id never meets the ids ethers numbers its own requests with.
    const [answer] = await this._send({
      jsonrpc: "2.0",
      id: --this.nextCheckId,
      method: "eth_chainId",
      params: [],
    });
    if (answer === undefined || !("result" in answer)) {
      throw new Error(`eth_chainId: the node answered ${JSON.stringify(answer ?? null)}`);
    }
    return BigInt(answer.result as string);
  }
}

/** A connection to the node and the oracle of a service config. */
export class ChainView {
  /** Whether the node answered at the last look (a request that failed or timed out makes it false). */
  reachable = true;
  /**
   * Set, in words, while the node answers for another chain than the one the service started on (`chainId`):
   * a node behind the same URL switched to another network. Nothing is sent to it then, and the chain's clock
   * fails; cleared when a later check finds the service's chain again.
   */
  wrongChain: string | undefined;
  /** When the node's chain id was last checked, ms since the epoch. */
  private checkedAt = Date.now();
  /** Whether a request failed since the last check (a node restarted on another chain fails some first). */
  private checkDue = false;
  private checking: Promise<void> | undefined;

  private constructor(
    private readonly node: RedactingProvider,
    readonly oracle: Contract,
    /** The proofs' domain: binds them to this chain and this oracle. */
    readonly domain: bigint,
    /** The chain id the node answered at connect: the chain of the domain. */
    readonly chainId: bigint,
    /** The node's URL, redacted, for messages. */
    private readonly rpc: string,
  ) {
    node.onAnswer = (answered) => {
      this.reachable = answered;
      if (!answered) this.checkDue = true;
    };
    node.beforeSend = async () => {
      // Checked afresh: the periodic check leaves a minute in which a transaction could reach another chain.
      await this.checkChainId();
      if (this.wrongChain !== undefined) throw new TransientError(`not sent: ${this.wrongChain}`);
    };
  }

  /** The provider everything on chain goes through (reads, the submitter's wallet). */
  get provider(): JsonRpcProvider {
    return this.node;
  }

  /**
   * Connect to `chain.rpc` and find the oracle at `chain.oracle`. The provider keeps the network found here
   * (no `eth_chainId` before every call); the chain id is checked again as `CHAIN_ID_CHECK_INTERVAL_MS` says.
   * `requestTimeoutMs` (default `RPC_REQUEST_TIMEOUT_MS`) bounds every request; tests pass a shorter one.
   * @throws ZkriskError CHAIN_UNREACHABLE when the node does not answer, CONFIG_INVALID when no contract is
   *   at the oracle's address or the contract there is not a RiskOracle (`checkRiskOracle`).
   */
  static async connect(
    chain: ServiceConfig["chain"],
    {
      requestTimeoutMs = RPC_REQUEST_TIMEOUT_MS,
      file,
    }: {
      requestTimeoutMs?: number;
      /** The config file the chain's fields come from, named in the errors. */
      file?: string;
    } = {},
  ): Promise<ChainView> {
    const at = file === undefined ? "" : `${file}: `;
    const provider = new RedactingProvider(
      rpcRequest(chain.rpc, { timeoutMs: requestTimeoutMs }),
      undefined,
      { staticNetwork: true, cacheTimeout: -1 },
    );
    try {
      let chainId: bigint;
      try {
        chainId = (await provider.getNetwork()).chainId;
      } catch (err) {
        throw new ZkriskError(
          "CHAIN_UNREACHABLE",
          `${at}chain.rpc: cannot reach ${redactUrl(chain.rpc)}: ${redactedErrorMessage(err)}`,
        );
      }
      const oracle = new Contract(chain.oracle, oracleInterface(), provider);
      if ((await provider.getCode(chain.oracle)) === "0x") {
        throw new ZkriskError(
          "CONFIG_INVALID",
          `${at}chain.oracle: no contract at ${chain.oracle} on ${redactUrl(chain.rpc)}`,
        );
      }
      // Another contract (the verifier's address given by mistake) would fail every read and every submission. A
      // node that fails the call (or answers it with no data) says nothing of the address: the service starts, and
      // its reads of the oracle meet the node's state as they always do.
      await checkRiskOracle(provider, chain.oracle, `${at}chain.oracle`).catch((err: unknown) => {
        if (err instanceof UsageError) throw new ZkriskError("CONFIG_INVALID", err.message);
      });
      return new ChainView(
        provider,
        oracle,
        oracleDomain(chainId, chain.oracle),
        chainId,
        redactUrl(chain.rpc),
      );
    } catch (err) {
      provider.destroy();
      throw err;
    }
  }

  /**
   * Latest block time (s); also records whether the node answers, and checks its chain id when a check is due
   * (`CHAIN_ID_CHECK_INTERVAL_MS` passed, a request failed since the last one, or the last found another
   * chain).
   * @throws TransientError when it does not answer, or answers for another chain (`wrongChain`).
   */
  async now(): Promise<number> {
    // On the wrong chain, every look checks again, so that the service resumes as soon as the node is back.
    const due =
      this.checkDue ||
      this.wrongChain !== undefined ||
      Date.now() - this.checkedAt >= CHAIN_ID_CHECK_INTERVAL_MS;
    let block;
    try {
      [block] = await Promise.all([this.provider.getBlock("latest"), due ? this.checkChainId() : undefined]);
      this.reachable = true;
    } catch (err) {
      this.reachable = false;
      throw new TransientError(`the node did not answer: ${redactedErrorMessage(err)}`);
    }
    if (this.wrongChain !== undefined) throw new TransientError(this.wrongChain);
    return block!.timestamp;
  }

  /**
   * Ask the node for its chain id now and record whether it is the service's (`wrongChain`). Checks asked for
   * while one is under way share it.
   * @throws the transport's error when the node does not answer
   */
  checkChainId(): Promise<void> {
    this.checking ??= (async () => {
      this.checkDue = false;
      const actual = await this.node.chainIdNow();
      this.checkedAt = Date.now();
      this.wrongChain =
        actual === this.chainId
          ? undefined
          : `the node at ${this.rpc} answers for chain ${actual}, not for chain ${this.chainId}, the one the ` +
            "service started on and binds its proofs to";
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Close the connection. */
  destroy(): void {
    this.provider.destroy();
  }
}
