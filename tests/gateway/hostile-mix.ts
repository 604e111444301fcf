/**
 * Normal calls with hostile requests mixed in, over real HTTP: the load that
 * `hostile-load.test.ts` checks for correctness and `bench/gateway-hostile.ts` times. One
 * module, so the test and the benchmark send exactly the same traffic.
 *
 * The hostile requests are the known attacks of `hostile-input.test.ts` (deep JSON, invalid
 * UTF-8, 5,000-character paths, huge and too many headers, bad content types, hostile topics
 * and users, spoofed sources, two Content-Length headers over a raw socket), each with the
 * 4xx it must get. They need a gateway with the greeter service, events (a broker) and the
 * sidecar, as both callers set up.
 * @module
 */
import { connect as tcpConnect } from "node:net";

/** One hostile request: what it is, the status it must get, and how to send it. */
export interface HostileCase {
  readonly name: string;
  readonly expected: number;
  /** Sends it to the gateway at `base` (`http://127.0.0.1:port`); resolves with the status, or throws. */
  send(base: string, signal: AbortSignal): Promise<number>;
  /** The same request as HTTP/1.1 bytes on a kept-alive connection (`keep-alive-probe.ts` sends it raw). */
  readonly wire: Uint8Array;
}

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
// Built once, as bytes (a string body is encoded again on every send): the mix must cost the
// gateway, not the load generator.
const deepJson = new TextEncoder().encode(deep(100_000));
const deepRpc = new TextEncoder().encode(`{"service":"greeter","endpoint":"Greeter.SayHello","request":${deep(100_000)}}`);
const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"name":"\xff\xfe"}
const longPath = `/greeter/${"a".repeat(5000)}`;
const hugeHeader = "a".repeat(9000);
const manyHeaders = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`x-h-${i}`, "v"]));
const json = { "content-type": "application/json" };

/** `fetch` one request and drain its body (an undrained body would pin the connection). */
async function status(url: string, init: RequestInit, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, { ...init, signal });
  await res.arrayBuffer();
  return res.status;
}

/** A request as HTTP/1.1 bytes, framed by Content-Length, with the headers `fetch` would add. */
export function wireRequest(method: string, path: string, headers: Record<string, string> = {}, body: string | Uint8Array = ""): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const lines = [`${method} ${path} HTTP/1.1`, "host: 127.0.0.1", "connection: keep-alive", "accept: */*"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (method !== "GET" || bytes.length > 0) lines.push(`content-length: ${bytes.length}`);
  const head = new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n`);
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head, 0);
  out.set(bytes, head.length);
  return out;
}

/** A hostile POST: its `send` and `wire` forms. */
const post = (name: string, expected: number, path: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = json): HostileCase => ({
  name,
  expected,
  send: (base, signal) => status(`${base}${path}`, { method: "POST", headers, body }, signal),
  wire: wireRequest("POST", path, headers, body),
});

/** A hostile GET: its `send` and `wire` forms. */
const get = (name: string, expected: number, path: string, headers: Record<string, string> = {}): HostileCase => ({
  name,
  expected,
  send: (base, signal) => status(`${base}${path}`, { headers }, signal),
  wire: wireRequest("GET", path, headers),
});

const twoLengths = "POST /greeter/say-hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{}";

/** The hostile requests, in the order the mix cycles through them. */
export const hostileCases: readonly HostileCase[] = [
  post("deep JSON in /rpc", 400, "/rpc", deepRpc),
  post("deep JSON on a path route", 400, "/greeter/say-hello", deepJson),
  post("deep JSON to the sidecar", 400, "/sidecar/rpc", deepJson),
  post("deep JSON as an event", 400, "/events/orders.deep", deepJson),
  post("invalid UTF-8 on a path route", 400, "/greeter/say-hello", invalidUtf8),
  post("invalid UTF-8 as an event", 400, "/events/orders.utf8", invalidUtf8),
  post("5,000-character path", 400, longPath, '{"name":"Ada"}'),
  post("5,000-character topic", 400, `/events/${"t".repeat(5000)}`, "{}"),
  post("9,000-character header", 431, "/greeter/say-hello", '{"name":"Ada"}', { ...json, "x-many": hugeHeader }),
  get("120 headers", 431, "/greeter/say-hello", manyHeaders),
  post("text/plain to /rpc", 415, "/rpc", '{"service":"greeter","endpoint":"Greeter.SayHello"}', { "content-type": "text/plain" }),
  post("form post to a path route", 415, "/greeter/say-hello", '{"name":"x"}', { "content-type": "application/x-www-form-urlencoded" }),
  post("wrong-typed namespace in /rpc", 400, "/rpc", '{"service":"greeter","endpoint":"Greeter.SayHello","namespace":5}'),
  post("system subject as a topic", 400, "/events/$JS.API.STREAM.DELETE", "{}"),
  post("wildcard topic published", 400, "/events/orders.%3E", "{}"),
  get("out-of-range replay start", 400, "/events/orders.*/replay?from=18446744073709551616"),
  post("another user's audit history forged", 403, "/sidecar/events/audit.user.bob.login", "{}"),
  post("300-character event user", 400, "/events/orders.user", "{}", { ...json, "x-micro-user": "u".repeat(300) }),
  post("spoofed event source", 400, "/sidecar/events/orders.x", "{}", { ...json, "x-micro-source": "gateway:admin" }),
  {
    name: "two Content-Length headers (raw socket)",
    expected: 400,
    send: (base, signal) => rawStatus(base, twoLengths, signal),
    wire: new TextEncoder().encode(twoLengths.replace("Connection: close", "Connection: keep-alive")),
  },
];

/** A harmless request refused at once (GET of a route that does not exist): the control for {@link hostileCases}. */
export const plainNotFound: HostileCase = get("GET of an unknown route", 404, "/no-such-route");

/**
 * A legitimate request of another kind (`GET /health`, 200): the control for what any other
 * traffic mixed into the normal calls costs, against which the attacks' own cost shows.
 */
export const healthCheck: HostileCase = get("GET /health (legitimate)", 200, "/health");

/**
 * One normal call, `greeter` say-hello with a name unique to `n`; undefined when the reply is
 * exactly right, else what was wrong.
 */
export async function normalCall(base: string, n: number, signal: AbortSignal): Promise<string | undefined> {
  const name = `Ada ${n}`;
  const res = await fetch(`${base}/greeter/say-hello`, { method: "POST", headers: json, body: JSON.stringify({ name }), signal });
  const text = await res.text();
  const want = JSON.stringify({ message: `Hello ${name}` });
  return res.status === 200 && text === want ? undefined : `#${n}: ${res.status} ${text.slice(0, 200)} (wanted 200 ${want})`;
}

