/**
 * `zkrisk audit`: re-check every update a RiskOracle accepted, from a read-only JSON-RPC endpoint: signed updates
 * from the publishers' archives (`--publisher URL`) and window files (`--windows DIR`), the markets of signed
 * batches from batch files (`--windows DIR`), against the publisher set files given (`--publishers SET.json`).
 * An independent candle file (`--data`) is of the market its name gives (`ethusdt-2h.csv`: ETH-USDT), and only
 * that market's signed candles are compared with it.
 */
import { existsSync } from "node:fs";
import { isAddress } from "ethers";
import { UsageError } from "../../core/errors";
import { readJsonFile } from "../../core/io";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { loadCalibrations, marketOfDataFile } from "../../models/market-calibrations";
import { DEFAULT_CALIBRATIONS } from "../paths";
import { loadArtifacts } from "../../setup/artifacts";
import { UPDATE_SIGNALS } from "../../circuits/public-signals";
import { batchSizeOfKey } from "../../onchain/signed-batch-verifier";
import {
  auditOracle,
  type AdaptiveUpdateDetail,
  type AuditOptions,
  type AuditReport,
  type AuditStatus,
} from "../../audit/audit";
import { readOnlyProvider } from "../../onchain/chain";
import { DEFAULT_LOG_CHUNK, MIN_LOG_CHUNK, type LogProgress } from "../../onchain/get-logs";
import { releaseCurves, type VerificationKey } from "../../setup/snarkjs";
import { output, parseIntOption, shortDate, table } from "../options";
import { progressBar } from "../progress";
import { publisherSetCommitment, readPublisherSet } from "../../publisher";
import { PublisherArchiveSource, WindowDirectory, type WindowSource } from "../../publisher/window-sources";
import { CheckThreads, defaultCheckThreads } from "../../publisher/check-threads";
import { IN_THREAD, type DocumentChecks } from "../../publisher/document-checks";
import type { AuditPublisherSet } from "../../audit/audit-signed";
import type { LostOutcome } from "../../audit/audit-adaptive";

/**
 * The exit code of an audit with an update that is not OK (FAIL or UNVERIFIABLE), or with an adaptive market whose
 * lost outcomes are SUSPICIOUS (the report is printed). It is
 * also the CLI's code of a failure of the work (an RPC error: no report, the error on stderr); bad usage or
 * input is 2. The help text of `zkrisk audit` (cli/register/audit.ts) states them.
 */
export const EXIT_FINDING = 1;

/** The options of `zkrisk audit`, as commander gives them. */
export interface AuditFlags {
  rpc: string;
  oracle: string;
  /** Chain id the oracle lives on (`--chain-id`): a --rpc on another chain is refused. */
  chainId?: string;
  /** Artifact directory of the signed-update circuit (`--signed-artifacts`): its proofs are verified again. */
  signedArtifacts?: string;
  /** Artifact directory of the adaptive signed-update circuit (`--adaptive-artifacts`): rule and proofs. */
  adaptiveArtifacts?: string;
  /** Calibrations file whose `adaptive` block is the rule (`--calibrations`; without --adaptive-artifacts). */
  calibrations?: string;
  /** Artifact directories of signed batch circuits, one per batch size (`--batch-artifacts`, repeatable). */
  batchArtifacts?: string[];
  /** Quantised model files (`--model`, repeatable): an update is recomputed with the one its market registered. */
  model?: string[];
  /** Independent candles CSV of one market, named for it (`--data ethusdt-2h.csv`: ETH-USDT). */
  data?: string;
  fromBlock?: string;
  toBlock?: string;
  /** Blocks per eth_getLogs query (`--log-chunk`, default 5,000). */
  logChunk?: string;
  /** Base URLs of publishers' archives (`--publisher`, repeatable). */
  publisher?: string[];
  /** Directories of signed window and signed batch files (`--windows`, repeatable). */
  windows?: string[];
  /** Threads that check signed windows and batches (`--threads`; default: the cores available). */
  threads?: string;
  /** Publisher set files, one per set in force over the range (`--publishers`, repeatable). */
  publishers?: string[];
  json?: boolean;
}

