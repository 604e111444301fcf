/**
 * A gateway whose calls are never answered (a transport that holds every request), with a
 * 300 ms call timeout: the time limit then answers every call, a request whose body stopped
 * arriving with 408 and one waiting for its service with 504. Run as a script on any runtime
 * it prints `listening <port>` and serves until killed.
 * @module
 */
import { createGateway } from "../../gateway/app.ts";
import type { Transport } from "../../runtime/mod.ts";
import { serveHttp } from "../../runtime/platform/http-server.ts";

/** The call timeout of the gateway; its time limit is a second past it. */
export const stalledTimeoutMs = 300;

/** A transport that never answers. */
const silent = { request: () => new Promise(() => {}), openStream: () => new Promise(() => {}), close: async () => {} } as unknown as Transport;

/** Serves the gateway on a free port. */
export async function serveStalledGateway(): Promise<{ port: number; close(): Promise<void> }> {
  return await serveHttp(createGateway({ transport: silent, timeoutMs: stalledTimeoutMs }).fetch, { port: 0 });
}

// Node 20 has no import.meta.main.
if (process.argv[1]?.endsWith("stalled-body-gateway.ts")) {
  const server = await serveStalledGateway();
  console.log(`listening ${server.port}`);
}
