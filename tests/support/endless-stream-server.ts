/**
 * An app whose `/endless` answers a body that never ends, made one 64 KiB chunk at a time
 * only when the server asks for the next one, and `/produced` says how many chunks it made.
 * Served by `serveHttp`, it shows whether the runtime's server honours write backpressure: a
 * client that stops reading must stop the production, not make the server buffer. Run as a
 * script it prints `listening <port>` and serves until killed.
 * @module
 */
import { Hono } from "hono";
import { serveHttp } from "../../runtime/platform/http-server.ts";

/** Size of one chunk of `/endless`. */
export const chunkBytes = 64 * 1024;

/** The endless app and its production counter. */
export function endlessApp(): { app: Hono; produced(): number } {
  let produced = 0;
  const chunk = new Uint8Array(chunkBytes).fill(120);
  const app = new Hono();
  app.get("/endless", () =>
    new Response(new ReadableStream<Uint8Array>({
      pull(controller) {
        produced++;
        controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 })));
  app.get("/produced", (c) => c.json({ produced }));
  return { app, produced: () => produced };
}

// Node 20 has no import.meta.main.
if (process.argv[1]?.endsWith("endless-stream-server.ts")) {
  const server = await serveHttp(endlessApp().app.fetch, { port: 0 });
  console.log(`listening ${server.port}`);
}
