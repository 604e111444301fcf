import { describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { fieldKind, jsonPlaceholder } from "../../gateway/dashboard/request-form.ts";
import { createMemoryRegistry, createMemoryTransport, type FieldSchema, type ServiceRecord, webServiceRecord } from "../../runtime/mod.ts";

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