/** A Groth16 verification key file, checked for the fields the verifier reads; `option` names it in the error. */
function readVkeyFile(path: string, option: string): VerificationKey {
  const doc = readJsonFile(path, "FILE_INVALID") as Partial<VerificationKey> | null;
  const ok =
    doc !== null &&
    typeof doc === "object" &&
    doc.protocol === "groth16" &&
    doc.curve === "bn128" &&
    Number.isSafeInteger(doc.nPublic) &&
    Array.isArray(doc.IC) &&
    doc.IC.length === (doc.nPublic as number) + 1;
  if (!ok)
    throw new UsageError(`${option}: ${path} is not a Groth16 bn128 verification key (snarkjs format)`);
  return doc as VerificationKey;
}

/** The verification key of `--signed-artifacts DIR` (manifest-checked), which must take the signed update's public signals. */
function loadSignedVkey(dir: string | undefined): VerificationKey | undefined {
  if (dir === undefined) return undefined;
  const artifacts = loadArtifacts(dir, { model: "not needed" });
  const vkey = readVkeyFile(artifacts.paths.vkey, "--signed-artifacts");
  if (vkey.nPublic !== UPDATE_SIGNALS.length) {
    throw new UsageError(
      `--signed-artifacts: ${dir} holds a circuit with ${vkey.nPublic} public signals, not the signed-update ` +
        `circuit (${UPDATE_SIGNALS.length})`,
    );
  }
  return vkey;
}

/**
 * The adaptive rule of `--adaptive-artifacts DIR` (its manifest's, with its verification key; read now), or of
 * `--calibrations FILE` (read now: a missing or invalid file is an error naming it, exit code 2), or by default the
 * shipped calibrations file, read only when the audit meets an adaptive update (then with the same errors).
 */
function loadAdaptiveRule(f: AuditFlags): AuditOptions["adaptive"] {
  if (f.adaptiveArtifacts !== undefined) {
    if (f.calibrations !== undefined) {
      throw new UsageError(
        "give --adaptive-artifacts or --calibrations, not both (the artifacts record the rule)",
      );
    }
    const artifacts = loadArtifacts(f.adaptiveArtifacts, { model: "not needed" });
    if (artifacts.manifest.adaptive === undefined) {
      throw new UsageError(
        `--adaptive-artifacts: ${f.adaptiveArtifacts} holds a circuit without the adaptive rule (compile it with ` +
          "`zkrisk compile --adaptive`)",
      );
    }
    return {
      rule: artifacts.manifest.adaptive.rule,
      source: `${f.adaptiveArtifacts} (${artifacts.manifest.adaptive.calibrations.file})`,
      vkey: readVkeyFile(artifacts.paths.vkey, "--adaptive-artifacts"),
    };
  }
  const file = f.calibrations ?? DEFAULT_CALIBRATIONS;
  // A file asked for by name is checked now, before any network access, whether or not an adaptive update comes.
  if (f.calibrations !== undefined) {
    if (!existsSync(file)) throw new UsageError(`--calibrations: ${file}: file not found`);
    const rule = { rule: loadCalibrations(file).adaptive, source: file };
    return () => rule;
  }
  return () => {
    const what = f.calibrations === undefined ? "--calibrations (default)" : "--calibrations";
    if (!existsSync(file)) {
      throw new UsageError(
        `${what}: ${file}: file not found (an adaptive market's update is in the audited range; its replay needs ` +
          "the adaptive rule)",
      );
    }
    return { rule: loadCalibrations(file).adaptive, source: file };
  };
}

