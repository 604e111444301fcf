import { beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { connect as tcpConnect } from "node:net";
import { createJetStreamBroker, type JetStreamBroker, platformUpgradeWebSocket, type Registry } from "../../runtime/mod.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { createSidecar } from "../../gateway/sidecar/mod.ts";
import greeter from "../../services/greeter.ts";
import hello from "../../services/hello.ts";
import counter from "../../services/counter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { withNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { eventually } from "../support/wait.ts";

const { conn, teardown } = withNats();
const gatewayTimeoutMs = 2000;
let registry: Registry;
let broker: JetStreamBroker;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  broker = await createJetStreamBroker(conn.nc);
  for (const d of [greeter, hello, counter]) {
    const instance = await startRegistered(d, conn, registry);
    teardown(() => instance.stop());
  }
  const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
  teardown(() => sidecar.close());
  gateway = await startTestGateway({
    transport: conn.transport, registry, broker, sidecar, timeoutMs: gatewayTimeoutMs, upgradeWebSocket: await platformUpgradeWebSocket(),
  });
  teardown(() => gateway.close());
  await eventually(() => normalCall(), (status) => status === 200);
});

const normalCall = async () =>
  (await fetch(`${gateway.url}/greeter/say-hello`, { method: "POST", body: '{"name":"Ada"}', headers: { "content-type": "application/json" } })).status;

/** One request; its status and body, or "hang" when no answer came within the gateway's timeout and a margin. */
async function send(path: string, init: RequestInit = {}): Promise<{ status: number | "hang"; body: string }> {
  const signal = AbortSignal.timeout(gatewayTimeoutMs + 3000);
  try {
    const res = await fetch(`${gateway.url}${path}`, { ...init, signal });
    // Streams answer at once and then stay open: their status is the answer.
    const streaming = res.headers.get("content-type")?.startsWith("text/event-stream");
    const body = streaming ? "" : await res.text();
    if (streaming) await res.body?.cancel();
    return { status: res.status, body };
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return { status: "hang", body: "" };
    throw error;
  }
}

/**
 * A 5xx is allowed only as a real service's "unimplemented" (a method it does not have), or as
 * the 504 of a deadline the request itself set under a second (`X-Micro-Timeout: 9` is a valid
 * request that a 200 KB body cannot meet).
 */
function unexpected(result: { status: number | "hang"; body: string }, headers: Record<string, string>): boolean {
  if (result.status === "hang") return true;
  if (result.status < 500) return false;
  if (result.status === 501 && result.body.includes('"unimplemented"')) return false;
  const asked = [headers["x-micro-timeout"], headers["connect-timeout-ms"]].filter((v) => v !== undefined && /^[0-9]{1,10}$/.test(v)).map(Number);
  return !(result.status === 504 && result.body.includes('"deadline_exceeded"') && asked.some((ms) => ms > 0 && ms < 1000));
}

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"n":"\xff\xfe"}

// Pieces attackers put in names: subject wildcards and system prefixes, separators, encodings, long runs.
const hostileToken = fc.oneof(
  fc.constantFrom("$JS", "$SRV", "$KV", "_INBOX", "*", ">", "..", ".", "%2e", "%00", "%ff", "%2F", "a.b", "events", "dlq", "node", "v1", "web", "sidecar", "history", "ws", "rpc", "greeter", "say-hello", "Greeter.SayHello", "\u202e", "𝕏", " "),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.nat({ max: 400 }).map((n) => "a".repeat(n)),
);
const encode = (s: string) => (/%[0-9a-fA-F]{2}/.test(s) ? s : encodeURIComponent(s));
const hostilePath = fc.array(hostileToken, { minLength: 1, maxLength: 6 }).map((parts) => `/${parts.map(encode).join("/")}`);
const routePrefix = fc.constantFrom("", "/rpc", "/events", "/history", "/sidecar", "/sidecar/registry", "/sidecar/events", "/ws", "/web", "/v1", "/greeter.v1.Greeter", "/connect.Foo");
// Real routes, so hostile headers, bodies and queries reach services, events and the sidecar too.
const realPath = fc.constantFrom(
  "/greeter/say-hello", "/hello", "/rpc", "/events/orders.created", "/events/orders.*/replay", "/events/orders.>/replay",
  "/history/bob", "/sidecar/rpc", "/sidecar/events/orders.created", "/sidecar/registry", "/sidecar/hosted", "/health",
  "/greeter.v1.Greeter/SayHello", "/v1/greeter/say-hello", "/ws/counter/Counter.Echo", "/web/shop/", "/",
);
const hostileBody = fc.oneof(
  fc.constant(undefined),
  fc.constant(deep(100_000)),
  fc.constant(invalidUtf8),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 64 }),
  fc.record({ service: hostileToken, endpoint: hostileToken, namespace: fc.oneof(fc.constant(5), hostileToken, fc.constant(null)), request: fc.oneof(fc.json({ maxDepth: 2 }), fc.constant(deep(5000))) }).map((o) => JSON.stringify(o)),
);
const hostileNumber = fc.oneof(fc.constantFrom("18446744073709551616", "1e300", "-1", "NaN", "0x10", "", "9007199254740993", "1.5", "Infinity"), fc.string({ maxLength: 8 }));
const hostileHeaders = fc.record({
  "content-type": fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/proto", "application/connect+json", ""),
  "x-micro-timeout": hostileNumber,
  "x-micro-user": fc.oneof(fc.string({ maxLength: 20 }), fc.nat({ max: 300 }).map((n) => "u".repeat(n))),
  "x-micro-source": fc.constantFrom("gateway:admin", "sidecar", "x"),
  "x-event-id": fc.string({ maxLength: 20 }),
  "x-micro-meta-identity": fc.constantFrom("root", "admin"),
  "connect-timeout-ms": hostileNumber,
}, { requiredKeys: [] });
const cleanHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v) && v !== ""));

