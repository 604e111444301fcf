/**
 * Hostile input on the gateway's long-lived routes: WebSocket streams (frames after the upgrade),
 * Connect streams (envelopes), path streams (SSE and NDJSON), event replay and live event streams
 * (the gateway's and the sidecar's). Seeded properties and known attacks; after each, nothing
 * may be left behind: no running handler, no NATS subscription, no JetStream consumer (seen
 * from the server's monitoring and a separate connection), the shared connection open, and
 * `/health` and a normal call still answering.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { connect as tcpConnect, createServer, type Socket } from "node:net";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { createGateway, type GatewayOptions } from "../../gateway/app.ts";
import { createSidecar } from "../../gateway/sidecar/mod.ts";
import { maxQueuedBytes } from "../../gateway/stream-socket.ts";
import { createJetStreamBroker, type JetStreamBroker, platformUpgradeWebSocket, type Registry, type ServiceInstance } from "../../runtime/mod.ts";
import { serveHttp } from "../../runtime/platform/http-server.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import counter from "../../services/counter.ts";
import greeter from "../../services/greeter.ts";
import hello from "../../services/hello.ts";
import { startTestGateway } from "../support/gateway.ts";
import { withNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { eventually } from "../support/wait.ts";

let monitorPort = 0;
const { nats, conn, teardown } = withNats({ args: async () => ["-m", String((monitorPort = await freePort()))] });
const gatewayTimeoutMs = 2000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let registry: Registry;
let broker: JetStreamBroker;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
/** The same gateway served with a 1 s idle cut-off, to see which streams it cuts. */
let shortIdle: string;
let jsm: JetStreamManager;
const instances: ServiceInstance[] = [];
/** Subscriptions on the server once everything is up and idle. */
let baseSubscriptions = 0;

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  broker = await createJetStreamBroker(conn.nc);
  for (const d of [greeter, hello, counter]) {
    const instance = await startRegistered(d, conn, registry);
    instances.push(instance);
    teardown(() => instance.stop());
  }
  const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
  teardown(() => sidecar.close());
  const options: GatewayOptions = { transport: conn.transport, registry, broker, sidecar, timeoutMs: gatewayTimeoutMs, upgradeWebSocket: await platformUpgradeWebSocket() };
  gateway = await startTestGateway(options);
  teardown(() => gateway.close());
  const idle = await serveHttp(createGateway(options).fetch, { port: 0, idleTimeoutSeconds: 1 });
  shortIdle = `http://127.0.0.1:${idle.port}`;
  teardown(() => idle.close());
  // A connection of its own, to look at the consumers as an operator would.
  const watcher = await natsConnect({ servers: nats.url });
  teardown(() => watcher.close());
  jsm = await jetstreamManager(watcher);
  await eventually(() => normalCall(), (status) => status === 200, { what: "the gateway to reach greeter" });
  await eventually(() => fetch(`${gateway.url}/counter/count`, { method: "POST", body: '{"to":1}', headers: { "content-type": "application/json" } }).then((r) => r.headers.get("content-type")), (t) => t === "application/x-ndjson", { what: "the gateway's index to know Counter.Count streams" });
  baseSubscriptions = await eventually(() => subscriptions(), (n) => n > 0);
}, 30_000);

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const json = { "content-type": "application/json" };
const normalCall = async () => (await fetch(`${gateway.url}/greeter/say-hello`, { method: "POST", body: '{"name":"Ada"}', headers: json })).status;

/** Every subscription the NATS server holds (services, gateway, watcher), from its monitoring. */
async function subscriptions(): Promise<number> {
  const connz = await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json() as { connections: Array<{ subscriptions: number }> };
  return connz.connections.reduce((sum, c) => sum + c.subscriptions, 0);
}

async function consumerNames(): Promise<string[]> {
  // A consumer deleted while the list is made is listed as null.
  return (await jsm.consumers.list("MICRO_EVENTS").next()).flatMap((c) => (c === null ? [] : [c.name]));
}

const running = () => instances.reduce((sum, i) => sum + i.stats().running + i.stats().mailboxDepth, 0);

/** Waits until every stream is gone (no handler, subscription or consumer left), then checks the gateway still serves. */
async function settled(what: string): Promise<void> {
  const state = async () => ({ running: running(), subscriptions: await subscriptions(), consumers: await consumerNames() });
  await eventually(state, (s) => s.running === 0 && s.subscriptions === baseSubscriptions && s.consumers.length === 0, {
    what: `nothing left behind after ${what} (base: ${baseSubscriptions} subscriptions)`,
    timeoutMs: 8000,
    intervalMs: 50,
  });
  expect(conn.nc.isClosed()).toBe(false);
  expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  expect(await normalCall()).toBe(200);
}

