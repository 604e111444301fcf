import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Cart } from "../../gen/cart/v1/cart_pb.ts";
import { createGateway } from "../../gateway/app.ts";
import { fieldKind, jsonPlaceholder } from "../../gateway/dashboard/request-form.ts";
import type { ActorInstance } from "../../runtime/actor/host.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { type ActorDefinition, createClient, createMemoryRegistry, createMemoryTransport, type FieldSchema, listActors, type ServiceRecord, startActor, webServiceRecord } from "../../runtime/mod.ts";
import { probeActor } from "../fixtures/actors/probe.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";
import { until } from "../support/wait.ts";

const f = (name: string, type: string, extra: Partial<FieldSchema> = {}): FieldSchema => ({ name, type, repeated: false, map: false, ...extra });

const fields: FieldSchema[] = [
  f("name", "string"),
  f("count", "int32"),
  f("ratio", "double"),
  f("sinceMs", "int64"),
  f("active", "bool"),
  f("color", "enum", { typeName: "shop.v1.Color", enumValues: ["COLOR_UNSPECIFIED", "COLOR_RED"] }),
  f("tags", "string", { repeated: true }),
  f("address", "message", { typeName: "shop.v1.Address", fields: [f("city", "string")] }),
];

function record(version: string, nodeId: string, metadata: Record<string, string> = {}): ServiceRecord {
  return {
    namespace: "micro", type: "srv", name: "shop", version, metadata: {},
    endpoints: [{
      name: "Shop.Order", fullName: "shop.v1.Shop/Order", kind: "unary", implemented: true,
      request: { typeName: "shop.v1.OrderRequest", fields },
      response: { typeName: "shop.v1.OrderResponse", fields: [] },
    }],
    node: { id: nodeId, address: `micro.node.${nodeId}`, metadata },
    ttlMs: 60_000,
  };
}

async function dashboard(records: ServiceRecord[]) {
  const registry = createMemoryRegistry();
  for (const r of records) await registry.register(r);
  const app = createGateway({ transport: createMemoryTransport([]), registry });
  const res = await app.fetch(new Request("http://gw/"));
  await registry.close();
  return { res, page: await res.text(), app };
}

describe("dashboard page", () => {
  it("lists each service by version with its nodes and endpoints", async () => {
    const { res, page } = await dashboard([record("1.0.0", "shop-a"), record("1.0.0", "shop-b"), record("2.0.0", "shop-c")]);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(page).toContain('data-version="1.0.0"');
    expect(page).toContain("version 1.0.0 · 2 nodes");
    expect(page).toContain("version 2.0.0 · 1 node<");
    for (const id of ["shop-a", "shop-b", "shop-c"]) expect(page).toContain(`<code>${id}</code>`);
    expect(page).toContain("<code>Shop.Order</code>");
    expect(page).toContain('data-service="shop" data-endpoint="Shop.Order"');
  });

  it("builds one input per request field, by type", async () => {
    const { page } = await dashboard([record("1.0.0", "shop-a")]);
    const input = (name: string) => new RegExp(`<(input|select|textarea)[^>]*name="${name}"[^>]*>`).exec(page)?.[0] ?? "";
    expect(input("name")).toContain('type="text"');
    expect(input("count")).toContain('type="number"');
    expect(input("count")).toContain('step="1"');
    expect(input("ratio")).toContain('step="any"');
    expect(input("sinceMs")).toContain('data-kind="int64"');
    expect(input("active")).toContain('type="checkbox"');
    expect(input("color")).toMatch(/^<select/);
    expect(page).toContain('<option value="COLOR_RED">COLOR_RED</option>');
    expect(input("tags")).toMatch(/^<textarea[^>]*data-kind="json"/);
    expect(input("address")).toMatch(/^<textarea[^>]*data-kind="json"/);
    expect(input("address")).toContain("&quot;city&quot;");
  });

  it("escapes everything taken from the registry", async () => {
    const evil = '<script>alert("x")</script>';
    const { page } = await dashboard([record("1.0.0", "shop-a", { owner: evil, [evil]: "1" })]);
    expect(page).not.toContain(evil);
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    // The page has exactly one script element: its own.
    expect(page.match(/<script/g)).toHaveLength(1);
  });

  it("links web services to their /web/ path", async () => {
    const web = webServiceRecord({ name: "shop-ui", url: "http://127.0.0.1:5173" });
    const { page } = await dashboard([web]);
    expect(page).toContain('href="/web/shop-ui/"');
    expect(page).toContain("http://127.0.0.1:5173");
  });

  it("serves its script and style", async () => {
    const { app } = await dashboard([]);
    const script = await app.fetch(new Request("http://gw/dashboard/app.js"));
    expect(script.headers.get("content-type")).toContain("javascript");
    expect(await script.text()).toContain('fetch("/rpc"');
    const style = await app.fetch(new Request("http://gw/dashboard/style.css"));
    expect(style.headers.get("content-type")).toContain("text/css");
  });

  it("says so when nothing is registered, and is absent without a registry", async () => {
    expect((await dashboard([])).page).toContain('id="no-services"');
    const app = createGateway({ transport: createMemoryTransport([]) });
    expect((await app.fetch(new Request("http://gw/"))).headers.get("content-type")).toContain("application/json");
  });
});

