import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { Hello } from "../../gen/hello/v1/hello_pb.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { defineService, type Registry, type ServiceInstance } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import greeter from "../../services/greeter.ts";
import hello from "../../services/hello.ts";
import { startTestGateway } from "../support/gateway.ts";
import { startTestNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { openTestConnection } from "../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let registry: Registry;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
const instances: ServiceInstance[] = [];

// The same proto served as API services elsewhere, to reach the three- and four-segment rules.
const shop = defineService(Hello, { name: "shop", type: "api" }, implOf(hello));
const acmeShop = defineService(Hello, { name: "shop", type: "api", namespace: "micro.acme" }, implOf(hello));
const greeterV2 = defineService(Greeter, { version: "2.1.0" }, { sayHello: (r) => ({ message: `Hi ${r.name}` }) });
const greeterV210 = defineService(Greeter, { version: "2.10.0" }, { sayHello: (r) => ({ message: `Hey ${r.name}` }) });

function implOf(definition: typeof hello) {
  return Object.fromEntries(definition.endpoints.map((e) => [e.method.localName, e.handler])) as never;
}

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  registry = await createNatsRegistry(conn.nc);
  for (const d of [greeter, hello, shop, acmeShop, greeterV2, greeterV210]) instances.push(await startRegistered(d, conn, registry));
  gateway = await startTestGateway({ transport: conn.transport, registry });
  // The gateway follows the registry: wait until it routes /hello to the API service.
  const end = performance.now() + 5000;
  while ((await fetch(`${gateway.url}/hello?name=x`)).status !== 200 && performance.now() < end) await Bun.sleep(20);
});
afterAll(async () => {
  await gateway.close();
  for (const i of instances) await i.stop();
  await registry.close();
  await conn.close();
  await nats.stop();
});

describe("gateway API services", () => {
  it("hands an API service the HTTP request and answers with its status, headers and body", async () => {
    const res = await fetch(`${gateway.url}/hello?name=Ada`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-hello")).toBe("Ada");
    expect(await res.json()).toEqual({ message: "Hello Ada" });
    const missing = await fetch(`${gateway.url}/hello`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toContain("name is required");
  });

  it("fills method, path, url, header, get, post and body of the api Request", async () => {
    const res = await fetch(`${gateway.url}/hello/echo?a=1&a=2&b=x`, {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-custom": "yes" },
      body: "name=Ada&tag=1&tag=2",
    });
    const echo = await res.json() as Record<string, any>;
    expect(echo.method).toBe("PUT");
    expect(echo.path).toBe("/hello/echo");
    expect(echo.url).toBe(`${gateway.url}/hello/echo?a=1&a=2&b=x`);
    expect(echo.get).toEqual({ a: ["1", "2"], b: ["x"] });
    expect(echo.post).toEqual({ name: ["Ada"], tag: ["1", "2"] });
    expect(echo.header["x-custom"]).toEqual(["yes"]);
    expect(echo.body).toBe("name=Ada&tag=1&tag=2");
  });

  it("reads multipart form fields into post", async () => {
    const form = new FormData();
    form.set("name", "Bo");
    const res = await fetch(`${gateway.url}/hello`, { method: "POST", body: form });
    expect(await res.json()).toEqual({ message: "Hello Bo" });
  });
});

describe("gateway path routes end to end", () => {
  const post = (path: string, body: unknown) => fetch(`${gateway.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

  it("calls a srv service with the JSON body, kebab-case to CamelCase", async () => {
    const res = await post("/greeter/say-hello", { name: "Ada" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: expect.stringMatching(/^(Hello|Hi|Hey) Ada$/) });
  });

  it("reaches the newest matching version on /v<major>/... paths", async () => {
    expect(await (await post("/v1/greeter/say-hello", { name: "Ada" })).json()).toEqual({ message: "Hello Ada" });
    // 2.10.0 is newer than 2.1.0 (numbers, not text).
    expect(await (await post("/v2/greeter/say-hello", { name: "Ada" })).json()).toEqual({ message: "Hey Ada" });
    const none = await post("/v3/greeter/say-hello", { name: "Ada" });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { detail: string }).detail).toBe("no v3 version of greeter runs (running: 1.0.0, 2.1.0, 2.10.0)");
  });

  it("resolves three segments to service + Handler.Method, and four to a sub-namespace", async () => {
    const three = await fetch(`${gateway.url}/shop/hello/echo`);
    expect(((await three.json()) as { path: string }).path).toBe("/shop/hello/echo");
    const four = await fetch(`${gateway.url}/acme/shop/hello?name=Cy`);
    // /acme/shop/hello is three segments: service acme, Shop.Hello, which nothing serves.
    expect(four.status).toBe(404);
    const deep = await fetch(`${gateway.url}/acme/shop/hello/call?name=Cy`);
    expect(deep.status).toBe(200);
    expect(await deep.json()).toEqual({ message: "Hello Cy" });
  });

  it("answers an unknown service with 404 at once, never a hang or a 500", async () => {
    const began = performance.now();
    for (const path of ["/nobody/home", "/v1/nobody/home", "/a/b/c/d", "/hello/nope"]) {
      const res = await post(path, {});
      expect([path, res.status]).toEqual([path, path === "/hello/nope" ? 501 : 404]);
      const json = await res.json() as { code: string };
      expect(json.code).toBe(path === "/hello/nope" ? "unimplemented" : "not_found");
    }
    expect(performance.now() - began).toBeLessThan(2000);
  });
});
