import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { eventually } from "../support/wait.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { createGateway } from "../../gateway/app.ts";
import { createJetStreamBroker, type JetStreamBroker, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import audit from "../../services/audit.ts";
import { createSidecar } from "../../gateway/sidecar/mod.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { startTestGateway } from "../support/gateway.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let broker: JetStreamBroker;
let auditInstance: ServiceInstance;
let app: ReturnType<typeof createGateway>;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  broker = await createJetStreamBroker(conn.nc);
  auditInstance = await startService(audit, { connection: conn.nc, transport: conn.transport, broker });
  app = createGateway({ transport: conn.transport, broker });
});
afterAll(async () => {
  await auditInstance.stop();
  await conn.close();
  await nats.stop();
});

const send = (path: string, init: RequestInit = {}) => app.fetch(new Request(`http://gw${path}`, init));

describe("events over HTTP", () => {
  it("publishes an event and answers with its stored id; a repeated id is stored once", async () => {
    const first = await send("/events/customer.login", { method: "POST", body: '{"id":1}', headers: { "content-type": "application/json", "x-event-id": "http-1", "x-micro-user": "u1" } });
    expect(first.status).toBe(201);
    const stored = await first.json() as { id: string; sequence: number; duplicate: boolean };
    expect([stored.id, stored.duplicate]).toEqual(["http-1", false]);
    const again = await send("/events/customer.login", { method: "POST", body: '{"id":1}', headers: { "content-type": "application/json", "x-event-id": "http-1" } });
    expect([again.status, (await again.json() as { duplicate: boolean }).duplicate]).toEqual([200, true]);
  });

  it("refuses bad topics and bodies with 400", async () => {
    expect((await send("/events/customer.*", { method: "POST", body: "{}" })).status).toBe(400);
    const bad = await send("/events/customer.login", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    expect([bad.status, (await bad.json() as { detail: string }).detail]).toEqual([400, "the body is not valid JSON (send another Content-Type for other payloads)"]);
    expect((await send("/events/customer.login/replay?limit=x")).status).toBe(400);
  });

  it("replays a large binary payload as its exact base64", async () => {
    const payload = new Uint8Array(900_000).map((_, i) => (i * 7919) % 256); // not UTF-8, near the 1 MiB limit
    const stored = await send("/events/blob.large", { method: "POST", body: payload, headers: { "content-type": "application/octet-stream" } });
    expect(stored.status).toBe(201);
    const { events } = await (await send("/events/blob.large/replay")).json() as { events: Array<{ dataBase64: string }> };
    expect(events).toHaveLength(1);
    expect(Buffer.from(events[0]!.dataBase64, "base64").equals(Buffer.from(payload))).toBe(true);
  });

  it("pages a replay: at most 10,000 events and about 8 MiB of data an answer, the rest from nextFrom", async () => {
    const tooMany = await send("/events/page.>/replay?limit=10001");
    expect([tooMany.status, (await tooMany.json() as { detail: string }).detail]).toEqual([400, "limit must be at most 10000, got 10001; page with from"]);
    for (let n = 0; n < 3; n++) await send("/events/page.small", { method: "POST", body: JSON.stringify({ n }), headers: { "content-type": "application/json" } });
    type Page = { events: Array<{ data: { n: number }; sequence: number }>; nextFrom?: number };
    const first = await (await send("/events/page.small/replay?limit=2")).json() as Page;
    expect(first.events.map((e) => e.data.n)).toEqual([0, 1]);
    expect(first.nextFrom).toBe(first.events[1]!.sequence + 1);
    const rest = await (await send(`/events/page.small/replay?limit=2&from=${first.nextFrom}`)).json() as Page;
    expect(rest.events.map((e) => e.data.n)).toEqual([2]);
    expect(rest.nextFrom).toBeUndefined();
    // Ten events of 900 KB: one answer holds them up to the one that passes 8 MiB.
    const blob = new Uint8Array(900_000).fill(7);
    for (let n = 0; n < 10; n++) expect((await send("/events/page.big", { method: "POST", body: blob, headers: { "content-type": "application/octet-stream" } })).status).toBe(201);
    const big = await (await send("/events/page.big/replay")).json() as { events: Array<{ sequence: number }>; nextFrom?: number };
    expect(big.events).toHaveLength(Math.ceil((8 * 1024 * 1024) / 900_000));
    const after = await (await send(`/events/page.big/replay?from=${big.nextFrom}`)).json() as { events: unknown[]; nextFrom?: number };
    expect(big.events.length + after.events.length).toBe(10);
    expect(after.nextFrom).toBeUndefined();
    // With its call timeout past, an answer ends at the event in hand: a page, not a 504.
    const hurried = createGateway({ transport: conn.transport, broker, timeoutMs: 1 });
    const page = await (await hurried.fetch(new Request("http://gw/events/page.small/replay"))).json() as Page;
    expect(page.events.map((e) => e.data.n)).toEqual([0]);
    expect(page.nextFrom).toBe(page.events[0]!.sequence + 1);
  });

  it("replays history in order, JSON payloads parsed", async () => {
    for (const n of [1, 2]) await send("/events/replay.http", { method: "POST", body: JSON.stringify({ n }), headers: { "content-type": "application/json" } });
    const res = await send("/events/replay.>/replay");
    const { events } = await res.json() as { events: Array<{ topic: string; data: unknown }> };
    expect(events.map((e) => [e.topic, e.data])).toEqual([["replay.http", { n: 1 }], ["replay.http", { n: 2 }]]);
  });

  it("leaves no consumer on the server after a replay, whether it read all, part or nothing", async () => {
    const jsm = await jetstreamManager(conn.nc);
    const consumers = async () => (await jsm.consumers.list("MICRO_EVENTS").next()).map((ci) => ci.name).sort();
    const before = await consumers();
    for (const query of ["", "?limit=1", "?from=999999"]) expect((await send(`/events/replay.>/replay${query}`)).status).toBe(200);
    expect(await consumers()).toEqual(before);
  });

  it("streams live events as server-sent events until the client leaves", async () => {
    const controller = new AbortController();
    const res = await send("/events/live.>/stream", { signal: controller.signal });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    await Bun.sleep(200); // the subscription is made when the stream starts
    await send("/events/live.news", { method: "POST", body: '{"headline":"hi"}', headers: { "content-type": "application/json" } });
    let text = "";
    const end = performance.now() + 5000;
    while (!text.includes("headline") && performance.now() < end) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain("event: live.news");
    expect(text).toContain('"headline":"hi"');
    const jsm = await jetstreamManager(conn.nc);
    const gatewayConsumers = async () => (await jsm.consumers.list("MICRO_EVENTS").next()).filter((ci) => ci.name.startsWith("gateway_")).length;
    expect(await gatewayConsumers()).toBe(1);
    await reader.cancel(); // what the HTTP server does when the client disconnects
    controller.abort();
    const gone = performance.now() + 3000;
    while ((await gatewayConsumers()) > 0 && performance.now() < gone) await Bun.sleep(50);
    expect(await gatewayConsumers()).toBe(0); // the client left: its consumer is removed
  });

  it("streams over real HTTP, and removes the consumer when the client disconnects", async () => {
    const gateway = await startTestGateway({ transport: conn.transport, broker });
    const jsm = await jetstreamManager(conn.nc);
    const gatewayConsumers = async () => (await jsm.consumers.list("MICRO_EVENTS").next()).filter((ci) => ci.name.startsWith("gateway_")).length;
    try {
      const before = await gatewayConsumers();
      const controller = new AbortController();
      const res = await fetch(`${gateway.url}/events/wire.>/stream`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value); // ": subscribed": the subscription is live
      await send("/events/wire.news", { method: "POST", body: '{"over":"http"}', headers: { "content-type": "application/json" } });
      for (const end = performance.now() + 5000; !text.includes("over") && performance.now() < end;) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toContain('"data":{"over":"http"}');
      expect(await gatewayConsumers()).toBe(before + 1);
      controller.abort(); // the client goes away
      for (const end = performance.now() + 3000; (await gatewayConsumers()) > before && performance.now() < end;) await Bun.sleep(50);
      expect(await gatewayConsumers()).toBe(before);
    } finally {
      await gateway.close();
    }
  });

  it("keeps at most maxEventStreams live streams open, each a consumer; one more is 429, and a slot frees when a client leaves", async () => {
    // The sidecar it mounts shares the bound: its streams are consumers too.
    const registry = await createNatsRegistry(conn.nc);
    const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
    const gateway = await startTestGateway({ transport: conn.transport, broker, sidecar, maxEventStreams: 2 });
    const jsm = await jetstreamManager(conn.nc);
    const gatewayConsumers = async () => (await jsm.consumers.list("MICRO_EVENTS").next()).filter((ci) => ci.name.startsWith("gateway_")).length;
    const controllers: AbortController[] = [];
    const open = async (path = "/events/capped.>/stream") => {
      const controller = new AbortController();
      const res = await fetch(`${gateway.url}${path}`, { signal: controller.signal });
      if (res.status === 200) {
        controllers.push(controller);
        await res.body!.getReader().read(); // ": subscribed"
      }
      return res;
    };
    try {
      const before = await gatewayConsumers();
      expect((await open()).status).toBe(200);
      expect((await open("/sidecar/events/capped.>/stream")).status).toBe(200);
      expect((await open("/sidecar/events/capped.>/stream")).status).toBe(429);
      const refused = await open();
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual(expect.objectContaining({ code: "resource_exhausted", detail: "2 live event streams are open, the most (MICRO_GATEWAY_MAX_EVENT_STREAMS); retry later" }));
      expect(await gatewayConsumers()).toBe(before + 1);
      controllers.shift()!.abort(); // one client leaves
      expect((await openedOnceFreed(() => open())).status).toBe(200);
    } finally {
      for (const c of controllers) c.abort();
      await gateway.close();
      await sidecar.close();
      await registry.close();
    }
  });

  it("keeps at most maxEventStreamsPerIdentity live streams for one identity, so one key cannot take every slot", async () => {
    const auth = { apiKeys: { "key-a": "a", "key-b": "b" }, allow: { "*": ["events/capped.*"] } };
    const gateway = await startTestGateway({ transport: conn.transport, broker, auth, maxEventStreams: 10, maxEventStreamsPerIdentity: 2 });
    const controllers: AbortController[] = [];
    const open = async (key: string) => {
      const controller = new AbortController();
      const res = await fetch(`${gateway.url}/events/capped.x/stream`, { signal: controller.signal, headers: { "x-api-key": key } });
      if (res.status === 200) {
        controllers.push(controller);
        await res.body!.getReader().read(); // ": subscribed"
      }
      return res;
    };
    try {
      expect((await open("key-a")).status).toBe(200);
      expect((await open("key-a")).status).toBe(200);
      const refused = await open("key-a");
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { detail: string }).detail).toContain("MICRO_GATEWAY_MAX_EVENT_STREAMS_PER_IDENTITY");
      // Another identity still gets its streams.
      expect((await open("key-b")).status).toBe(200);
      // One of a's streams ends: a may open another.
      controllers.shift()!.abort();
      expect((await openedOnceFreed(() => open("key-a"))).status).toBe(200);
    } finally {
      for (const c of controllers) c.abort();
      await gateway.close();
    }
  });

  it("removes the stream's consumer when the client leaves before the subscription is made", async () => {
    const jsm = await jetstreamManager(conn.nc);
    const gatewayConsumers = async () => (await jsm.consumers.list("MICRO_EVENTS").next()).filter((ci) => ci.name.startsWith("gateway_")).length;
    const before = await gatewayConsumers();
    for (let i = 0; i < 3; i++) {
      const res = await send("/events/early.>/stream");
      await res.body!.cancel(); // the client is gone while the gateway is still subscribing
    }
    const end = performance.now() + 3000;
    while ((await gatewayConsumers()) > before && performance.now() < end) await Bun.sleep(50);
    expect(await gatewayConsumers()).toBe(before);
  });

  it("gives the audit history call the gateway's timeout, not a fixed one", async () => {
    // An audit service that never answers, in a namespace of its own.
    const silent = conn.nc.subscribe("quiet.srv.audit.Audit.History", { callback: () => undefined });
    const quick = createGateway({ transport: conn.transport, broker, namespace: "quiet", timeoutMs: 300 });
    try {
      const res = await quick.fetch(new Request("http://gw/history/u1"));
      const error = await res.json() as { code: string; detail: string };
      expect([res.status, error.code]).toEqual([504, "deadline_exceeded"]);
      expect(error.detail).not.toContain("no answer within 1300 ms"); // the gateway's safety net, not the call's deadline
    } finally {
      silent.unsubscribe();
    }
  });

  it("returns a user's audit history", async () => {
    const end = performance.now() + 5000;
    let body: { events: Array<{ topic: string; user: string }> } = { events: [] };
    while (body.events.length === 0 && performance.now() < end) {
      body = await (await send("/history/u1")).json() as typeof body;
      await Bun.sleep(50);
    }
    expect(body.events.map((e) => [e.topic, e.user])).toEqual([["customer.login", "u1"]]);
    // The path rule still reaches Audit.History by GET.
    const byPath = await send("/audit/history", { method: "POST", body: '{"user":"u1"}', headers: { "content-type": "application/json" } });
    expect(((await byPath.json()) as { events: unknown[] }).events).toHaveLength(1);
  });

  it("returns history in the shape of a replay: parsed data, numeric times", async () => {
    const history = await eventually(async () => (await (await send("/history/u1")).json()) as { events: Array<Record<string, unknown>> }, (b) => b.events.length > 0);
    const replay = (await (await send("/events/customer.login/replay")).json()) as { events: Array<Record<string, unknown>> };
    const { sequence: _, ...replayed } = replay.events.find((e) => e.id === "http-1")!;
    expect(history.events).toEqual([replayed]);
    expect(typeof history.events[0]!.time).toBe("number");
    expect(history.events[0]!.data).toEqual({ id: 1 });
  });

  it("takes since=2h (a duration ago) or an ISO time over HTTP as the CLI does", async () => {
    for (const since of ["2h", new Date(Date.now() - 3_600_000).toISOString()]) {
      const history = (await (await send(`/history/u1?since=${since}`)).json()) as { events: unknown[] };
      expect(history.events).toHaveLength(1);
      const replay = await send(`/events/customer.login/replay?since=${since}`);
      expect(replay.status).toBe(200);
      expect(((await replay.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0);
    }
    // In the future: nothing yet.
    expect(((await (await send(`/history/u1?since=${Date.now() + 3_600_000}`)).json()) as { events: unknown[] }).events).toHaveLength(0);
    const bad = await send("/history/u1?since=yesterday");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toContain("since");
  });
});

/** Opens a stream again until it is let in (a left client's slot frees once the gateway sees it go), for up to 3 s. */
async function openedOnceFreed(open: () => Promise<Response>): Promise<Response> {
  let res = await open();
  for (const end = performance.now() + 3000; res.status !== 200 && performance.now() < end;) {
    await Bun.sleep(50);
    res = await open();
  }
  return res;
}
