/**
 * The main job, end to end: the latest bar of the shipped data -> features -> quantised inference -> circuit
 * (compiled and set up once, then cached) -> deploy the verifier, the oracle and an example consumer ->
 * register the market -> prove -> submit -> read back through the consumer. On the in-process Hardhat
 * network by default, or on a node given by an RPC URL and a key.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Contract } from "ethers";
import { compileModel } from "../circuits/compile-model";
import { generateCircuit, type WeightMode } from "../circuits/generate-circuit";
import { sha256Hex } from "../models/io";
import { loadCandles } from "../models/load-data";
import { inferBar } from "../models/predict";
import { loadQuantizedModel } from "../models/quantized-model";
import { loadArtifacts } from "../prover/artifacts";
import { marketIdOf } from "../candles/market-id";
import { oracleDomain } from "../prover/domain";
import { inProcessChain, rpcChain, type Chain } from "../prover/onchain/chain";
import {
  DEFAULT_LIMITS,
  deployConsumer,
  deployOracle,
  deployVerifier,
  registerMarket,
  submitUpdate,
} from "../prover/onchain/oracle";
import { UpdateProver } from "../prover/prove-update";
import { setupCompiledDir, type SetupLog } from "../prover/setup";

/** Where the demo caches its proving artifacts (per model file and weight mode). */
export const DEMO_CACHE = join(resolve(__dirname, ".."), ".zkrisk-cache", "demo");

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
  /** Artifact directory (default: a cache directory keyed by the model's sha256 and the mode). */
  artifacts?: string;
  /** Deploy the INSECURE development setup on a chain other than the local 31337 (see `deployVerifier`). */
  allowInsecureSetup?: boolean;
  log: SetupLog;
}

/** What the demo did and measured. */
export interface DemoResult {
  chain: { label: string; chainId: string };
  bar: string;
  features: { name: string; value: number; quantized: string }[];
  parameters: { maintenanceMarginBps: number; initialMarginBps: number };
  circuit: {
    mode: WeightMode;
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
  submit: { txHash: string; gasUsed: string; block: number };
  readBack: {
    maintenanceMarginBps: number;
    initialMarginBps: number;
    dataTimestamp: number;
    fresh: boolean;
    example: { notional: string; collateral: string; canOpen: boolean; isLiquidatable: boolean }[];
  };
  stalenessNote?: string;
}

/**
 * Artifacts for the model: reuse a verified cache, else compile and set up (development ptau). The cache is
 * keyed by the generated circuit's source, so a change of model, mode or generator never reuses stale keys.
 */
export async function provingArtifacts(
  opts: Pick<DemoOptions, "model" | "mode" | "artifacts" | "log">,
): Promise<{ dir: string; reused: boolean; ms: number }> {
  const source = (await generateCircuit(loadQuantizedModel(opts.model), opts.mode)).source;
  const dir = opts.artifacts ?? join(DEMO_CACHE, `${sha256Hex(source).slice(0, 16)}-${opts.mode}`);
  if (existsSync(join(dir, "artifacts.json"))) {
    try {
      loadArtifacts(dir, { modelPath: opts.model });
      return { dir, reused: true, ms: 0 };
    } catch (err) {
      opts.log.warn(`cached artifacts in ${dir} are unusable (${(err as Error).message}); rebuilding them`);
    }
  }
  const t0 = performance.now();
  opts.log.info(`compiling the ${opts.mode}-weights circuit and running a development trusted setup (once)`);
  await compileModel(opts.model, dir, opts.mode);
  await setupCompiledDir(dir, opts.model, opts.log);
  return { dir, reused: false, ms: performance.now() - t0 };
}

/** Run the demo. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const series = loadCandles(opts.data);
  const model = loadQuantizedModel(opts.model);
  const latest = inferBar(model, series);
  const artifacts = await provingArtifacts(opts);
  const chain: Chain = opts.rpc
    ? await rpcChain(opts.rpc, opts.key ?? "env:ZKRISK_PRIVATE_KEY")
    : await inProcessChain();
  const prover = await UpdateProver.open(artifacts.dir, { modelPath: opts.model });
  try {
    const me = await chain.signer.getAddress();
    const marketId = marketIdOf(opts.market);
    const dataTimestamp = latest.time / 1000;
    const closeTime = dataTimestamp + series.intervalMs / 1000;

    const verifier = await deployVerifier(chain.signer, artifacts.dir, {
      allowInsecureSetup: opts.allowInsecureSetup,
    });
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
    await registerMarket(oracle, marketId, {
      verifier: await verifier.getAddress(),
      modelCommitment: prover.modelCommitment,
      guardian: me,
      limits,
    });
    const consumer: Contract = await deployConsumer(chain.signer, oracleAddress, marketId, limits.maxDataAge);

    const update = await prover.proveBar(series, {
      market: opts.market,
      marketId,
      domain: oracleDomain(chain.chainId, oracleAddress),
    });
    if (canWarp) await chain.setNextBlockTime(closeTime + 60);
    const receipt = await submitUpdate(oracle, update);

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
    return {
      chain: { label: chain.label, chainId: chain.chainId.toString() },
      bar: update.bar,
      features: update.features.map((f) => ({ name: f.name, value: f.value ?? NaN, quantized: f.quantized })),
      parameters: {
        maintenanceMarginBps: update.parameters.maintenanceMarginBps,
        initialMarginBps: update.parameters.initialMarginBps,
      },
      circuit: {
        mode: prover.mode,
        constraints: prover.artifacts.manifest.circuit.constraints,
        artifacts: artifacts.dir,
        reusedArtifacts: artifacts.reused,
        devPtau: prover.artifacts.manifest.ptau.dev,
        insecureSetup: prover.artifacts.manifest.setup.insecure,
      },
      provingMs: update.provingMs,
      setupMs: artifacts.ms,
      contracts: {
        verifier: await verifier.getAddress(),
        oracle: oracleAddress,
        consumer: await consumer.getAddress(),
      },
      submit: { txHash: receipt.hash, gasUsed: receipt.gasUsed.toString(), block: receipt.blockNumber },
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
    await prover.close();
    await chain.close();
  }
}
