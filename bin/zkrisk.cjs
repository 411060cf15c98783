#!/usr/bin/env node
// Entry point of the `zkrisk` command: loads the TypeScript CLI through tsx's CommonJS hook.
require("tsx/cjs");
require("../cli/main.ts")
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`zkrisk: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = process.exitCode || 1;
  });
