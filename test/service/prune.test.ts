/**
 * The service's pruning of old jobs (`ProverService.prune`, run at start and hourly): the jobs that ended more than
 * `schedule.keepJobsDays` ago leave the store, the rest stay, the count is logged, and a store that fails is
 * logged and left for the next hour. The stores' own rule is the JobStore contract's (test/helpers/job-store-contract.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceConfig } from "../../service/config";
import { LocalDispatcher } from "../../service/dispatcher";
import { ProverService } from "../../service/service";
import { SqliteJobStore } from "../../service/sqlite-store";
import type { JobStatus } from "../../service/job-states";
import type { JobStore } from "../../service/jobs";
import { bar, BTC } from "../helpers/job-store-contract";
import { memoryLogger } from "../helpers/service-env";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6);

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A service that is never started: pruning needs only its config's `schedule`, its store and its log. */
function service(store: JobStore, keepJobsDays: number, lines: Record<string, unknown>[]): ProverService {
  const log = memoryLogger(lines);
  return new ProverService({
    config: { schedule: { pollSeconds: 30, keepJobsDays } } as ServiceConfig,
    store,
    dispatcher: new LocalDispatcher({ store, log, holder: "test:1:start", concurrency: 1 }),
    holder: "test:1:start",
    log,
  });
}

describe("ProverService.prune", () => {
  it("deletes the jobs that ended more than keepJobsDays ago and logs how many", async () => {
    dir = mkdtempSync(join(tmpdir(), "zkrisk-prune-"));
    const store = SqliteJobStore.open(join(dir, "jobs.db"));
    const job = async (i: number, status: JobStatus, changedDaysAgo: number) => {
      const { job } = await store.enqueue({ market: BTC, dataTimestamp: bar(i), submit: true }, 0);
      return (await store.update(job.id, { status }, NOW - changedDaysAgo * DAY))!.id;
    };
    const gone = [await job(0, "confirmed", 31), await job(1, "skipped", 45)];
    const kept = [await job(2, "confirmed", 29), await job(3, "submitting", 200), await job(4, "queued", 60)];
    const lines: Record<string, unknown>[] = [];

    await service(store, 30, lines).prune(NOW);
    for (const id of gone) expect(await store.get(id)).toBeUndefined();
    for (const id of kept) expect(await store.get(id)).toBeDefined();
    expect(lines.filter((l) => l.msg === "old jobs pruned")).toMatchObject([
      { removed: 2, before: new Date(NOW - 30 * DAY).toISOString() },
    ]);

    // Nothing more to delete: nothing logged.
    await service(store, 30, lines).prune(NOW);
    expect(lines.filter((l) => l.msg === "old jobs pruned")).toHaveLength(1);
    await store.close();
  });

  it("logs a store that fails and resolves, for the next hour to try again", async () => {
    const failing = {
      prune: () => Promise.reject(new Error("connection lost")),
      counts: () => Promise.reject(new Error("connection lost")),
    } as unknown as JobStore;
    const lines: Record<string, unknown>[] = [];
    await service(failing, 90, lines).prune(NOW);
    expect(lines.filter((l) => l.msg === "pruning old jobs failed")).toMatchObject([
      { err: "connection lost" },
    ]);
  });
});
