/**
 * A Hono app with one WebSocket route, served by `serveHttp` with the platform's
 * `upgradeWebSocket`, so one file shows WebSocket routes work unchanged on Bun, Deno and Node.
 * `/ws` echoes text as `echo: <text>` and binary frames reversed, and greets with the route's
 * `?name=`; a plain GET of `/ws` gets 426 from the next handler. Run as a script it prints
 * `listening <port>` and serves until killed.
 * @module
 */
import { Hono } from "hono";
import { serveHttp } from "../../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket, type UpgradeWebSocket } from "../../runtime/platform/websocket.ts";

/** The echo app. */
export function echoApp(upgradeWebSocket: UpgradeWebSocket): Hono {
  const app = new Hono();
  app.get(
    "/ws",
    upgradeWebSocket((c) => ({
      onOpen: (_event, ws) => ws.send(`hello ${c.req.query("name") ?? "anonymous"}`),
      onMessage: (event, ws) => {
        if (event.data === "close") ws.close(4000, "asked to");
        else if (typeof event.data === "string") ws.send(`echo: ${event.data}`);
        else ws.send(new Uint8Array(event.data as ArrayBuffer).reverse());
      },
    })),
    (c) => c.text("upgrade required", 426),
  );
  app.get("/plain", (c) => c.text("plain"));
  return app;
}

/** Serves the echo app on a free port. */
export async function serveEcho() {
  return await serveHttp(echoApp(await platformUpgradeWebSocket()).fetch, { port: 0 });
}

// Node 20 has no import.meta.main.
if (process.argv[1]?.endsWith("ws-echo-server.ts")) {
  const server = await serveEcho();
  console.log(`listening ${server.port}`);
}
