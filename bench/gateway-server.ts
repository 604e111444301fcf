/**
 * The server processes of `bench/gateway.ts`, one role per process (the first argument), so
 * the orchestrator can charge each system the CPU of exactly the processes it runs on:
 *
 * - `single`: the greeter service and the gateway in one process (namespace `benchsingle`),
 *   plus a plain Hono app answering the same route without NATS; prints
 *   `ready <gatewayPort> <directPort>`.
 * - `service`: the greeter service alone (namespace `micro`), as `micro run` runs it; `ready`.
 * - `gateway`: the gateway alone, calling that service over NATS; `ready <port>`.
 * - `forwarder`: the floor: this runtime's own HTTP server (`Bun.serve`; on Node `node:http`
 *   itself, no Web Request/Response adapter) and one `nc.request()` per request, body in,
 *   reply out, nothing else; `ready <port>`.
 * - `moleculer-service`: the Moleculer greeter on its NATS transporter; `ready`.
 * - `moleculer-web`: moleculer-web 0.11 routing `POST /greeter/say-hello` to it; `ready <port>`.
 *
 * `NATS_URL` names the server. Each process serves until killed.
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "@nats-io/transport-node";
import { Hono } from "hono";
import ApiGateway from "moleculer-web";
import { createGateway } from "../gateway/app.ts";
import { connectNats, natsOptionsOf, NatsTransport, startService } from "../runtime/mod.ts";
import { readSettings } from "../runtime/config/mod.ts";
import { serveHttp } from "../runtime/platform/http-server.ts";
import { callSubject } from "../runtime/protocol/mod.ts";
import greeter from "../services/greeter.ts";
import { exitWithParent } from "./child-process.ts";
import { addMoleculerGreeter, moleculerBroker } from "./moleculer.ts";

/** Namespace of the one-process layout, so its service never answers the separate gateway. */
const singleNamespace = "benchsingle";
/** The route every system serves. */
const route = "/greeter/say-hello";

exitWithParent();
// Exiting normally on SIGTERM lets `--cpu-prof` write its profile (the orchestrator SIGKILLs).
process.on("SIGTERM", () => process.exit(0));
const servers = process.env.NATS_URL;
if (!servers) throw new Error("gateway-server: NATS_URL is not set");
const role = process.argv[2];

switch (role) {
  case "single": {
    // The connection `micro run` makes (tuned: no async stack traces).
    const nc = await connectNats(natsOptionsOf(readSettings(), `bench-gateway-${role}`, servers));
    const transport = new NatsTransport(nc);
    await startService(greeter, { connection: nc, transport, namespace: singleNamespace });
    // As `micro run` does: the gateway has its own transport, batching its writes per I/O turn.
    const gateway = await serveHttp(createGateway({ transport: new NatsTransport(nc, { batchWrites: true }), namespace: singleNamespace }).fetch, { port: 0 });
    // The same answer without NATS or a service: what Hono on this runtime costs by itself.
    const direct = new Hono();
    direct.post(route, async (c) => {
      const { name } = await c.req.json<{ name: string }>();
      return c.json({ message: `Hello ${name}` });
    });
    const directServer = await serveHttp(direct.fetch, { port: 0 });
    console.log(`ready ${gateway.port} ${directServer.port}`);
    break;
  }
  case "service": {
    const nc = await connectNats(natsOptionsOf(readSettings(), `bench-gateway-${role}`, servers));
    await startService(greeter, { connection: nc, transport: new NatsTransport(nc) });
    await nc.flush();
    console.log("ready");
    break;
  }
  case "gateway": {
    const nc = await connectNats(natsOptionsOf(readSettings(), `bench-gateway-${role}`, servers));
    // As `micro run` does: the gateway's transport batches its writes per I/O turn.
    const gateway = await serveHttp(createGateway({ transport: new NatsTransport(nc, { batchWrites: true }) }).fetch, { port: 0 });
    console.log(`ready ${gateway.port}`);
    break;
  }
  case "forwarder": {
    const nc = await connect({ servers, noAsyncTraces: true });
    const subject = callSubject({ namespace: "micro", service: "greeter", endpoint: "Greeter.SayHello" });
    const headers = { "content-type": "application/json" };
    if (process.versions.bun !== undefined) {
      // Bun's own server (Bun.serve): Request in, Response out.
      const server = await serveHttp(async (request) => {
        const reply = await nc.request(subject, new Uint8Array(await request.arrayBuffer()), { timeout: 10_000 });
        return new Response(reply.data as Uint8Array<ArrayBuffer>, { headers });
      }, { port: 0 });
      console.log(`ready ${server.port}`);
      break;
    }
    // Node's own server (node:http, as moleculer-web uses), no Web Request or Response: the floor.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        nc.request(subject, Buffer.concat(chunks), { timeout: 10_000 }).then(
          (reply) => res.writeHead(200, headers).end(reply.data),
          () => res.writeHead(503).end(),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    console.log(`ready ${(server.address() as AddressInfo).port}`);
    break;
  }
  case "moleculer-service": {
    const broker = moleculerBroker(servers, `bench-gw-service-${process.pid}`);
    addMoleculerGreeter(broker);
    await broker.start();
    console.log("ready");
    break;
  }
  case "moleculer-web": {
    const broker = moleculerBroker(servers, `bench-gw-web-${process.pid}`);
    const api = broker.createService({
      name: "api",
      mixins: [ApiGateway],
      settings: {
        port: 0,
        ip: "127.0.0.1",
        routes: [{ path: "/", mappingPolicy: "restrict", bodyParsers: { json: true }, aliases: { [`POST ${route.slice(1)}`]: "greeter.sayHello" } }],
        logRequest: null,
        logResponse: null,
      },
    }) as unknown as { server: { address(): { port: number } } };
    await broker.start();
    await broker.waitForServices("greeter", 30_000);
    console.log(`ready ${api.server.address().port}`);
    break;
  }
  default:
    throw new Error(`gateway-server: unknown role "${role}"`);
}
