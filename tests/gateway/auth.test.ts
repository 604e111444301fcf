import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sign } from "hono/jwt";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuthConfig, loadAuthFile, parseAuthConfig } from "../../gateway/auth.ts";
import { createJetStreamBroker, platformUpgradeWebSocket, type Registry, registerWebService, serveHttp, type ServiceInstance } from "../../runtime/mod.ts";
import { echoApp } from "../support/ws-echo-server.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import greeter from "../../services/greeter.ts";
import hello from "../../services/hello.ts";
import counter from "../../services/counter.ts";
import { createSidecar } from "../../gateway/sidecar/mod.ts";
import { startTestGateway } from "../support/gateway.ts";
import { startTestNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { openTestConnection } from "../support/rpc.ts";

const secret = "a-test-secret-of-32-characters!!";
const auth: AuthConfig = {
  apiKeys: { "key-ci": "ci", "key-reader": "reader" },
  jwt: { secret, issuer: "tests" },
  allow: {
    ci: ["greeter", "hello", "events/deploy.*"],
    reader: ["hello/Hello.Call"],
    alice: ["*"],
  },
};

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let registry: Registry;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
let open: Awaited<ReturnType<typeof startTestGateway>>;
const instances: ServiceInstance[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  registry = await createNatsRegistry(conn.nc);
  const broker = await createJetStreamBroker(conn.nc);
  for (const d of [greeter, hello]) instances.push(await startRegistered(d, conn, registry));
  gateway = await startTestGateway({ transport: conn.transport, registry, broker, auth, forwardHeaders: ["X-Tenant", "x-micro-meta-*"] });
  open = await startTestGateway({ transport: conn.transport, registry, broker });
  const end = performance.now() + 5000;
  while ((await fetch(`${open.url}/hello?name=x`)).status !== 200 && performance.now() < end) await Bun.sleep(20);
});
afterAll(async () => {
  await gateway.close();
  await open.close();
  for (const i of instances) await i.stop();
  await registry.close();
  await conn.close();
  await nats.stop();
});

const jwt = (claims: Record<string, unknown>, key = secret) =>
  sign({ iss: "tests", exp: Math.floor(Date.now() / 1000) + 60, ...claims }, key, "HS256");

/** Every kind of route the gateway has, as (name, request) for one credential header set. */
function routes(headers: Record<string, string>): Array<[string, string, RequestInit]> {
  const json = { "content-type": "application/json", ...headers };
  return [
    ["path", "/greeter/say-hello", { method: "POST", body: '{"name":"Ada"}', headers: json }],
    ["rpc", "/rpc", { method: "POST", body: '{"service":"greeter","endpoint":"Greeter.SayHello","request":{"name":"Ada"}}', headers: json }],
    ["connect", "/greeter.v1.Greeter/SayHello", { method: "POST", body: '{"name":"Ada"}', headers: json }],
    ["events", "/events/deploy.started", { method: "POST", body: '{"v":1}', headers: json }],
  ];
}

