/**
 * vitest's global setup for the slow suites: Hardhat compiles the contracts once, before any suite runs.
 * The suites read the compile output (`artifacts/`, `cache/`) and run two files at once; a compile in a suite
 * would write those files while the other suite reads them. A vitest run of suites that need no contract (one
 * test starts such a run) skips it with ZKRISK_TEST_SKIP_CONTRACTS=1. In watch mode it runs once per session:
 * after editing a contract, restart the run (or `npx hardhat compile`).
 */
import { spawnSync } from "node:child_process";
import { localHardhat } from "../../onchain/chain";
import { PACKAGE_ROOT } from "../../core/package-root";

/** Set to 1 by a run of suites that need no contract: no compile (it would write the repository's `artifacts/`). */
export const SKIP_CONTRACTS_ENV = "ZKRISK_TEST_SKIP_CONTRACTS";

/** A compile that takes longer is stopped and the run fails (the suites' own hooks had 10 minutes). */
const COMPILE_TIMEOUT_MS = 600_000;

export default function setup(): void {
  if (process.env[SKIP_CONTRACTS_ENV] === "1") return;
  const { cli } = localHardhat();
  const run = spawnSync(process.execPath, [cli, "compile", "--quiet"], {
    cwd: PACKAGE_ROOT,
    encoding: "utf8",
    timeout: COMPILE_TIMEOUT_MS,
  });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") {
    throw new Error(
      `hardhat compile did not end within ${COMPILE_TIMEOUT_MS / 1000} s:\n${run.stdout}${run.stderr}`,
    );
  }
  if (run.error !== undefined) throw new Error(`hardhat compile could not be run: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(
      `hardhat compile failed (${run.signal ?? `exit ${run.status}`}):\n${run.stdout}${run.stderr}`,
    );
  }
}