/**
 * The verification keys of `--batch-artifacts DIR ...` (manifest-checked), each a signed batch circuit's (V + 2N + 2
 * public signals) or, when its manifest records the adaptive rule, an adaptive batch circuit's (3N + 2), at most
 * one of each kind per batch size N.
 */
function loadBatchVkeys(dirs: readonly string[]): { plain: VerificationKey[]; adaptive: VerificationKey[] } {
  const sizes = new Map<string, string>();
  const out = { plain: [] as VerificationKey[], adaptive: [] as VerificationKey[] };
  for (const dir of dirs) {
    const artifacts = loadArtifacts(dir, { model: "not needed" });
    const adaptive = artifacts.manifest.adaptive !== undefined;
    const kind = adaptive ? "adaptive batch" : "batch";
    const vkey = readVkeyFile(artifacts.paths.vkey, "--batch-artifacts");
    let n: number;
    try {
      n = batchSizeOfKey(vkey, adaptive);
    } catch {
      throw new UsageError(
        `--batch-artifacts: ${dir} holds a circuit with ${vkey.nPublic} public signals, not ` +
          `${adaptive ? "an adaptive" : "a signed"} batch circuit (${adaptive ? "3N + 2" : "V + 2N + 2"} for N markets)`,
      );
    }
    const twin = sizes.get(`${kind} ${n}`);
    if (twin !== undefined) {
      throw new UsageError(`--batch-artifacts: ${dir} and ${twin} both prove ${kind}es of ${n} markets`);
    }
    sizes.set(`${kind} ${n}`, dir);
    (adaptive ? out.adaptive : out.plain).push(vkey);
  }
  return out;
}

/**
 * The candle file of `--data` and its market, which its name gives as `zkrisk calibrate` reads it
 * (`ethusdt-2h.csv`: ETH-USDT): a name that gives none is refused rather than guessed, since the file is compared
 * with that market's updates only.
 */
function loadData(file: string | undefined): AuditOptions["data"] {
  if (file === undefined) return undefined;
  const market = marketOfDataFile("--data", file);
  return { series: loadCandles(file), market };
}

/** The publisher set files of `--publishers`, each read and committed to. */
async function loadPublisherSets(files: readonly string[]): Promise<AuditPublisherSet[]> {
  const out: AuditPublisherSet[] = [];
  for (const file of files) {
    const set = await readPublisherSet(file);
    out.push({ file, set, commitment: await publisherSetCommitment(set) });
  }
  return out;
}

/** The threads of `--threads` (1: none, the main thread checks). */
function checkThreads(f: AuditFlags): number {
  return f.threads === undefined ? defaultCheckThreads() : parseIntOption("--threads", f.threads, 1, 1024);
}

/**
 * Everything but the connection, validated before any network access (the calibrations file: when needed);
 * `checks` is where the signed windows and batches found are checked.
 */
