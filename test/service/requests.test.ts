/**
 * What the service answers a proof request (service/requests.ts): refusals before it looks at the store or the
 * chain that name what to ask for instead. The bounds on the work a token holder can queue (BAR_TOO_OLD,
 * TOO_MANY_JOBS), which read the store and the oracle, are test/service/request-bounds.test.ts (slow suite).
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { BatchRuntime } from "../../service/batches";
import { RequestRefusedError } from "../../service/request-errors";
import { ProofRequests, type ProofRequestsOptions } from "../../service/requests";

/** A service with one batch, "majors", of BTC-USDT and ETH-USDT, and no market proved alone. */
function requests(): ProofRequests {
  const batch = { id: "majors", markets: [{ id: "BTC-USDT" }, { id: "ETH-USDT" }] } as BatchRuntime;
  // Nothing else is reached before these refusals.
  const parts = {
    markets: new Map(),
    batches: new Map([["majors", batch]]),
    log: pino({ level: "silent" }),
    stopping: () => false,
  } as unknown as ProofRequestsOptions;
  return new ProofRequests(parts);
}

describe("proof requests", () => {
  it("refuses a market it does not serve", async () => {
    const err = await requests()
      .request("SOL-USDT", 1_717_192_800, false)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(err).toMatchObject({ code: "UNKNOWN_MARKET", message: "market 'SOL-USDT' is not served here" });
  });

  it("names the batch of a market proved in a batch, whose proofs are asked for by the batch's id", async () => {
    const err = await requests()
      .request("ETH-USDT", 1_717_192_800, true)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRefusedError);
    expect(err).toMatchObject({
      code: "UNKNOWN_MARKET",
      message:
        "market 'ETH-USDT' is proved here in batch 'majors', with the batch's other markets: " +
        "ask for the batch's proof (market 'majors')",
    });
  });
});
