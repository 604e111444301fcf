/**
 * The server side of `bench/gateway.ts`, in its own process: the greeter service and the
 * gateway in front of it (as `micro run` has them), and a plain Hono app answering the same
 * route directly. Prints `ready <gatewayPort> <directPort>` and serves until killed.
 * @module
 */
import { Hono } from "hono";
import { createGateway } from "../gateway/app.ts";
import { connectNats, natsOptionsOf, NatsTransport, startService } from "../runtime/mod.ts";
import { readSettings } from "../runtime/config/mod.ts";
import { serveHttp } from "../runtime/platform/http-server.ts";
import greeter from "../services/greeter.ts";
import { exitWithParent } from "./child-process.ts";

exitWithParent();
// The connection `micro run` makes (tuned: no async stack traces).
// The settings' credentials and TLS, as every jetmicro connection.
const nc = await connectNats(natsOptionsOf(readSettings(), "bench-gateway-server", process.env.NATS_URL!));
const transport = new NatsTransport(nc);
await startService(greeter, { connection: nc, transport });
const gateway = await serveHttp(createGateway({ transport }).fetch, { port: 0 });

// The same answer without NATS or a service: what Hono on this runtime costs by itself.
const direct = new Hono();
direct.post("/greeter/say-hello", async (c) => {
  const { name } = await c.req.json<{ name: string }>();
  return c.json({ message: `Hello ${name}` });
});
const directServer = await serveHttp(direct.fetch, { port: 0 });
console.log(`ready ${gateway.port} ${directServer.port}`);
