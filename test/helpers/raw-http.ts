/** Raw HTTP connections for the tests of the servers' connection handling (slow clients, caps, shutdown). */
import { connect, type Socket } from "node:net";

/** A raw connection: its socket, the text it received so far, and when it closed. */
export interface RawClient {
  socket: Socket;
  text: () => string;
  closed: Promise<void>;
}

/**
 * A raw connection to 127.0.0.1:`port`, added to `opened` (for the test to destroy), once connected or closed (a
 * server over its cap may close it at once).
 */
export async function rawClient(port: number, opened: Socket[]): Promise<RawClient> {
  const socket = connect(port, "127.0.0.1");
  opened.push(socket);
  let text = "";
  socket.on("data", (d: Buffer) => (text += d.toString()));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((done) => socket.once("close", () => done()));
  await Promise.race([new Promise((done) => socket.once("connect", done)), closed]);
  return { socket, text: () => text, closed };
}

/** `p`, or "pending" if it has not settled within `ms` (a hang fails fast, and says so). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((done) => setTimeout(() => done("pending"), ms).unref())]);
}
