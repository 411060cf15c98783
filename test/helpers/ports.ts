/**
 * A TCP port on 127.0.0.1 for a server a test starts later (`redis-server`, a process whose log it cannot read)
 * or for an address nothing may answer. Where a server can bind port 0 and say its port, tests do that instead.
 * The port is free when chosen and is picked below the system's ephemeral range, so the outgoing connections of
 * the suites running beside this one (which take local ports from that range) cannot take it before the server
 * binds it; only another explicit bind could.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port of Linux's default ephemeral range, where /proc does not say. */
const EPHEMERAL_LOW = 32768;
/** The lowest port chosen: above the registered services' usual ones. */
const LOWEST = 10000;
const ATTEMPTS = 50;

/** The first port of the system's ephemeral range (Linux's /proc; its default elsewhere). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : EPHEMERAL_LOW;
  } catch {
    return EPHEMERAL_LOW;
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

/** A free port on 127.0.0.1 below the ephemeral range, chosen at random. */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 in ${LOWEST}-${high - 1} after ${ATTEMPTS} attempts`);
}
