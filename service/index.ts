/** The prover service (`zkrisk serve`) as a library: its configuration and its start. */
export * from "./config";
export * from "./config-schema";
export * from "./redaction";
export * from "./retry";
export * from "./secrets";
export {
  type ServeOptions,
  type RunningService,
  OWNER_STALE_MS,
  REDIS_PREFIX,
  startService,
  checkServiceFiles,
  checkedConfig,
} from "./run";
