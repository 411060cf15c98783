#!/usr/bin/env node
// Entry point of the `zkrisk` command: loads the TypeScript CLI through tsx's CommonJS hook.
require("tsx/cjs");
// A reader that closes the pipe early (`zkrisk demo | head`) is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
require("../cli/main.ts")
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`zkrisk: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = process.exitCode || 1;
  });
