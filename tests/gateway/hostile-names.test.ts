import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createSidecar, type Sidecar } from "../../gateway/sidecar/mod.ts";
import { createJetStreamBroker, createNatsRegistry, platformUpgradeWebSocket, type Registry, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import audit from "../../services/audit.ts";
import greeter from "../../services/greeter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";

// One over-long subject makes nats-server drop the whole connection ("maximum control line
// exceeded"), failing every call of every service sharing it. Every route family must refuse
// hostile names with a 4xx JSON error before anything reaches NATS.

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let registry: Registry;
let sidecar: Sidecar;
let gateway: { url: string; close(): Promise<void> };
const instances: ServiceInstance[] = [];
/** Every status change of the gateway's connection: a drop shows up as "disconnect". */
const statusEvents: string[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  void (async () => {
    for await (const s of conn.nc.status()) statusEvents.push(s.type);
  })();
  const broker = await createJetStreamBroker(conn.nc);
  registry = await createNatsRegistry(conn.nc);
  instances.push(await startService(greeter, { connection: conn.nc, transport: conn.transport }));
  instances.push(await startService(audit, { connection: conn.nc, transport: conn.transport, broker }));
  sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker });
  gateway = await startTestGateway({ transport: conn.transport, broker, registry, sidecar, upgradeWebSocket: await platformUpgradeWebSocket() });
});
afterAll(async () => {
  await gateway.close();
  await sidecar.close();
  for (const instance of instances) await instance.stop();
  await registry.close();
  await conn.close();
  await nats.stop();
});

const long = "a".repeat(5000);
/** Names as they go into a URL path (already encoded where a URL needs it). */
const pathNames = [long, "a.b", "a*", encodeURIComponent(">"), "a%20b", "%00", encodeURIComponent("ü名"), `x${"%2E".repeat(3)}`];
/** The same kinds of names as JSON strings. */
const jsonNames = [long, "a.b", "a*", ">", "a b", "a\u0000b", "ü名", "greeter.>"];

