/**
 * A TCP port on 127.0.0.1 for a server a test starts later (`redis-server`, a process whose log it cannot read)
 * or for an address nothing may answer. Where a server can bind port 0 and say its port, tests do that instead.
 * The port is free when chosen and is picked outside the system's ephemeral range, so the outgoing connections
 * of the suites running beside this one (which take local ports from that range) cannot take it before the
 * server binds it; only another explicit bind could.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Linux's default ephemeral range, where /proc does not say. */
const EPHEMERAL_DEFAULT: [number, number] = [32768, 60999];
/** The lowest port chosen: above the registered services' usual ones. */
const LOWEST = 10000;
const HIGHEST = 65535;
/** A span outside the ephemeral range is used only if it holds at least this many ports. */
const MIN_SPAN = 1000;
const ATTEMPTS = 50;

/** The system's ephemeral range (Linux's /proc; its default elsewhere). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isInteger(low) && Number.isInteger(high) && low <= high ? [low, high] : EPHEMERAL_DEFAULT;
  } catch {
    return EPHEMERAL_DEFAULT;
  }
}

/** Whether 127.0.0.1:`port` can be bound now. */
function bindable(port: number): Promise<boolean> {
  return new Promise<boolean>((done) => {
    const s = createServer();
    s.once("error", () => done(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => done(true)));
  });
}

/** A port the system picks (in its ephemeral range), free now. */
function systemPort(): Promise<number> {
  return new Promise<number>((done, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/** The `i`-th port of `spans` taken end to end. */
function nthPort(spans: number[][], i: number): number {
  for (const [from, to] of spans) {
    if (i <= to - from) return from + i;
    i -= to - from + 1;
  }
  throw new RangeError(`port ${i} past the spans`);
}

/**
 * A free port on 127.0.0.1 outside the ephemeral range, chosen at random: below it, else above it. Where neither
 * side has room (a range that spans nearly every port), one the system picks.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralRange();
  const spans = [
    [LOWEST, low - 1],
    [high + 1, HIGHEST],
  ].filter(([from, to]) => to - from + 1 >= MIN_SPAN);
  if (spans.length === 0) return systemPort();
  const size = spans.reduce((n, [from, to]) => n + to - from + 1, 0);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = nthPort(spans, Math.floor(Math.random() * size));
    if (await bindable(port)) return port;
  }
  throw new Error(
    `no free port on 127.0.0.1 outside the ephemeral range ${low}-${high} after ${ATTEMPTS} attempts`,
  );
}
