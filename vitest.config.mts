/**
 * Two vitest projects. `fast` is the default `npm test`, run many times a day: unit, circuit-template and
 * small-circuit suites, and the CLI's. `slow` is every other suite (trusted setups, chains, the service end
 * to end, Redis). `npm run test:all` runs both. To move a suite, add its file to FAST_SUITES or remove it:
 * `slow` is whatever is not listed, so no suite can fall out of both. README (Testing) gives the times.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/** The suites of `npm test` (paths from the repository root). */
const FAST_SUITES = [
  "test/circuits/templates-adaptive.test.ts",
  "test/circuits/templates-clamp.test.ts",
  "test/circuits/templates-commitment.test.ts",
  "test/circuits/templates-division.test.ts",
  "test/circuits/statement.test.ts",
  "test/circuits/templates-field-bits.test.ts",
  "test/circuits/generator-parameters.test.ts",
  "test/circuits/templates-fixed-point.test.ts",
  "test/circuits/templates-harness.test.ts",
  "test/circuits/templates-maximum.test.ts",
  "test/circuits/templates-parameters.test.ts",
  "test/circuits/templates-policy.test.ts",
  "test/circuits/templates-presence.test.ts",
  "test/circuits/templates-range.test.ts",
  "test/circuits/templates-sqrt.test.ts",
  "test/circuits/templates-window-features.test.ts",
  "test/circuits/circuit-info-validation.test.ts",
  "test/cli/cli.test.ts",
  "test/cli/deploy-governor.test.ts",
  "test/cli/inapplicable-options.test.ts",
  "test/cli/keystore-outputs.test.ts",
  "test/cli/main.test.ts",
  "test/cli/market-model-option.test.ts",
  "test/cli/options.test.ts",
  "test/cli/output-paths.test.ts",
  "test/cli/path-errors.test.ts",
  "test/cli/progress.test.ts",
  "test/cli/prove-domain-validation.test.ts",
  "test/cli/publisher-sign-help-validation.test.ts",
  "test/cli/refuse-before-work.test.ts",
  "test/cli/refuse-early.test.ts",
  "test/cli/usage-messages.test.ts",
  "test/contracts/domain.test.ts",
  "test/deploy/operator-files.test.ts",
  "test/onchain/get-logs.test.ts",
  "test/onchain/contract-files.test.ts",
  "test/onchain/solc.test.ts",
  "test/onchain/rpc-request.test.ts",
  "test/bench/signed-data-bench.test.ts",
  "test/docs/links.test.ts",
  "test/audit/audit-signed-checks.test.ts",
  "test/audit/lookahead.test.ts",
  "test/core/atomic-file.test.ts",
  "test/core/cache-entry.test.ts",
  "test/core/interrupt.test.ts",
  "test/core/work-dir.test.ts",
  "test/core/time.test.ts",
  "test/core/json-api.test.ts",
  "test/core/json-api-connections.test.ts",
  "test/core/json-schema.test.ts",
  "test/core/validate.test.ts",
  "test/core/json-text.test.ts",
  "test/helpers/redis-server.test.ts",
  "test/layout.test.ts",
  "test/models/adaptive.test.ts",
  "test/models/backtest.test.ts",
  "test/models/market-calibrations.test.ts",
  "test/models/coverage.test.ts",
  "test/models/features.test.ts",
  "test/models/float-model.test.ts",
  "test/models/fixed-point.test.ts",
  "test/models/integer-engine.test.ts",
  "test/models/kupiec.test.ts",
  "test/models/market-model.test.ts",
  "test/candles/load-data.test.ts",
  "test/models/quantize.test.ts",
  "test/models/quantized-model.test.ts",
  "test/models/target.test.ts",
  "test/models/train.test.ts",
  "test/models/training-info.test.ts",
  "test/candles/window.test.ts",
  "test/feeds/sources.test.ts",
  "test/feeds/binance-klines.test.ts",
  "test/candles/digest.test.ts",
  "test/candles/batch-digest.test.ts",
  "test/candles/market-id.test.ts",
  "test/features/window-features.test.ts",
  "test/publisher/babyjubjub.test.ts",
  "test/publisher/eddsa.test.ts",
  "test/publisher/keystore.test.ts",
  "test/publisher/file-kind.test.ts",
  "test/publisher/dev-key.test.ts",
  "test/publisher/keystore-scrypt-error.test.ts",
  "test/publisher/publisher-set.test.ts",
  "test/publisher/signed-window.test.ts",
  "test/publisher/signed-batch.test.ts",
  "test/publisher/serve-archive.test.ts",
  "test/publisher/serve-archive-checks.test.ts",
  "test/publisher/serve-config.test.ts",
  "test/publisher/serve-http.test.ts",
  "test/publisher/serve-signer.test.ts",
  "test/publisher/serve-batches.test.ts",
  "test/publisher/serve-batches-http.test.ts",
  "test/publisher/serve-starting.test.ts",
  "test/publisher/check-threads.test.ts",
  "test/prover/groth16-prover.test.ts",
  "test/prover/groth16-verifier.test.ts",
  "test/prover/native-msm.test.ts",
  "test/setup/fixed-base.test.ts",
  "test/setup/setup.test.ts",
  "test/setup/manifest-adaptive.test.ts",
  "test/setup/manifest.test.ts",
  "test/scripts/adaptive-sweep.test.ts",
  "test/scripts/model-sweep.test.ts",
  "test/bench/bench-setup.test.ts",
  "test/service/job-states.test.ts",
  "test/service/config.test.ts",
  "test/service/config-schema.test.ts",
  "test/service/publisher-windows.test.ts",
  "test/service/publisher-batches.test.ts",
  "test/service/serve-cli.test.ts",
  "test/service/sqlite-store.test.ts",
  "test/service/requests.test.ts",
  "test/service/broadcast-errors.test.ts",
  "test/service/secret-redaction.test.ts",
  "test/service/api-market-ids.test.ts",
  "test/service/sqlite-claim.test.ts",
  "test/service/store-faults.test.ts",
  "test/service/chain-view-node.test.ts",
  "test/service/prune.test.ts",
  "test/service/chain-waits.test.ts",
  "test/service/one-transaction-per-market.test.ts",
  "test/service/underpriced-rebroadcast.test.ts",
];

