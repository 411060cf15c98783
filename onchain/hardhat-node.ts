/**
 * A `hardhat node` for tests and the service benchmark, started on 127.0.0.1 on a port the system picks and
 * stopped by the caller. Its chain starts at hardhat.config.ts's initialDate (2024-06-01), so the shipped 2024
 * candles are recent data to it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { PACKAGE_ROOT } from "../core/package-root";
import { localHardhat } from "./chain";

const ROOT = PACKAGE_ROOT;

/** Hardhat's well-known development accounts #0 and #1 (public test keys, holding only test ether). */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
] as const;

/** A running node: its RPC URL and a stop function. */
export interface HardhatNode {
  rpc: string;
  process: ChildProcess;
  stop(): void;
}

/** The line `hardhat node` prints once it serves, with the port it bound. */
const STARTED = /Started HTTP and WebSocket JSON-RPC server at http:\/\/127\.0\.0\.1:(\d+)\//;

/**
 * Start `hardhat node` on 127.0.0.1 and wait until it serves JSON-RPC. It binds port 0, so the system picks a
 * free port at the bind: a port found free and bound later could be taken in between by another process.
 * @param chainId chain id of the node (default Hardhat's 31337), e.g. to act as a non-local chain
 */
export async function startHardhatNode(chainId?: number): Promise<HardhatNode> {
  const { cli } = localHardhat();
  const node = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", "0"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: chainId === undefined ? process.env : { ...process.env, ZKRISK_HARDHAT_CHAIN_ID: String(chainId) },
  });
  const port = await new Promise<number>((done, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`hardhat node did not start:\n${out}`)), 120_000);
    node.stdout!.on("data", (d) => {
      out += d;
      const started = STARTED.exec(out);
      if (started !== null) {
        clearTimeout(timer);
        // Its log of every call is not needed; keep the pipe drained.
        node.stdout!.removeAllListeners("data");
        node.stdout!.resume();
        done(Number(started[1]));
      }
    });
    node.stderr!.on("data", (d) => (out += d));
    node.on("exit", (code) => fail(new Error(`hardhat node exited with ${code}:\n${out}`)));
  });
  return { rpc: `http://127.0.0.1:${port}`, process: node, stop: () => void node.kill("SIGTERM") };
}