/** Codes a hostile stream may end with; `internal` and `unknown` would be the gateway's own failure. */
const refusals = new Set(["invalid_argument", "resource_exhausted", "not_found", "unimplemented", "failed_precondition", "canceled", "deadline_exceeded", "out_of_range"]);

// ---------------------------------------------------------------------------------------------
// A WebSocket client on a raw TCP socket: any frame, any opcode, half-closes, and a reader that stops.

function wsFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const mask = [0x37, 0xfa, 0x21, 0x3d];
  const n = payload.length;
  const head = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 255] : [127, 0, 0, 0, 0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const out = new Uint8Array(2 + head.length - 1 + 4 + n);
  out.set([(fin ? 0x80 : 0) | opcode, 0x80 | head[0]!, ...head.slice(1), ...mask]);
  const at = 1 + head.length + 4;
  for (let i = 0; i < n; i++) out[at + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}
const textFrame = (text: string) => wsFrame(1, encoder.encode(text));

interface RawSocket {
  readonly socket: Socket;
  /** Text frames the gateway sent, in order. */
  readonly texts: string[];
  /** Opcodes of other frames the gateway sent (close is 8). */
  readonly others: number[];
  closed(): boolean;
}

async function rawWebSocket(base: string, path: string): Promise<RawSocket> {
  const socket = tcpConnect(Number(new URL(base).port), "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.on("error", () => undefined);
  const texts: string[] = [];
  const others: number[] = [];
  let closed = false;
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  socket.on("close", () => (closed = true));
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      upgraded = buffer.subarray(0, end).toString("latin1").startsWith("HTTP/1.1 101");
      buffer = buffer.subarray(end + 4);
    }
    for (;;) {
      if (buffer.length < 2) return;
      let length = buffer[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + length) return;
      const opcode = buffer[0]! & 0x0f;
      const payload = buffer.subarray(at, at + length);
      if (opcode === 1) texts.push(payload.toString("utf8"));
      else others.push(opcode);
      buffer = buffer.subarray(at + length);
    }
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await eventually(() => upgraded || closed, Boolean, { what: `the upgrade of ${path}`, timeoutMs: 5000 });
  expect(upgraded).toBe(true);
  return { socket, texts, others, closed: () => closed };
}

/** What a frame the gateway sends must look like; the reason it does not, else undefined. */
function badGatewayFrame(text: string): string | undefined {
  let frame: { message?: unknown; end?: unknown; error?: { code?: unknown; message?: unknown } };
  try {
    frame = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 80)}`;
  }
  const keys = Object.keys(frame).join(",");
  if (keys === "message" && typeof frame.message === "object") return undefined;
  if (keys === "end" && frame.end === true) return undefined;
  if (keys === "error" && typeof frame.error?.message === "string" && refusals.has(String(frame.error?.code))) return undefined;
  return `unexpected frame ${text.slice(0, 160)}`;
}

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);

type Endpoint = "Echo" | "Sum" | "Count";
const messageFor = (endpoint: Endpoint, n: number): Record<string, unknown> =>
  endpoint === "Echo" ? { text: `t${n}` } : endpoint === "Sum" ? { value: n - 3 } : { to: n % 4 };

/** What the service answers to `messages` sent and ended cleanly, as the gateway's frames. */
function expectedFrames(endpoint: Endpoint | "nobody", messages: Record<string, unknown>[]): unknown[] {
  if (endpoint === "nobody") return [{ error: { code: "not_found", message: "no service nobody serves Nobody.Watch" } }];
  if (endpoint === "Echo") return [...messages.map((m, i) => ({ message: { ...(m.text === "" ? {} : { text: m.text }), seq: i + 1 } })), { end: true }];
  if (endpoint === "Sum") {
    const sum = messages.reduce((s, m) => s + (m.value as number), 0);
    return [{ message: { ...(sum === 0 ? {} : { sum }), ...(messages.length === 0 ? {} : { count: messages.length }) } }, { end: true }];
  }
  if (messages.length === 0) return [{ error: { code: "invalid_argument", message: "Counter.Count needs one request message before the client ends its side" } }];
  const to = messages[0]!.to as number;
  return [...Array.from({ length: to }, (_, i) => ({ message: { n: i + 1 } })), { end: true }];
}

const endpointArb = fc.constantFrom<Endpoint | "nobody">("Echo", "Sum", "Count", "Echo", "Sum", "Count", "nobody");
const wsPath = (endpoint: Endpoint | "nobody") => (endpoint === "nobody" ? "/ws/nobody/Nobody.Watch" : `/ws/counter/Counter.${endpoint}`);

// Frames an attacker sends after the upgrade.
type HostileFrame =
  | { kind: "message"; n: number; binary: boolean }
  | { kind: "message+end"; n: number }
  | { kind: "end" }
  | { kind: "raw"; opcode: number; bytes: Uint8Array; label: string }
  | { kind: "burst"; count: number };
const hostileFrame: fc.Arbitrary<HostileFrame> = fc.oneof(
  fc.record({ kind: fc.constant("message" as const), n: fc.nat({ max: 9 }), binary: fc.boolean() }),
  fc.record({ kind: fc.constant("message+end" as const), n: fc.nat({ max: 9 }) }),
  fc.constant({ kind: "end" as const }),
  fc.constantFrom<[number, string | Uint8Array, string]>(
    [2, new Uint8Array([0x7b, 0x22, 0x6d, 0x22, 0x3a, 0xff, 0xfe, 0x7d]), "binary, not UTF-8"],
    [1, `{"message":${deep(100_000)}}`, "100,000 deep"],
    [1, `{"message":{"text":"${"a".repeat(2 * 1024 * 1024)}"}}`, "a 2 MiB message (over the NATS max payload)"],
    [1, "5", "a number"], [1, "null", "null"], [1, "[]", "an array"], [1, '"x"', "a string"], [1, "{}", "an empty object"],
    [1, '{"message":5}', "a number message"], [1, '{"message":[]}', "an array message"], [1, '{"message":{"text":5,"value":"x","to":"y"}}', "wrongly typed fields"],
    [1, '{"message":{"nope":1}}', "an unknown field"], [1, '{"end":false}', "end false"], [1, "{nope", "bad JSON"], [1, "", "empty"],
    [2, new Uint8Array(0), "empty binary"], [9, new Uint8Array(0), "a ping"], [10, new Uint8Array(3), "an unasked pong"],
  ).map(([opcode, body, label]) => ({ kind: "raw" as const, opcode, bytes: typeof body === "string" ? encoder.encode(body) : body, label })),
  fc.record({ kind: fc.constant("burst" as const), count: fc.constantFrom(300, 1500, 3000) }),
);
type Ending = "end-and-read" | "close" | "destroy" | "half-close" | "stop-reading";
const endingArb = fc.constantFrom<Ending>("end-and-read", "close", "destroy", "half-close", "stop-reading");

function describeFrame(f: HostileFrame): string {
  return f.kind === "raw" ? f.label : f.kind === "burst" ? `burst of ${f.count}` : f.kind === "end" ? "end" : `${f.kind}(${f.n}${"binary" in f && f.binary ? ", binary" : ""})`;
}

async function endSocket(s: RawSocket, ending: Ending, sendEnd: () => void): Promise<void> {
  if (ending === "end-and-read") {
    sendEnd();
    // The gateway must end the stream (an end or error frame, then close) by itself.
    await eventually(() => s.closed(), Boolean, { what: "the gateway to close the socket after the client ended", timeoutMs: gatewayTimeoutMs + 5000 });
  } else if (ending === "close") {
    s.socket.write(wsFrame(8, new Uint8Array([0x03, 0xe8])));
    await Bun.sleep(20);
  } else if (ending === "half-close") {
    s.socket.end();
    await Bun.sleep(20);
  } else if (ending === "stop-reading") {
    s.socket.pause();
    await Bun.sleep(100);
  }
  s.socket.destroy();
}

describe("WebSocket streams under hostile frames", () => {
  it("answers clean frame sequences exactly, a message sent with its end included", async () => {
    await fc.assert(
      fc.asyncProperty(endpointArb, fc.array(fc.tuple(fc.nat({ max: 9 }), fc.constantFrom("text", "binary", "with-end")), { maxLength: 6 }), async (endpoint, sequence) => {
        const s = await rawWebSocket(gateway.url, wsPath(endpoint));
        const sent: Record<string, unknown>[] = [];
        let ended = false;
        for (const [n, how] of sequence) {
          const message = messageFor(endpoint === "nobody" ? "Echo" : endpoint, n);
          sent.push(message);
          const body = JSON.stringify({ message, ...(how === "with-end" ? { end: true } : {}) });
          s.socket.write(how === "binary" ? wsFrame(2, encoder.encode(body)) : textFrame(body));
          if (how === "with-end") {
            ended = true;
            break;
          }
        }
        if (!ended) s.socket.write(textFrame('{"end":true}'));
        await eventually(() => s.closed(), Boolean, { what: `the gateway to close ${wsPath(endpoint)} after the end`, timeoutMs: 5000 });
        expect(s.texts.map((t) => JSON.parse(t))).toEqual(expectedFrames(endpoint, sent));
        s.socket.destroy();
      }),
      { numRuns: 30, seed: 4101 },
    );
    await settled("clean WebSocket streams");
  }, 60_000);

  it("never sends anything but messages, an end or a refusal, never hangs, and leaves nothing behind", async () => {
    const failures: string[] = [];
    let runs = 0;
    const outcome = await fc.check(
      fc.asyncProperty(endpointArb, fc.array(hostileFrame, { minLength: 1, maxLength: 6 }), endingArb, async (endpoint, frames, ending) => {
        runs++;
        const label = `${wsPath(endpoint)} [${frames.map(describeFrame).join(", ")}] then ${ending}`;
        const s = await rawWebSocket(gateway.url, wsPath(endpoint));
        const target = endpoint === "nobody" ? "Echo" : endpoint;
        for (const f of frames) {
          if (s.closed()) break;
          if (f.kind === "message") s.socket.write((f.binary ? (b: Uint8Array) => wsFrame(2, b) : (b: Uint8Array) => wsFrame(1, b))(encoder.encode(JSON.stringify({ message: messageFor(target, f.n) }))));
          else if (f.kind === "message+end") s.socket.write(textFrame(JSON.stringify({ message: messageFor(target, f.n), end: true })));
          else if (f.kind === "end") s.socket.write(textFrame('{"end":true}'));
          else if (f.kind === "raw") s.socket.write(wsFrame(f.opcode, f.bytes));
          else s.socket.write(Buffer.concat(Array.from({ length: f.count }, (_, i) => textFrame(JSON.stringify({ message: messageFor(target, i) })))));
        }
        try {
          await endSocket(s, ending, () => !s.closed() && s.socket.write(textFrame('{"end":true}')));
        } catch (error) {
          failures.push(`${label}: ${(error as Error).message}`);
          s.socket.destroy();
        }
        for (const text of s.texts) {
          const bad = badGatewayFrame(text);
          if (bad !== undefined) failures.push(`${label}: ${bad}`);
        }
        try {
          await settled(label);
        } catch (error) {
          failures.push(`${label}: ${(error as Error).message}`);
        }
        // The first failure ends the run: what it left behind would fail every run after it.
        return failures.length === 0;
      }),
      { numRuns: 45, seed: 4102, endOnFailure: true },
    );
    expect(failures).toEqual([]);
    expect(outcome.failed).toBe(false);
    expect(runs).toBe(45);
  }, 120_000);

  it("bounds the requests it holds for a service without credit in bytes, not only in count", async () => {
    // Count reads its one request and then none: after the service's window the gateway holds the rest.
    const s = await rawWebSocket(gateway.url, "/ws/counter/Counter.Count");
    s.socket.write(textFrame('{"message":{"to":1000000,"intervalMs":1000}}'));
    await eventually(() => s.texts.length, (n) => n === 1, { what: "the stream to open and answer" });
    // 1,100 more: the service's window takes 1,024 of them (it never reads them), the gateway holds the rest.
    s.socket.write(Buffer.concat(Array.from({ length: 1100 }, () => textFrame('{"message":{}}'))));
    await Bun.sleep(300);
    // Three 600 KB requests: under the 256-message bound, but more than the gateway should hold.
    const big = textFrame(JSON.stringify({ message: { to: 1, pad: "p".repeat(600 * 1024) } }));
    for (let i = 0; i < 3; i++) s.socket.write(big);
    await eventually(() => s.closed(), Boolean, { what: "the gateway to refuse what it cannot hold", timeoutMs: 5000 });
    expect(s.texts.map((t) => JSON.parse(t))).toEqual([
      { message: { n: 1 } },
      { error: { code: "resource_exhausted", message: `more than ${maxQueuedBytes} bytes of requests are waiting for Counter.Count; wait for answers before sending more` } },
    ]);
    s.socket.destroy();
    await settled("requests over the byte bound");
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// Connect streams: enveloped bodies.

function envelope(data: Uint8Array, flags = 0, length = data.length): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, length);
  out.set(data, 5);
  return out;
}
const concat = (parts: Uint8Array[]): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.concat(parts));

/** The envelopes of a Connect response, or why they are not well formed. */
function responseEnvelopes(body: Uint8Array): { flags: number; text: string }[] | string {
  const out: { flags: number; text: string }[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < body.length;) {
    if (body.length - at < 5) return `truncated envelope at ${at}`;
    const length = view.getUint32(at + 1);
    if (at + 5 + length > body.length) return `envelope at ${at} claims ${length} bytes`;
    out.push({ flags: body[at]!, text: decoder.decode(body.subarray(at + 5, at + 5 + length)) });
    at += 5 + length;
  }
  return out;
}

/** How Connect streams ended in a property: `400`, `ok` (with messages), `empty`, or the error code. */
const connectOutcomes = new Map<string, number>();

/** The reason a Connect stream's response is wrong, else undefined. */
function badConnectResponse(status: number, body: Uint8Array): string | undefined {
  const tally = (outcome: string) => void connectOutcomes.set(outcome, (connectOutcomes.get(outcome) ?? 0) + 1);
  if (status === 400) return void tally("400"); // a bad Connect-Timeout-Ms, refused before the stream
  if (status !== 200) return `status ${status}`;
  const envelopes = responseEnvelopes(body);
  if (typeof envelopes === "string") return envelopes;
  const end = envelopes.at(-1);
  if (end === undefined || end.flags !== 0x02) return "no end-of-stream envelope";
  if (envelopes.slice(0, -1).some((e) => e.flags !== 0)) return "a message envelope with flags";
  const parsed = JSON.parse(end.text) as { error?: { code: string } };
  tally(parsed.error?.code ?? (envelopes.length > 1 ? "ok" : "empty"));
  if (parsed.error !== undefined && !refusals.has(parsed.error.code)) return `ends with ${end.text.slice(0, 200)}`;
  return undefined;
}

const connectMessage = (endpoint: string, proto: boolean, n: number): Uint8Array => {
  if (!proto) return encoder.encode(JSON.stringify(endpoint === "Echo" ? { text: `e${n}` } : endpoint === "Sum" ? { value: n } : { to: n % 5 }));
  // Field 1 as a varint (Sum.value, Count.to) or a string (Echo.text).
  return endpoint === "Echo" ? new Uint8Array([0x0a, 2, 0x65, 0x30 + (n % 10)]) : new Uint8Array([0x08, n % 5]);
};

type EnvelopePart =
  | { kind: "message"; n: number; flags: number; lie: number }
  | { kind: "raw"; bytes: number[] }
  | { kind: "many"; count: number };
const envelopePart: fc.Arbitrary<EnvelopePart> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    kind: fc.constant("message" as const),
    n: fc.nat({ max: 40 }),
    // Mostly well formed, so that streams run and the rest of the body is read.
    flags: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 2, 3, 0x80, 0xff) }),
    lie: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 7, -1, -3, 2 ** 31, 0xffffffff) }),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("raw" as const), bytes: fc.array(fc.nat({ max: 255 }), { maxLength: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("many" as const), count: fc.constantFrom(1100, 2500) }) },
);

function connectBody(endpoint: string, proto: boolean, parts: EnvelopePart[]): Uint8Array<ArrayBuffer> {
  return concat(parts.flatMap((p): Uint8Array[] => {
    if (p.kind === "raw") return [new Uint8Array(p.bytes)];
    if (p.kind === "many") return Array.from({ length: p.count }, (_, i) => envelope(connectMessage(endpoint, proto, i)));
    const data = connectMessage(endpoint, proto, p.n);
    const length = p.lie > 100 ? p.lie : Math.max(0, data.length + p.lie);
    return [envelope(data, p.flags, length)];
  }));
}

describe("Connect streams under hostile envelopes", () => {
  it("answers a body of more requests than the service's window at once (no deadlock, no 504, nothing left)", async () => {
    // Echo answers each request: once its answers fill the gateway's window it reads no more, so
    // a gateway that sends every request before reading any answer waits on it for ever.
    const echo = concat(Array.from({ length: 3000 }, (_, i) => envelope(encoder.encode(JSON.stringify({ text: `m${i}` })))));
    const started = Date.now();
    const response = await fetch(`${gateway.url}/counter.v1.Counter/Echo`, { method: "POST", headers: { "content-type": "application/connect+json" }, body: echo, signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    const envelopes = responseEnvelopes(new Uint8Array(await response.arrayBuffer()));
    expect(typeof envelopes === "string" ? envelopes : [envelopes.length, envelopes.at(-1)]).toEqual([3001, { flags: 2, text: "{}" }]);
    expect(Date.now() - started).toBeLessThan(gatewayTimeoutMs);

    // A server stream reads its one request; the other 1,100 wait for credit it never grants.
    const count = concat([envelope(encoder.encode('{"to":10000000}')), ...Array.from({ length: 1100 }, () => envelope(encoder.encode("{}")))]);
    const leave = new AbortController();
    const timer = setTimeout(() => leave.abort(new Error("no answer")), gatewayTimeoutMs + 1500);
    const stream = await fetch(`${gateway.url}/counter.v1.Counter/Count`, { method: "POST", headers: { "content-type": "application/connect+json" }, body: count, signal: leave.signal });
    clearTimeout(timer);
    expect(stream.status).toBe(200);
    const first = await stream.body!.getReader().read();
    expect(decoder.decode(first.value!.subarray(5, 12))).toBe('{"n":1}');
    // Bun's fetch leaves the connection open on a reader's cancel: the signal closes it.
    leave.abort();
    await settled("Connect streams with more requests than the window");
  }, 30_000);

  it("never answers a 5xx, a malformed response or an internal error, never hangs, and leaves nothing behind", async () => {
    const failures: string[] = [];
    let runs = 0;
    const outcome = await fc.check(
      fc.asyncProperty(
        fc.constantFrom("Echo", "Sum", "Count", "Echo", "Sum", "Count", "Nobody"),
        fc.boolean(),
        fc.array(envelopePart, { maxLength: 5 }),
        fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom("1", "50", "0", "-1", "1e3", "0x10", "99999999999", "abc", "9999999999") }),
        fc.constantFrom("all", "all", "first-chunk", "abort-at-once"),
        async (endpoint, proto, parts, timeout, reading) => {
          runs++;
          const body = connectBody(endpoint, proto, parts);
          const path = endpoint === "Nobody" ? "/nobody.v1.Nobody/Watch" : `/counter.v1.Counter/${endpoint}`;
          const label = `${path} ${proto ? "+proto" : "+json"} [${parts.map((p) => (p.kind === "many" ? `many(${p.count})` : p.kind === "raw" ? `raw(${p.bytes.length})` : `msg(flags ${p.flags}, lie ${p.lie})`)).join(", ")}] timeout=${timeout} ${reading}`;
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(new Error("hang")), gatewayTimeoutMs + 4000);
          try {
            const headers: Record<string, string> = { "content-type": proto ? "application/connect+proto" : "application/connect+json", ...(timeout === undefined ? {} : { "connect-timeout-ms": timeout }) };
            const response = await fetch(`${gateway.url}${path}`, { method: "POST", headers, body, signal: controller.signal });
            if (reading === "all") {
              const bad = badConnectResponse(response.status, new Uint8Array(await response.arrayBuffer()));
              if (bad !== undefined) failures.push(`${label}: ${bad}`);
            } else {
              if (response.status !== 200 && response.status !== 400) failures.push(`${label}: status ${response.status}`);
              if (reading === "first-chunk") await response.body?.getReader().read();
              controller.abort();
            }
          } catch (error) {
            if (controller.signal.reason instanceof Error && controller.signal.reason.message === "hang") failures.push(`${label}: no answer within ${gatewayTimeoutMs + 4000} ms`);
            else if (reading === "all") failures.push(`${label}: ${(error as Error).message}`);
          } finally {
            clearTimeout(timer);
          }
          try {
            await settled(label);
          } catch (error) {
            failures.push(`${label}: ${(error as Error).message}`);
          }
          return failures.length === 0;
        },
      ),
      { numRuns: 50, seed: 4103, endOnFailure: true },
    );
    expect(failures).toEqual([]);
    expect(outcome.failed).toBe(false);
    expect(runs).toBe(50);
    // Not all refused at the door: streams ran, and failed in the service too.
    expect([connectOutcomes.get("ok")! >= 3, connectOutcomes.get("invalid_argument")! >= 3, connectOutcomes.get("unimplemented")! >= 1]).toEqual([true, true, true]);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Path streams (SSE, NDJSON), replay and live events.

const hostileBody = fc.oneof(
  fc.constantFrom('{"to":3}', '{"to":2,"intervalMs":30}', '{"text":"x"}', "{}", "", deep(100_000), '{"to":"x"}', '{"to":-1}', '{"to":10000001}', '{"payloadBytes":600000,"to":1}', "[]", "5", "{nope", '{"to":1e300}'),
  fc.json({ maxDepth: 3 }),
);

describe("path streams, replay and live events under hostile input", () => {
  it("path streams: no 5xx, well-formed lines, clients that leave early leave nothing behind", async () => {
    const failures: string[] = [];
    const pathOutcomes = new Map<string, number>();
    const outcome = await fc.check(
      fc.asyncProperty(
        fc.constantFrom("/counter/count", "/counter/echo", "/counter/sum", "/greeter/say-hello", "/counter/nope"),
        fc.constantFrom("POST", "GET", "PUT"),
        hostileBody,
        fc.constantFrom("text/event-stream", "application/x-ndjson", "text/event-stream, application/x-ndjson", ""),
        fc.constantFrom("all", "first-chunk", "abort-at-once"),
        async (path, method, body, accept, reading) => {
          const label = `${method} ${path} accept=${accept} body=${body.slice(0, 40)} ${reading}`;
          const tally = (outcome: string) => void pathOutcomes.set(outcome, (pathOutcomes.get(outcome) ?? 0) + 1);
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(new Error("hang")), gatewayTimeoutMs + 4000);
          try {
            const response = await fetch(`${gateway.url}${path}`, { method, headers: { ...json, ...(accept ? { accept } : {}) }, ...(method === "GET" ? {} : { body }), signal: controller.signal });
            const type = response.headers.get("content-type") ?? "";
            tally(`${response.status} ${type.split(";")[0]}`);
            if (response.status >= 500 && !(response.status === 501 && path === "/counter/nope")) failures.push(`${label}: status ${response.status} ${(await response.text()).slice(0, 200)}`);
            else if (reading === "all") {
              const text = await response.text();
              const lines = type.startsWith("text/event-stream")
                ? text.split("\n\n").filter(Boolean).map((event) => event.split("\n").find((l) => l.startsWith("data: "))!.slice(6))
                : type.startsWith("application/x-ndjson") ? text.split("\n").filter(Boolean) : [];
              for (const line of lines) {
                const parsed = JSON.parse(line) as { error?: { code: string } };
                if (parsed.error !== undefined && !refusals.has(parsed.error.code)) failures.push(`${label}: ${line.slice(0, 200)}`);
              }
            } else {
              if (reading === "first-chunk") await response.body?.getReader().read();
              controller.abort();
            }
          } catch (error) {
            if (controller.signal.reason instanceof Error && controller.signal.reason.message === "hang") failures.push(`${label}: no answer`);
            else if (reading === "all") failures.push(`${label}: ${(error as Error).message}`);
          } finally {
            clearTimeout(timer);
          }
          return failures.length === 0;
        },
      ),
      { numRuns: 60, seed: 4104, endOnFailure: true },
    );
    expect(failures).toEqual([]);
    expect(outcome.failed).toBe(false);
    // Both stream formats were served, and refusals too.
    expect([pathOutcomes.get("200 text/event-stream")! >= 3, pathOutcomes.get("200 application/x-ndjson")! >= 3, pathOutcomes.get("400 application/json")! >= 3]).toEqual([true, true, true]);
    await settled("hostile path streams");
  }, 90_000);

  it("path streams that go quiet are not cut as idle connections", async () => {
    // Served with a 1 s idle cut-off (Bun checks it every few seconds); each stream is silent 4.5 s between its two messages.
    // The last with a chunked body, which the gateway reads through a counted copy of the request.
    const chunked = () => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode('{"to":2,"intervalMs":4500}')), c.close()) });
    const streams = [["text/event-stream", false], ["application/x-ndjson", false], ["application/x-ndjson", true]].map(async ([accept, isChunked]) => {
      const body = isChunked ? { body: chunked(), duplex: "half" } : { body: '{"to":2,"intervalMs":4500}' };
      const response = await fetch(`${shortIdle}/counter/count`, { method: "POST", headers: { ...json, accept: accept as string }, ...body } as RequestInit);
      return [response.status, await response.text()];
    });
    expect(await Promise.all(streams)).toEqual([
      [200, 'event: message\ndata: {"n":1}\n\nevent: message\ndata: {"n":2}\n\n'],
      [200, '{"n":1}\n{"n":2}\n'],
      [200, '{"n":1}\n{"n":2}\n'],
    ]);
    await settled("quiet path streams");
  }, 20_000);

  it("many path streams from one client, read slowly or not at all, are all released when it leaves", async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 40; i++) {
      const socket = tcpConnect(Number(new URL(gateway.url).port), "127.0.0.1");
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", resolve));
      const body = '{"to":1000000,"payloadBytes":4096}';
      socket.write(`POST /counter/count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: ${i % 2 ? "text/event-stream" : "application/x-ndjson"}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      socket.pause(); // never reads: the kernel's buffers fill, then the stream's credit stops the handler
      sockets.push(socket);
    }
    await eventually(() => running(), (n) => n === 40, { what: "40 streams running" });
    await Bun.sleep(300);
    expect(await normalCall()).toBe(200);
    for (const socket of sockets) socket.destroy();
    await settled("40 unread path streams");
  }, 30_000);

  it("replay: hostile from, since and limit are a 200 or a 400, never a 5xx or a hang", async () => {
    for (let i = 0; i < 3; i++) await broker.publish(`hostile.r${i}`, encoder.encode(`{"i":${i}}`), { contentType: "application/json" });
    const timePoint = fc.oneof(
      fc.constantFrom("253402300800000", "253402300799999", "8640000000000000", "8640000000000001", "9999999999999999", "0", "1", "-1", "3000000d", "2932897d", "99999999999999h",
        "+010000-01-01T00:00:00Z", "-000001-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2h", "1.5h", "0ms", "1e3", "NaN", "x".repeat(70), ""),
      fc.bigInt({ min: 0n, max: 10n ** 16n - 1n }).map(String),
      fc.string({ maxLength: 12 }),
    );
    const whole = fc.oneof(fc.constantFrom("0", "1", "2", "3", "4", "9007199254740991", "9007199254740992", "18446744073709551616", "-1", "1.5", "", "0x10"), fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const outcome = await fc.check(
      fc.asyncProperty(
        fc.constantFrom("hostile.*", "hostile.>", "hostile.r1", ">", "nothing.here"),
        fc.record({ since: timePoint, from: whole, limit: whole }, { requiredKeys: [] }),
        async (filter, query) => {
          const url = `/events/${filter}/replay?${new URLSearchParams(query as Record<string, string>)}`;
          const response = await fetch(`${gateway.url}${url}`, { signal: AbortSignal.timeout(gatewayTimeoutMs + 3000) }).catch((error: Error) => error);
          if (response instanceof Error) failures.push(`${url}: ${response.name}`);
          else {
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            const text = await response.text();
            if (response.status !== 200 && response.status !== 400) failures.push(`${url}: ${response.status} ${text.slice(0, 200)}`);
          }
          return failures.length === 0;
        },
      ),
      { numRuns: 80, seed: 4105, endOnFailure: true },
    );
    expect(failures).toEqual([]);
    expect(outcome.failed).toBe(false);
    expect([statuses.get(200)! > 10, statuses.get(400)! > 10]).toEqual([true, true]);
    // A year JetStream cannot read is the caller's mistake, named as such.
    const far = await fetch(`${gateway.url}/events/hostile.*/replay?since=253402300800000`);
    expect([far.status, ((await far.json()) as { detail: string }).detail]).toEqual([400, "since must be a time from year 0 to 9999, got 253402300800000 (year 10000)"]);
    await settled("hostile replays");
  }, 60_000);

  it("live event streams (gateway and sidecar): many at once, slow or gone readers, each consumer removed when its client leaves", async () => {
    const port = Number(new URL(gateway.url).port);
    const routes = ["/events/live.a/stream", "/events/live.*/stream", "/sidecar/events/live.>/stream"];
    // Clients that leave at once, while their stream is still subscribing.
    for (let i = 0; i < 12; i++) {
      const socket = tcpConnect(port, "127.0.0.1", () => {
        socket.write(`GET ${routes[i % 3]} HTTP/1.1\r\nHost: x\r\n\r\n`);
        setTimeout(() => socket.destroy(), i * 3);
      });
      socket.on("error", () => undefined);
    }
    // 30 streams from one client that read nothing while events arrive.
    const sockets: Socket[] = [];
    for (let i = 0; i < 30; i++) {
      const socket = tcpConnect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", resolve));
      socket.write(`GET ${routes[i % 3]} HTTP/1.1\r\nHost: x\r\n\r\n`);
      socket.pause();
      sockets.push(socket);
    }
    // No bound: each open stream is a JetStream consumer of its own.
    await eventually(() => consumerNames(), (names) => names.length === 30, { what: "a consumer per open stream" });
    const payload = encoder.encode(JSON.stringify({ pad: "x".repeat(60_000) }));
    for (let i = 0; i < 60; i++) await broker.publish(`live.${i % 2 ? "a" : "b"}`, payload, { contentType: "application/json" });
    // A fresh reader still gets events while the others are stalled.
    const fresh = await fetch(`${gateway.url}/events/live.fresh/stream`);
    const reader = fresh.body!.getReader();
    let seen = "";
    while (!seen.includes(": subscribed")) seen += decoder.decode((await reader.read()).value);
    await broker.publish("live.fresh", encoder.encode('{"ok":1}'), { contentType: "application/json" });
    while (!seen.includes('"ok":1')) seen += decoder.decode((await reader.read()).value);
    await reader.cancel();
    expect(await normalCall()).toBe(200);
    for (const socket of sockets) socket.destroy();
    await settled("60 live event streams");
  }, 40_000);
});