// tsc checks this file with the project's CommonJS settings, where import.meta is refused; vite loads it as ESM,
// where it is defined (and __dirname, which vite would shim, earns a warning on every run).
// @ts-expect-error -- import.meta in an ES module that tsc checks as CommonJS
const HERE: string = import.meta.dirname;
const missing = FAST_SUITES.filter((file) => !existsSync(join(HERE, file)));
if (missing.length > 0)
  throw new Error(`vitest.config.mts: FAST_SUITES lists missing files: ${missing.join(", ")}`);

/**
 * Test files run at once in each project: vitest's default (cores - 1), but at least two, so two on 2 cores.
 * A suite mostly computes in one thread, or waits on a node, a service or a prover it started, so one file
 * alone left a core idle about half the time. On 2 cores, fast took 11.2 min with one worker and 7.0 min with two;
 * a whole CI run 57 to 80 min with one slow worker, and 42 min with two (slow 32.9 min).
 * What the slow suites share is made safe for that: Hardhat compiles the contracts once before them
 * (test/helpers/compile-contracts.ts), nodes bind a port the system picks, and servers started later on a chosen
 * port get one outside the ephemeral range (test/helpers/ports.ts).
 */
const WORKERS = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    globalSetup: ["test/helpers/temp-root.ts"],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    allowOnly: false,
    projects: [
      { extends: true, test: { name: "fast", include: FAST_SUITES, maxWorkers: WORKERS } },
      {
        extends: true,
        test: {
          name: "slow",
          include: ["test/**/*.test.ts"],
          exclude: FAST_SUITES,
          globalSetup: ["test/helpers/compile-contracts.ts"],
          maxWorkers: WORKERS,
        },
      },
    ],
  },
});
