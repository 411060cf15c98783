/**
 * Registering a market with its publisher set, for the suites that need a signed market on chain. The oracle's
 * registration API is the one place these suites touch it: when registration changes, this function does.
 */
import { ZeroAddress, type Contract } from "ethers";
import { DEFAULT_LIMITS, registerMarket } from "../../onchain/oracle";
import { publisherSetCommitment, type PublisherSet } from "../../publisher";

/** What a signed market is registered with. */
export interface SignedMarketRegistration {
  /** Address of the signed-update verifier (a stand-in where the suite proves only batches). */
  verifier: string;
  modelCommitment: bigint;
  /** The publisher set; its quorum is registered with it. */
  set: PublisherSet;
}

/** Register `marketId` with the default limits, no guardian, and its publisher set. */
export async function registerSignedMarket(
  oracle: Contract,
  marketId: bigint,
  r: SignedMarketRegistration,
): Promise<void> {
  await registerMarket(oracle, marketId, {
    publishers: {
      verifier: r.verifier,
      modelCommitment: r.modelCommitment,
      publisherSet: await publisherSetCommitment(r.set),
      quorum: r.set.quorum,
    },
    guardian: ZeroAddress,
    limits: DEFAULT_LIMITS,
  });
}
