/**
 * The main job, end to end, on the signed path: the INSECURE development publisher key (made once, cached)
 * signs the window of the shipped candles' latest bar -> the signed-update circuit (signature, digest,
 * features, model, policy; compiled and set up once, then cached) -> deploy the verifier, the oracle and an
 * example consumer -> register the market and its publisher set -> prove -> `submitSignedUpdate` -> read back
 * through the consumer. On the in-process Hardhat network by default, or on a node given by an RPC URL and a key.
 */
import type { Contract } from "ethers";
import { buildWindow } from "../candles";
import { marketIdOf } from "../candles/market-id";
import { modelCommitment as modelCommitmentOf } from "../circuits/commitments";
import type { WeightMode } from "../circuits/generate-circuit";
import { digestSignal } from "../circuits/public-signals";
import { WINDOW_BARS } from "../candles/window";
import { ZkriskError } from "../core/errors";
import { loadCandles } from "../candles/load-data";
import { loadQuantizedModel } from "../models/quantized-model";
import { oracleDomain } from "../prover/domain";
import { inProcessChain, rpcChain, type Chain } from "../onchain/chain";
import {
  DEFAULT_LIMITS,
  deployConsumer,
  deployOracle,
  deployVerifier,
  LOCAL_CHAIN_ID,
  registerMarket,
  signedUpdatesOf,
  submitSignedUpdate,
} from "../onchain/oracle";
import { requireSolc } from "../onchain/solc";
import { SignedUpdateProver } from "../prover/prove-signed-update";
import { DEMO_CACHE, signedProvingArtifacts } from "../setup/cached-artifacts";
import type { SetupLog } from "../setup";
import { devPublisherKey } from "../publisher/dev-key";
import { makePublisherSet, publisherSetCommitment } from "../publisher/publisher-set";
import { signWindow } from "../publisher/signed-window";

/** The quorum of the demo's publisher set: its one development key. */
export const DEMO_QUORUM = 1;

/** Options of the demo. */
export interface DemoOptions {
  model: string;
  data: string;
  market: string;
  mode: WeightMode;
  /** JSON-RPC URL of a node; default: the in-process Hardhat network. */
  rpc?: string;
  /** Signing key for `rpc` (hex or env:NAME). */
  key?: string;
  /** Artifact directory (default: a cache directory keyed by the circuit source's sha256 and the mode). */
  artifacts?: string;
  /**
   * On a chain other than the local 31337: deploy the INSECURE development setup (see `deployVerifier`) and
   * register the INSECURE development publisher key.
   */
  allowInsecureSetup?: boolean;
  /** Directory of the development publisher key (default DEMO_CACHE). */
  publisherKeyDir?: string;
  log: SetupLog;
}

/** What the demo did and measured. */
export interface DemoResult {
  chain: { label: string; chainId: string };
  bar: string;
  features: { name: string; value: number; quantized: string }[];
  parameters: { maintenanceMarginBps: number; initialMarginBps: number };
  /** The INSECURE development publisher key that signed the window (public part only). */
  publisher: {
    publicKey: { Ax: string; Ay: string };
    keystore: string;
    insecure: true;
    /** Made by this run (false: from the cache). */
    created: boolean;
  };
  /** The market's publisher set: the development key, quorum 1. */
  publisherSet: { commitment: string; quorum: number; keys: number };
  /** The signed window of the latest bar. */
  window: { digest: string; bars: number; missingBars: number; endTime: string };
  circuit: {
    mode: WeightMode;
    /** The signed-update circuit's quorum K. */
    quorum: number;
    constraints: number;
    artifacts: string;
    reusedArtifacts: boolean;
    devPtau: boolean;
    /** The setup is INSECURE (a development setup): see the manifest's `setup`. */
    insecureSetup: boolean;
  };
  provingMs: number;
  setupMs: number;
  contracts: { verifier: string; oracle: string; consumer: string };
  /** The accepted `submitSignedUpdate` and its `SignedParametersUpdated` event. */
  submit: {
    method: "submitSignedUpdate";
    txHash: string;
    gasUsed: string;
    block: number;
    /** The window digest's low 180 bits the oracle logged (`digestSignal(window.digest)`). */
    windowDigest: string;
    statementKey: string;
  };
  readBack: {
    maintenanceMarginBps: number;
    initialMarginBps: number;
    dataTimestamp: number;
    fresh: boolean;
    example: { notional: string; collateral: string; canOpen: boolean; isLiquidatable: boolean }[];
  };
  stalenessNote?: string;
}

