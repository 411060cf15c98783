/** A `zkrisk serve` process started by a test, with the JSON log lines it printed (on stderr). */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { SERVICE_ENV } from "./service-env";

const BIN = join(__dirname, "../..", "bin/zkrisk.cjs");

/** A `zkrisk serve` process and the log lines it printed. */
export class ServiceProcess {
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private closed = false;

  /** `extraArgs` may give its own `--grace` (default 60 s): an option given twice is refused. */
  constructor(config: string, extraArgs: string[] = []) {
    const grace = extraArgs.includes("--grace") ? [] : ["--grace", "60"];
    this.child = spawn(process.execPath, [BIN, "serve", "--config", config, ...grace, ...extraArgs], {
      env: { ...process.env, ...SERVICE_ENV },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffer = "";
    this.child.stderr!.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    // Nothing goes to stdout while it serves.
    let out = "";
    this.child.stdout!.on("data", (d) => (out += d));
    // "close", not "exit": a process can exit before its pipes are read to the end, and its last lines count.
    this.exited = new Promise((done) =>
      this.child.on("close", (code) => {
        this.closed = true;
        done(code);
      }),
    );
    void this.exited.then(() => {
      if (out) this.lines.push({ msg: `stdout: ${out}` });
    });
  }

  /** Wait for a log line matching `pred`. */
  async waitFor(pred: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 120_000) {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (this.closed) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no log line: ${what}\n${this.lines.map((l) => JSON.stringify(l)).join("\n")}`);
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid!;
  }

  kill(signal: NodeJS.Signals) {
    this.child.kill(signal);
    return this.exited;
  }
}
