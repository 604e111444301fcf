/**
 * Serving a Web-standard `fetch` handler on Bun, Deno or Node: the one place that knows how
 * each runtime listens for HTTP.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

/** A listening HTTP server. */
export interface HttpServer {
  readonly port: number;
  /** Stops listening and waits for open requests to finish. */
  close(): Promise<void>;
}

type Fetch = (request: Request) => Response | Promise<Response>;

/** Listens on `hostname:port` (port 0 picks a free one); rejects when the port is taken. */
export async function serveHttp(fetch: Fetch, options: { port: number; hostname?: string }): Promise<HttpServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  const g = globalThis as { Bun?: { serve(o: unknown): { port: number; stop(force?: boolean): Promise<void> | void } } };
  if (g.Bun !== undefined) {
    // Streams (server-sent events) stay open for as long as the client wants: no idle cut-off.
    const server = g.Bun.serve({ fetch, port: options.port, hostname, idleTimeout: 0 });
    // Stopping closes open connections too: a watching client must not hold up a shutdown.
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  return serveNode(fetch, options.port, hostname);
}

function serveNode(fetch: Fetch, port: number, hostname: string): Promise<HttpServer> {
  const server = createServer((req, res) => void handle(fetch, req, res));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Open streams would keep close() waiting forever.
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function handle(fetch: Fetch, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
      method: req.method,
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as unknown as ReadableStream, duplex: "half" } : {}),
    } as RequestInit);
    const response = await fetch(request);
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