describe("gateway auth", () => {
  it("answers 401 on every route without credentials or with bad ones", async () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{}, /credentials required/],
      [{ "x-api-key": "nope" }, /unknown API key/],
      [{ authorization: "Bearer nope" }, /unknown API key/],
      [{ authorization: "Basic abc" }, /must be "Bearer <token>"/],
      [{ authorization: `Bearer ${await jwt({ sub: "alice" }, "another-secret-of-32-characters!")}` }, /invalid JWT/],
      [{ authorization: `Bearer ${await jwt({ sub: "alice", exp: Math.floor(Date.now() / 1000) - 10 })}` }, /invalid JWT.*expired/i],
      [{ authorization: `Bearer ${await jwt({ sub: "alice", iss: "someone-else" })}` }, /invalid JWT/],
      [{ authorization: `Bearer ${await jwt({})}` }, /no sub claim/],
    ];
    for (const [headers, message] of bad) {
      for (const [name, path, init] of routes(headers)) {
        const res = await fetch(`${gateway.url}${path}`, init);
        const body = await res.json() as { code: string; detail?: string; message?: string };
        expect([name, res.status, body.code]).toEqual([name, 401, "unauthenticated"]);
        expect(body.detail ?? body.message).toMatch(message);
      }
    }
  });

  it("lets an identity call what its rules allow, with an API key or a JWT", async () => {
    const credentials: Array<Record<string, string>> = [{ "x-api-key": "key-ci" }, { authorization: "Bearer key-ci" }, { authorization: `Bearer ${await jwt({ sub: "alice" })}` }];
    for (const headers of credentials) {
      for (const [name, path, init] of routes(headers)) {
        const res = await fetch(`${gateway.url}${path}`, init);
        expect([name, res.status]).toEqual([name, name === "events" ? 201 : 200]);
      }
    }
  });

  it("answers 403 for services, endpoints and topics outside the rules", async () => {
    for (const [name, path, init] of routes({ "x-api-key": "key-reader" })) {
      const res = await fetch(`${gateway.url}${path}`, init);
      const body = await res.json() as { code: string; detail?: string; message?: string };
      expect([name, res.status, body.code]).toEqual([name, 403, "permission_denied"]);
      expect(body.detail ?? body.message).toContain("reader may not call");
    }
    const reader = { "x-api-key": "key-reader" };
    expect((await fetch(`${gateway.url}/hello?name=Ada`, { headers: reader })).status).toBe(200);
    expect((await fetch(`${gateway.url}/hello/echo`, { headers: reader })).status).toBe(403);
    const ci = { "x-api-key": "key-ci", "content-type": "application/json" };
    expect((await fetch(`${gateway.url}/events/billing.paid`, { method: "POST", body: "{}", headers: ci })).status).toBe(403);
    expect((await fetch(`${gateway.url}/events/billing.>/replay`, { headers: ci })).status).toBe(403);
    expect((await fetch(`${gateway.url}/events/billing.>/stream`, { headers: ci })).status).toBe(403);
    expect((await fetch(`${gateway.url}/events/deploy.>/stream`)).status).toBe(401);
    const stream = await fetch(`${gateway.url}/events/deploy.>/stream`, { headers: ci });
    expect([stream.status, stream.headers.get("content-type")]).toEqual([200, "text/event-stream"]);
    await stream.body?.cancel();
    expect((await fetch(`${gateway.url}/history/u1`, { headers: ci })).status).toBe(403);
  });

  it("never lets a path reach the event streams", async () => {
    // /events/x/y/z would be namespace micro.events: JetStream would store the request as an event.
    const broker = await createJetStreamBroker(conn.nc);
    const before = await broker.replay("srv.>")[Symbol.asyncIterator]().next();
    const res = await fetch(`${gateway.url}/events/x/y/z`, { method: "POST", body: "{}", headers: { authorization: `Bearer ${await jwt({ sub: "alice" })}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toContain('"events" is not a service namespace');
    expect([before.done, (await broker.replay("srv.>")[Symbol.asyncIterator]().next()).done]).toEqual([true, true]);
  });

  it("records who published an event over HTTP as its source", async () => {
    const published = await fetch(`${gateway.url}/events/deploy.finished`, { method: "POST", body: '{"v":2}', headers: { "x-api-key": "key-ci", "content-type": "application/json", "x-micro-user": "ci" } });
    expect(published.status).toBe(201);
    const { id } = (await published.json()) as { id: string };
    const replay = await fetch(`${gateway.url}/events/deploy.finished/replay`, { headers: { "x-api-key": "key-ci" } });
    const { events } = (await replay.json()) as { events: Array<{ id: string; source: string; user: string }> };
    // A publisher names itself as the event's user; naming another user needs "@as-user/{user}" (tests/gateway/auth-rules.test.ts).
    expect(events.find((e) => e.id === id)).toMatchObject({ source: "gateway:ci", user: "ci" });
  });

  it("keeps /health open", async () => {
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });

  it("passes the identity and allowed headers to handlers as metadata, and never the credentials", async () => {
    const res = await fetch(`${gateway.url}/hello/echo`, {
      headers: { "x-api-key": "key-ci", "x-micro-meta-identity": "admin", "x-tenant": "t1", "x-other": "no", "x-micro-meta-trace": "abc" },
    });
    const echo = await res.json() as { metadata: Record<string, string>; header: Record<string, string[]> };
    expect(echo.metadata).toEqual({ identity: "ci", "x-tenant": "t1", trace: "abc" });
    expect(echo.header["x-api-key"]).toBeUndefined();
    expect(echo.header["x-other"]).toEqual(["no"]);
  });

  it("passes X-Micro-Meta-<key> headers only when the allow list admits x-micro-meta-* (as the default list does)", async () => {
    const strict = await startTestGateway({ transport: conn.transport, registry, forwardHeaders: ["x-tenant"] });
    try {
      const headers = { "x-tenant": "t1", "x-micro-meta-trace": "abc" };
      const echo = async (base: string) => ((await (await fetch(`${base}/hello/echo`, { headers })).json()) as { metadata: Record<string, string> }).metadata;
      expect(await echo(strict.url)).toEqual({ "x-tenant": "t1" });
      expect(await echo(open.url)).toEqual({ trace: "abc" });
    } finally {
      await strict.close();
    }
  });

  it("is off when not configured, and a client cannot claim an identity there either", async () => {
    const res = await fetch(`${open.url}/hello/echo`, { headers: { "x-micro-meta-identity": "admin", "x-tenant": "t1" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { metadata: Record<string, string> }).metadata).toEqual({});
  });
});

describe("auth config", () => {
  it("rejects a bad config naming the problem", () => {
    const cases: Array<[unknown, RegExp]> = [
      [[], /must be a JSON object/],
      [{ apiKeys: { k: "a" }, allow: {}, extra: 1 }, /unknown key "extra"/],
      [{ allow: {} }, /needs apiKeys or jwt/],
      [{ jwt: { secret: "short" }, allow: {} }, /jwt.secret must be a string of at least 16/],
      [{ apiKeys: { k: 1 }, allow: {} }, /apiKeys must map each key to an identity/],
      [{ apiKeys: { k: "a" } }, /allow must map identities/],
      [{ apiKeys: { k: "a" }, allow: { a: "greeter" } }, /allow\["a"\] must be a list/],
    ];
    for (const [value, message] of cases) expect(() => parseAuthConfig(value, "test")).toThrow(message);
  });

  it("loads MICRO_GATEWAY_AUTH_FILE and names the file when it is wrong", () => {
    const dir = mkdtempSync(join(tmpdir(), "jetmicro-auth-"));
    try {
      const good = join(dir, "auth.json");
      writeFileSync(good, JSON.stringify(auth));
      expect(loadAuthFile(good).apiKeys).toEqual(auth.apiKeys);
      const broken = join(dir, "broken.json");
      writeFileSync(broken, "{ apiKeys: ");
      expect(() => loadAuthFile(broken)).toThrow(`auth file ${broken} is not valid JSON`);
      expect(() => loadAuthFile(join(dir, "missing.json"))).toThrow(/cannot be read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("gateway auth and the sidecar", () => {
  it("guards the sidecar API: 401 without credentials, 403 unless the identity may use \"sidecar\"", async () => {
    const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, log: () => {} });
    const guarded = await startTestGateway({ transport: conn.transport, registry, auth, sidecar });
    try {
      expect((await fetch(`${guarded.url}/sidecar/registry`)).status).toBe(401);
      const denied = await fetch(`${guarded.url}/sidecar/registry`, { headers: { "x-api-key": "key-ci" } });
      expect([denied.status, ((await denied.json()) as { code: string }).code]).toEqual([403, "permission_denied"]);
      const register = await fetch(`${guarded.url}/sidecar/registry`, {
        method: "POST",
        headers: { "x-api-key": "key-ci", "content-type": "application/json" },
        body: JSON.stringify({ name: "intruder", url: "http://127.0.0.1:9", endpoints: ["Intruder.Call"] }),
      });
      expect(register.status).toBe(403);
      expect(await registry.getService("intruder")).toEqual([]);
      const allowed = await fetch(`${guarded.url}/sidecar/registry`, { headers: { authorization: `Bearer ${await jwt({ sub: "alice" })}` } });
      expect(allowed.status).toBe(200);
      // Calls through the sidecar carry the caller's identity, whatever identity header it sends.
      const whoami = conn.nc.subscribe("micro.srv.whoami.Who.Am", {
        callback: (_e, m) => void m.respond(JSON.stringify({ identity: m.headers?.get("Micro-Meta-identity") ?? null })),
      });
      try {
        const call = await fetch(`${guarded.url}/sidecar/rpc`, {
          method: "POST",
          headers: { authorization: `Bearer ${await jwt({ sub: "alice" })}`, "x-micro-meta-identity": "root", "content-type": "application/json" },
          body: JSON.stringify({ service: "whoami", endpoint: "Who.Am", request: {} }),
        });
        expect([call.status, await call.json()]).toEqual([200, { identity: "alice" }]);
      } finally {
        whoami.unsubscribe();
      }
    } finally {
      await guarded.close();
      await sidecar.close();
    }
  });
});

describe("gateway auth and streams", () => {
  it("guards Connect streams and the WebSocket stream route like every other call", async () => {
    const counterInstance = await startRegistered(counter, conn, registry);
    const guarded = await startTestGateway({ transport: conn.transport, registry, auth: { ...auth, allow: { ...auth.allow, ci: ["counter/Counter.Count"] } }, upgradeWebSocket: await platformUpgradeWebSocket() });
    try {
      // Connect server stream: one enveloped JSON message; errors arrive in the end-of-stream message.
      const body = new TextEncoder().encode(JSON.stringify({ to: 2 }));
      const enveloped = new Uint8Array(5 + body.length);
      new DataView(enveloped.buffer).setUint32(1, body.length);
      enveloped.set(body, 5);
      const stream = (headers: Record<string, string>) =>
        fetch(`${guarded.url}/counter.v1.Counter/Count`, { method: "POST", headers: { "content-type": "application/connect+json", ...headers }, body: enveloped }).then((r) => r.text());
      expect(await stream({})).toContain('"unauthenticated"');
      expect(await stream({ "x-api-key": "key-reader" })).toContain('"permission_denied"');
      const allowed = await stream({ "x-api-key": "key-ci" });
      expect(allowed).not.toContain('"error"');
      expect(allowed).toContain(`"n":2`);

      // WebSocket: refused before the upgrade with a plain HTTP answer.
      const refused = await fetch(`${guarded.url}/ws/counter/Counter.Echo`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
      expect([refused.status, ((await refused.json()) as { code: string }).code]).toEqual([401, "unauthenticated"]);
      const denied = await fetch(`${guarded.url}/ws/counter/Counter.Echo`, { headers: { "x-api-key": "key-ci", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" } });
      expect(denied.status).toBe(403);
    } finally {
      await guarded.close();
      await counterInstance.stop();
    }
  });
});

describe("gateway auth, the dashboard and web services", () => {
  it("guards the dashboard page: 401 without credentials, 403 unless the identity may use \"dashboard\"", async () => {
    expect((await fetch(`${gateway.url}/`)).status).toBe(401);
    const denied = await fetch(`${gateway.url}/`, { headers: { "x-api-key": "key-ci" } });
    expect([denied.status, ((await denied.json()) as { code: string }).code]).toEqual([403, "permission_denied"]);
    const allowed = await fetch(`${gateway.url}/`, { headers: { authorization: `Bearer ${await jwt({ sub: "alice" })}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain("greeter");
  });

  it("guards /web/{name}/ as web/{name}, and keeps the gateway credentials from the app", async () => {
    const app = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => Response.json({ authorization: r.headers.get("authorization"), apiKey: r.headers.get("x-api-key") }) });
    const shop = await registerWebService(registry, { name: "shop", url: `http://127.0.0.1:${app.port}`, version: "1.0.0" });
    try {
      const unauthenticated = await fetch(`${gateway.url}/web/shop/`);
      expect([unauthenticated.status, ((await unauthenticated.json()) as { code: string }).code]).toEqual([401, "unauthenticated"]);
      expect((await fetch(`${gateway.url}/web/shop`, { redirect: "manual" })).status).toBe(401);
      expect((await fetch(`${gateway.url}/web/shop/`, { headers: { "x-api-key": "key-ci" } })).status).toBe(403);
      const allowed = await fetch(`${gateway.url}/web/shop/`, { headers: { authorization: `Bearer ${await jwt({ sub: "alice" })}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toEqual({ authorization: null, apiKey: null });
    } finally {
      await shop.stop();
      app.stop(true);
    }
  });

  it("guards WebSockets to web services the same way", async () => {
    const upgradeWebSocket = await platformUpgradeWebSocket();
    const app = await serveHttp(echoApp(upgradeWebSocket).fetch, { port: 0 });
    const chat = await registerWebService(registry, { name: "chat", url: `http://127.0.0.1:${app.port}` });
    const guarded = await startTestGateway({ transport: conn.transport, registry, auth, upgradeWebSocket });
    const open = (headers: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`${guarded.url.replace("http:", "ws:")}/web/chat/ws?name=Ada`, { headers } as unknown as string[]);
        ws.onmessage = (e) => (resolve(String(e.data)), ws.close());
        ws.onerror = () => resolve("refused");
      });
    try {
      expect(await open({})).toBe("refused");
      expect(await open({ "x-api-key": "key-ci" })).toBe("refused");
      expect(await open({ authorization: `Bearer ${await jwt({ sub: "alice" })}` })).toBe("hello Ada");
    } finally {
      await guarded.close();
      await chat.stop();
      await app.close();
    }
  });
});
