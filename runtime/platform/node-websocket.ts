/**
 * WebSockets on `node:http` (Node and Deno) with the `ws` package, behind Hono's
 * `UpgradeWebSocket`: the server's `upgrade` event runs the app with an {@link NodeUpgrade} in
 * its env, and a route's `upgradeWebSocket(...)` completes the handshake from it.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { createWSMessageEvent, defineWebSocketHelper, type UpgradeWebSocket, WSContext } from "hono/ws";
import type { WebSocket, WebSocketServer } from "ws";

/** What the `upgrade` event hands to the app, under {@link nodeUpgradeKey} of its env. */
export interface NodeUpgrade {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly wss: WebSocketServer;
  /** Set once a route took the connection over; the server then writes nothing itself. */
  upgraded: boolean;
}

/** The env key carrying the {@link NodeUpgrade}. */
export const nodeUpgradeKey = "jetmicroNodeUpgrade";

/** Hono's `UpgradeWebSocket` for servers started by `serveHttp` on Node or Deno. */
export const nodeUpgradeWebSocket: UpgradeWebSocket<WebSocket> = defineWebSocketHelper<WebSocket>((c, events) => {
  const upgrade = (c.env as Record<string, unknown> | undefined)?.[nodeUpgradeKey] as NodeUpgrade | undefined;
  // A plain HTTP request on a WebSocket route: the route's next handler answers it.
  if (upgrade === undefined) return;
  return new Promise<Response>((resolve) => {
    // ws answers a bad handshake itself and closes the socket without calling back.
    const onEarlyClose = () => resolve(new Response(null, { status: 400 }));
    upgrade.socket.once("close", onEarlyClose);
    upgrade.wss.handleUpgrade(upgrade.req, upgrade.socket, upgrade.head, (ws) => {
      upgrade.socket.off("close", onEarlyClose);
      upgrade.upgraded = true;
      const context = new WSContext<WebSocket>({
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        raw: ws,
        get readyState() {
          return ws.readyState as 0 | 1 | 2 | 3;
        },
        url: new URL(c.req.url),
        protocol: ws.protocol,
      });
      // A throwing listener must not take the server down: it is reported as an error event.
      const run = async (listener: () => unknown): Promise<void> => {
        try {
          await listener();
        } catch (error) {
          if (events.onError === undefined) console.error("websocket listener failed:", error);
          else events.onError(Object.assign(new Event("error"), { error }), context);
        }
      };
      ws.binaryType = "arraybuffer";
      ws.on("message", (data, isBinary) => {
        const message = isBinary ? (data as ArrayBuffer) : String(data);
        void run(() => events.onMessage?.(createWSMessageEvent(message), context));
      });
      ws.on("close", (code, reason) => void run(() => events.onClose?.(closeEvent(code, String(reason)), context)));
      ws.on("error", () => void run(() => events.onError?.(new Event("error"), context)));
      void run(() => events.onOpen?.(new Event("open"), context));
      resolve(new Response(null));
    });
  });

});

// Node 20 has no global CloseEvent.
function closeEvent(code: number, reason: string): CloseEvent {
  if (typeof CloseEvent === "function") return new CloseEvent("close", { code, reason, wasClean: code !== 1006 });
  return Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 }) as CloseEvent;
}
