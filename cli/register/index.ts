/**
 * Every command's registration: flags, description and an action that loads the command's implementation
 * (cli/commands/) when it runs. Nothing here imports a heavy module, so `--help` and `--version` are instant.
 */
export { registerAudit } from "./audit";
export { registerBacktest } from "./backtest";
export { registerCalibrate } from "./calibrate";
export { registerBench, ALL_MODES, DEFAULT_COLD_RUNS, DEFAULT_WARM_RUNS } from "./bench";
export { registerBenchService } from "./bench-service";
export { registerBenchSetup } from "./bench-setup";
export { registerChainCommands } from "./chain";
export { registerCircuitCommands } from "./circuit";
export { registerDemo } from "./demo";
export { registerInfer } from "./infer";
export { registerProveCommands } from "./prove";
export { registerPublisher } from "./publisher";
export { registerQuantize } from "./quantize";
export { registerRead } from "./read";
export { registerServe } from "./serve";
export { registerTrain } from "./train";
