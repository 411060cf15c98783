/**
 * vitest's global setup: the temporary files of a test run go under one directory of their own (`TMPDIR` for the
 * test workers and every process they start), removed when the run ends, so a run leaves nothing in the system's
 * temporary directory however its tests clean up.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Set while a run's directory is in place: vitest calls the setup once for the run and once per project. */
const MARK = "ZKRISK_TEST_TMPDIR";

export default function setup(): () => void {
  if (process.env[MARK] !== undefined) return () => undefined;
  const root = mkdtempSync(join(tmpdir(), "zkrisk-tests-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  process.env[MARK] = root;
  return () => {
    delete process.env[MARK];
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      console.warn(`could not remove the test run's temporary directory ${root}: ${(err as Error).message}`);
    }
  };
}
