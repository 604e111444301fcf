/**
 * A gateway over an in-memory transport with the greeter service, served by `serveHttp`, so
 * a test can send it request bodies over real HTTP on Node and Deno as on Bun. Run as a
 * script it prints `listening <port>` and serves until killed.
 * @module
 */
import { createGateway } from "../../gateway/app.ts";
import { createMemoryTransport } from "../../runtime/mod.ts";
import { serveHttp } from "../../runtime/platform/http-server.ts";
import greeter from "../../services/greeter.ts";

/** Largest body the served gateway takes. */
export const deepBodyMaxBytes = 4096;

// Node 20 has no import.meta.main.
if (process.argv[1]?.endsWith("deep-body-server.ts")) {
  // A time limit far past what the test waits: an answer it sees is never the time limit's.
  const app = createGateway({ transport: createMemoryTransport([greeter]), timeoutMs: 30_000, maxBodyBytes: deepBodyMaxBytes });
  const server = await serveHttp(app.fetch, { port: 0 });
  console.log(`listening ${server.port}`);
}
