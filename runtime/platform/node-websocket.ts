/**
 * WebSockets on Node (and Deno's `node:http`) through Hono's own adapter, `@hono/node-ws`,
 * behind one `UpgradeWebSocket` that routes can be built with before any server exists:
 * `serveHttp` gives each server its own `@hono/node-ws` instance and passes it to the app in
 * the request's env under {@link nodeWebSocketsKey}; {@link nodeUpgradeWebSocket} upgrades
 * through it.
 * @module
 */
import type { Server } from "node:http";
import { createNodeWebSocket, type NodeWebSocket } from "@hono/node-ws";
import type { Hono } from "hono";
import { defineWebSocketHelper, type UpgradeWebSocket } from "hono/ws";
import type { WebSocket } from "ws";

/** The env key carrying the server's `@hono/node-ws` instance. */
export const nodeWebSocketsKey = "jetmicroNodeWebSockets";

// deno-lint-ignore no-explicit-any
type Fetch = (request: Request, env?: any) => Response | Promise<Response>;

/**
 * Serves WebSocket handshakes on `server` with `fetch`: the `upgrade` event runs the app, whose
 * `nodeUpgradeWebSocket` routes take the connection over. Returns the instance (its `wss`
 * holds the open sockets).
 */
export function attachNodeWebSockets(server: Server, fetch: Fetch): NodeWebSocket {
  // @hono/node-ws asks for an app; only its `request` is used, with the env it then inspects.
  const app = {
    request: (url: URL, init: RequestInit, env: Record<string, unknown>) => {
      env[nodeWebSocketsKey] = sockets;
      return fetch(new Request(url, init), env);
    },
  } as unknown as Hono;
  const sockets = createNodeWebSocket({ app });
  sockets.injectWebSocket(server);
  return sockets;
}

/** Hono's `UpgradeWebSocket` for servers started by `serveHttp` on Node (and Deno). */
export const nodeUpgradeWebSocket: UpgradeWebSocket<WebSocket> = defineWebSocketHelper<WebSocket>(async (c, events, options) => {
  const sockets = (c.env as Record<string, unknown> | undefined)?.[nodeWebSocketsKey] as NodeWebSocket | undefined;
  // A plain HTTP request on a WebSocket route: the route's next handler answers it.
  if (sockets === undefined || c.req.header("upgrade")?.toLowerCase() !== "websocket") return;
  return await sockets.upgradeWebSocket(c, events, options as never);
});
