/**
 * Deploying and driving the oracle from TypeScript: the generated verifiers (zkrisk's own: signed-update-verifier.ts
 * for signed updates, signed-batch-verifier.ts for signed batches), the RiskOracle, the example consumer, market
 * registration with its publisher set, rotations, and proven updates (single and batched). Reverts are decoded to
 * the oracle's custom errors, so a refused update says why (`OracleStaleData(...)`), not just "execution reverted".
 */
import {
  Contract,
  ContractFactory,
  getAddress,
  Interface,
  type ContractRunner,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError, ZkriskError } from "../core/errors";
import { FIELD_MODULUS } from "../crypto/field";
import {
  batchSignalLayout,
  batchSizeOf,
  UPDATE_SIGNAL_INDEX,
  UPDATE_SIGNALS,
} from "../circuits/public-signals";
import { statementKey } from "../circuits/statement";
import type { VerifierCalldata } from "../prover/calldata";
import { oracleDomain } from "../prover/domain";
import type { ProvedSignedBatch } from "../prover/prove-signed-batch";
import { shippedContract } from "./contract-files";
import { compileGeneratedSource, type CompiledContract } from "./solc";
import { checkFileHash, MANIFEST_FILE, readManifest, type ArtifactManifest } from "../setup/artifacts";
import type { VerificationKey } from "../setup/snarkjs";
import { generateSignedBatchVerifier, SIGNED_BATCH_VERIFIER_CONTRACT } from "./signed-batch-verifier";
import {
  generateSignedUpdateVerifier,
  SIGNED_UPDATE_VERIFIER_CONTRACT,
  type AdaptiveNumBounds,
} from "./signed-update-verifier";
import { STATE_EXTRA_BITS } from "../models/adaptive";
import { checkLimits, type MarketLimits } from "./limits";

export { checkLimits, DEFAULT_LIMITS, LIMIT_FIELDS, type LimitNames, type MarketLimits } from "./limits";

/** An update the oracle refused, or a transaction that failed; `reason` is the decoded custom error. */
export class OracleError extends ZkriskError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super("ORACLE_REJECTED", message);
  }
}

/** ABI of the oracle (for reading events and decoding errors without deploying). */
export function oracleInterface(): Interface {
  return new Interface(shippedContract("RiskOracle").abi as never);
}

