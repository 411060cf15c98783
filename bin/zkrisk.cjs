#!/usr/bin/env node
// Entry point of the `zkrisk` command. An installed package runs the build (`dist/`, plain JavaScript: nothing is
// transpiled at start-up). The repository runs the TypeScript sources through tsx's CommonJS hook, so an edit
// takes effect without a build; ZKRISK_RUNTIME=dist runs the build there too (after `npm run build`).
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const built = join(root, "dist/cli/main.js");
const sources = join(root, "cli/main.ts");
const runtime = process.env.ZKRISK_RUNTIME ?? (existsSync(sources) ? "sources" : "dist");
if (runtime !== "dist" && runtime !== "sources") {
  process.stderr.write(`zkrisk: ZKRISK_RUNTIME must be "dist" or "sources", not "${runtime}"\n`);
  process.exit(2);
}
if (runtime === "dist" && !existsSync(built)) {
  process.stderr.write(`zkrisk: ${built} is missing: run \`npm run build\` first\n`);
  process.exit(2);
}
if (runtime === "sources") require("tsx/cjs");
// A reader that closes the pipe early (`zkrisk demo | head`) is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
// One that closes stderr early (`zkrisk ... 2>&1 | head -1`) loses the rest of the messages, not the exit code:
// the work goes on and exits as it would have (2 for bad input).
process.stderr.on("error", (err) => {
  if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") return;
  throw err;
});
require(runtime === "dist" ? built : sources)
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`zkrisk: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = process.exitCode || 1;
  });
