/**
 * The submitter's pure parts (service/submitter.ts): how a node's refusal of a raw transaction is classified, with
 * the errors ethers v6 makes of what a `hardhat node` (2.29, EDR) and geth answer, and the fees of a replacement
 * (a fee bump): at least 12.5 % over the replaced transaction's and at least the node's current fees, never above
 * the gas-price ceiling, and none when the ceiling leaves no room for the 10 % raise nodes require.
 */
import { makeError } from "ethers";
import { describe, expect, it } from "vitest";
import { bumpedFees, classifyBroadcastError } from "../../service/submitter";

/** The error ethers v6 makes of a JSON-RPC error it cannot coalesce (`UNKNOWN_ERROR`), as for eth_sendRawTransaction. */
function unknownError(code: number, message: string): Error {
  const error = { code, data: { data: null, message }, message };
  return makeError("could not coalesce error", "UNKNOWN_ERROR", {
    error,
    payload: { id: 1, jsonrpc: "2.0", method: "eth_sendRawTransaction", params: ["0x02f8"] },
  });
}

/** The error ethers v6 makes of a refusal it recognises, with the node's error in `info`. */
function coalesced(
  code: "INSUFFICIENT_FUNDS" | "NONCE_EXPIRED" | "REPLACEMENT_UNDERPRICED",
  message: string,
): Error {
  const shortMessage = {
    INSUFFICIENT_FUNDS: "insufficient funds for intrinsic transaction cost",
    NONCE_EXPIRED: "nonce has already been used",
    REPLACEMENT_UNDERPRICED: "replacement fee too low",
  }[code];
  return makeError(shortMessage, code, {
    transaction: { to: null } as never,
    info: { error: { code: -32000, message } },
  } as never);
}

describe("classifyBroadcastError", () => {
  it("refusals that waiting cannot change are lasting (Hardhat's words)", () => {
    for (const message of [
      "Trying to send a raw transaction with an invalid chainId. The expected chainId is 31337",
      "Transaction requires at least 21000 gas but got 20000",
      "Transaction gas limit is 100000000 and exceeds transaction gas cap of 16777216",
      "Transaction gas limit is 40000000 and exceeds block gas limit of 30000000",
      "Invalid Signature",
    ]) {
      expect(classifyBroadcastError(unknownError(-32000, message)), message).toBe("invalid");
    }
  });

  it("refusals that waiting cannot change are lasting (geth's txpool words)", () => {
    for (const message of [
      "invalid sender",
      "intrinsic gas too low",
      "exceeds block gas limit",
      "max priority fee per gas higher than max fee per gas",
      "invalid chain id for signer",
      "only replay-protected (EIP-155) transactions allowed over RPC",
      "oversized data",
      "transaction type not supported",
      "rlp: expected input list for types.DynamicFeeTx",
    ]) {
      expect(classifyBroadcastError(unknownError(-32000, message)), message).toBe("invalid");
    }
  });

  it("an account short of funds is not lasting: it is named, to be topped up", () => {
    expect(
      classifyBroadcastError(
        unknownError(
          -32000,
          "Sender doesn't have enough funds to send tx. The max upfront cost is: 63000000000000 and the sender's balance is: 0.",
        ),
      ),
    ).toBe("insufficient-funds");
    expect(
      classifyBroadcastError(
        coalesced("INSUFFICIENT_FUNDS", "insufficient funds for gas * price + value: balance 0, tx cost 1"),
      ),
    ).toBe("insufficient-funds");
  });

  it("nonces, a transaction the node has, and a replacement it finds too cheap", () => {
    expect(classifyBroadcastError(unknownError(-32000, "already known"))).toBe("already-known");
    expect(classifyBroadcastError(unknownError(-32000, "Known transaction: 0xabc"))).toBe("already-known");
    expect(
      classifyBroadcastError(coalesced("NONCE_EXPIRED", "nonce too low: next nonce 5, tx nonce 4")),
    ).toBe("nonce-taken");
    expect(
      classifyBroadcastError(unknownError(-32000, "Nonce too low. Expected nonce to be 5 but got 4.")),
    ).toBe("nonce-taken");
    expect(
      classifyBroadcastError(
        unknownError(
          -32000,
          "Nonce too high. Expected nonce to be 0 but got 5. Note that transactions can't be queued when automining.",
        ),
      ),
    ).toBe("nonce-too-high");
    expect(
      classifyBroadcastError(
        coalesced(
          "REPLACEMENT_UNDERPRICED",
          "Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 3300000000 is necessary to replace the existing transaction with nonce 0.",
        ),
      ),
    ).toBe("replacement-underpriced");
  });

  it("a fee below the next block's base fee, or the pool's minimum, is underpriced (to be replaced)", () => {
    for (const err of [
      unknownError(
        -32000,
        "Transaction maxFeePerGas (1) is too low for the next block, which has a baseFeePerGas of 875000000",
      ),
      unknownError(-32000, "max fee per gas less than block base fee"),
      unknownError(-32000, "transaction underpriced"),
    ]) {
      expect(classifyBroadcastError(err), err.message).toBe("underpriced");
    }
  });

  it("transport failures are worth waiting for", () => {
    for (const err of [
      new Error("fetch failed"),
      makeError("server response 502 Bad Gateway", "SERVER_ERROR"),
    ]) {
      expect(classifyBroadcastError(err), err.message).toBe("other");
    }
  });
});