/** Run the demo. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const series = loadCandles(opts.data);
  const model = loadQuantizedModel(opts.model);
  const marketId = marketIdOf(opts.market);
  // The in-process chain needs Hardhat and both need solc-js to deploy the generated verifier: refused before any
  // work or file (an installed zkrisk has neither; the demo runs in a clone).
  const chain: Chain = opts.rpc
    ? await rpcChain(opts.rpc, opts.key ?? "env:ZKRISK_PRIVATE_KEY")
    : await inProcessChain();
  let opened: SignedUpdateProver | undefined;
  try {
    requireSolc();
    const dev = await devPublisherKey(opts.publisherKeyDir ?? DEMO_CACHE, (m) => opts.log.warn(m));
    const window = buildWindow(series, marketId, series.candles.length - 1, WINDOW_BARS);
    const signed = await signWindow(dev.key, opts.market, window);
    const publishers = await makePublisherSet([dev.key.publicKey], DEMO_QUORUM);
    const setCommitment = await publisherSetCommitment(publishers);
    // Refused before anything is compiled or deployed.
    if (chain.chainId !== LOCAL_CHAIN_ID && !opts.allowInsecureSetup) {
      throw new ZkriskError(
        "SETUP_INSECURE",
        `${dev.label}: the demo's publisher set is an INSECURE development key (its password is public): ` +
          `refusing to register it on chain ${chain.chainId}; only the local chain ${LOCAL_CHAIN_ID} takes it by ` +
          "default. Pass --allow-insecure-setup for a test network.",
      );
    }
    const artifacts = await signedProvingArtifacts(opts);
    const prover = SignedUpdateProver.open(
      artifacts.dir,
      { mode: opts.mode, quorum: DEMO_QUORUM },
      { modelPath: opts.model },
    );
    opened = prover;
    const me = await chain.signer.getAddress();
    const dataTimestamp = window.endTime / 1000;
    const closeTime = dataTimestamp + window.intervalMs / 1000;

    const verifier = await deployVerifier(chain.signer, artifacts.dir, {
      allowInsecureSetup: opts.allowInsecureSetup,
    });
    const verifierAddress = await verifier.getAddress();
    const oracle = await deployOracle(chain.signer, me);
    const oracleAddress = await oracle.getAddress();

    // The shipped candles end in 2024. On a Hardhat chain block time is moved to just after the bar's close;
    // a node that refuses time control gets a staleness guard wide enough for the old data, said out loud.
    const limits = { ...DEFAULT_LIMITS };
    let stalenessNote: string | undefined;
    const now = await chain.now();
    const canWarp = now < closeTime && (await chain.setNextBlockTime(closeTime - 120));
    if (!canWarp && now > dataTimestamp + limits.maxDataAge) {
      limits.maxDataAge = now - dataTimestamp + 24 * 3600;
      stalenessNote = `chain time is past the data: maxDataAge widened to ${limits.maxDataAge} s for this demo`;
    }
    const modelCommitment = await modelCommitmentOf(model);
    const registered = await registerMarket(oracle, marketId, {
      publishers: {
        verifier: verifierAddress,
        modelCommitment,
        publisherSet: setCommitment,
        quorum: DEMO_QUORUM,
      },
      guardian: me,
      limits,
    });
    const consumer: Contract = await deployConsumer(chain.signer, oracleAddress, marketId, limits.maxDataAge);

    const update = await prover.prove(
      {
        windows: [signed],
        names: ["the demo's signed window"],
        publishers,
        domain: oracleDomain(chain.chainId, oracleAddress),
      },
      { market: opts.market },
    );
    if (canWarp) await chain.setNextBlockTime(closeTime + 60);
    const receipt = await submitSignedUpdate(oracle, marketId, update.calldata);
    const [event] = signedUpdatesOf(oracle, receipt);
    // The event carries the digest's low 180 bits (circuits/statement.ts digestSignal).
    if (event === undefined || event.windowDigest !== digestSignal(signed.digest)) {
      throw new ZkriskError(
        "DEMO_MISMATCH",
        `the oracle logged window digest bits ${event?.windowDigest ?? "(no SignedParametersUpdated event)"}, ` +
          `the demo signed ${signed.digest} (low 180 bits ${digestSignal(signed.digest)})`,
      );
    }

    const [mm, im, ts] = (await oracle.parameters(marketId)) as [bigint, bigint, bigint, bigint];
    const fresh = (await oracle.isFresh(marketId, limits.maxDataAge)) as boolean;
    const notional = 100_000n * 10n ** 6n; // 100,000 USDC (6 decimals)
    const example = [];
    for (const collateral of [8_000n, 12_000n, 20_000n].map((c) => c * 10n ** 6n)) {
      example.push({
        notional: notional.toString(),
        collateral: collateral.toString(),
        canOpen: (await consumer.canOpen(notional, collateral)) as boolean,
        isLiquidatable: (await consumer.isLiquidatable(notional, collateral)) as boolean,
      });
    }
    const manifest = prover.artifacts.manifest;
    return {
      chain: { label: chain.label, chainId: chain.chainId.toString() },
      bar: update.bar,
      features: update.features,
      parameters: {
        maintenanceMarginBps: update.parameters.maintenanceMarginBps,
        initialMarginBps: update.parameters.initialMarginBps,
      },
      publisher: {
        publicKey: { Ax: dev.key.publicKey.Ax.toString(), Ay: dev.key.publicKey.Ay.toString() },
        keystore: dev.keystore,
        insecure: true,
        created: dev.created,
      },
      publisherSet: {
        commitment: setCommitment.toString(),
        quorum: publishers.quorum,
        keys: publishers.keys.length,
      },
      window: {
        digest: signed.digest.toString(),
        bars: window.bars.length,
        missingBars: window.bars.filter((b) => b.missing).length,
        endTime: new Date(window.endTime).toISOString(),
      },
      circuit: {
        mode: prover.mode,
        quorum: prover.quorum,
        constraints: manifest.circuit.constraints,
        artifacts: artifacts.dir,
        reusedArtifacts: artifacts.reused,
        devPtau: manifest.ptau.dev,
        insecureSetup: manifest.setup.insecure,
      },
      provingMs: update.provingMs,
      setupMs: artifacts.ms,
      contracts: { verifier: verifierAddress, oracle: oracleAddress, consumer: await consumer.getAddress() },
      submit: {
        method: "submitSignedUpdate",
        txHash: receipt.hash,
        gasUsed: receipt.gasUsed.toString(),
        block: receipt.blockNumber,
        windowDigest: event.windowDigest.toString(),
        statementKey: registered.publishers.statementKey.toString(),
      },
      readBack: {
        maintenanceMarginBps: Number(mm),
        initialMarginBps: Number(im),
        dataTimestamp: Number(ts),
        fresh,
        example,
      },
      ...(stalenessNote ? { stalenessNote } : {}),
    };
  } finally {
    await opened?.close();
    await chain.close();
  }
}
