import { beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { createGateway } from "../../../gateway/app.ts";
import type { Sidecar } from "../../../gateway/sidecar/mod.ts";
import type { JetStreamBroker, Registry } from "../../../runtime/mod.ts";
import { json, startHttpApp, type TestHttpApp } from "../../support/http-app.ts";
import { withNats } from "../../support/nats.ts";
import { startSidecarStack } from "../../support/sidecar.ts";
import { eventually, until } from "../../support/wait.ts";

const { conn, teardown } = withNats();
let registry: Registry;
let broker: JetStreamBroker;
let sidecar: Sidecar;
let gateway: ReturnType<typeof createGateway>;
let app: TestHttpApp;
let inFlight = 0;
let mostInFlight = 0;
// Added first, so it runs last: after the sidecar (and its apps' deregistration) closed.
teardown(() => app.stop());

beforeAll(async () => {
  const stack = await startSidecarStack(conn);
  ({ registry, broker, sidecar } = stack);
  teardown(() => stack.close());
  gateway = createGateway({ transport: conn.transport, broker, sidecar });
  app = startHttpApp((request, body) => {
    const path = new URL(request.url).pathname;
    const input = body === "" ? {} : JSON.parse(body);
    switch (path) {
      case "/GreeterPy.Hello":
        return json({ message: `Hello ${input.name}`, user: request.headers.get("x-micro-meta-user") });
      case "/orders":
        return json({ id: "o-1", items: input.items }, 201);
      case "/GreeterPy.Missing":
        return json({ message: "no user 42" }, 404);
      case "/GreeterPy.Duplicate":
        return json({ code: "already_exists", message: "order o-1 exists" }, 409);
      case "/GreeterPy.Crash":
        return new Response("boom", { status: 500 });
      case "/Slow.Work":
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        return Bun.sleep(50).then(() => (inFlight--, json({ done: input.n })));
      case "/GreeterPy.Garbled":
        return new Response("<html>oops</html>", { status: 200 });
      default:
        return new Response("no route", { status: 404 });
    }
  });
});

const send = (path: string, init: RequestInit = {}) => gateway.fetch(new Request(`http://gw${path}`, init));
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
const rpc = (endpoint: string, request: unknown = {}) => post("/sidecar/rpc", { service: "greeter-py", endpoint, request });

describe("sidecar API", () => {
  it("registers an app's service, which then answers calls over NATS by calling the app", async () => {
    const res = await post("/sidecar/registry", {
      name: "greeter-py",
      version: "1.0.0",
      url: app.url,
      endpoints: ["Hello", { name: "Orders.Create", path: "/orders" }, "Missing", "Duplicate", "Crash", "Garbled"],
      metadata: { language: "python" },
    });
    expect(res.status).toBe(201);
    const hosted = await res.json() as { state: string; subject: string; nodeId: string; endpoints: { name: string; path: string }[] };
    expect([hosted.state, hosted.subject]).toEqual(["serving", "micro.srv.greeter-py"]);
    expect(hosted.endpoints.slice(0, 2)).toEqual([{ name: "GreeterPy.Hello", path: "/GreeterPy.Hello" }, { name: "Orders.Create", path: "/orders" }]);

    // Any NATS client, as for a TypeScript service.
    const reply = await conn.nc.request("micro.srv.greeter-py.GreeterPy.Hello", JSON.stringify({ name: "Ada" }), { timeout: 5000 });
    expect(reply.json()).toEqual({ message: "Hello Ada", user: null });
    // The sidecar's /rpc, with metadata reaching the app as headers.
    const viaRpc = await post("/sidecar/rpc", { service: "greeter-py", endpoint: "GreeterPy.Hello", request: { name: "Bo" } }, { "x-micro-meta-user": "u7" });
    expect([viaRpc.status, await viaRpc.json()]).toEqual([200, { message: "Hello Bo", user: "u7" }]);
    // The gateway's go-micro path routing, and an endpoint mapped to its own path.
    expect(await (await post("/greeter-py/hello", { name: "Cy" })).json()).toEqual({ message: "Hello Cy", user: null });
    const order = await rpc("Orders.Create", { items: [1, "two", { three: true }] });
    expect(await order.json()).toEqual({ id: "o-1", items: [1, "two", { three: true }] });

    const call = app.requests.find((r) => r.path === "/GreeterPy.Hello" && r.headers.get("x-micro-meta-user") === "u7")!;
    expect([call.method, call.headers.get("x-micro-service"), call.headers.get("x-micro-endpoint")]).toEqual(["POST", "greeter-py", "GreeterPy.Hello"]);
    expect(Number(call.headers.get("x-micro-timeout"))).toBeGreaterThan(0);

    // Registered like any service: discovery and the registry listing see it.
    type Listing = { services: Array<{ name: string; version: string; metadata: Record<string, string>; nodes: { id: string }[] }> };
    const listing = async (): Promise<Listing> => {
      const res = await send("/sidecar/registry/greeter-py");
      return res.status === 200 ? (await res.json() as Listing) : { services: [] };
    };
    const listed = await eventually(listing, (l) => l.services.length > 0, { timeoutMs: 5000, what: "greeter-py in the sidecar's registry listing" });
    expect(listed.services.map((s) => [s.name, s.version, s.metadata, s.nodes.map((n) => n.id)])).toEqual([["greeter-py", "1.0.0", { language: "python", sidecar: "true" }, [hosted.nodeId]]]);
  });

  it("maps the app's HTTP errors to error codes", async () => {
    const missing = await rpc("GreeterPy.Missing");
    expect([missing.status, await missing.json()]).toMatchObject([404, { code: "not_found", detail: "no user 42" }]);
    const duplicate = await rpc("GreeterPy.Duplicate");
    expect([duplicate.status, await duplicate.json()]).toMatchObject([409, { code: "already_exists", detail: "order o-1 exists" }]);
    const crash = await rpc("GreeterPy.Crash");
    expect([crash.status, await crash.json()]).toMatchObject([500, { code: "internal", detail: "boom" }]);
    const garbled = await rpc("GreeterPy.Garbled");
    expect([garbled.status, (await garbled.json() as { detail: string }).detail]).toEqual([500, "the app of greeter-py answered GreeterPy.Garbled with a body that is not JSON: <html>oops</html>"]);
    const unknown = await rpc("GreeterPy.Nope");
    expect([unknown.status, (await unknown.json() as { code: string }).code]).toEqual([501, "unimplemented"]);
  });

  it("answers unavailable when the app cannot be reached", async () => {
    const gone = startHttpApp(() => json({}));
    await gone.stop();
    expect((await post("/sidecar/registry", { name: "gone-app", url: gone.url, endpoints: ["Ping"] })).status).toBe(201);
    const res = await post("/sidecar/rpc", { service: "gone-app", endpoint: "GoneApp.Ping" });
    const body = await res.json() as { code: string; detail: string };
    expect([res.status, body.code]).toEqual([503, "unavailable"]);
    expect(body.detail).toStartWith(`cannot reach the app of gone-app at ${gone.url}/GoneApp.Ping`);
    expect((await send("/sidecar/registry/gone-app", { method: "DELETE" })).status).toBe(200);
  });

  it("deregisters: the node leaves the registry and calls fail at once", async () => {
    expect((await post("/sidecar/registry", { name: "short-lived", version: "2", url: app.url, endpoints: ["Hello"] })).status).toBe(201);
    await until(() => sidecar.hosted().some((s) => s.name === "short-lived"));
    const res = await send("/sidecar/registry/short-lived", { method: "DELETE" });
    expect(res.status).toBe(200);
    expect((await res.json() as { deregistered: { name: string }[] }).deregistered.map((s) => s.name)).toEqual(["short-lived"]);
    const left = await eventually(() => registry.getService("short-lived"), (nodes) => nodes.length === 0, { timeoutMs: 3000, what: "short-lived gone from the registry" });
    expect(left).toEqual([]);
    const started = Date.now();
    const call = await post("/sidecar/rpc", { service: "short-lived", endpoint: "ShortLived.Hello" });
    expect([call.status, (await call.json() as { code: string }).code]).toEqual([404, "not_found"]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await send("/sidecar/registry/short-lived", { method: "DELETE" })).status).toBe(404);
  });

  it("registering the same name, version and URL again replaces the node instead of adding one", async () => {
    const first = await (await post("/sidecar/registry", { name: "again", url: app.url, endpoints: ["Hello"] })).json() as { nodeId: string };
    const second = await (await post("/sidecar/registry", { name: "again", url: app.url, endpoints: ["Hello", "Bye"] })).json() as { nodeId: string };
    expect(second.nodeId).not.toBe(first.nodeId);
    const hosted = sidecar.hosted().filter((s) => s.name === "again");
    expect(hosted.map((s) => [s.nodeId, s.endpoints.length])).toEqual([[second.nodeId, 2]]);
    await send("/sidecar/registry/again", { method: "DELETE" });
  });

  it("sends the app at most `concurrency` calls at once; the others wait in the mailbox", async () => {
    const res = await post("/sidecar/registry", { name: "slow", url: app.url, endpoints: ["Slow.Work"], concurrency: 2 });
    expect((await res.json() as { concurrency: number }).concurrency).toBe(2);
    const replies = await Promise.all([1, 2, 3, 4, 5, 6].map(async (n) => (await post("/sidecar/rpc", { service: "slow", endpoint: "Slow.Work", request: { n } })).json()));
    expect(replies).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ done: n })));
    expect(mostInFlight).toBe(2);
    await send("/sidecar/registry/slow", { method: "DELETE" });
  });

  it("publishes an event and answers with its stored id", async () => {
    // The source is the gateway's to say (here, with auth off, "sidecar"): a caller's claim is refused.
    const claimed = await post("/sidecar/events/orders.created", { order: "o-1" }, { "x-micro-source": "gateway:admin", "x-micro-user": "u7" });
    expect([claimed.status, (await claimed.json() as { detail: string }).detail]).toEqual([400, "header X-Micro-Source is set by the gateway, never by a caller"]);
    const res = await post("/sidecar/events/orders.created", { order: "o-1" }, { "x-micro-user": "u7", "x-event-id": "e-1" });
    expect(res.status).toBe(201);
    const stored = await res.json() as { id: string; sequence: number };
    expect(stored.id).toBe("e-1");
    const events = [];
    for await (const e of broker.replay("orders.created")) events.push(e);
    expect(events.map((e) => [e.id, e.source, e.user, e.sequence, JSON.parse(new TextDecoder().decode(e.data))])).toEqual([["e-1", "sidecar", "u7", stored.sequence, { order: "o-1" }]]);
    const again = await post("/sidecar/events/orders.created", { order: "o-1" }, { "x-event-id": "e-1" });
    expect([again.status, (await again.json() as { duplicate: boolean }).duplicate]).toEqual([200, true]);
  });

  it("streams live events as server-sent events", async () => {
    const controller = new AbortController();
    const res = await send("/sidecar/events/stock.>/stream", { signal: controller.signal });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    await Bun.sleep(200); // the subscription is made when the stream starts
    await post("/sidecar/events/stock.low", { sku: "tea" });
    let text = "";
    for (const end = performance.now() + 5000; !text.includes("tea") && performance.now() < end;) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain("event: stock.low");
    expect(text).toContain('"data":{"sku":"tea"}');
    await reader.cancel();
    controller.abort();
  });

  it("removes a stream's consumer when the client leaves, even before the subscription is made", async () => {
    const jsm = await jetstreamManager(conn.nc);
    const sidecarConsumers = async () => (await jsm.consumers.list("MICRO_EVENTS").next()).filter((ci) => ci.name.startsWith("sidecar_")).length;
    const before = await sidecarConsumers();
    for (let i = 0; i < 3; i++) await (await send("/sidecar/events/early.>/stream")).body!.cancel();
    for (const end = performance.now() + 3000; (await sidecarConsumers()) > before && performance.now() < end;) await Bun.sleep(50);
    expect(await sidecarConsumers()).toBe(before);
  });

  it("never lets a /rpc caller claim an identity for the called service", async () => {
    const res = await post("/sidecar/rpc", { service: "greeter-py", endpoint: "GreeterPy.Hello", request: { name: "Eve" } }, { "x-micro-meta-user": "u-eve", "x-micro-meta-identity": "admin" });
    expect(res.status).toBe(200);
    const call = app.requests.find((r) => r.path === "/GreeterPy.Hello" && r.headers.get("x-micro-meta-user") === "u-eve")!;
    expect(call.headers.get("x-micro-meta-identity")).toBeNull();
  });

  it("lists the registry and the services it hosts", async () => {
    const { services } = await (await send("/sidecar/registry")).json() as { services: Array<{ name: string }> };
    expect(services.map((s) => s.name)).toContain("greeter-py");
    const hosted = await (await send("/sidecar/hosted")).json() as { services: Array<{ name: string; state: string; url: string }> };
    expect(hosted.services.find((s) => s.name === "greeter-py")).toMatchObject({ state: "serving", url: app.url });
    expect((await send("/sidecar/registry/nobody")).status).toBe(404);
  });

  it("refuses bad input with 400 naming the problem", async () => {
    const problem = async (res: Response) => [res.status, (await res.json() as { detail: string }).detail];
    expect(await problem(await post("/sidecar/registry", '{"name": "x",'))).toEqual([400, expect.stringMatching(/^the body is not valid JSON: /)]);
    expect(await problem(await post("/sidecar/registry", { url: app.url, endpoints: ["A.B"] }))).toEqual([400, 'name is required: a service name such as "orders"']);
    expect(await problem(await post("/sidecar/registry", { name: "x", url: "ftp://host/", endpoints: ["A.B"] }))).toEqual([400, 'url must be an http:// or https:// URL, got "ftp://host/"']);
    expect(await problem(await post("/sidecar/registry", { name: "x", url: "not a url", endpoints: ["A.B"] }))).toEqual([400, 'url "not a url" is not a URL; expected e.g. "http://127.0.0.1:5000"']);
    expect(await problem(await post("/sidecar/registry", { name: "x.y", url: app.url, endpoints: ["A.B"] }))).toEqual([400, 'name must be one NATS subject token: letters, digits, "-" or "_", got "x.y"']);
    expect(await problem(await post("/sidecar/registry", { name: "x", url: app.url, endpoints: [] }))).toEqual([400, expect.stringMatching(/^endpoints must be a non-empty list/)]);
    expect(await problem(await post("/sidecar/registry", { name: "x", url: app.url, endpoints: ["A.B.C"] }))).toEqual([400, 'endpoints[0] must be an endpoint name like "Orders.Create" or "Create" (letters, digits, "_"), got "A.B.C"']);
    expect(await problem(await post("/sidecar/registry", { name: "x", url: app.url, endpionts: ["A.B"] }))).toEqual([400, 'unknown field "endpionts" in the registration (fields: name, version, url, endpoints, metadata, health, healthIntervalMs, concurrency)']);
    expect(await problem(await post("/sidecar/rpc", { service: "greeter-py" }))).toEqual([400, 'endpoint must be a name like "Orders.Create", got nothing']);
    expect(await problem(await post("/sidecar/subscriptions", { topic: "orders.>", url: app.url }))).toEqual([400, 'service is required: a service name such as "orders"']);
    expect(await problem(await post("/sidecar/subscriptions", { topic: "orders..x", url: app.url, service: "s" }))).toEqual([400, expect.stringContaining('topic filter "orders..x" has a bad token')]);
    expect(await problem(await post("/sidecar/events/orders.created", "{nope"))).toEqual([400, expect.stringMatching(/^the body is not valid JSON: /)]);
    expect(await problem(await send("/sidecar/nothing-here"))).toEqual([404, "no sidecar route for GET /sidecar/nothing-here"]);
    expect(sidecar.hosted().filter((s) => s.name === "x")).toEqual([]);
  });
});
