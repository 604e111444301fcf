/**
 * Serving a Web-standard `fetch` handler on Bun, Deno or Node: the one place that knows how
 * each runtime listens for HTTP.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Duplex, Readable } from "node:stream";
import { type NodeUpgrade, nodeUpgradeKey } from "./node-websocket.ts";
import { isBun } from "./websocket.ts";

/** A listening HTTP server. */
export interface HttpServer {
  readonly port: number;
  /** Stops listening and waits for open requests to finish. */
  close(): Promise<void>;
}

/** A Hono app's `fetch`: the runtime passes its server (Bun) or upgrade (Node) as `env`. */
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
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => void handle(fetch, req, res));
  server.on("upgrade", (req, socket, head) => void handleUpgrade(fetch, { req, socket, head, wss, upgraded: false }));
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
            for (const ws of wss.clients) ws.terminate();
          }),
      });
    });
  });
}

function toRequest(req: IncomingMessage, withBody: boolean): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  const hasBody = withBody && req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as unknown as ReadableStream, duplex: "half" } : {}),
  } as RequestInit);
}

/** A WebSocket handshake: the app's route takes the socket over, or its answer is written raw. */
async function handleUpgrade(fetch: Fetch, upgrade: NodeUpgrade): Promise<void> {
  try {
    const response = await fetch(toRequest(upgrade.req, false), { [nodeUpgradeKey]: upgrade });
    if (upgrade.upgraded) return;
    await writeRaw(upgrade.socket, response);
  } catch {
    upgrade.socket.destroy();
  }
}

/** Writes a response onto a socket that left HTTP parsing (after an `upgrade` event), then closes it. */
async function writeRaw(socket: Duplex, response: Response): Promise<void> {
  if (socket.destroyed) return;
  const body = new Uint8Array(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || "Error"}`];
  response.headers.forEach((value, key) => {
    if (key !== "content-length" && key !== "connection" && key !== "transfer-encoding") lines.push(`${key}: ${value}`);
  });
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

async function handle(fetch: Fetch, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const response = await fetch(toRequest(req, true));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body === null) return void res.end();
    // Streamed, not buffered: server-sent events never end on their own. A client that
    // leaves cancels the stream, which is how handlers learn to stop.
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => undefined));
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) res.write(chunk.value);
    res.end();
  } catch (error) {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "internal", detail: (error as Error).message, status: "Internal Server Error" }));
  }
}