async function auditInputs(f: AuditFlags, checks: DocumentChecks): Promise<Omit<AuditOptions, "provider">> {
  if (!isAddress(f.oracle)) throw new UsageError(`--oracle: '${f.oracle}' is not an address`);
  if (f.chainId !== undefined && !/^[1-9]\d*$/.test(f.chainId)) {
    throw new UsageError(`--chain-id: '${f.chainId}' is not a positive integer`);
  }
  const block = (option: string, v?: string) =>
    v === undefined ? undefined : parseIntOption(option, v, 0, Number.MAX_SAFE_INTEGER);
  const fromBlock = block("--from-block", f.fromBlock);
  const toBlock = block("--to-block", f.toBlock);
  const logChunk =
    f.logChunk === undefined
      ? DEFAULT_LOG_CHUNK
      : parseIntOption("--log-chunk", f.logChunk, MIN_LOG_CHUNK, Number.MAX_SAFE_INTEGER);
  if (fromBlock !== undefined && toBlock !== undefined && fromBlock > toBlock) {
    throw new UsageError(`--from-block: ${fromBlock} is after --to-block ${toBlock}`);
  }
  const models = (f.model ?? []).map((path) => ({ model: loadQuantizedModel(path), path }));
  const directories = (f.windows ?? []).map((dir) => WindowDirectory.open(dir, "--windows", checks));
  const windowSources: WindowSource[] = [
    ...(f.publisher ?? []).map(
      (url) => new PublisherArchiveSource(url, "--publisher", undefined, undefined, checks),
    ),
    ...directories,
  ];
  const batchKeys = loadBatchVkeys(f.batchArtifacts ?? []);
  return {
    oracle: f.oracle,
    ...(f.chainId !== undefined && { chainId: BigInt(f.chainId) }),
    models,
    data: loadData(f.data),
    fromBlock,
    toBlock,
    logChunk,
    windowSources,
    batchSources: directories,
    signedVkey: loadSignedVkey(f.signedArtifacts),
    batchVkeys: batchKeys.plain,
    adaptiveBatchVkeys: batchKeys.adaptive,
    adaptive: loadAdaptiveRule(f),
    publisherSets: await loadPublisherSets(f.publishers ?? []),
  };
}

/**
 * Progress on stderr (none in --json mode; lines every 10 s off a terminal): the events of a range longer than one
 * chunk, started on the first chunk read; then the updates checked, when there are more than a few.
 */
function auditProgress(json: boolean): {
  onLogProgress: (p: LogProgress) => void;
  onUpdateProgress: (checked: number, total: number) => void;
  stop: () => void;
} {
  const bar = progressBar(!json);
  let started: "events" | "updates" | undefined;
  const stop = () => {
    if (started !== undefined) bar.stop();
    started = undefined;
  };
  return {
    onLogProgress: (p) => {
      if (started === undefined) {
        if (p.doneBlocks >= p.totalBlocks) return;
        bar.start(p.totalBlocks, "events (blocks)");
        started = "events";
      }
      bar.update(p.doneBlocks, `${p.logs} events, ${p.chunk} blocks per query`);
    },
    onUpdateProgress: (checked, total) => {
      if (started !== "updates") {
        stop();
        if (total <= 10) return;
        bar.start(total, "updates checked");
        started = "updates";
      }
      bar.update(checked);
    },
    stop,
  };
}

const shortAddress = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

/** The text label of a verdict. */
const STATUS_LABEL: Record<AuditStatus, string> = { ok: "OK", flagged: "FAIL", unverifiable: "UNVERIFIABLE" };

/**
 * The text report: what was checked, one row per update, the reasons of each failure and what could not be
 * checked, a summary line.
 */
