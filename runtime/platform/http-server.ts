/**
 * Serving a Web-standard `fetch` handler: the one place that knows how each runtime listens
 * for HTTP. Bun serves with `Bun.serve`; Node (and Deno, through its `node:http`) with Hono's
 * own adapters, `@hono/node-server` and `@hono/node-ws`, which stream response bodies with
 * write backpressure: a slow reader of a stream (server-sent events, Connect streams) makes
 * the gateway stop reading, never buffer without bound.
 *
 * Every runtime closes ordinary connections that sit idle ({@link ServeOptions.idleTimeoutSeconds}),
 * so idle keep-alive sockets cannot pile up, while long-lived requests (streams, WebSockets)
 * lift the cut-off for their own connection: Bun through `server.timeout(request, 0)`, Node
 * through the socket's inactivity timeout and `http.Server`'s keep-alive and header timeouts.
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { registerNodeRequest } from "./node-request-body.ts";
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

/** Seconds an ordinary connection may sit idle (no bytes either way) before it is closed. */
export const idleTimeoutSeconds = 30;

/** How {@link serveHttp} listens. */
export interface ServeOptions {
  readonly port: number;
  /** Address to listen on (`127.0.0.1`). */
  readonly hostname?: string;
  /**
   * Requests that may stay open and quiet for as long as the client wants (server-sent events,
   * WebSocket upgrades): default {@link isLongLivedRequest}. Every other connection is closed
   * after {@link idleTimeoutSeconds} without traffic, so idle keep-alive sockets cannot pile up.
   */
  readonly longLived?: (request: Request) => boolean;
  /** Idle cut-off of ordinary connections in seconds ({@link idleTimeoutSeconds}); keep it above the longest call. */
  readonly idleTimeoutSeconds?: number;
}

/** GETs that upgrade to a WebSocket, ask for server-sent events, or end in `/stream`; Connect streams. */
export function isLongLivedRequest(request: Request): boolean {
  if (request.method === "POST") return request.headers.get("content-type")?.startsWith("application/connect+") ?? false;
  if (request.method !== "GET") return false;
  if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return true;
  if (request.headers.get("accept")?.includes("text/event-stream")) return true;
  return requestPath(request.url).endsWith("/stream");
}

/**
 * Lifts the idle cut-off for the connection of `request`, served with `env` (the second
 * argument of the fetch handler: Bun's server, or Hono's Node env), once a route has decided
 * to stream an answer that {@link isLongLivedRequest} could not foresee (a path route's server
 * stream, as NDJSON or SSE). Anything else as `env` (an app called directly) is left alone.
 */
export function keepConnectionOpen(request: Request, env: unknown): void {
  const served = env as { timeout?: unknown; incoming?: IncomingMessage } | undefined;
  if (typeof served?.timeout === "function") (served.timeout as (request: Request, seconds: number) => void)(request, 0);
  else served?.incoming?.socket?.setTimeout(0);
}

/**
 * The path of an absolute request URL (`http://host/a/b?q` → `/a/b`), without building a
 * `URL`: this runs for every request, refused ones too, and a `URL` costs more than the check.
 * Percent-escapes are left as they are.
 */
export function requestPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const ch = url.charCodeAt(i);
    if (ch === 63 /* ? */ || ch === 35 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}

/**
 * Listens on `hostname:port` (port 0 picks a free one); rejects when the port is taken.
 * WebSocket routes made with `platformUpgradeWebSocket()` work on the server it starts.
 */
export async function serveHttp(fetch: Fetch, options: ServeOptions): Promise<HttpServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const longLived = options.longLived ?? isLongLivedRequest;
  const g = globalThis as { Bun?: { serve(o: unknown): { port: number; stop(force?: boolean): Promise<void> | void } } };
  if (isBun() && g.Bun !== undefined) {
    const { websocket } = await import("hono/bun");
    // Ordinary requests: idle connections are closed. Streams stay open for as long as the
    // client wants: their request lifts the cut-off for its own connection.
    const served = (request: Request, server: { timeout(request: Request, seconds: number): void }) => {
      // Bun hands a request without a Host (HTTP/1.0) on with a relative URL, which routers
      // read wrongly (`GET /health` reached a gateway route for a service `h`). Node's adapter
      // gives it the server's own host; here it is refused (HTTP/1.1 requires a Host).
      if (request.url.charCodeAt(0) === 47 /* "/" */) return noHost();
      if (longLived(request)) server.timeout(request, 0);
      return fetch(request, server);
    };
    const server = g.Bun.serve({ fetch: served, websocket, port: options.port, hostname, idleTimeout: Math.min(255, Math.max(1, Math.ceil(options.idleTimeoutSeconds ?? idleTimeoutSeconds))) });
    // Stopping closes open connections too: a watching client must not hold up a shutdown.
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  return serveNode(fetch, options.port, hostname, (options.idleTimeoutSeconds ?? idleTimeoutSeconds) * 1000, longLived);
}

/**
 * The address of the peer that sent `request`, where the server tells it: `env` is what
 * {@link serveHttp}'s server handed the fetch with it (Bun's server; on Node and Deno, Hono's
 * `{ incoming }`). Undefined when it is not known (an app's own `fetch`, a test's `Request`).
 */
export function peerAddress(request: Request, env: unknown): string | undefined {
  const e = env as { requestIP?: (r: Request) => { address: string } | null; incoming?: IncomingMessage } | undefined;
  try {
    if (typeof e?.requestIP === "function") return e.requestIP(request)?.address ?? undefined;
    return e?.incoming?.socket?.remoteAddress ?? undefined;
  } catch {
    return undefined;
  }
}

function noHost(): Response {
  return new Response("the request has no Host header", { status: 400, headers: { "content-type": "text/plain; charset=utf-8", connection: "close" } });
}

async function serveNode(fetch: Fetch, port: number, hostname: string, idleMs: number, longLived: (request: Request) => boolean): Promise<HttpServer> {
  const { createAdaptorServer } = await import("@hono/node-server");
  // A long-lived request lifts the inactivity cut-off of its own socket, as on Bun.
  const served: Fetch = (request, env?: { incoming?: IncomingMessage }) => {
    const incoming = env?.incoming;
    if (incoming !== undefined) {
      // Small bodies are then read from the socket without a Web Request (node-request-body.ts).
      if (request.method !== "GET" && request.method !== "HEAD") registerNodeRequest(request, incoming);
      if (longLived(request)) incoming.socket?.setTimeout(0);
    }
    return fetch(request, env);
  };
  // Hono's Node adapter: Request objects made lazily from the incoming message, the response
  // body written as the socket drains, the request's signal aborted when the client leaves.
  const server = createAdaptorServer({ fetch: served, hostname }) as Server;
  // Between requests: an idle keep-alive socket is closed (Node's default is 5 s; one setting
  // for every runtime). While a request is read: its headers must come within the same time.
  // While it is served: a socket with no bytes either way for that long is closed (no
  // 'timeout' listener, so Node destroys it), unless the request lifted it above.
  server.keepAliveTimeout = idleMs;
  server.headersTimeout = idleMs + 1000;
  server.setTimeout(idleMs);
  const sockets = attachNodeWebSockets(server, served);
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