async function deployCompiled(c: CompiledContract, signer: Signer, args: unknown[]): Promise<Contract> {
  const factory = new ContractFactory(c.abi as never, c.bytecode, signer);
  const contract = await factory.deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

/** Chain id of local development nodes (Hardhat, Anvil): the only chain an INSECURE setup may serve by default. */
export const LOCAL_CHAIN_ID = 31337n;

/** Options of {@link deployVerifier}. */
export interface DeployVerifierOptions {
  /** Deploy artifacts whose manifest says `setup.insecure` on a chain other than {@link LOCAL_CHAIN_ID}. */
  allowInsecureSetup?: boolean;
}

/**
 * Whether an artifact directory holds a signed-update circuit: the public signals of `UPDATE_SIGNALS`, all outputs
 * (a batch has its varying signals, the models and the set as outputs and its market ids and domain as inputs).
 */
export function isSignedUpdateCircuit(manifest: ArtifactManifest): boolean {
  const c = manifest.circuit;
  return (
    c.publicSignals === UPDATE_SIGNALS.length && c.outputs === UPDATE_SIGNALS.length && c.publicInputs === 0
  );
}

/**
 * Whether an artifact directory's circuit proves the adaptive rule: its circuit.json records the rule, which setup
 * copies into the manifest (`adaptive`). With a batch size (circuit.json's `batchSize` and `adaptive`, the shape
 * of `batchSignalNames(n, true)`) it is an adaptive batch circuit.
 */
export function isAdaptiveCircuit(manifest: ArtifactManifest): boolean {
  return manifest.adaptive !== undefined;
}

/**
 * The clamp of the state's num that an adaptive circuit proves (its rule's minNum and maxNum, times
 * 2^STATE_EXTRA_BITS as num holds them), or undefined for a plain circuit.
 */
export function adaptiveNumBounds(manifest: ArtifactManifest): AdaptiveNumBounds | undefined {
  const rule = manifest.adaptive?.rule;
  if (rule === undefined) return undefined;
  const extra = BigInt(STATE_EXTRA_BITS);
  return { minNum: BigInt(rule.minNum) << extra, maxNum: BigInt(rule.maxNum) << extra };
}

/**
 * The batch size of an artifact directory's signed batch circuit (V + n + 1 outputs, then the n market ids and the
 * domain as inputs: `batchSignalNames`; for an adaptive circuit, {@link isAdaptiveCircuit}, V = n), or undefined
 * for any other circuit.
 */
export function signedBatchSize(manifest: ArtifactManifest): number | undefined {
  const c = manifest.circuit;
  const adaptive = isAdaptiveCircuit(manifest);
  const n = batchSizeOf(c.outputs, c.publicInputs, adaptive);
  return n !== undefined && c.publicSignals === batchSignalLayout(n, adaptive).count ? n : undefined;
}

/**
 * The verifier of an artifact directory, compiled: for a signed-update circuit zkrisk's own
 * (signed-update-verifier.ts, generated from the directory's verification key, checked against the manifest, its
 * `adaptiveLayout()` true for a circuit with the adaptive rule, {@link isAdaptiveCircuit}), for
 * a signed batch circuit zkrisk's batch verifier (signed-batch-verifier.ts, likewise), with one varying signal per
 * market for an adaptive batch circuit (`submitAdaptiveBatch`; register it with {@link setAdaptiveBatchVerifier}).
 * @throws UsageError for any other circuit (the oracle takes no other proofs)
 */
export function compileArtifactsVerifier(artifactsDir: string): CompiledContract {
  const manifest = readManifest(artifactsDir);
  const batchSize = signedBatchSize(manifest);
  if (!isSignedUpdateCircuit(manifest) && batchSize === undefined) {
    const c = manifest.circuit;
    throw new UsageError(
      `${join(artifactsDir, MANIFEST_FILE)}: the circuit has ${c.outputs} public outputs and ${c.publicInputs} ` +
        `public inputs${isAdaptiveCircuit(manifest) ? " (with the adaptive rule)" : ""}: neither a signed update ` +
        "(`zkrisk compile`) nor a signed batch (`zkrisk compile --batch N`), the only proofs the oracle takes",
    );
  }
  const vkeyPath = resolve(artifactsDir, manifest.files.vkey.path);
  checkFileHash(vkeyPath, manifest.files.vkey.sha256, "vkey", join(artifactsDir, MANIFEST_FILE));
  const vkey = JSON.parse(readFileSync(vkeyPath, "utf8")) as VerificationKey;
  return batchSize === undefined
    ? compileGeneratedSource(
        generateSignedUpdateVerifier(vkey, adaptiveNumBounds(manifest)),
        SIGNED_UPDATE_VERIFIER_CONTRACT,
      )
    : compileGeneratedSource(
        generateSignedBatchVerifier(vkey, batchSize, isAdaptiveCircuit(manifest)),
        SIGNED_BATCH_VERIFIER_CONTRACT,
      );
}

/**
 * Deploy the verifier of an artifact directory (see {@link compileArtifactsVerifier}: zkrisk's own for a
 * signed-update circuit or a signed batch circuit, plain or adaptive). Refuses, with a `SETUP_INSECURE` error,
 * artifacts from an INSECURE setup (development ptau or direct development setup: one process could have known
 * the secrets, so anyone holding them could forge proofs) on any chain but a local one, unless
 * `allowInsecureSetup`.
 */
export async function deployVerifier(
  signer: Signer,
  artifactsDir: string,
  options: DeployVerifierOptions = {},
): Promise<Contract> {
  const manifest = readManifest(artifactsDir);
  if (manifest.setup.insecure && !options.allowInsecureSetup) {
    const network = await signer.provider?.getNetwork();
    const chainId = network?.chainId;
    if (chainId !== LOCAL_CHAIN_ID) {
      throw new ZkriskError(
        "SETUP_INSECURE",
        `${join(artifactsDir, MANIFEST_FILE)}: the setup is INSECURE (${manifest.setup.method === "direct" ? "a direct development setup" : "phase 2 on a development ptau"}): ` +
          `whoever ran it could have kept its secrets and could forge proofs the verifier accepts. ` +
          `Refusing to deploy it on chain ${chainId ?? "(unknown)"}: only the local chain ${LOCAL_CHAIN_ID} takes it by ` +
          "default. Run `zkrisk setup --ptau FILE` with a public ceremony's ptau for a real deployment, or pass " +
          "--allow-insecure-setup for a test network.",
      );
    }
  }
  return deployCompiled(compileArtifactsVerifier(artifactsDir), signer, []);
}

/** Deploy a RiskOracle governed by `governor`. */
export function deployOracle(signer: Signer, governor: string): Promise<Contract> {
  return deployCompiled(shippedContract("RiskOracle"), signer, [governor]);
}

/** Deploy the example consumer for one market, refusing parameters older than `maxAge` seconds. */
export function deployConsumer(
  signer: Signer,
  oracle: string,
  marketId: bigint,
  maxAge: number,
): Promise<Contract> {
  return deployCompiled(shippedContract("PerpMarginCheck"), signer, [oracle, marketId, maxAge]);
}

/** The oracle at `address`, connected to `runner`. */
export function oracleAt(address: string, runner: Signer | import("ethers").Provider): Contract {
  return new Contract(address, oracleInterface(), runner);
}

/** Turn a failed call into an OracleError naming the custom error and its arguments. */
export function decodeRevert(err: unknown, iface: Interface): OracleError {
  const e = err as {
    data?: string;
    info?: { error?: { data?: string; message?: string } };
    error?: { data?: string };
    shortMessage?: string;
    message?: string;
  };
  const data = e.data ?? e.info?.error?.data ?? e.error?.data;
  if (typeof data === "string" && data.length >= 10) {
    const parsed = iface.parseError(data);
    if (parsed) {
      const args = parsed.args.map((a) => String(a)).join(", ");
      return new OracleError(parsed.name, `the oracle refused: ${parsed.name}(${args})`);
    }
  }
  // the node's own words (e.g. "header not found"), which ethers' short message leaves out
  const said = e.info?.error?.message;
  const short = e.shortMessage ?? e.message ?? String(err);
  const node = typeof said === "string" && !short.includes(said) ? ` (the node said: ${said})` : "";
  return new OracleError("unknown", `transaction failed: ${short}${node}`);
}

/**
 * What a failed call or transaction of this module throws: a zkrisk error raised underneath as it is (the CLI
 * signer's refusal of a key whose account cannot pay, a UsageError), any other failure decoded by
 * {@link decodeRevert}.
 */
function callFailure(err: unknown, iface: Interface): ZkriskError {
  return err instanceof ZkriskError ? err : decodeRevert(err, iface);
}

/** Register the signed batch verifier of a model for batches of `n` markets (governance). */
export async function setBatchVerifier(
  oracle: Contract,
  modelCommitment: bigint,
  n: number,
  verifier: string,
): Promise<TransactionReceipt> {
  try {
    return (await (await oracle.setBatchVerifier(modelCommitment, n, verifier)).wait()) as TransactionReceipt;
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** The arguments of `RiskOracle.submitSignedBatch`, field elements as decimal strings. */
export type SignedBatchArguments = [
  pA: VerifierCalldata["a"],
  pB: VerifierCalldata["b"],
  pC: VerifierCalldata["c"],
  marketIds: string[],
  /** Market i's model commitment at index i. */
  modelCommitments: string[],
  publisherSet: string,
  /** The varying signals. */
  update: string[],
];

/**
 * The arguments of `submitSignedBatch` for a proven batch: the proof, then from its public signals
 * (`batchSignalLayout`) the market ids, each market's model commitment (in the markets' order), the publisher set
 * and the varying signals. The domain is the oracle's own and is not passed.
 */
export function signedBatchArguments(
  batch: Pick<ProvedSignedBatch, "calldata" | "publicSignals" | "markets">,
): SignedBatchArguments {
  return batchArguments(batch, false);
}

/** A plain or adaptive batch's arguments (the two functions take the same ones, from their own layouts). */
function batchArguments(batch: ProvedAdaptiveBatch, adaptive: boolean): SignedBatchArguments {
  const l = batchSignalLayout(batch.markets.length, adaptive);
  const signals = batch.publicSignals;
  if (signals.length !== l.count) {
    const kind = adaptive ? "adaptive batch" : "batch";
    throw new UsageError(
      `the ${kind} proof has ${signals.length} public signals; ${adaptive ? "an" : "a"} ${kind} of ${l.n} ` +
        `market(s) has ${l.count}`,
    );
  }
  const c = batch.calldata;
  return [
    c.a,
    c.b,
    c.c,
    signals.slice(l.marketId, l.marketId + l.n),
    signals.slice(l.modelCommitment, l.modelCommitment + l.n),
    signals[l.publisherSet],
    signals.slice(0, l.varying),
  ];
}

/** Submit a proven signed batch (all markets or none); a refusal is an OracleError with the oracle's reason. */
export async function submitSignedBatch(
  oracle: Contract,
  batch: Pick<ProvedSignedBatch, "calldata" | "publicSignals" | "markets">,
): Promise<TransactionReceipt> {
  return sendBatch(oracle, "submitSignedBatch", signedBatchArguments(batch));
}

/** A dry run of `method` with `args`, then the transaction; a refusal is an OracleError with the oracle's reason. */
async function sendBatch(
  oracle: Contract,
  method: "submitSignedBatch" | "submitAdaptiveBatch",
  args: SignedBatchArguments,
): Promise<TransactionReceipt> {
  try {
    await oracle.getFunction(method).staticCall(...args);
    return (await (await oracle.getFunction(method)(...args)).wait()) as TransactionReceipt;
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/**
 * Register the ADAPTIVE batch verifier of a model for batches of `n` (2 to 32) markets (governance): the registry
 * `submitAdaptiveBatch` reads, apart from {@link setBatchVerifier}'s.
 * @throws OracleError with the oracle's reason when it refuses (`OracleInvalidBatchSize` for n < 2)
 */
export async function setAdaptiveBatchVerifier(
  oracle: Contract,
  modelCommitment: bigint,
  n: number,
  verifier: string,
): Promise<TransactionReceipt> {
  try {
    return (await (
      await oracle.setAdaptiveBatchVerifier(modelCommitment, n, verifier)
    ).wait()) as TransactionReceipt;
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** A proven adaptive batch as {@link submitAdaptiveBatch} reads it: the proof, its public signals and its markets. */
export interface ProvedAdaptiveBatch {
  calldata: VerifierCalldata;
  /** Public signals, in the order of `batchSignalNames(n, true)` (circuits/public-signals.ts). */
  publicSignals: readonly string[];
  /** The batch's markets, in its order (ids increasing); only their number is read here. */
  markets: readonly unknown[];
}

/**
 * The arguments of `submitAdaptiveBatch` for a proven adaptive batch: the proof, then from its public signals
 * (`batchSignalLayout(n, true)`) the market ids, each market's model commitment, the publisher set and the n
 * varying signals (market i's packed adaptive update at index i). The domain is the oracle's own and is not passed.
 * @throws UsageError when the proof does not have an adaptive batch's 3n + 2 public signals
 */
export function adaptiveBatchArguments(batch: ProvedAdaptiveBatch): SignedBatchArguments {
  return batchArguments(batch, true);
}

/**
 * Submit a proven adaptive batch (all markets or none; each market's prior is the one the oracle holds,
 * {@link readAdaptivePrior}); a refusal is an OracleError with the oracle's reason.
 */
export async function submitAdaptiveBatch(
  oracle: Contract,
  batch: ProvedAdaptiveBatch,
): Promise<TransactionReceipt> {
  return sendBatch(oracle, "submitAdaptiveBatch", adaptiveBatchArguments(batch));
}

/** A market's publisher set and the statement its signed updates prove, as `IRiskOracle.PublisherSetConfig`. */
export interface PublisherSetConfig {
  /** Address of zkrisk's verifier of the signed-update circuit (signed-update-verifier.ts). */
  verifier: string;
  /** Commitment to the model (circuits/commitments.ts). */
  modelCommitment: bigint;
  /** Commitment to the publishers' keys and quorum (publisher/publisher-set.ts `publisherSetCommitment`). */
  publisherSet: bigint;
  /** k, the distinct publisher signatures an update needs (1..255; the commitment binds it too). */
  quorum: number;
  /** Poseidon over (tag, market id, model commitment, publisher set, domain) (circuits/statement.ts). */
  statementKey: bigint;
}

/** The chain id of the oracle's network and its address: what the domain, hence the statement key, binds. */
async function oracleLocation(oracle: Contract): Promise<{ chainId: bigint; address: string }> {
  const provider = (oracle.runner as { provider?: Provider | null } | null)?.provider;
  if (!provider) throw new UsageError("oracle: the contract has no provider (connect it to a signer)");
  return { chainId: (await provider.getNetwork()).chainId, address: await oracle.getAddress() };
}

/**
 * The statement key of `marketId` on `oracle` (its chain and address give the domain): what governance
 * registers and every signed update of the market must carry.
 */
export async function oracleStatementKey(
  oracle: Contract,
  marketId: bigint,
  parts: { modelCommitment: bigint; publisherSet: bigint },
): Promise<bigint> {
  const { chainId, address } = await oracleLocation(oracle);
  return statementKey({ marketId, ...parts, domain: oracleDomain(chainId, address) });
}

/**
 * A publisher set checked (quorum in 1..255, commitments nonzero field elements) and completed with the statement
 * key of `marketId` on `oracle`.
 */
async function withStatementKey(
  oracle: Contract,
  marketId: bigint,
  config: Omit<PublisherSetConfig, "statementKey">,
): Promise<PublisherSetConfig> {
  if (!Number.isInteger(config.quorum) || config.quorum < 1 || config.quorum > 255) {
    throw new UsageError(`quorum: ${config.quorum} is not an integer in [1, 255]`);
  }
  for (const name of ["modelCommitment", "publisherSet"] as const) {
    const v = config[name];
    if (v <= 0n || v >= FIELD_MODULUS) throw new UsageError(`${name}: ${v} is not a nonzero field element`);
  }
  return { ...config, statementKey: await oracleStatementKey(oracle, marketId, config) };
}

/**
 * Rotate the publisher set, model or verifier of a market (governance): computes the statement key from the market, the
 * model, the set and the oracle's domain, and registers it with the verifier. From then on proofs for the previous
 * statement key are refused. Returns the receipt and the configuration registered.
 * @throws UsageError for a quorum outside 1..255 or a commitment outside [1, p)
 * @throws OracleError with the oracle's reason when it refuses
 */
export async function setPublisherSet(
  oracle: Contract,
  marketId: bigint,
  config: Omit<PublisherSetConfig, "statementKey">,
): Promise<{ receipt: TransactionReceipt; config: PublisherSetConfig }> {
  const full = await withStatementKey(oracle, marketId, config);
  try {
    const receipt = (await (await oracle.setPublisherSet(marketId, full)).wait()) as TransactionReceipt;
    return { receipt, config: full };
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** What {@link registerMarket} registers: the market's publisher set (its statement key is computed), guardian and
 * guards. */
export interface MarketRegistration {
  publishers: Omit<PublisherSetConfig, "statementKey">;
  /** Account that may pause the market besides governance; the zero address for none. */
  guardian: string;
  limits: MarketLimits;
}

/**
 * Register a market with its publisher set, model and statement key (computed as {@link setPublisherSet} does),
 * guardian and guards (governance). Returns the receipt and the publisher set registered.
 * @throws UsageError for a quorum or commitment out of range (see {@link setPublisherSet}) and for guards the oracle
 *   would refuse ({@link checkLimits}: bounds that no margin, or no IM >= MM, can meet; a maximum data age of 0)
 * @throws OracleError with the oracle's reason when it refuses
 */
export async function registerMarket(
  oracle: Contract,
  marketId: bigint,
  registration: MarketRegistration,
): Promise<{ receipt: TransactionReceipt; publishers: PublisherSetConfig }> {
  checkLimits(registration.limits);
  const publishers = await withStatementKey(oracle, marketId, registration.publishers);
  try {
    const tx = await oracle.registerMarket(marketId, { ...registration, publishers });
    return { receipt: (await tx.wait()) as TransactionReceipt, publishers };
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** A PublisherSetConfig struct as ethers decodes it (from a call's result or an event's arguments). */
export function publisherSetConfigOf(v: unknown): PublisherSetConfig {
  const c = v as {
    verifier: string;
    modelCommitment: bigint;
    publisherSet: bigint;
    quorum: bigint;
    statementKey: bigint;
  };
  return {
    verifier: getAddress(String(c.verifier)),
    modelCommitment: BigInt(c.modelCommitment),
    publisherSet: BigInt(c.publisherSet),
    quorum: Number(c.quorum),
    statementKey: BigInt(c.statementKey),
  };
}

/**
 * Whether the signed-update verifier at `address` proves adaptive updates (its `adaptiveLayout()`): the oracle
 * takes a market's updates only where this agrees with the market's mode, so a plain market with an adaptive
 * verifier, or an adaptive one with a plain verifier, takes no update at all.
 */
export async function verifierIsAdaptive(runner: ContractRunner, address: string): Promise<boolean> {
  const verifier = new Contract(address, ["function adaptiveLayout() view returns (bool)"], runner);
  return (await verifier.adaptiveLayout()) as boolean;
}

/** A market's publisher set and statement as the oracle holds them. */
export async function readRegisteredPublisherSet(
  oracle: Contract,
  marketId: bigint,
): Promise<PublisherSetConfig> {
  try {
    return publisherSetConfigOf(await oracle.publisherSet(marketId));
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** What an adaptive market's next update must start from (`IRiskOracle.adaptivePrior`). */
export interface AdaptivePriorView {
  /** The state's num (calibrationNum * 2^8). */
  num: bigint;
  /** Outcomes processed. */
  outcomes: number;
  /**
   * The accepted maintenance margin (bps) of bar s = t - 12 - lag, the oldest accepted bar whose outcome is still
   * pending in the oracle's ring, 0 when none is (models/adaptive.ts `PendingOutcomes`).
   */
  marginS: bigint;
  /** Bars of bar s beyond t - 12, in [0, 11] (0 when marginS is 0). */
  lag: number;
}

/**
 * The prior of an adaptive market's update for the bar opening at `dataTimestamp` (s), as the oracle will build
 * it from its storage: the prover's input for `signedUpdateInput`'s `adaptive`, and for each market of an adaptive
 * batch at its bar (`submitAdaptiveBatch` checks every market's prior as `submitSignedUpdate` checks one).
 * @throws OracleError decoded from the revert (unknown market, a bar not after the last accepted one)
 */
export async function readAdaptivePrior(
  oracle: Contract,
  marketId: bigint,
  dataTimestamp: bigint,
): Promise<AdaptivePriorView> {
  try {
    const [num, outcomes, marginS, lag] = (await oracle.adaptivePrior(marketId, dataTimestamp)) as [
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    return { num, outcomes: Number(outcomes), marginS, lag: Number(lag) };
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/**
 * An adaptive market's num and outcomes as the oracle holds them (`IRiskOracle.adaptiveState`; num 0: plain), at
 * the latest block or `at.blockTag`.
 * @throws OracleError decoded from the revert (an unknown market)
 */
export async function readAdaptiveState(
  oracle: Contract,
  marketId: bigint,
  at: { blockTag?: number } = {},
): Promise<{ num: bigint; outcomes: number }> {
  try {
    const [num, outcomes] = (await oracle.adaptiveState(marketId, at)) as [bigint, bigint];
    return { num, outcomes: Number(outcomes) };
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** What `IRiskOracle.readings` says of a market, by `ReadingStatus`'s order. */
export const READING_STATUSES = ["unknown market", "no parameters", "paused", "stale", "fresh"] as const;
export type ReadingStatus = (typeof READING_STATUSES)[number];

/** One market's last accepted parameters and their status (`IRiskOracle.Reading`). */
export interface MarketReading {
  marketId: bigint;
  /** Only "fresh" parameters are current; "paused" and "stale" ones are the last accepted values. */
  status: ReadingStatus;
  /** bps; 0 for an unknown market or one without parameters, as the other three values. */
  maintenanceMarginBps: number;
  initialMarginBps: number;
  /** Open time (s) of the last bar the update used. */
  dataTimestamp: bigint;
  /** Block time (s) the update was accepted. */
  updatedAt: bigint;
}

/**
 * Many markets' last accepted parameters in one call, each with its status (`IRiskOracle.readings`, which never
 * reverts): fresh when neither paused nor older than `maxAge` seconds, as `isFresh`; at the latest block or
 * `at.blockTag`.
 */
export async function readMarkets(
  oracle: Contract,
  marketIds: readonly bigint[],
  maxAge: bigint,
  at: { blockTag?: number } = {},
): Promise<MarketReading[]> {
  const values = (await oracle.readings(marketIds, maxAge, at)) as [bigint, bigint, bigint, bigint, bigint][];
  return values.map(([mm, im, dataTimestamp, updatedAt, status], i) => {
    const name = READING_STATUSES[Number(status)];
    if (name === undefined)
      throw new Error(`readings: market ${marketIds[i]} has status ${status}, unknown here`);
    return {
      marketId: marketIds[i],
      status: name,
      maintenanceMarginBps: Number(mm),
      initialMarginBps: Number(im),
      dataTimestamp,
      updatedAt,
    };
  });
}

/**
 * Make `marketId` adaptive with the initial num (calibrationNum * 2^8 of its registered model file), or plain
 * again with num 0 (`IRiskOracle.setAdaptiveCalibration`; governance).
 * @throws OracleError decoded from the revert
 */
export async function setAdaptiveCalibration(
  oracle: Contract,
  marketId: bigint,
  num: bigint,
): Promise<TransactionReceipt> {
  try {
    return (await (await oracle.setAdaptiveCalibration(marketId, num)).wait()) as TransactionReceipt;
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/**
 * The arguments of `submitSignedUpdate` for a signed-update proof's verifier calldata: the market, the proof and
 * the packed update (the statement key is not sent: the oracle checks the proof against the market's stored
 * statement base).
 * @throws UsageError when the proof does not carry exactly the signals of `UPDATE_SIGNALS`, or one is not a
 *   decimal field element
 */
export function signedUpdateArgs(marketId: bigint, calldata: VerifierCalldata): unknown[] {
  if (calldata.input.length !== UPDATE_SIGNALS.length) {
    throw new UsageError(
      `public signals: a signed update has ${UPDATE_SIGNALS.length} (${UPDATE_SIGNALS.join(", ")}), got ` +
        `${calldata.input.length}`,
    );
  }
  for (const [i, v] of calldata.input.entries()) {
    if (!/^\d+$/.test(v) || BigInt(v) >= FIELD_MODULUS) {
      throw new UsageError(`public signals: ${UPDATE_SIGNALS[i]} '${v}' is not a decimal field element`);
    }
  }
  return [marketId, calldata.a, calldata.b, calldata.c, calldata.input[UPDATE_SIGNAL_INDEX.update]];
}

/**
 * Submit a signed update; a refusal is an OracleError with the oracle's reason (after a static call, so a refused
 * update costs no gas). The static call (and gas estimation) runs at the latest block's time: on a Hardhat chain whose
 * next block time was set ahead with evm_setNextBlockTimestamp, the latest block must already be past the window's
 * data timestamp, or the call sees the data as future data. Before that, the proof's statement key
 * is compared with the market's registered one: the oracle would refuse another key only as `OracleInvalidProof`,
 * so this says which (reason `StatementMismatch`). Returns the receipt.
 */
export async function submitSignedUpdate(
  oracle: Contract,
  marketId: bigint,
  calldata: VerifierCalldata,
): Promise<TransactionReceipt> {
  const args = signedUpdateArgs(marketId, calldata);
  const proven = BigInt(calldata.input[UPDATE_SIGNAL_INDEX.statement]);
  const registered = (await readRegisteredPublisherSet(oracle, marketId)).statementKey;
  if (proven !== registered) {
    throw new OracleError(
      "StatementMismatch",
      `the proof's statement key ${proven} is not market ${marketId}'s registered key ${registered} (another ` +
        "market, model, publisher set, oracle or chain): the oracle would refuse it as OracleInvalidProof",
    );
  }
  try {
    await oracle.submitSignedUpdate.staticCall(...args);
    return (await (await oracle.submitSignedUpdate(...args)).wait()) as TransactionReceipt;
  } catch (err) {
    throw callFailure(err, oracle.interface);
  }
}

/** An accepted signed update, from its `SignedParametersUpdated` event. */
export interface SignedUpdateEvent {
  marketId: bigint;
  maintenanceMarginBps: number;
  initialMarginBps: number;
  /** Open time of the signed window's last bar (s). */
  dataTimestamp: bigint;
  /**
   * The low 180 bits of the signed window's digest (candles/digest.ts): the key to the publishers' archives.
   * Compare a window with `digestSignal(windowDigest(window))` (circuits/statement.ts).
   */
  windowDigest: bigint;
  /** The transaction's sender. */
  submitter: string;
  txHash: string;
  blockNumber: number;
}

/**
 * The signed updates a receipt carries (`SignedParametersUpdated` logs of `oracle`), in log order. The submitter is
 * the transaction's sender, which the event leaves out.
 */
export function signedUpdatesOf(oracle: Contract, receipt: TransactionReceipt): SignedUpdateEvent[] {
  const address = String(oracle.target).toLowerCase();
  const out: SignedUpdateEvent[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = oracle.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name !== "SignedParametersUpdated") continue;
    out.push({
      marketId: parsed.args.marketId as bigint,
      maintenanceMarginBps: Number(parsed.args.maintenanceMarginBps),
      initialMarginBps: Number(parsed.args.initialMarginBps),
      dataTimestamp: parsed.args.dataTimestamp as bigint,
      windowDigest: parsed.args.windowDigest as bigint,
      submitter: receipt.from,
      txHash: receipt.hash,
      blockNumber: receipt.blockNumber,
    });
  }
  return out;
}
