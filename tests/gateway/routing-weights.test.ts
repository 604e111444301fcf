/**
 * Canary and blue-green hold on every way into a service: with weights 90/10 between two
 * versions, every gateway route (path, `/rpc`, Connect unary, Connect stream, WebSocket
 * stream) and every nested `ctx.client()` call splits within ±5 % over 1,000 calls.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { Counter } from "../../gen/counter/v1/counter_pb.ts";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import {
  createDiscovery,
  createNatsRegistry,
  createRoutingRules,
  defineService,
  type Discovery,
  type Registry,
  type RoutingRules,
  type ServiceDefinition,
  type ServiceInstance,
  startService,
} from "../../runtime/mod.ts";
import { type HttpServer, serveHttp } from "../../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket } from "../../runtime/platform/websocket.ts";
import { serviceRecord } from "../../runtime/registry/records.ts";
import { withNats } from "../support/nats.ts";
import { until } from "../support/wait.ts";

const { conn, teardown } = withNats();
const calls = 1000;
let registry: Registry;
let rules: RoutingRules;
let discovery: Discovery;
let server: HttpServer;
let fetchGateway: (path: string, init?: RequestInit) => Promise<Response>;

const greeterOf = (version: string) =>
  defineService(Greeter, { name: "greeter", version }, { sayHello: () => ({ message: version }) });
// The version's major number is the one message of its stream, so answers tell the versions apart.
const counterOf = (version: string) =>
  defineService(Counter, { name: "counter", version }, { async *count() { yield { n: Number(version.split(".")[0]) }; } });
// Answers with what a nested call to greeter answered.
const front = defineService(Greeter, { name: "front" }, {
  sayHello: async (request, ctx) => ctx.client(Greeter).sayHello(request),
});

async function startRegistered(definition: ServiceDefinition): Promise<ServiceInstance> {
  const instance = await startService(definition, { connection: conn.nc, transport: conn.transport, discovery });
  const record = serviceRecord(definition, { id: instance.nodeId, address: instance.nodeSubject, namespace: instance.namespace }, 60_000);
  await registry.register(record);
  teardown(async () => {
    await registry.deregister(record);
    await instance.stop();
  });
  return instance;
}

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  rules = await createRoutingRules(conn.nc);
  discovery = createDiscovery({ registry, rules });
  teardown(() => registry.close());
  teardown(() => rules.close());
  teardown(() => discovery.close());
  for (const d of [greeterOf("1.0.0"), greeterOf("2.0.0"), counterOf("1.0.0"), counterOf("2.0.0"), front]) await startRegistered(d);
  await rules.set("micro", "greeter", { weights: { "1.0.0": 90, "2.0.0": 10 } });
  await rules.set("micro", "counter", { weights: { "1.0.0": 90, "2.0.0": 10 } });
  await until(() => rules.get("micro", "greeter") !== undefined && rules.get("micro", "counter") !== undefined);
  const app = createGateway({ transport: conn.transport, registry, discovery, upgradeWebSocket: await platformUpgradeWebSocket() });
  server = await serveHttp(app.fetch, { port: 0 });
  teardown(() => server.close());
  fetchGateway = (path, init) => Promise.resolve(app.fetch(new Request(`http://gw${path}`, init)));
});

/** Calls `answer` {@link calls} times, `parallel` at a time, and counts the answers. */
async function tally(answer: () => Promise<string>, parallel = 20): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let started = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (started < calls) {
      started++;
      const got = await answer();
      out[got] = (out[got] ?? 0) + 1;
    }
  }));
  return out;
}

/** 90 % within ±5 %: 850 to 950 of 1,000 answers from the first version, the rest from the second. */
function expectNinetyTen(counts: Record<string, number>, first: string, second: string): void {
  expect(Object.keys(counts).sort()).toEqual([first, second].sort());
  expect(counts[first]! + counts[second]!).toBe(calls);
  expect(counts[first]!).toBeGreaterThanOrEqual(850);
  expect(counts[first]!).toBeLessThanOrEqual(950);
}

