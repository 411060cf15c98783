/**
 * core/interrupt.ts: while a cleanup is registered, SIGINT and SIGTERM run it and then end the process by the same
 * signal; a cleanup unregistered is not run; a process with a signal listener of its own is left to handle it.
 * Each case is a small child process running the module through tsx.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "../..");
const INTERRUPT_MODULE = join(ROOT, "core/interrupt.ts");

/** What a child printed, and how it ended. */
interface Ended {
  stdout: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Run `body` (CommonJS, with `onInterrupt`, `mark(name)` writing the file `name` in the test's directory, and
 * `dir`) in a child; once it prints "ready", send it `signal`.
 */
function runAndSignal(body: string, signal: NodeJS.Signals): Promise<Ended & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "zkrisk-interrupt-"));
  const script = join(dir, "child.cjs");
  writeFileSync(
    script,
    `const { writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { onInterrupt } = require(${JSON.stringify(INTERRUPT_MODULE)});
const dir = ${JSON.stringify(dir)};
const mark = (name) => writeFileSync(join(dir, name), "");
setTimeout(() => mark("timed-out"), 30_000);
${body}
`,
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-r", "tsx/cjs", script], { cwd: ROOT });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes("ready\n") && !stdout.includes("signalled\n")) {
        stdout += "signalled\n";
        child.kill(signal);
      }
    });
    child.on("close", (code, sig) => resolve({ stdout, code, signal: sig, dir }));
  });
}

describe("onInterrupt", () => {
  it("runs the cleanups on SIGTERM, the latest first and each awaited, then ends by SIGTERM", async () => {
    const r = await runAndSignal(
      `onInterrupt(() => void process.stdout.write("first\\n"));
onInterrupt(() => new Promise((done) => setTimeout(() => { process.stdout.write("second\\n"); done(); }, 200)));
process.stdout.write("ready\\n");`,
      "SIGTERM",
    );
    expect(r.signal).toBe("SIGTERM");
    expect(r.stdout).toBe("ready\nsignalled\nsecond\nfirst\n");
    expect(existsSync(join(r.dir, "timed-out"))).toBe(false);
  });

  it("ends by SIGINT on SIGINT, and does not run a cleanup that was unregistered", async () => {
    const r = await runAndSignal(
      `const forget = onInterrupt(() => mark("forgotten"));
onInterrupt(() => mark("kept"));
forget();
process.stdout.write("ready\\n");`,
      "SIGINT",
    );
    expect(r.signal).toBe("SIGINT");
    expect(existsSync(join(r.dir, "kept"))).toBe(true);
    expect(existsSync(join(r.dir, "forgotten"))).toBe(false);
  });

  it("leaves the default action once every cleanup is unregistered", async () => {
    const r = await runAndSignal(
      `onInterrupt(() => mark("cleaned"))();
process.stdout.write("ready\\n");`,
      "SIGTERM",
    );
    expect(r.signal).toBe("SIGTERM");
    expect(existsSync(join(r.dir, "cleaned"))).toBe(false);
  });

  it("leaves a process that listens for the signal itself to handle it (a server's graceful shutdown)", async () => {
    const r = await runAndSignal(
      `onInterrupt(() => mark("cleaned"));
process.on("SIGTERM", () => { process.stdout.write("own shutdown\\n"); process.exit(0); });
process.stdout.write("ready\\n");`,
      "SIGTERM",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("ready\nsignalled\nown shutdown\n");
    expect(existsSync(join(r.dir, "cleaned"))).toBe(false);
  });
});