export function formatAudit(r: AuditReport): string {
  const checked = ["public signals"];
  checked.push(
    r.checks.models.length > 0
      ? `model${r.checks.models.length > 1 ? "s" : ""} ${r.checks.models.map((m) => m.path).join(", ")}`
      : "no model (--model)",
  );
  checked.push(
    r.checks.data ? `${r.checks.data.market} candles ${r.checks.data.candles}` : "no candles (--data)",
  );
  if (r.updates.some((u) => u.adaptive !== undefined)) {
    checked.push(
      r.checks.adaptiveRule === null
        ? "adaptive state not replayed (no rule)"
        : `adaptive state replayed with the rule of ${r.checks.adaptiveRule}`,
    );
    checked.push(
      r.checks.adaptiveProof ? "adaptive proofs" : "adaptive proofs not re-verified (--adaptive-artifacts)",
    );
  }
  if (r.updates.some((u) => u.kind === "signed")) {
    checked.push(
      r.checks.signedProof ? "signed proofs" : "signed proofs not re-verified (--signed-artifacts)",
    );
  }
  if (r.updates.some((u) => u.kind === "signed" || u.kind === "adaptive")) {
    checked.push(
      r.checks.windows.length > 0
        ? `signed windows from ${r.checks.windows.join(", ")}`
        : "no signed windows (--publisher, --windows)",
    );
  }
  if (r.updates.some((u) => u.kind === "batch")) {
    checked.push(
      r.checks.batchProofs.length > 0
        ? `batch proofs of ${r.checks.batchProofs.join(", ")} markets`
        : "batch proofs not re-verified (--batch-artifacts)",
    );
    checked.push(
      r.checks.batches.length > 0
        ? `signed batches from ${r.checks.batches.join(", ")}`
        : "no signed batches (--windows)",
    );
  }
  if (r.updates.length > 0) {
    checked.push(
      r.checks.publisherSets.length > 0
        ? `publisher sets ${r.checks.publisherSets.map((s) => s.file).join(", ")}`
        : "no publisher sets (--publishers)",
    );
  }
  const lines = [
    `audit of RiskOracle ${r.oracle} on chain ${r.chainId}, blocks ${r.fromBlock}..${r.toBlock}`,
    `checked: ${checked.join(", ")}`,
  ];
  if (r.updates.length > 0) {
    lines.push(
      "",
      table([
        ["status", "market", "kind", "bar (open, UTC)", "block", "MM bps", "IM bps", "submitter", "tx"],
        ...r.updates.map((u) => [
          STATUS_LABEL[u.status],
          u.market,
          u.kind === "batch"
            ? `batch[${u.batch?.index}]${u.adaptive === undefined ? "" : ` ${adaptiveKind(u.adaptive)}`}`
            : u.kind === "adaptive"
              ? adaptiveKind(u.adaptive!)
              : "single",
          shortDate(u.dataTimestamp * 1000),
          String(u.block),
          String(u.maintenanceMarginBps),
          String(u.initialMarginBps),
          u.submitter === "" ? "?" : shortAddress(u.submitter),
          u.txHash,
        ]),
      ]),
    );
    // Updates from before a chain split, in the fork's history: their transactions were signed for the original chain.
    for (const other of new Set(r.updates.map((u) => u.chainId).filter((c) => c !== r.chainId))) {
      const n = r.updates.filter((u) => u.chainId === other).length;
      lines.push(
        "",
        `${n} of these updates were accepted on chain ${other} before a chain split: checked with its domain`,
      );
    }
    for (const u of r.updates.filter((x) => !x.ok)) {
      lines.push(
        "",
        `${STATUS_LABEL[u.status]} ${u.market} bar ${u.dataTimestampIso} (block ${u.block}, tx ${u.txHash}):`,
      );
      lines.push(...u.reasons.map((reason) => `  - ${reason}`));
      lines.push(...u.missing.map((what) => `  - not checked: ${what}`));
    }
    lines.push("");
  }
  for (const m of r.lostOutcomes.filter((x) => x.lost.length > 0)) {
    lines.push(
      `${m.suspicious ? "SUSPICIOUS " : ""}${m.market} (adaptive): ${m.lost.length} outcome` +
        `${m.lost.length === 1 ? "" : "s"} no update counted: ${m.breaches} breach` +
        `${m.breaches === 1 ? "" : "es"}, ${m.covered} covered, ${m.unknown} unknown` +
        (r.checks.data?.market === m.market
          ? ""
          : ` (without --data of ${m.market}, the signed windows tell where they hold the bars' highs and lows, ` +
            "else the signed closes, and only breaches)") +
        `; P(at least ${m.breaches} of ${m.lost.length} by chance at 1 %) = ` +
        `${m.p.toPrecision(2)}` +
        (m.suspicious ? ": the updates were held back after breaches until these were dropped" : ""),
      ...m.lost.map((l) => `  - ${lostOutcomeText(l)}`),
      "",
    );
  }
  const unverifiable = r.unverifiable > 0 ? `, ${r.unverifiable} UNVERIFIABLE` : "";
  lines.push(
    r.updates.length === 0
      ? "no accepted update in this block range"
      : `${r.updates.length} update${r.updates.length === 1 ? "" : "s"} audited: ${r.ok} OK, ${r.flagged} FAIL` +
          unverifiable,
  );
  return lines.join("\n") + "\n";
}