async function jsonPost(path: string, body: unknown, contentType = "application/json"): Promise<Record<string, unknown>> {
  const response = await fetchGateway(path, { method: "POST", headers: { "content-type": contentType }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

function envelope(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

/** The first message of a Connect server stream, parsed. */
async function firstConnectMessage(path: string, request: unknown): Promise<Record<string, unknown>> {
  const response = await fetchGateway(path, {
    method: "POST",
    headers: { "content-type": "application/connect+json" },
    body: envelope(new TextEncoder().encode(JSON.stringify(request))) as Uint8Array<ArrayBuffer>,
  });
  const body = new Uint8Array(await response.arrayBuffer());
  if (body[0] !== 0) throw new Error(`the stream ended without a message: ${new TextDecoder().decode(body.subarray(5))}`);
  const length = new DataView(body.buffer, body.byteOffset).getUint32(1);
  return JSON.parse(new TextDecoder().decode(body.subarray(5, 5 + length)));
}

/** The first message of a WebSocket stream. */
function firstSocketMessage(path: string, request: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, { headers } as unknown as string[]);
    ws.onopen = () => {
      ws.send(JSON.stringify({ message: request }));
      ws.send(JSON.stringify({ end: true }));
    };
    ws.onmessage = (e) => {
      const frame = JSON.parse(e.data as string);
      ws.close();
      if (frame.message !== undefined) resolve(frame.message);
      else reject(new Error(`no message: ${e.data}`));
    };
    ws.onerror = () => reject(new Error(`could not open ${path}`));
  });
}

describe("version weights on every route", () => {
  it("a path route follows 90/10", async () => {
    expectNinetyTen(await tally(async () => String((await jsonPost("/greeter/say-hello", { name: "Ada" })).message)), "1.0.0", "2.0.0");
  });

  it("/rpc follows 90/10", async () => {
    const call = { service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } };
    expectNinetyTen(await tally(async () => String((await jsonPost("/rpc", call)).message)), "1.0.0", "2.0.0");
  });

  it("Connect unary follows 90/10", async () => {
    expectNinetyTen(await tally(async () => String((await jsonPost("/greeter.v1.Greeter/SayHello", { name: "Ada" })).message)), "1.0.0", "2.0.0");
  });

  it("a Connect server stream follows 90/10", async () => {
    expectNinetyTen(await tally(async () => String((await firstConnectMessage("/counter.v1.Counter/Count", { to: 1 })).n)), "1", "2");
  });

  it("a WebSocket stream follows 90/10", async () => {
    expectNinetyTen(await tally(async () => String((await firstSocketMessage("/ws/counter/Counter.Count", { to: 1 })).n), 10), "1", "2");
  });

  it("nested ctx.client() calls follow 90/10", async () => {
    expectNinetyTen(await tally(async () => String((await jsonPost("/front/greeter/say-hello", { name: "Ada" })).message)), "1.0.0", "2.0.0");
  });
});

describe("routing headers", () => {
  it("X-Micro-Version pins a version on paths, /rpc, Connect and sockets", async () => {
    const headers = { "content-type": "application/json", "x-micro-version": "2.0.0" };
    for (let i = 0; i < 20; i++) {
      const path = await fetchGateway("/greeter/say-hello", { method: "POST", headers, body: "{}" });
      expect(await path.json()).toEqual({ message: "2.0.0" });
      const rpc = await fetchGateway("/rpc", { method: "POST", headers, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello" }) });
      expect(await rpc.json()).toEqual({ message: "2.0.0" });
      const connect = await fetchGateway("/greeter.v1.Greeter/SayHello", { method: "POST", headers, body: "{}" });
      expect(await connect.json()).toEqual({ message: "2.0.0" });
    }
    expect(await firstSocketMessage("/ws/counter/Counter.Count", { to: 1 }, { "x-micro-version": "2.0.0" })).toEqual({ n: 2 });
  });

  it("a version or labels nobody runs are a 404 naming them (the caller's choice, not an outage), and a bad header a 400", async () => {
    const none = await fetchGateway("/greeter/say-hello", { method: "POST", headers: { "x-micro-version": "9.9.9" }, body: "{}" });
    expect(none.status).toBe(404);
    expect(await none.text()).toContain("9.9.9");
    const rpc = await fetchGateway("/rpc", { method: "POST", headers: { "content-type": "application/json", "x-micro-labels": "zone=mars" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello" }) });
    expect(rpc.status).toBe(404);
    expect(await rpc.text()).toContain("mars");
    const bad = await fetchGateway("/greeter/say-hello", { method: "POST", headers: { "x-micro-labels": "no-equals-sign" }, body: "{}" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("X-Micro-Labels");
  });
});
