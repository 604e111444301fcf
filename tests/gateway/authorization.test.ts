import { describe, expect, it } from "bun:test";
import { Hono } from "hono";
import { createGateway, gatewayParts, type GatewayOptions } from "../../gateway/app.ts";
import type { GatewayEnv, GatewayPart } from "../../gateway/part.ts";
import { createMemoryRegistry, createMemoryTransport, type JetStreamBroker } from "../../runtime/mod.ts";
import type { Sidecar } from "../../gateway/sidecar/sidecar.ts";
import type { UpgradeWebSocket } from "hono/ws";

// Nothing here reaches NATS: every request is refused (or answered) by the gateway itself, so
// stand-ins for the broker, sidecar and WebSockets are enough to mount every part.
const everyPart: GatewayOptions = {
  transport: createMemoryTransport([]),
  registry: createMemoryRegistry(),
  broker: {} as JetStreamBroker,
  sidecar: {} as Sidecar,
  upgradeWebSocket: (() => () => new Response(null)) as unknown as UpgradeWebSocket,
  auth: { apiKeys: { "key-ci": "ci" }, allow: { ci: ["nothing-at-all"] } },
};

/** A request for each route pattern the gateway has: a new route must be added here, and so gets checked. */
const sample: Record<string, [string, string]> = {
  "ALL /*": ["POST", "/greeter/say-hello"],
  "GET /health": ["GET", "/health"],
  "POST /:service{[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+}/:method{[A-Za-z_][A-Za-z0-9_]*}": ["POST", "/greeter.v1.Greeter/SayHello"],
  "POST /events/:topic": ["POST", "/events/deploy.started"],
  "GET /events/:filter/replay": ["GET", "/events/deploy.>/replay"],
  "GET /events/:filter/stream": ["GET", "/events/deploy.>/stream"],
  "GET /history/:user": ["GET", "/history/ada"],
  "GET /sidecar/health": ["GET", "/sidecar/health"],
  "POST /sidecar/registry": ["POST", "/sidecar/registry"],
  "DELETE /sidecar/registry/:name": ["DELETE", "/sidecar/registry/orders"],
  "GET /sidecar/registry": ["GET", "/sidecar/registry"],
  "GET /sidecar/registry/:name": ["GET", "/sidecar/registry/orders"],
  "GET /sidecar/hosted": ["GET", "/sidecar/hosted"],
  "POST /sidecar/rpc": ["POST", "/sidecar/rpc"],
  "POST /sidecar/events/:topic": ["POST", "/sidecar/events/a.b"],
  "GET /sidecar/events/:filter/stream": ["GET", "/sidecar/events/a.>/stream"],
  "POST /sidecar/subscriptions": ["POST", "/sidecar/subscriptions"],
  "GET /sidecar/subscriptions": ["GET", "/sidecar/subscriptions"],
  "DELETE /sidecar/subscriptions/:id": ["DELETE", "/sidecar/subscriptions/s1"],
  "ALL /sidecar/*": ["GET", "/sidecar/nothing-here"],
  "GET /": ["GET", "/"],
  "GET /dashboard/app.js": ["GET", "/dashboard/app.js"],
  "GET /dashboard/style.css": ["GET", "/dashboard/style.css"],
  "ALL /web/:service": ["GET", "/web/shop"],
  "ALL /web/:service/*": ["GET", "/web/shop/"],
  "GET /ws/:service{[A-Za-z0-9_-]+}/:endpoint{[A-Za-z0-9_]+\\.[A-Za-z0-9_]+}": ["GET", "/ws/counter/Counter.Echo"],
  "POST /rpc": ["POST", "/rpc"],
};
/** Routes that reach nothing behind the gateway. */
const publicRoutes = new Set(["GET /health", "GET /dashboard/app.js", "GET /dashboard/style.css"]);

function bodyFor(path: string): string | undefined {
  if (path === "/rpc") return JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: {} });
  return "{}";
}

describe("gateway authorisation", () => {
  it("every route of every part answers 401 without credentials and 403 outside the rules, except the public ones", async () => {
    const app = createGateway(everyPart);
    const patterns = [...new Set(app.routes.map((r) => `${r.method} ${r.path}`))];
    expect(patterns.filter((p) => sample[p] === undefined)).toEqual([]);
    for (const pattern of patterns) {
      const [method, path] = sample[pattern]!;
      const init = (headers: Record<string, string>): RequestInit => ({
        method,
        headers: { "content-type": "application/json", ...headers },
        ...(method === "GET" || method === "DELETE" ? {} : { body: bodyFor(path) }),
      });
      const anonymous = await app.fetch(new Request(`http://gw${path}`, init({})));
      const known = await app.fetch(new Request(`http://gw${path}`, init({ "x-api-key": "key-ci" })));
      if (publicRoutes.has(pattern)) {
        expect([pattern, anonymous.status, known.status]).toEqual([pattern, 200, 200]);
      } else {
        expect([pattern, anonymous.status, known.status]).toEqual([pattern, 401, 403]);
      }
    }
  });

  it("refuses to build a gateway with a route that neither authorizes nor is declared public", () => {
    const careless: GatewayPart = () => new Hono<GatewayEnv>().get("/forgot", (c) => c.text("open"));
    expect(() => createGateway({ transport: createMemoryTransport([]), parts: [careless, ...gatewayParts] })).toThrow(/GET \/forgot neither authorizes/);
  });

  it("mounts a part of your own that authorizes through deps.authorize", async () => {
    const reports: GatewayPart = (deps) =>
      new Hono<GatewayEnv>().get("/reports/:name", deps.authorize((c) => ({ namespace: deps.namespace, service: "reports", endpoint: c.req.param("name")! })), (c) => c.json({ report: c.var.target.endpoint, by: c.var.identity }));
    const app = createGateway({ transport: createMemoryTransport([]), auth: { apiKeys: { k: "ci" }, allow: { ci: ["reports/daily"] } }, parts: [reports, ...gatewayParts] });
    expect((await app.fetch(new Request("http://gw/reports/daily"))).status).toBe(401);
    expect((await app.fetch(new Request("http://gw/reports/weekly", { headers: { "x-api-key": "k" } }))).status).toBe(403);
    const allowed = await app.fetch(new Request("http://gw/reports/daily", { headers: { "x-api-key": "k" } }));
    expect(await allowed.json()).toEqual({ report: "daily", by: "ci" });
  });
});