/** The kind column of an adaptive update: its outcome, and the lag of a late one (`adaptive breach, lag 1`). */
function adaptiveKind(a: AdaptiveUpdateDetail): string {
  return `adaptive ${a.outcome}${a.prior.lag > 0 ? `, lag ${a.prior.lag}` : ""}`;
}

/** One lost outcome of an adaptive market: its bar, margin and outcome, and how it was lost. */
function lostOutcomeText(l: LostOutcome): string {
  const at = (seconds: bigint) => shortDate(Number(seconds) * 1000);
  const how =
    l.cause === "dropped"
      ? `dropped by the update of ${at(l.next)} (still pending 24 bars on)`
      : `processed at lag ${l.lag} by the update of ${at(l.next)}, whose signed window lacks bar ` +
        `${l.missingBar === null ? "?" : at(l.missingBar)}`;
  return `bar ${at(l.dataTimestamp)} (MM ${l.marginS}): ${l.outcome}${l.by === null ? "" : ` by the ${l.by}`}, ${how}`;
}

/** The flags of `auditOracle`'s options, whose names its usage errors start with. */
const OPTION_FLAGS: Record<string, string> = {
  oracle: "--oracle",
  chainId: "--chain-id",
  fromBlock: "--from-block",
  toBlock: "--to-block",
  logChunk: "--log-chunk",
};

/** A usage error of `auditOracle` named by the flag the user gave (`toBlock: ...` becomes `--to-block: ...`). */
function asOptionError(err: unknown): unknown {
  if (!(err instanceof UsageError)) return err;
  const m = /^(\w+): /.exec(err.message);
  const flag = m === null ? undefined : OPTION_FLAGS[m[1]];
  if (flag === undefined) return err;
  return new UsageError(flag + err.message.slice(m![1].length).replace(/\b(from|to)Block\b/g, "--$1-block"));
}

/**
 * Run the audit of `zkrisk audit` and print it. Bad options throw a UsageError (or the DataError, ModelError,
 * PublisherFileError or SetupError of a file) before any network access; an unreachable --rpc is a UsageError too,
 * as is an --oracle without code or that is not a RiskOracle (checkRiskOracle: no audit of another contract passes),
 * and so is a missing calibrations file (an invalid one a ModelError), read only at the first adaptive update.
 * @returns the exit code: 0 when every update passes, {@link EXIT_FINDING} when any is flagged or unverifiable,
 *   or an adaptive market's lost outcomes are breaches beyond chance
 */
export async function runAudit(f: AuditFlags): Promise<number> {
  const threads = checkThreads(f);
  const pool = threads > 1 ? new CheckThreads(threads) : undefined;
  try {
    return await runAuditWith(f, pool ?? IN_THREAD);
  } finally {
    await pool?.close();
  }
}

/** `runAudit` with the signed windows and batches checked by `checks`. */
async function runAuditWith(f: AuditFlags, checks: DocumentChecks): Promise<number> {
  const inputs = await auditInputs(f, checks);
  const provider = await readOnlyProvider(f.rpc);
  const progress = auditProgress(f.json === true);
  try {
    const report = await auditOracle({
      ...inputs,
      provider,
      onLogProgress: progress.onLogProgress,
      onUpdateProgress: progress.onUpdateProgress,
    }).catch((err: unknown) => {
      throw asOptionError(err);
    });
    progress.stop();
    output(report, f.json, formatAudit);
    return report.failed > 0 || report.suspicious ? EXIT_FINDING : 0;
  } finally {
    progress.stop();
    provider.destroy();
    // snarkjs keeps the curve's worker threads alive; the process cannot exit until they stop.
    await releaseCurves();
  }
}