/** How {@link runMix} drives the load. */
export interface MixOptions {
  /** The gateway, `http://127.0.0.1:port`. */
  readonly base: string;
  /** Requests in flight at once (a closed loop: each worker sends its next when its last one answered). */
  readonly inFlight: number;
  /** Every `hostileEvery`-th request is hostile (10: 10 %); 0 for a clean run. */
  readonly hostileEvery: number;
  /** Stop after this many requests... */
  readonly total?: number;
  /** ...or after this many ms. */
  readonly durationMs?: number;
  /** The requests every `hostileEvery`-th slot cycles through ({@link hostileCases}). */
  readonly cases?: readonly HostileCase[];
  /** A request with no answer after this many ms counts as a hang (10,000). */
  readonly hangMs?: number;
}

/** What one run of the mix saw. */
export interface MixResult {
  readonly normalOk: number;
  /** Normal calls that failed: a wrong status or body, an error or a hang, each described. */
  readonly normalFailed: readonly string[];
  /** Statuses of the hostile requests by case name ("hang" / "error: ..." for no answer). */
  readonly hostile: ReadonlyMap<string, ReadonlyArray<number | string>>;
  readonly elapsedMs: number;
}

/** Sends the mix: `inFlight` workers, request `n` hostile when `(n + 1) % hostileEvery === 0`. */
export async function runMix(options: MixOptions): Promise<MixResult> {
  const { base, inFlight, hostileEvery } = options;
  const cases = options.cases ?? hostileCases;
  const hangMs = options.hangMs ?? 10_000;
  const began = performance.now();
  const end = options.durationMs === undefined ? Infinity : began + options.durationMs;
  const total = options.total ?? Infinity;
  const failed: string[] = [];
  const hostile = new Map<string, Array<number | string>>();
  let next = 0;
  let normalOk = 0;
  const worker = async () => {
    while (next < total && performance.now() < end) {
      const n = next++;
      const signal = AbortSignal.timeout(hangMs);
      if (hostileEvery > 0 && (n + 1) % hostileEvery === 0) {
        const c = cases[Math.floor(n / hostileEvery) % cases.length]!;
        const got = await c.send(base, signal).catch((e: Error) => (e.name === "TimeoutError" ? "hang" : `error: ${e.message}`));
        let list = hostile.get(c.name);
        if (list === undefined) hostile.set(c.name, (list = []));
        list.push(got);
      } else {
        const problem = await normalCall(base, n, signal).catch((e: Error) => `#${n}: ${e.name === "TimeoutError" ? "hang" : `error: ${e.message}`}`);
        if (problem === undefined) normalOk++;
        else failed.push(problem);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { normalOk, normalFailed: failed, hostile, elapsedMs: performance.now() - began };
}

/** Sends raw bytes to the gateway at `base` and resolves with the status of its reply. */
function rawStatus(base: string, request: string, signal: AbortSignal): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => socket.write(request));
    let reply = "";
    const settle = () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(reply);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no HTTP status in ${JSON.stringify(reply.slice(0, 80))}`));
    };
    const abort = () => socket.destroy(Object.assign(new Error("no answer"), { name: "TimeoutError" }));
    signal.addEventListener("abort", abort, { once: true });
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      // The status line is all we need: stop reading once it is in.
      if (reply.includes("\r\n")) socket.destroy();
    });
    socket.on("close", () => {
      signal.removeEventListener("abort", abort);
      settle();
    });
    socket.on("error", (e) => {
      signal.removeEventListener("abort", abort);
      if (/^HTTP\/1\.[01] \d{3}/.test(reply)) settle();
      else reject(e);
    });
  });
}