async function expectRefused(what: string, response: Response): Promise<void> {
  const text = await response.text();
  const context = `${what} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status >= 400 && response.status < 500, context).toBe(true);
  expect(response.headers.get("content-type") ?? "", context).toContain("application/json");
  const body = JSON.parse(text) as { code?: string; detail?: string; message?: string };
  expect(typeof body.code, context).toBe("string");
  // It names what is wrong, and a hostile name does not make a huge answer.
  expect((body.detail ?? body.message ?? "").length, context).toBeGreaterThan(0);
  expect(text.length, context).toBeLessThan(2000);
}

const request = (path: string, init: RequestInit = {}) => fetch(`${gateway.url}${path}`, init);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });

describe("hostile names at the gateway", () => {
  it("path routes refuse hostile service and method names", async () => {
    for (const name of pathNames) {
      await expectRefused(`GET /${name.slice(0, 20)}/say-hello`, await request(`/${name}/say-hello`));
      await expectRefused(`POST /greeter/${name.slice(0, 20)}`, await post(`/greeter/${name}`, {}));
      await expectRefused(`POST /v1/${name.slice(0, 20)}/x/y`, await post(`/v1/${name}/x/y`, {}));
    }
    await expectRefused("a path of many segments", await request(`/${Array.from({ length: 40 }, () => "ab").join("/")}`));
  });

  it("/rpc refuses hostile services, endpoints and namespaces", async () => {
    for (const name of jsonNames) {
      await expectRefused(`/rpc service ${name.slice(0, 20)}`, await post("/rpc", { service: name, endpoint: "Greeter.SayHello", request: {} }));
      // "a.b" is a well-formed endpoint (that greeter lacks): only the others are hostile as a whole endpoint.
      if (name !== "a.b") await expectRefused(`/rpc endpoint ${name.slice(0, 20)}`, await post("/rpc", { service: "greeter", endpoint: name, request: {} }));
      await expectRefused(`/rpc endpoint Greeter.${name.slice(0, 20)}`, await post("/rpc", { service: "greeter", endpoint: `Greeter.${name}`, request: {} }));
      await expectRefused(`/rpc namespace ${name.slice(0, 20)}`, await post("/rpc", { namespace: name, service: "greeter", endpoint: "Greeter.SayHello" }));
    }
  });

  it("Connect unary and Connect streams refuse hostile service and method names", async () => {
    const names = [`greeter.v1.${"G".repeat(5000)}/SayHello`, `greeter.v1.Greeter/${"S".repeat(5000)}`, `${"p.".repeat(2000)}Greeter/SayHello`];
    for (const path of names) {
      await expectRefused(`Connect unary ${path.slice(0, 30)}`, await post(`/${path}`, {}));
      const stream = await request(`/${path}`, { method: "POST", body: new Uint8Array([0, 0, 0, 0, 2, 123, 125]), headers: { "content-type": "application/connect+json" } });
      await expectRefused(`Connect stream ${path.slice(0, 30)}`, stream);
    }
  });

  it("event routes refuse hostile topics, users and event ids", async () => {
    // "a.b" is a fine topic; every other name is not.
    for (const name of pathNames.filter((n) => n !== "a.b")) {
      await expectRefused(`POST /events/${name.slice(0, 20)}`, await post(`/events/${name}`, {}));
      await expectRefused(`GET /events/${name.slice(0, 20)}/replay`, await request(`/events/${name}x/replay`));
      await expectRefused(`GET /events/${name.slice(0, 20)}/stream`, await request(`/events/${name}x/stream`));
    }
    for (const name of [long, "%00", "a%09b", encodeURIComponent("ü".repeat(100))]) {
      await expectRefused(`GET /history/${name.slice(0, 20)}`, await request(`/history/${name}`));
    }
    await expectRefused("GET /events/<deep filter>/replay", await request(`/events/${Array.from({ length: 100 }, () => "a").join(".")}/replay`));
    await expectRefused("X-Micro-User of 5000 characters", await post("/events/customer.login", {}, { "x-micro-user": long }));
    await expectRefused("X-Micro-User with a tab", await post("/events/customer.login", {}, { "x-micro-user": "a\tb" }));
    await expectRefused("X-Event-Id of 5000 characters", await post("/events/customer.login", {}, { "x-event-id": long }));
    await expectRefused("/history topics filter", await request(`/history/ada?topics=${long}`));
  });

  it("metadata headers of any length are refused", async () => {
    await expectRefused("X-Micro-Meta value of 5000 characters", await post("/greeter/say-hello", { name: "Ada" }, { "x-micro-meta-tenant": long }));
    await expectRefused("X-Micro-Meta key of 5000 characters", await post("/greeter/say-hello", { name: "Ada" }, { [`x-micro-meta-${long}`]: "1" }));
  });

  it("WebSocket stream routes refuse hostile names before the upgrade", async () => {
    for (const path of [`/ws/${long}/Counter.Echo`, `/ws/counter/Counter.${long}`, `/ws/counter/${"C".repeat(300)}.Echo`]) {
      await expectRefused(`GET ${path.slice(0, 30)}`, await request(path, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } }));
      await expectRefused(`GET ${path.slice(0, 30)} without upgrade`, await request(path));
    }
  });

  it("web proxy routes refuse hostile web service names", async () => {
    for (const name of [long, "a%20b", "%00", encodeURIComponent("ü")]) await expectRefused(`/web/${name.slice(0, 20)}/`, await request(`/web/${name}/`));
  });

  it("sidecar routes refuse hostile names", async () => {
    for (const name of pathNames) {
      await expectRefused(`GET /sidecar/registry/${name.slice(0, 20)}`, await request(`/sidecar/registry/${name}`));
      await expectRefused(`DELETE /sidecar/registry/${name.slice(0, 20)}`, await request(`/sidecar/registry/${name}`, { method: "DELETE" }));
      if (name === "a.b") continue; // a fine topic
      await expectRefused(`POST /sidecar/events/${name.slice(0, 20)}`, await post(`/sidecar/events/${name}`, {}));
      await expectRefused(`GET /sidecar/events/${name.slice(0, 20)}/stream`, await request(`/sidecar/events/${name}x/stream`));
    }
    for (const name of jsonNames) {
      await expectRefused(`/sidecar/rpc service ${name.slice(0, 20)}`, await post("/sidecar/rpc", { service: name, endpoint: "Greeter.SayHello" }));
      await expectRefused(`/sidecar/rpc endpoint ${name.slice(0, 20)}`, await post("/sidecar/rpc", { service: "greeter", endpoint: `Greeter.${name}` }));
      await expectRefused(`/sidecar/registry name ${name.slice(0, 20)}`, await post("/sidecar/registry", { name, url: "http://127.0.0.1:9", endpoints: ["Echo"] }));
      if (name !== "a.b") await expectRefused(`/sidecar/registry endpoint ${name.slice(0, 20)}`, await post("/sidecar/registry", { name: "ok", url: "http://127.0.0.1:9", endpoints: [name] }));
      await expectRefused(`/sidecar/subscriptions topic ${name.slice(0, 20)}`, await post("/sidecar/subscriptions", { topic: `${name}.>.x`, url: "http://127.0.0.1:9", service: "hooks" }));
      await expectRefused(`/sidecar/subscriptions service ${name.slice(0, 20)}`, await post("/sidecar/subscriptions", { topic: "a.b", url: "http://127.0.0.1:9", service: name }));
    }
    await expectRefused("sidecar X-Micro-User", await post("/sidecar/events/customer.login", {}, { "x-micro-user": long }));
    await expectRefused("sidecar X-Micro-Source", await post("/sidecar/events/customer.login", {}, { "x-micro-source": long }));
  });

  it("leaves the gateway's NATS connection up: a normal call still answers 200", async () => {
    // Let any drop the hostile requests caused reach the status iterator.
    await conn.nc.flush();
    expect(statusEvents.filter((t) => t === "disconnect" || t === "error" || t === "reconnect")).toEqual([]);
    expect(conn.nc.isClosed()).toBe(false);
    const reply = await post("/greeter/say-hello", { name: "Ada" });
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ message: "Hello Ada" });
    const rpc = await post("/rpc", { service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Bo" } });
    expect(await rpc.json()).toEqual({ message: "Hello Bo" });
  });
});
