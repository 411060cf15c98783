/**
 * The service's view of the chain: the node, the oracle contract, the domain its proofs are bound to, and
 * the chain's time. Time is the chain's: a bar is closed, and data is fresh or stale, as the oracle will
 * judge it, by the latest block's timestamp. Whether the node answered at the last look is kept for the
 * readiness probe. The node's URL may hold a password or an API key, and ethers quotes it in its errors: every
 * error of the connection is redacted where it arises (`RedactingProvider`), and messages show the URL redacted.
 */
import { Contract, JsonRpcProvider, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { UsageError, ZkriskError } from "../core/errors";
import { redactUrl } from "../core/url";
import { oracleDomain } from "../prover/domain";
import { oracleInterface } from "../onchain/oracle";
import { checkRiskOracle } from "../onchain/oracle-identity";
import type { ServiceConfig } from "./config";
import { redactError, redactedErrorMessage } from "./redaction";
import { TransientError } from "./submitter";

/**
 * A JSON-RPC provider whose transport errors (an HTTP status other than 2xx, a timeout) carry no credential of its
 * URL: ethers puts the URL it was given, password and API key included, in their message and `info.requestUrl`.
 * Everything the service does on chain (reads, the submitter's wallet) goes through `_send`.
 */
class RedactingProvider extends JsonRpcProvider {
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    try {
      return await super._send(payload);
    } catch (err) {
      throw redactError(err);
    }
  }
}

/** A connection to the node and the oracle of a service config. */
export class ChainView {
  /** Whether the node answered at the last look. */
  reachable = true;

  private constructor(
    readonly provider: JsonRpcProvider,
    readonly oracle: Contract,
    /** The proofs' domain: binds them to this chain and this oracle. */
    readonly domain: bigint,
  ) {}

  /**
   * Connect to `chain.rpc` and find the oracle at `chain.oracle`.
   * @throws ZkriskError CHAIN_UNREACHABLE when the node does not answer, CONFIG_INVALID when no contract is
   *   at the oracle's address or the contract there is not a RiskOracle (`checkRiskOracle`).
   */
  static async connect(chain: ServiceConfig["chain"]): Promise<ChainView> {
    const provider = new RedactingProvider(chain.rpc, undefined, { staticNetwork: false, cacheTimeout: -1 });
    try {
      let chainId: bigint;
      try {
        chainId = (await provider.getNetwork()).chainId;
      } catch (err) {
        throw new ZkriskError(
          "CHAIN_UNREACHABLE",
          `chain.rpc: cannot reach ${redactUrl(chain.rpc)}: ${redactedErrorMessage(err)}`,
        );
      }
      const oracle = new Contract(chain.oracle, oracleInterface(), provider);
      if ((await provider.getCode(chain.oracle)) === "0x") {
        throw new ZkriskError(
          "CONFIG_INVALID",
          `chain.oracle: no contract at ${chain.oracle} on ${redactUrl(chain.rpc)}`,
        );
      }
      // Another contract (the verifier's address given by mistake) would fail every read and every submission. A
      // node that fails the call (or answers it with no data) says nothing of the address: the service starts, and
      // its reads of the oracle meet the node's state as they always do.
      await checkRiskOracle(provider, chain.oracle, "chain.oracle").catch((err: unknown) => {
        if (err instanceof UsageError) throw new ZkriskError("CONFIG_INVALID", err.message);
      });
      return new ChainView(provider, oracle, oracleDomain(chainId, chain.oracle));
    } catch (err) {
      provider.destroy();
      throw err;
    }
  }

  /**
   * Latest block time (s); also records whether the node answers.
   * @throws TransientError when it does not.
   */
  async now(): Promise<number> {
    try {
      const block = await this.provider.getBlock("latest");
      this.reachable = true;
      return block!.timestamp;
    } catch (err) {
      this.reachable = false;
      throw new TransientError(`the node did not answer: ${redactedErrorMessage(err)}`);
    }
  }

  /** Close the connection. */
  destroy(): void {
    this.provider.destroy();
  }
}
