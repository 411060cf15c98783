/**
 * Reading event logs over a long block range from a node that caps the range of one `eth_getLogs` query.
 *
 * Public JSON-RPC providers refuse a query over too many blocks (commonly 10,000, some 1,000 or fewer) or with
 * too many results. {@link getLogsChunked} asks for `[fromBlock, toBlock]` in consecutive chunks of at most
 * `chunk` blocks; when the node refuses a chunk as too large, it halves the chunk and asks again for that part,
 * until a single block is refused: then it fails naming the range. After {@link GROW_AFTER} chunks in a row
 * answered at a halved size it tries twice the size again (up to the first), so a dense stretch of the chain does
 * not slow the rest of the range. A node that says it is rate-limiting (providers use -32005, the code of a range
 * refusal, for that too) is not taken for a range refusal: the same chunk is asked again after a pause (1 s
 * doubling to 30 s), for up to {@link RATE_LIMIT_WAIT_MS} of consecutive refusals.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Filter, Log, Provider } from "ethers";
import { UsageError, ZkriskError } from "../core/errors";

/** Default number of blocks in one `eth_getLogs` query (below the 10,000 most public providers allow). */
export const DEFAULT_LOG_CHUNK = 5000;

/** Fewest blocks in one query: a node that refuses a single block cannot be read by range. */
export const MIN_LOG_CHUNK = 1;

/** The node refused to return the logs of a range even at {@link MIN_LOG_CHUNK} blocks (code `RPC_LOG_RANGE`). */
export class LogRangeError extends ZkriskError {
  constructor(
    /** The refused range, inclusive. */
    readonly fromBlock: number,
    readonly toBlock: number,
    message: string,
  ) {
    super("RPC_LOG_RANGE", message);
  }
}

/** Progress of {@link getLogsChunked}, after each chunk the node answered. */
export interface LogProgress {
  /** Blocks read so far, and in all (`toBlock - fromBlock + 1`). */
  doneBlocks: number;
  totalBlocks: number;
  /** Logs found so far. */
  logs: number;
  /** Blocks per query now (smaller than asked once the node refused a range). */
  chunk: number;
}

/** What {@link getLogsChunked} reads. */
export interface ChunkedLogQuery {
  /** Address and topics of the logs (the block range is given apart). */
  filter: Omit<Filter, "fromBlock" | "toBlock">;
  /** First and last block, inclusive. */
  fromBlock: number;
  toBlock: number;
  /** Blocks per query at first (default {@link DEFAULT_LOG_CHUNK}); halved while the node refuses a range. */
  chunk?: number;
  /** Called after each chunk read. */
  onProgress?: (progress: LogProgress) => void;
  /** The first pause after a rate-limit refusal, and how long to wait in all, ms (tests give less). */
  rateLimitPauseMs?: number;
  rateLimitWaitMs?: number;
}

/**
 * Patterns of the messages with which nodes and public providers refuse an `eth_getLogs` range as too large
 * (geth/erigon/reth, Infura, Alchemy, QuickNode, Ankr, BlastAPI, Chainstack, publicnode, llamarpc and the like).
 */
const RANGE_MESSAGES = [
  /block range/i,
  /range (is )?too (large|wide|big)/i,
  /range limit/i,
  /query returned more than/i,
  /more than [\d,]+ (results|logs)/i,
  /too many (blocks|results|logs)/i,
  /response size (exceeded|is larger)/i,
  /limited to (a |the )?[\d,]+/i,
  /exceeds? (the )?max(imum)? (block )?range/i,
];

/**
 * Patterns of the messages with which nodes and providers say they are rate-limiting (Infura answers -32005
 * "request rate limited"; others "too many requests", "exceeded its compute units per second capacity").
 */
const RATE_LIMIT_MESSAGES = [
  /rate[- ]?limit/i,
  /too many requests/i,
  /throttl/i,
  /compute units/i,
  /capacity exceeded|exceeded .*capacity/i,
  /requests? per second/i,
];

/** Chunks answered in a row at a halved size before twice the size is tried again. */
export const GROW_AFTER = 10;

/** How long a node that says it is rate-limiting is waited for, from its first such refusal in a row, ms. */
export const RATE_LIMIT_WAIT_MS = 120_000;

/** The first pause after a rate-limit refusal, and the longest, ms. */
const FIRST_RATE_LIMIT_PAUSE_MS = 1000;
const LONGEST_RATE_LIMIT_PAUSE_MS = 30_000;

/** JSON-RPC error code "limit exceeded" (EIP-1474), which providers give for a capped range whatever the text. */
const LIMIT_EXCEEDED = -32005;

/** The JSON-RPC error objects in an error from ethers (`error`, `info.error`, `cause`), the error itself first. */
function errorParts(err: unknown): { code?: unknown; message?: unknown }[] {
  const parts: { code?: unknown; message?: unknown }[] = [];
  const visit = (e: unknown, depth: number) => {
    if (e === null || typeof e !== "object" || depth > 3) return;
    const o = e as { code?: unknown; message?: unknown; error?: unknown; info?: unknown; cause?: unknown };
    parts.push({ code: o.code, message: o.message });
    visit(o.error, depth + 1);
    visit((o.info as { error?: unknown } | undefined)?.error, depth + 1);
    visit(o.cause, depth + 1);
  };
  visit(err, 0);
  return parts;
}

/**
 * Whether `err` is a node refusing an `eth_getLogs` query because its range (or its result) is too large:
 * code -32005, or a message naming the range (with any code, e.g. -32600 or -32602).
 */
export function isRangeRefusal(err: unknown): boolean {
  if (isRateLimit(err)) return false;
  return errorParts(err).some(
    (p) =>
      p.code === LIMIT_EXCEEDED ||
      (typeof p.message === "string" && RANGE_MESSAGES.some((re) => re.test(p.message as string))),
  );
}

