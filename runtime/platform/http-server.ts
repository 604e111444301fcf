/**
 * Serving a Web-standard `fetch` handler: the one place that knows how each runtime listens
 * for HTTP. Bun serves with `Bun.serve`; Node (and Deno, through its `node:http`) with Hono's
 * own adapters, `@hono/node-server` and `@hono/node-ws`, which stream response bodies with
 * write backpressure: a slow reader of a stream (server-sent events, Connect streams) makes
 * the gateway stop reading, never buffer without bound.
 * @module
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { attachNodeWebSockets } from "./node-websocket.ts";
import { isBun } from "./websocket.ts";

/** A listening HTTP server. */
export interface HttpServer {
  readonly port: number;
  /** Stops listening and closes open connections (streams and WebSockets too). */
  close(): Promise<void>;
}

/** A Hono app's `fetch`: the runtime passes its server (Bun) or its request and sockets (Node) as `env`. */
// deno-lint-ignore no-explicit-any
type Fetch = (request: Request, env?: any) => Response | Promise<Response>;

/**
 * Listens on `hostname:port` (port 0 picks a free one); rejects when the port is taken.
 * WebSocket routes made with `platformUpgradeWebSocket()` work on the server it starts.
 */
export async function serveHttp(fetch: Fetch, options: { port: number; hostname?: string }): Promise<HttpServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const g = globalThis as { Bun?: { serve(o: unknown): { port: number; stop(force?: boolean): Promise<void> | void } } };
  if (isBun() && g.Bun !== undefined) {
    const { websocket } = await import("hono/bun");
    // Streams (server-sent events) stay open for as long as the client wants: no idle cut-off.
    const server = g.Bun.serve({ fetch, websocket, port: options.port, hostname, idleTimeout: 0 });
    // Stopping closes open connections too: a watching client must not hold up a shutdown.
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  return serveNode(fetch, options.port, hostname);
}

async function serveNode(fetch: Fetch, port: number, hostname: string): Promise<HttpServer> {
  const { createAdaptorServer } = await import("@hono/node-server");
  // Hono's Node adapter: Request objects made lazily from the incoming message, the response
  // body written as the socket drains, the request's signal aborted when the client leaves.
  const server = createAdaptorServer({ fetch, hostname }) as Server;
  const sockets = attachNodeWebSockets(server, fetch);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Open streams and WebSockets would keep close() waiting forever.
            server.closeAllConnections();
            for (const ws of sockets.wss.clients) ws.terminate();
          }),
      });
    });
  });
}
