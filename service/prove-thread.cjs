// Entry of a proving thread (a piscina worker thread). From the build (`dist/`, where the task is compiled beside
// this file) it loads the JavaScript; from the sources it loads the TypeScript task through tsx's CommonJS hook,
// which each thread must register for itself.
//
// snarkjs's curve library (ffjavascript) loads the `web-worker` shim, which decides by `isMainThread` whether
// it is a page spawning workers or a worker it spawned itself; in a piscina thread it would wrongly take the
// second role and crash. It is told it runs in a main thread while it loads: from here it spawns its own
// helper threads, as it would from the main thread.
const threads = require("node:worker_threads");
const compiled = require("node:fs").existsSync(require("node:path").join(__dirname, "prove-task.js"));
if (!compiled) require("tsx/cjs");
const isMain = threads.isMainThread;
threads.isMainThread = true;
try {
  require("web-worker");
} finally {
  threads.isMainThread = isMain;
}
module.exports = require(compiled ? "./prove-task.js" : "./prove-task.ts");