/** Whether `err` is a node saying it is rate-limiting (any code: -32005 included), not refusing a range. */
export function isRateLimit(err: unknown): boolean {
  return errorParts(err).some(
    (p) => typeof p.message === "string" && RATE_LIMIT_MESSAGES.some((re) => re.test(p.message as string)),
  );
}

/** The node's own words of an error: the innermost JSON-RPC message, else the error's message. */
function nodeMessage(err: unknown): string {
  const messages = errorParts(err)
    .map((p) => p.message)
    .filter((m): m is string => typeof m === "string");
  return messages.at(-1) ?? String(err);
}

/**
 * The logs a node answered, checked against the query: each of an address the filter asks for (a node that
 * ignores the filter gives other contracts' events, which would be read as the asked one's: refused) and in the
 * range; then in chain order (block, log index) with each log once, whatever order and repetition the node (or a
 * provider that pages its answers) gave them in.
 * @throws ZkriskError `RPC_FAILED` naming the log and what was asked
 */
export function checkedLogs(logs: readonly Log[], query: ChunkedLogQuery): Log[] {
  const wanted = query.filter.address;
  const asked =
    wanted === undefined || wanted === null ? [] : (Array.isArray(wanted) ? wanted : [wanted]).map(String);
  const addresses = asked.length === 0 ? undefined : new Set(asked.map((a) => a.toLowerCase()));
  const seen = new Map<string, Log>();
  for (const log of logs) {
    const where = `block ${log.blockNumber}, log ${log.index}, tx ${log.transactionHash}`;
    if (addresses !== undefined && !addresses.has(log.address.toLowerCase())) {
      throw new ZkriskError(
        "RPC_FAILED",
        `the node returned a log of ${log.address} for a query of ${asked.join(", ")} (${where}): ` +
          "it does not filter events by address",
      );
    }
    if (log.blockNumber < query.fromBlock || log.blockNumber > query.toBlock) {
      throw new ZkriskError(
        "RPC_FAILED",
        `the node returned a log of block ${log.blockNumber} for blocks ${query.fromBlock}..${query.toBlock} (${where})`,
      );
    }
    seen.set(`${log.blockNumber}:${log.index}`, log);
  }
  return [...seen.values()].sort((x, y) => x.blockNumber - y.blockNumber || x.index - y.index);
}

/**
 * The logs of `filter` in `[fromBlock, toBlock]`, in chain order and each once ({@link checkedLogs}), read in
 * chunks (see the module comment). Throws a {@link LogRangeError} when the node refuses a single block, and a
 * ZkriskError `RPC_FAILED` naming the range for any other refusal, or naming a log the query did not ask for.
 */
export async function getLogsChunked(provider: Provider, query: ChunkedLogQuery): Promise<Log[]> {
  const { filter, fromBlock, toBlock, onProgress } = query;
  let chunk = query.chunk ?? DEFAULT_LOG_CHUNK;
  if (!Number.isSafeInteger(chunk) || chunk < MIN_LOG_CHUNK) {
    throw new UsageError(`logChunk: ${chunk} is not a number of blocks >= ${MIN_LOG_CHUNK}`);
  }
  const totalBlocks = toBlock - fromBlock + 1;
  const firstChunk = chunk;
  const firstPause = query.rateLimitPauseMs ?? FIRST_RATE_LIMIT_PAUSE_MS;
  const logs: Log[] = [];
  let answeredInRow = 0;
  let rateLimited: { since: number; pauses: number } | undefined;
  for (let start = fromBlock; start <= toBlock;) {
    const end = Math.min(start + chunk - 1, toBlock);
    try {
      // One by one: spreading a dense chunk's thousands of logs into push() would overflow the stack.
      for (const log of await provider.getLogs({ ...filter, fromBlock: start, toBlock: end })) logs.push(log);
      rateLimited = undefined;
    } catch (err) {
      if (isRateLimit(err)) {
        rateLimited ??= { since: Date.now(), pauses: 0 };
        const pause = Math.min(firstPause * 2 ** rateLimited.pauses++, LONGEST_RATE_LIMIT_PAUSE_MS);
        if (Date.now() + pause - rateLimited.since <= (query.rateLimitWaitMs ?? RATE_LIMIT_WAIT_MS)) {
          await sleep(pause);
          continue;
        }
        const range = start === end ? `block ${start}` : `blocks ${start}..${end}`;
        const waited = Math.round((Date.now() - rateLimited.since) / 1000);
        throw new ZkriskError(
          "RPC_FAILED",
          `the node kept refusing the events of ${range} as rate-limited for ${waited} s: ${nodeMessage(err)}`,
        );
      }
      const refused = isRangeRefusal(err);
      if (refused && end > start) {
        chunk = Math.max(MIN_LOG_CHUNK, Math.floor((end - start + 1) / 2));
        answeredInRow = 0;
        continue;
      }
      const range = start === end ? `block ${start}` : `blocks ${start}..${end}`;
      if (refused) {
        throw new LogRangeError(
          start,
          end,
          `the node refuses the events of ${range} even one block at a time: ${nodeMessage(err)}`,
        );
      }
      throw new ZkriskError("RPC_FAILED", `the node refused the events of ${range}: ${nodeMessage(err)}`);
    }
    start = end + 1;
    onProgress?.({ doneBlocks: start - fromBlock, totalBlocks, logs: logs.length, chunk });
    if (chunk < firstChunk && ++answeredInRow >= GROW_AFTER) {
      chunk = Math.min(firstChunk, chunk * 2);
      answeredInRow = 0;
    }
  }
  return checkedLogs(logs, query);
}
