/**
 * `zkrisk demo` (npm run demo), the main job: the latest bar of the shipped data, signed by the INSECURE
 * development publisher key, proven from the signed window and accepted on chain by `submitSignedUpdate`
 * (demo/demo.ts), plus the model stage's backtest of the test split for context.
 */
import type { WeightMode } from "../../circuits/generate-circuit";
import { UsageError } from "../../core/errors";
import { loadCandles } from "../../candles/load-data";
import { loadQuantizedModel } from "../../models/quantized-model";
import { runBacktest, type FullBacktestReport } from "../../models/run-backtest";
import { runDemo, type DemoResult } from "../../demo/demo";
import { rpcUrlOption, resolveKey } from "../../onchain/chain";
import { marketIdOf } from "../../candles/market-id";
import { fileOptions, outDirOption, output, refuseOverwrites, table } from "../options";
import { compileWrites } from "./compile";
import { formatBacktestReport } from "./backtest";
import { stderrLog } from "../../setup/log";
import { isoFromSeconds } from "../../core/time";

/** The options of `zkrisk demo`, as commander gives them (cli/register/demo.ts). */
export interface DemoFlags {
  model: string;
  data: string;
  market: string;
  weights: string;
  rpc?: string;
  key?: string;
  artifacts?: string;
  allowInsecureSetup?: boolean;
  json?: boolean;
}

/** What `zkrisk demo` did (also the `--json` document): the main job, the test split's backtest, the total time. */
export type DemoCommandResult = DemoResult & {
  /** The model's backtest on its test split. */
  backtest: FullBacktestReport;
  /** Wall-clock time of the whole command, ms. */
  totalMs: number;
};

/**
 * Run the main job (progress on stderr, none with --json), then backtest the model on its test split.
 * `--weights`, `--rpc`, `--key` and `--artifacts` are checked before anything is written.
 * (Named for the command: `runDemo` is the main job, demo/demo.ts.)
 */
export async function runDemoCommand(f: DemoFlags): Promise<DemoCommandResult> {
  if (f.weights !== "constant" && f.weights !== "committed") {
    throw new UsageError(`--weights: '${f.weights}' must be 'constant' or 'committed'`);
  }
  // Every flag is checked before the demo writes anything (its publisher keystore, its artifacts).
  // --key and --allow-insecure-setup are for a node of --rpc: without it, given, they would be ignored.
  if (f.rpc === undefined) {
    if (f.key !== undefined) {
      throw new UsageError(
        "--key: signs on the node of --rpc; without --rpc the demo runs on the in-process Hardhat network " +
          "with its own accounts (give --rpc URL, or leave --key out)",
      );
    }
    if (f.allowInsecureSetup) {
      throw new UsageError(
        "--allow-insecure-setup: allows a chain other than the local 31337 on --rpc; without --rpc the demo " +
          "runs on the in-process Hardhat network, which needs no permission (give --rpc URL, or leave it out)",
      );
    }
  } else {
    rpcUrlOption(f.rpc);
    resolveKey(f.key ?? "env:ZKRISK_PRIVATE_KEY");
  }
  if (f.artifacts !== undefined) outDirOption("--artifacts", f.artifacts);
  // the demo compiles and sets up its circuit into --artifacts when they are not there yet
  refuseOverwrites({
    reads: [...fileOptions("--model", f.model), ...fileOptions("--data", f.data)],
    writes: fileOptions("--artifacts", f.artifacts).map((a) => ({
      ...a,
      entries: (e) => compileWrites(e, true),
    })),
  });
  marketIdOf(f.market); // a label the oracle can key, or a UsageError naming it
  const t0 = performance.now();
  const result = await runDemo({
    model: f.model,
    data: f.data,
    market: f.market,
    mode: f.weights as WeightMode,
    rpc: f.rpc,
    key: f.key,
    artifacts: f.artifacts,
    allowInsecureSetup: f.allowInsecureSetup,
    log: stderrLog(Boolean(f.json)),
  });
  const model = loadQuantizedModel(f.model);
  const test = model.training.splits.test;
  const backtest = runBacktest({ kind: "quantized", model }, loadCandles(f.data), {
    fromMs: Date.parse(test.from),
    toMs: Date.parse(test.to),
  });
  return { ...result, backtest, totalMs: performance.now() - t0 };
}

/** The text output of `zkrisk demo`: each step of the main job, the backtest, the total time. */
export function formatDemo(r: DemoCommandResult): string {
  return (
    `zkrisk demo on ${r.chain.label} (chain id ${r.chain.chainId})\n\n` +
    `1. publisher: INSECURE development key (${r.publisher.created ? "made now" : "cached"}, ${r.publisher.keystore})\n` +
    `   public key Ax ${r.publisher.publicKey.Ax}\n              Ay ${r.publisher.publicKey.Ay}\n` +
    `   signed the window of ${r.window.bars} bars (${r.window.missingBars} missing) ending at ${r.window.endTime}: ` +
    `digest ${r.window.digest}\n` +
    `2. latest bar ${r.bar}: features computed in the circuit from the signed candles\n` +
    table([
      ["feature", "value", "integer"],
      ...r.features.map((x) => [x.name, x.value.toPrecision(6), x.quantized]),
    ]) +
    "\n" +
    `3. quantised model: MM ${r.parameters.maintenanceMarginBps} bps, IM ${r.parameters.initialMarginBps} bps\n` +
    `4. signed-update circuit: ${r.circuit.mode} weights, quorum ${r.circuit.quorum}, ${r.circuit.constraints} ` +
    `constraints, artifacts ${r.circuit.artifacts} ` +
    `(${r.circuit.reusedArtifacts ? "cached" : `built in ${(r.setupMs / 1000).toFixed(1)} s`}` +
    `${r.circuit.insecureSetup ? ", INSECURE development setup" : ""})\n` +
    `5. deployed verifier ${r.contracts.verifier}, oracle ${r.contracts.oracle}, consumer ${r.contracts.consumer}; ` +
    `publisher set ${r.publisherSet.commitment} (${r.publisherSet.quorum} of ${r.publisherSet.keys}) registered\n` +
    `6. proved in ${(r.provingMs / 1000).toFixed(2)} s and verified locally\n` +
    `7. submitSignedUpdate accepted: tx ${r.submit.txHash}, block ${r.submit.block}, gas ${r.submit.gasUsed}, ` +
    `window digest (low 180 bits) ${r.submit.windowDigest}\n` +
    `8. read back: MM ${r.readBack.maintenanceMarginBps} bps, IM ${r.readBack.initialMarginBps} bps, ` +
    `data ${isoFromSeconds(r.readBack.dataTimestamp)}, fresh ${r.readBack.fresh}\n` +
    table([
      ["position notional", "collateral", "canOpen (IM)", "isLiquidatable (MM)"],
      ...r.readBack.example.map((e) => [
        `${Number(e.notional) / 1e6} USDC`,
        `${Number(e.collateral) / 1e6} USDC`,
        String(e.canOpen),
        String(e.isLiquidatable),
      ]),
    ]) +
    "\n" +
    (r.stalenessNote ? `note: ${r.stalenessNote}\n` : "") +
    `\n9. backtest of the model on its test split:\n${formatBacktestReport(r.backtest)}` +
    `\ndone in ${(r.totalMs / 1000).toFixed(1)} s\n`
  );
}

/** `zkrisk demo`: the main job, then the backtest of the test split. */
export async function demoAction(f: DemoFlags): Promise<void> {
  output(await runDemoCommand(f), f.json, formatDemo);
}