describe("hostile input at the gateway", () => {
  it("never answers 5xx or hangs on random paths, methods, headers, bodies and query values of every route family", async () => {
    const failures: string[] = [];
    const statuses = new Map<number | "hang", number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.tuple(routePrefix, hostilePath).map(([prefix, path]) => `${prefix}${path}`), realPath), fc.constantFrom("GET", "POST", "PUT", "DELETE"), hostileBody, hostileHeaders,
        fc.record({ from: hostileNumber, limit: hostileNumber, since: hostileNumber, topics: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }),
        async (path, method, body, headers, query) => {
          const search = new URLSearchParams(query as Record<string, string>).toString();
          const url = `${path}${search ? `?${search}` : ""}`;
          const withBody = method !== "GET" && body !== undefined;
          const sent = cleanHeaders(headers as Record<string, string>);
          const result = await send(url, { method, headers: sent, ...(withBody ? { body: body as BodyInit } : {}) });
          statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
          if (unexpected(result, sent)) failures.push(`${method} ${url.slice(0, 120)} → ${result.status} ${result.body.slice(0, 160)}`);
        },
      ),
      { numRuns: 250, seed: 14, endOnFailure: true },
    );
    expect(failures).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(250);
    // Not all refused at the door: some requests got through to services and events.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(conn.nc.isClosed()).toBe(false);
    expect((await send("/health")).status).toBe(200);
    expect(await normalCall()).toBe(200);
  }, 120_000);

  it("answers each known attack with the 4xx it deserves, and keeps working", async () => {
    const json = { "content-type": "application/json" };
    const cases: Array<[string, RequestInit, number]> = [
      ["/rpc", { method: "POST", headers: json, body: `{"service":"greeter","endpoint":"Greeter.SayHello","request":${deep(100_000)}}` }, 400],
      ["/greeter/say-hello", { method: "POST", headers: json, body: deep(100_000) }, 400],
      ["/sidecar/rpc", { method: "POST", headers: json, body: deep(100_000) }, 400],
      ["/sidecar/events/orders.deep", { method: "POST", headers: json, body: deep(100_000) }, 400],
      ["/events/orders.deep", { method: "POST", headers: json, body: deep(100_000) }, 400],
      ["/events/a/replay?from=18446744073709551616", {}, 400],
      ["/events/a/replay?from=1e300", {}, 400],
      ["/events/a/replay?since=9007199254740993", {}, 400],
      ["/rpc", { method: "POST", headers: json, body: '{"service":"greeter","endpoint":"Greeter.SayHello","namespace":5}' }, 400],
      ["/rpc", { method: "POST", headers: json, body: '{"service":"greeter","endpoint":"Greeter.SayHello","request":5}' }, 400],
      ["/greeter/say-hello", { method: "POST", headers: json, body: invalidUtf8 }, 400],
      ["/events/orders.utf8", { method: "POST", headers: json, body: invalidUtf8 }, 400],
      ["/rpc", { method: "POST", headers: { "content-type": "text/plain" }, body: '{"service":"greeter","endpoint":"Greeter.SayHello"}' }, 415],
      ["/greeter/say-hello", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: '{"name":"x"}' }, 415],
      ["/greeter/say-hello", { method: "POST", body: new Blob(['{"name":"x"}']) }, 415],
      ["/sidecar/registry", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }, 415],
      ["/events/audit.user.bob.login", { method: "POST", headers: json, body: "{}" }, 403],
      ["/sidecar/events/audit.user.bob.login", { method: "POST", headers: json, body: "{}" }, 403],
      ["/sidecar/events/orders.x", { method: "POST", headers: { ...json, "x-micro-source": "gateway:admin" }, body: "{}" }, 400],
      ["/greeter/say-hello", { method: "POST", headers: { ...json, "x-many": "a".repeat(9000) }, body: "{}" }, 431],
    ];
    const got: Array<[string, number | "hang"]> = [];
    for (const [path, init] of cases) got.push([path, (await send(path, init)).status]);
    expect(got).toEqual(cases.map(([path, , status]) => [path, status]));
    expect(conn.nc.isClosed()).toBe(false);
    expect(await normalCall()).toBe(200);
  }, 60_000);

  it("refuses too many headers with 431", async () => {
    const headers = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-h-${i}`, "v"]));
    expect((await send("/greeter/say-hello", { headers })).status).toBe(431);
  });

  it("refuses two different Content-Length headers", async () => {
    const { port } = new URL(gateway.url);
    const reply = await rawRequest(Number(port), "POST /greeter/say-hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{}");
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(await normalCall()).toBe(200);
  });

  it("refuses two Host headers, which a proxy in front could read differently", async () => {
    const { port } = new URL(gateway.url);
    const reply = await rawRequest(Number(port), "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toContain("more than one Host header");
    expect(await normalCall()).toBe(200);
  });

  it("reports an event it cannot render inline in replay and live streams, and goes on to the next", async () => {
    const stream = await fetch(`${gateway.url}/events/poison.*/stream`);
    const reader = stream.body!.getReader();
    const read = readText(reader);
    await read.until((text) => text.includes(": subscribed"));
    // Published past the gateway, as any service could: 100,000-deep JSON, then a normal event.
    await broker.publish("poison.deep", new TextEncoder().encode(deep(100_000)), { contentType: "application/json" });
    await broker.publish("poison.next", new TextEncoder().encode('{"ok":true}'), { contentType: "application/json" });
    const text = await read.until((t) => t.includes("poison.next"));
    expect(text).toContain("nested more than 64 levels deep");
    await reader.cancel();
    const replay = await send("/events/poison.*/replay");
    expect(replay.status).toBe(200);
    const { events } = JSON.parse(replay.body) as { events: Array<{ topic: string; data?: unknown; error?: { code: string } }> };
    expect(events.map((e) => [e.topic, e.error?.code, e.data])).toEqual([["poison.deep", "data_loss", undefined], ["poison.next", undefined, { ok: true }]]);
  });

  it("answers a WebSocket frame too deep to handle with an error frame", async () => {
    const ws = new WebSocket(`${gateway.url.replace("http", "ws")}/ws/counter/Counter.Echo`);
    const frames: string[] = [];
    ws.onmessage = (e) => frames.push(String(e.data));
    await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
    ws.send(`{"message":${deep(100_000)}}`);
    const closed = new Promise((resolve) => (ws.onclose = resolve));
    await closed;
    expect(frames.map((f) => JSON.parse(f).error?.code)).toEqual(["invalid_argument"]);
    expect(await normalCall()).toBe(200);
  });
});

/** Collects a stream's text; `until` resolves once it satisfies a condition. */
function readText(reader: ReadableStreamDefaultReader<Uint8Array>) {
  const decoder = new TextDecoder();
  let text = "";
  return {
    async until(done: (text: string) => boolean): Promise<string> {
      while (!done(text)) {
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error(`the stream ended before the condition held: ${text.slice(-300)}`);
        text += decoder.decode(value, { stream: true });
      }
      return text;
    },
  };
}

/** Sends raw bytes to 127.0.0.1:port and resolves with everything read until the server closes. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1", () => socket.write(request));
    let reply = "";
    socket.on("data", (chunk) => (reply += chunk.toString("latin1")));
    socket.on("end", () => resolve(reply));
    socket.on("close", () => resolve(reply));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer within 5 s")));
  });
}
