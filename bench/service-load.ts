/**
 * A bounded load on the prover service's API over loopback: `requests` POST /v1/proofs spread over a set of
 * bars (each bar asked for several times, as retrying clients would), `concurrency` in flight at once, then
 * every job followed until it is final. Reports the accounting (every request answered, one job per bar, every
 * job final) and the throughput: proofs per minute and the latency from request to proof (p50, p95).
 */
import { quantile } from "../models/stats";

/** What to send. */
export interface LoadOptions {
  url: string;
  token: string;
  market: string;
  /** Bars to ask for (seconds); request i asks for timestamps[i % timestamps.length]. */
  timestamps: number[];
  requests: number;
  concurrency: number;
  /** How often to poll a job's status (ms). */
  pollMs?: number;
  /** Give up waiting for jobs after this long (ms). */
  timeoutMs?: number;
}

/** What came back. */
export interface LoadReport {
  requests: number;
  concurrency: number;
  /** HTTP status of each answer, counted. */
  statuses: Record<string, number>;
  /** Distinct job ids returned. */
  jobs: number;
  /** Answers with `created: true`. */
  created: number;
  /** Final status of each job, counted. */
  final: Record<string, number>;
  /** Jobs that were not final when the wait ended. */
  unfinished: number;
  /** Wall-clock seconds from the first request to the last job final. */
  seconds: number;
  proofsPerMinute: number;
  /** Time from a bar's first request to its proof, ms. */
  latencyMs: { p50: number; p95: number; max: number };
}

interface JobAnswer {
  id: string;
  created?: boolean;
  status: string;
}

const FINAL = new Set(["proved", "confirmed", "skipped", "rejected", "failed"]);

/** Run the load and follow every job to the end. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const t0 = performance.now();
  const statuses: Record<string, number> = {};
  const firstAsked = new Map<string, number>();
  let created = 0;
  let next = 0;
  const worker = async () => {
    while (next < o.requests) {
      const i = next++;
      const asked = performance.now();
      const r = await fetch(`${o.url}/v1/proofs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${o.token}` },
        body: JSON.stringify({ market: o.market, timestamp: o.timestamps[i % o.timestamps.length] }),
      });
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.ok) {
        const job = (await r.json()) as JobAnswer;
        if (job.created) created++;
        if (!firstAsked.has(job.id) || firstAsked.get(job.id)! > asked) firstAsked.set(job.id, asked);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));

  const done = new Map<string, { status: string; at: number }>();
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  while (done.size < firstAsked.size && Date.now() < deadline) {
    for (const id of firstAsked.keys()) {
      if (done.has(id)) continue;
      const r = await fetch(`${o.url}/v1/proofs/${id}`);
      const job = (await r.json()) as JobAnswer;
      if (FINAL.has(job.status)) done.set(id, { status: job.status, at: performance.now() });
    }
    if (done.size < firstAsked.size) await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
  const final: Record<string, number> = {};
  for (const d of done.values()) final[d.status] = (final[d.status] ?? 0) + 1;
  const latencies = [...done].map(([id, d]) => d.at - firstAsked.get(id)!);
  const seconds = (Math.max(...[...done.values()].map((d) => d.at), performance.now()) - t0) / 1000;
  const proved = (final.proved ?? 0) + (final.confirmed ?? 0);
  return {
    requests: o.requests,
    concurrency: o.concurrency,
    statuses,
    jobs: firstAsked.size,
    created,
    final,
    unfinished: firstAsked.size - done.size,
    seconds,
    proofsPerMinute: (proved / seconds) * 60,
    latencyMs: latencies.length
      ? { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), max: Math.max(...latencies) }
      : { p50: NaN, p95: NaN, max: NaN },
  };
}