describe("request form field kinds", () => {
  it("maps types to inputs and shows JSON shapes", () => {
    expect(fieldKind(f("x", "uint64"))).toBe("int64");
    expect(fieldKind(f("x", "bytes"))).toBe("string");
    expect(fieldKind(f("x", "int32", { repeated: true }))).toBe("json");
    expect(fieldKind(f("x", "string", { map: true }))).toBe("json");
    expect(jsonPlaceholder(f("x", "int32", { repeated: true }))).toBe("[int32, …]");
    expect(jsonPlaceholder(f("x", "message", { map: true, fields: [f("a", "string")] }))).toBe('{"key": {"a": …}}');
  });
});

describe("dashboard actors panel", () => {
  // A real actor type (the probe on the Cart proto) on a real nats-server; the registry holds
  // what defineActor puts in its metadata.
  let nats: NatsServerProcess;
  let conn: Awaited<ReturnType<typeof openTestConnection>>;
  let instance: ActorInstance;
  let definition: ActorDefinition;

  beforeAll(async () => {
    nats = await startTestNats();
    conn = await openTestConnection(nats.url);
    definition = probeActor({ name: "probe" });
    instance = await startActor(definition, { connection: conn.nc, transport: conn.transport, leaseMs: 1000 });
  });
  afterAll(async () => {
    await instance.stop();
    await conn.close();
    await nats.stop();
  });

  const actorRecord = (name: string, metadata: Record<string, string>): ServiceRecord => ({
    namespace: "micro", type: "srv", name, version: "1.0.0", metadata, endpoints: [],
    node: { id: `${name}-node`, address: `micro.node.${name}-node`, metadata: {} }, ttlMs: 60_000,
  });

  async function page(options: { actors?: boolean; auth?: boolean } = {}) {
    const registry = createMemoryRegistry();
    await registry.register(actorRecord("probe", definition.metadata ?? {}));
    await registry.register(actorRecord("plain", {}));
    const app = createGateway({
      transport: conn.transport, registry,
      ...(options.actors === false ? {} : { actors: (service: string, namespace: string) => listActors(conn.nc, service, { namespace, waitMs: 300 }) }),
      ...(options.auth === true ? { auth: { apiKeys: { "k-1": "ops" }, allow: { ops: ["*"] } } } : {}),
    });
    const text = await (await app.fetch(new Request("http://gw/", { headers: options.auth === true ? { "x-api-key": "k-1" } : {} }))).text();
    await registry.close();
    return text;
  }

  it("shows an actor type's node, shards and active keys with their mailbox depth, for actor types only", async () => {
    const client = createClient(Cart, conn.transport, { service: "probe", timeoutMs: 10_000 });
    await client.addItem({ cartId: "idle-1", sku: "a", quantity: 0 });
    // Three commands that each hold key busy-1 for 600 ms: while the first runs, the others wait in its mailbox.
    const busy = Promise.all([1, 2, 3].map(() => client.addItem({ cartId: "busy-1", sku: "b", quantity: 600 })));
    await until(() => instance.actorStatus().active.some((a) => a.key === "busy-1" && a.depth > 0));
    const text = await page();
    await busy;
    const panel = /<div class="actors" data-actors="probe">[\s\S]*?<\/div>/.exec(text)?.[0] ?? "";
    expect(panel).toContain("one per <code>cart_id</code>");
    expect(panel).toContain(`<tr data-node="${instance.nodeId}">`);
    const shards = instance.actorStatus().shards.length;
    expect(panel).toContain(`0-${shards - 1} <span class="muted">(${shards})</span>`);
    expect(panel).toContain('data-key="idle-1"');
    expect(panel).toMatch(/<span class="actor-key" data-key="idle-1"[^>]*><code>idle-1<\/code> \(0\)<\/span>/);
    expect(panel).toMatch(/<span class="actor-key busy" data-key="busy-1"[^>]*><code>busy-1<\/code> \([12]\)<\/span>/);
    // A plain service has no actors panel.
    expect(text.match(/class="actors"/g)).toHaveLength(1);
  });

  it("says when it cannot show actor status: no way to ask, or no node answering", async () => {
    expect(await page({ actors: false })).toContain("Actor status is not shown by this gateway");
    const registry = createMemoryRegistry();
    await registry.register(actorRecord("gone", { "actor.key": "cart_id", "actor.shards": "16" }));
    const app = createGateway({ transport: conn.transport, registry, actors: (service, namespace) => listActors(conn.nc, service, { namespace, waitMs: 100 }) });
    const text = await (await app.fetch(new Request("http://gw/"))).text();
    await registry.close();
    expect(text).toContain("No node of gone answered.");
  });

  it("shows actor keys with auth on only to identities allowed the dashboard", async () => {
    const withAuth = await page({ auth: true });
    expect(withAuth).toContain('<div class="actors" data-actors="probe">');
    expect(withAuth).not.toContain("Actor status is not shown by this gateway");
    const registry = createMemoryRegistry();
    const app = createGateway({ transport: conn.transport, registry, auth: { apiKeys: { "k-1": "ops" }, allow: { ops: ["greeter"] } }, actors: () => Promise.resolve([]) });
    expect((await app.fetch(new Request("http://gw/"))).status).toBe(401);
    expect((await app.fetch(new Request("http://gw/", { headers: { "x-api-key": "k-1" } }))).status).toBe(403);
    await registry.close();
  });
});
