/**
 * A JSON-RPC server on 127.0.0.1 in front of the tests' in-process Hardhat network (what `hardhat node` serves), so
 * CLI commands run in process can reach the chain the suite set up.
 */
import type { Server } from "node:http";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { JsonRpcServer } from "hardhat/types";
import { hre } from "../contracts/fixture";

/** A running server: its URL and how to stop it. */
export interface InProcessRpc {
  url: string;
  close(): Promise<void>;
}

/** Serve the in-process Hardhat network over JSON-RPC on a free port of 127.0.0.1. */
export async function serveInProcessNetwork(): Promise<InProcessRpc> {
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: 0,
    provider: hre.network.provider,
  })) as JsonRpcServer;
  // Hardhat's http.Server keeps Node's default 5 s keep-alive, which races with clients reusing an idle socket on a
  // loaded machine (ECONNRESET, seen in the audit suites). Hardhat has no option for it, so it is set on its server;
  // close() still ends idle sockets.
  const http = (server as unknown as { _httpServer?: Server })._httpServer;
  if (http === undefined)
    throw new Error("Hardhat's JsonRpcServer no longer has _httpServer: set its keep-alive");
  http.keepAliveTimeout = 600_000;
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}
