/**
 * Shared core: what a command undoes when it is stopped by a signal. Work that leaves something behind while it
 * runs (a child process, a temporary directory or file) registers its cleanup with {@link onInterrupt} and
 * unregisters it when done. While any cleanup is registered, SIGINT, SIGTERM and SIGHUP run the cleanups (the
 * latest registered first, each awaited) and then end the process by the same signal, so its exit status is still
 * the signal's (130 for SIGINT, 143 for SIGTERM in a shell). A second signal during the cleanups ends the process at
 * once. A process that handles the signal itself (the servers' graceful shutdown: another listener is registered)
 * is left to do so, and nothing is cleaned up here. SIGKILL cannot be caught: what it leaves is for the next run to
 * remove (core/work-dir.ts).
 */

import { constants } from "node:os";

/** Something to undo: a child to stop, a temporary path to remove. May be async (waiting for a child to exit). */
export type InterruptCleanup = () => void | Promise<void>;

/** The signals that stop a command, by default, and that the cleanups run on. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The registered cleanups, oldest first. */
const cleanups: InterruptCleanup[] = [];
let stoppedBy: NodeJS.Signals | undefined;

/** Whether the listeners of {@link stop} are installed. */
let listening = false;

/** End the process by `signal`, as it would have ended without a listener. */
function reraise(signal: NodeJS.Signals): void {
  for (const s of STOP_SIGNALS) process.off(s, stop);
  listening = false;
  // The shell's status for the signal, should the process end by itself before the signal is delivered.
  process.exitCode = 128 + constants.signals[signal];
  process.kill(process.pid, signal);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    try {
      await cleanup();
    } catch {
      // Best effort: the process is ending; the next cleanup may still succeed.
    }
  }
}

function stop(signal: NodeJS.Signals): void {
  // Someone else handles this signal (a server's graceful shutdown): its work ends by its own path, and its
  // cleanups run in their `finally` blocks.
  if (process.listenerCount(signal) > 1) return;
  if (stoppedBy !== undefined) {
    reraise(signal);
    return;
  }
  stoppedBy = signal;
  void runCleanups().finally(() => reraise(signal));
}

/**
 * Run `cleanup` if the process is stopped by SIGINT, SIGTERM or SIGHUP before the returned function is called;
 * call that function when the work is done (in a `finally`) to unregister it. The work's own error path still
 * runs: cleanups must tolerate what they undo being gone already.
 */
export function onInterrupt(cleanup: InterruptCleanup): () => void {
  cleanups.push(cleanup);
  if (!listening) {
    for (const s of STOP_SIGNALS) process.on(s, stop);
    listening = true;
  }
  return () => {
    const i = cleanups.lastIndexOf(cleanup);
    if (i !== -1) cleanups.splice(i, 1);
    if (cleanups.length === 0 && listening && stoppedBy === undefined) {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      listening = false;
    }
  };
}

/**
 * The signal that is stopping this process (its cleanups running), or undefined. A command that fails meanwhile
 * (its child killed, its directory removed) is not reported as a failure: the signal ends the process.
 */
export function stoppingSignal(): NodeJS.Signals | undefined {
  return stoppedBy;
}
