// Entry of a checking thread (a piscina worker thread of check-threads.ts). From the build (`dist/`, where the task
// is compiled beside this file) it loads the JavaScript; from the sources it loads the TypeScript task through tsx's
// CommonJS hook, which each thread must register for itself.
const compiled = require("node:fs").existsSync(require("node:path").join(__dirname, "check-task.js"));
if (!compiled) require("tsx/cjs");
module.exports = require(compiled ? "./check-task.js" : "./check-task.ts");