describe("bumpedFees", () => {
  const gwei = (n: number) => BigInt(Math.round(n * 1e9));
  const ceiling = gwei(100);

  it("raises both fees by 12.5 % over the replaced transaction's", () => {
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(8), maxPriorityFeePerGas: gwei(1) },
        { maxFeePerGas: gwei(3), maxPriorityFeePerGas: gwei(1) },
        ceiling,
      ),
    ).toEqual({ maxFeePerGas: gwei(9), maxPriorityFeePerGas: gwei(1.125) });
  });

  it("takes the node's current fees when they are higher", () => {
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(8), maxPriorityFeePerGas: gwei(1) },
        { maxFeePerGas: gwei(40), maxPriorityFeePerGas: gwei(2) },
        ceiling,
      ),
    ).toEqual({ maxFeePerGas: gwei(40), maxPriorityFeePerGas: gwei(2) });
  });

  it("raises a zero tip and a fee of 1 wei by at least 1 wei (nodes need strictly higher fees)", () => {
    expect(
      bumpedFees(
        { maxFeePerGas: 1n, maxPriorityFeePerGas: 0n },
        { maxFeePerGas: 1n, maxPriorityFeePerGas: 0n },
        ceiling,
      ),
    ).toEqual({
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
    });
  });

  it("stops at the ceiling, as long as the raise is still the 10 % nodes require", () => {
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(90), maxPriorityFeePerGas: gwei(2) },
        { maxFeePerGas: gwei(300), maxPriorityFeePerGas: gwei(2) },
        ceiling,
      ),
    ).toEqual({ maxFeePerGas: gwei(100), maxPriorityFeePerGas: gwei(2.25) });
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(90.9), maxPriorityFeePerGas: gwei(2) },
        { maxFeePerGas: gwei(3), maxPriorityFeePerGas: gwei(2) },
        ceiling,
      ),
    ).toEqual({ maxFeePerGas: gwei(100), maxPriorityFeePerGas: gwei(2.25) });
  });

  it("gives none when the ceiling leaves no room for a 10 % raise of either fee", () => {
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(91), maxPriorityFeePerGas: gwei(2) },
        { maxFeePerGas: gwei(3), maxPriorityFeePerGas: gwei(2) },
        ceiling,
      ),
    ).toBeUndefined();
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(100), maxPriorityFeePerGas: gwei(95) },
        { maxFeePerGas: gwei(3), maxPriorityFeePerGas: gwei(2) },
        gwei(200),
      ),
    ).toEqual({ maxFeePerGas: gwei(112.5), maxPriorityFeePerGas: gwei(106.875) });
    expect(
      bumpedFees(
        { maxFeePerGas: gwei(100), maxPriorityFeePerGas: gwei(95) },
        { maxFeePerGas: gwei(3), maxPriorityFeePerGas: gwei(2) },
        gwei(104),
      ),
    ).toBeUndefined();
  });
});
