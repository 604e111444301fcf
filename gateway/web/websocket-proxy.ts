/**
 * The WebSocket half of the `/web/{name}/...` proxy: the gateway accepts the client's socket
 * and opens one to the app, then relays frames both ways and closes each side with the other.
 * Frames the client sends before the app's socket opens are queued, not lost (up to
 * {@link maxPendingBytes}); a client that leaves more than {@link maxClientBacklog} of the app's
 * frames unread is dropped.
 * @module
 */
import type { WSContext, WSEvents } from "hono/ws";
import { openWebSocket } from "../../runtime/platform/websocket-client.ts";
import { bufferedAmount, dropSocket } from "../socket-buffer.ts";

/**
 * Bytes a client may send while the app's socket is still opening: they wait in the gateway's
 * memory, and an app slow to answer its handshake must not let one client fill it.
 */
export const maxPendingBytes = 1024 * 1024;
/**
 * Bytes of the app's frames a client may leave unread: the app's socket cannot be paused, so a
 * client that stops reading while the app keeps sending is dropped rather than buffered for.
 */
export const maxClientBacklog = 4 * 1024 * 1024;

type Frame = string | ArrayBuffer | Uint8Array<ArrayBuffer>;

// Only these codes may be sent in a close frame; others (1005, 1006, 1015) only describe one.
function sendableCode(code: number | undefined): number {
  if (code === undefined) return 1000;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) ? code : 1000;
}

/**
 * Listeners relaying a client socket to `upstream` (a `ws:` or `wss:` URL), offering
 * `protocols` and sending `headers` (cookies, `X-Forwarded-*`) with the handshake.
 */
export function webSocketProxyEvents(upstream: URL, protocols: string[], headers: Record<string, string>): WSEvents {
  let app: WebSocket | undefined;
  let clientClosed = false;
  const queued: Frame[] = [];
  let queuedBytes = 0;
  const toApp = (frame: Frame, client: WSContext) => {
    if (app?.readyState === 1) return app.send(frame);
    queuedBytes += typeof frame === "string" ? frame.length * 3 : frame.byteLength;
    if (queuedBytes > maxPendingBytes) {
      queued.length = 0;
      client.close(1008, `more than ${maxPendingBytes} bytes sent before the web service answered`);
      return app?.close(1001);
    }
    queued.push(frame);
  };

  return {
    async onOpen(_event, client: WSContext) {
      try {
        app = await openWebSocket(upstream, { protocols, headers });
      } catch {
        // A client that could not be built (it throws at once): close the client's socket, never leave it open.
        if (client.readyState === 1) client.close(1011, "web service connection failed");
        return;
      }
      app.binaryType = "arraybuffer";
      app.onopen = () => {
        if (clientClosed) return app?.close(1000);
        for (const frame of queued.splice(0)) app?.send(frame);
      };
      app.onmessage = (e: MessageEvent) => {
        if (client.readyState !== 1) return;
        client.send(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
        if (bufferedAmount(client) > maxClientBacklog) {
          dropSocket(client, 1008, "not reading the web service's messages");
          app?.close(1001);
        }
      };
      app.onclose = (e: CloseEvent) => {
        if (client.readyState !== 1) return;
        // 1006: the app's socket failed or never opened; the client hears "internal error".
        if (e.code === 1006) client.close(1011, "web service connection failed");
        else client.close(sendableCode(e.code), e.reason);
      };
      // A failed connection also closes (1006), which closes the client: nothing more to do.
      app.onerror = () => undefined;
    },
    async onMessage(event, client) {
      const data = event.data;
      if (typeof data === "string") toApp(data, client);
      else if (data instanceof Blob) toApp(new Uint8Array(await data.arrayBuffer()), client);
      else toApp(new Uint8Array(data as ArrayBuffer), client);
    },
    onClose(event) {
      clientClosed = true;
      queued.length = 0;
      // Still connecting too: an app that never answers the handshake would otherwise keep its
      // socket (and the frames queued for it) for ever, one for every client that came and went.
      if (app !== undefined && app.readyState <= 1) app.close(sendableCode(event.code), event.reason);
    },
  };
}
