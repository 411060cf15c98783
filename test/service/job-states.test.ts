/**
 * The job state machine (service/job-states.ts) on its own: the transition table written out, so a
 * change to it is a change to this test, and the claim and set-back rules moving only along it. That every
 * store follows the table is the store contract's part (test/helpers/job-store-contract.ts).
 */
import { describe, expect, it } from "vitest";
import {
  allowedFrom,
  canTransition,
  CLAIMS,
  claimRuleOf,
  isDue,
  isFinal,
  JOB_STATUSES,
  SET_BACKS,
  setBackOf,
  SUBMIT_UPGRADE_FROM,
  TRANSITIONS,
  type JobStatus,
} from "../../service/job-states";

describe("job states", () => {
  it("allows exactly these transitions", () => {
    const allowed = JOB_STATUSES.flatMap((from) =>
      JOB_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from} -> ${to}`),
    );
    expect(allowed).toEqual([
      "queued -> queued",
      "queued -> proving",
      "queued -> skipped",
      "queued -> rejected",
      "queued -> failed",
      "proving -> queued",
      "proving -> proving",
      "proving -> proved",
      "proving -> skipped",
      "proving -> rejected",
      "proving -> failed",
      "proved -> proved",
      "proved -> submitting",
      "proved -> skipped",
      "proved -> rejected",
      "proved -> failed",
      "submitting -> proved",
      "submitting -> submitting",
      "submitting -> confirmed",
      "submitting -> skipped",
      "submitting -> rejected",
      "submitting -> failed",
    ]);
    expect(Object.keys(TRANSITIONS)).toEqual(JOB_STATUSES);
  });

  it("gives the statuses a transition may start from, narrowed by the caller's", () => {
    expect(allowedFrom("proving")).toEqual(["queued", "proving"]);
    expect(allowedFrom("confirmed")).toEqual(["submitting"]);
    expect(allowedFrom("failed")).toEqual(["queued", "proving", "proved", "submitting"]);
    expect(allowedFrom("proved", ["submitting", "confirmed"])).toEqual(["submitting"]);
    expect(allowedFrom("queued", ["confirmed"])).toEqual([]);
  });

  it("claims and sets back only along allowed transitions", () => {
    for (const rule of [...CLAIMS, ...SET_BACKS]) expect(canTransition(rule.from, rule.to)).toBe(true);
    // The submit upgrade applies where `proved` can still be reached (a proof-only job is never submitting).
    const reachesProved = (from: JobStatus, seen = new Set<JobStatus>()): boolean =>
      from === "proved" || TRANSITIONS[from].some((to) => !seen.has(to) && reachesProved(to, seen.add(from)));
    expect(SUBMIT_UPGRADE_FROM).toEqual(JOB_STATUSES.filter((s) => s !== "submitting" && reachesProved(s)));
  });

  it("says which jobs are due, final, and where a cut-short run goes back to", () => {
    expect(claimRuleOf({ status: "queued", submit: false })?.to).toBe("proving");
    expect(claimRuleOf({ status: "proved", submit: true })?.to).toBe("submitting");
    expect(isDue({ status: "proved", submit: false })).toBe(false);
    expect(JOB_STATUSES.filter((status) => isDue({ status, submit: true }))).toEqual(["queued", "proved"]);
    expect(JOB_STATUSES.filter((status) => isFinal({ status, submit: true }))).toEqual([
      "confirmed",
      "skipped",
      "rejected",
      "failed",
    ]);
    expect(isFinal({ status: "proved", submit: false })).toBe(true);
    expect(JOB_STATUSES.map(setBackOf)).toEqual([
      "queued",
      "queued",
      "proved",
      "proved",
      "confirmed",
      "skipped",
      "rejected",
      "failed",
    ]);
  });
});
