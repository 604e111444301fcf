/**
 * Property-based hunt for wrongful allows through the gateway's auth, over real HTTP, a real
 * nats-server, real services, JetStream and the sidecar. Identities whose rules grant narrow
 * things send random and adversarial requests on every route family; the oracle is what
 * actually happened behind the gateway, never the status alone:
 *
 * - every handler invocation (an interceptor on each service: kind, namespace, method and the
 *   `identity` metadata it got), every message that reached a service's subjects (a second
 *   NATS connection on exactly the subjects the services serve, so no-responders still works),
 * - every event published to `micro.events.>` and every JetStream consumer opened on the
 *   events stream (what replay and live streams read), and at the end every stored event,
 * - every history lookup the audit service got (a stand-in answers `Audit.History`),
 * - every sidecar operation, dashboard page render and operator call, and every hit on the
 *   web apps behind `/web/...`,
 *
 * each checked against an independent model of what the identity's rules grant. Requests go
 * one at a time, so what happened is attributed to the request in flight. Also: no 5xx (but a
 * service's own `unimplemented`) and no hang.
 *
 * The seed and run count are fixed; hunt with `AUTH_FUZZ_SEED` / `AUTH_FUZZ_RUNS`.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { sign } from "hono/jwt";
import { connect as tcpConnect } from "node:net";
import type { Subscription } from "@nats-io/nats-core";
import { createJetStreamBroker, createNatsMicroDirectory, type Interceptor, type JetStreamBroker, platformUpgradeWebSocket, type Registry, registerWebService, type ServiceDefinition } from "../../runtime/mod.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { createSidecar, type Sidecar } from "../../gateway/sidecar/mod.ts";
import type { AuthConfig } from "../../gateway/auth.ts";
import type { OperatorSource } from "../../gateway/dashboard/operator.ts";
import greeter from "../../services/greeter.ts";
import hello from "../../services/hello.ts";
import counter from "../../services/counter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { withNats } from "../support/nats.ts";
import { openTestConnection, type TestConnection } from "../support/rpc.ts";
import { startRegistered } from "../support/registered.ts";
import { eventually } from "../support/wait.ts";

const { nats, conn, teardown } = withNats();
const gatewayTimeoutMs = 2000;
const seed = Number(process.env.AUTH_FUZZ_SEED ?? 20240611);
const numRuns = Number(process.env.AUTH_FUZZ_RUNS ?? 500);
const secret = "a-test-secret-of-32-characters!!";

// ---- Identities, their rules, and the model of what the rules grant ----------------------

const apiKeys: Record<string, string> = {
  "k-reader": "reader", "k-greet": "greetone", "k-stream": "streamer", "k-deploy": "deployer", "k-dash": "dash", "k-page": "pageview",
  "k-none": "nobody", "k-audit": "auditor", "k-speaker": "speaker", "k-side": "sidehosted", "k-shop": "shopper", "k-tenant": "tenant-ops", "k-tg": "tg-micro",
};
const auth: AuthConfig = {
  apiKeys,
  jwt: { secret, issuer: "tests" },
  allow: {
    reader: ["hello/Hello.Call"],
    greetone: ["greeter/Greeter.SayHello"],
    streamer: ["counter/Counter.Count"],
    deployer: ["events/deploy.*"],
    dash: ["dashboard"],
    pageview: ["dashboard/page"],
    nobody: [],
    auditor: ["history/bob"],
    speaker: ["events/deploy.*", "@as-user/bob"],
    sidehosted: ["sidecar/hosted"],
    shopper: ["web/shop"],
    "tenant-ops": ["tenant:*"],
    "tg-micro": ["tgreeter"],
    // JWT identities (no API key stands for them).
    "jwt-greeter": ["greeter/Greeter.SayGoodbye"],
    bob: [],
    "*": ["web/public"],
  },
};

/** What an identity may reach, written independently of the rule matcher. */
interface Grants {
  readonly calls?: ReadonlyArray<readonly [namespace: string, service: string, method: string]>; // "*" for any
  readonly publish?: (topic: string) => boolean;
  readonly read?: (filter: string) => boolean;
  readonly history?: (user: string) => boolean;
  readonly asUser?: (user: string) => boolean;
  readonly dashboard?: (endpoint: string) => boolean;
  readonly sidecar?: (op: string) => boolean;
  readonly web?: (name: string) => boolean;
}
const underDeploy = (topic: string) => topic.split(".").length >= 2 && topic.split(".")[0] === "deploy";
const grants: Record<string, Grants> = {
  reader: { calls: [["micro", "hello", "Hello.Call"]] },
  greetone: { calls: [["micro", "greeter", "Greeter.SayHello"]] },
  streamer: { calls: [["micro", "counter", "Counter.Count"]] },
  deployer: { publish: underDeploy, read: underDeploy },
  dash: { dashboard: () => true },
  pageview: { dashboard: (e) => e === "page" },
  auditor: { history: (u) => u === "bob" },
  speaker: { publish: underDeploy, read: underDeploy, asUser: (u) => u === "bob" },
  sidehosted: { sidecar: (op) => op === "hosted" },
  shopper: { web: (name) => name === "shop" },
  "tenant-ops": { calls: [["tenant", "*", "*"]] },
  "tg-micro": { calls: [["micro", "tgreeter", "*"]] },
  "jwt-greeter": { calls: [["micro", "greeter", "Greeter.SayGoodbye"]] },
};
const grantsOf = (id: string): Grants => grants[id] ?? {};

const mayCall = (ids: readonly string[], namespace: string, service: string, method: string) =>
  ids.some((id) => (grantsOf(id).calls ?? []).some(([ns, s, m]) => (ns === namespace || ns === "*") && (s === service || s === "*") && (m === method || m === "*")));
const mayPublish = (ids: readonly string[], topic: string) => ids.some((id) => grantsOf(id).publish?.(topic) === true);
const mayRead = (ids: readonly string[], filter: string) => ids.some((id) => grantsOf(id).read?.(filter) === true);
const mayHistory = (ids: readonly string[], user: string) => ids.some((id) => id === user || grantsOf(id).history?.(user) === true);
const mayNameUser = (ids: readonly string[], user: string) => user === "" || ids.some((id) => id === user || grantsOf(id).asUser?.(user) === true);
const mayDashboard = (ids: readonly string[], endpoint: string) => ids.some((id) => grantsOf(id).dashboard?.(endpoint) === true);
const maySidecar = (ids: readonly string[], op: string) => ids.some((id) => grantsOf(id).sidecar?.(op) === true);
const mayWeb = (ids: readonly string[], name: string) => ids.length > 0 && (name === "public" || ids.some((id) => grantsOf(id).web?.(name) === true));

// ---- What happened behind the gateway, per request ----------------------------------------

interface Observed {
  handlers: Array<{ kind: string; namespace: string; service: string; method: string; identity: string | undefined }>;
  subjects: Array<{ namespace: string; service: string; endpoint: string; subject: string }>;
  audit: Array<{ user: string; identity: string | null }>;
  published: string[];
  consumers: string[];
  sidecar: string[];
  pages: number;
  operator: string[];
  web: Array<{ name: string; credentials: boolean }>;
}
const observe = (): Observed => ({ handlers: [], subjects: [], audit: [], published: [], consumers: [], sidecar: [], pages: 0, operator: [], web: [] });
/** The request in flight (what happens after it answered still counts for it until the next starts). */
let current: Observed = observe();
const totals = { handlers: 0, published: 0, consumers: 0, audit: 0, web: 0, operator: 0, pages: 0, subjects: 0 };

const spy: Interceptor = (next) => async function authFuzzSpy(request) {
  if (request.side === "server" && request.kind !== "event") {
    current.handlers.push({ kind: request.kind, namespace: request.namespace, service: request.service, method: request.method, identity: request.metadata.identity });
    totals.handlers++;
  }
  return next(request);
};
const spied = (d: ServiceDefinition, extra: Partial<ServiceDefinition> = {}): ServiceDefinition => ({ ...d, ...extra, interceptors: [spy, ...d.interceptors] });

/** A proxy recording each method call of `target` as `prefix + name` into the current observation. */
function recording<T extends object>(target: T, prefix: string, record: (op: string) => void, nested: Record<string, string> = {}): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof prop === "string" && nested[prop] !== undefined && value !== undefined && value !== null) return recording(value as object, `${nested[prop]}.`, record);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (typeof prop === "string") record(`${prefix}${prop}`);
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

const operated = (endpoint: string) => {
  current.operator.push(endpoint);
  totals.operator++;
};
const operator: OperatorSource = {
  nodes: async () => (operated("nodes"), []),
  weights: async () => (operated("weights"), []),
  setWeights: async (service) => (operated("weights.set"), { service, weights: null, running: [] }),
  events: async () => (operated("events"), {} as Awaited<ReturnType<OperatorSource["events"]>>),
  deadLetters: async () => (operated("dead-letters"), []),
  deadLetter: async () => (operated("dead-letters"), undefined),
  redrive: async () => (operated("redrive"), 0),
};

// ---- Set-up --------------------------------------------------------------------------------

let registry: Registry;
let broker: JetStreamBroker;
let sidecar: Sidecar;
let observer: TestConnection;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
let port = 0;
const webApps = new Map<string, { port: number }>();
/** Endpoint name or proto full name → the method's name, per service. */
const canonical = new Map<string, Map<string, string>>();

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  broker = await createJetStreamBroker(conn.nc);
  observer = await openTestConnection(nats.url);
  teardown(() => observer.close());

  const definitions: Array<[ServiceDefinition, string]> = [
    [spied(greeter), "micro"], [spied(hello), "micro"], [spied(counter), "micro"],
    // Only in namespace tenant: the micro identity allowed "tgreeter" must not reach it there.
    [spied(greeter, { name: "tgreeter", namespace: "tenant" }), "tenant"],
  ];
  const subscriptions: Subscription[] = [];
  for (const [definition, namespace] of definitions) {
    const instance = await startRegistered(definition, conn, registry);
    teardown(() => instance.stop());
    const names = new Map<string, string>();
    for (const e of definition.endpoints) (names.set(e.name, e.name), names.set(e.fullName, e.name));
    canonical.set(`${namespace}:${definition.name}`, names);
    // Exactly the subjects the service serves: its queue subject and its node's subject.
    for (const prefix of [`${namespace}.${definition.type}.${definition.name}`, `${namespace}.node.${definition.name}.${instance.nodeId}`]) {
      subscriptions.push(observer.nc.subscribe(`${prefix}.>`, {
        callback: (_e, m) => {
          current.subjects.push({ namespace, service: definition.name, endpoint: m.subject.slice(prefix.length + 1), subject: m.subject });
          totals.subjects++;
        },
      }));
    }
  }
  // The audit service's history endpoint, answered by a stand-in that records whose history was asked for.
  subscriptions.push(observer.nc.subscribe("micro.srv.audit.Audit.History", {
    callback: (_e, m) => {
      let user = "?";
      try {
        user = String((JSON.parse(new TextDecoder().decode(m.data)) as { user?: unknown }).user);
      } catch { /* recorded as "?" */ }
      current.audit.push({ user, identity: m.headers?.get("Micro-Meta-identity") ?? null });
      totals.audit++;
      m.respond(JSON.stringify({ events: [], nextCursor: "" }));
    },
  }));
  // Events stored (JetStream's stream already listens here) and consumers opened on the events stream.
  subscriptions.push(observer.nc.subscribe("micro.events.>", { callback: (_e, m) => {
    current.published.push(m.subject.slice("micro.events.".length));
    totals.published++;
  } }));
  for (const api of ["$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"]) {
    subscriptions.push(observer.nc.subscribe(api, {
      callback: (_e, m) => {
        if (!m.subject.includes(".MICRO_EVENTS.") && !m.subject.endsWith(".MICRO_EVENTS")) return;
        const config = (JSON.parse(new TextDecoder().decode(m.data)) as { config?: { filter_subject?: string; filter_subjects?: string[] } }).config ?? {};
        const filters = config.filter_subjects ?? (config.filter_subject !== undefined ? [config.filter_subject] : [">"]);
        for (const f of filters) current.consumers.push(f.startsWith("micro.events.") ? f.slice("micro.events.".length) : `(not under micro.events) ${f}`);
        totals.consumers++;
      },
    }));
  }
  teardown(() => subscriptions.forEach((s) => s.unsubscribe()));
  await observer.nc.flush();

  for (const name of ["shop", "public", "admin"]) {
    const app = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (r) => {
        current.web.push({ name, credentials: r.headers.has("authorization") || r.headers.has("x-api-key") });
        totals.web++;
        return Response.json({ app: name });
      },
    });
    teardown(() => app.stop(true));
    const registration = await registerWebService(registry, { name, url: `http://127.0.0.1:${app.port}`, version: "1.0.0" });
    teardown(() => registration.stop());
    webApps.set(name, { port: app.port! });
  }

  const realSidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
  teardown(() => realSidecar.close());
  sidecar = recording(realSidecar, "", (op) => current.sidecar.push(op), { registry: "registry", transport: "transport", broker: "broker" });
  const gatewayRegistry = new Proxy(registry, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (prop === "listServices") return (...args: unknown[]) => (current.pages++, totals.pages++, (value as (...a: unknown[]) => unknown).apply(t, args));
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
  gateway = await startTestGateway({
    transport: conn.transport, registry: gatewayRegistry, broker, sidecar, auth, operator, timeoutMs: gatewayTimeoutMs,
    upgradeWebSocket: await platformUpgradeWebSocket(), rpcNamespaces: ["micro", "tenant"], natsMicro: createNatsMicroDirectory(conn.nc),
  });
  teardown(() => gateway.close());
  port = Number(new URL(gateway.url).port);
  await eventually(async () => (await fetch(`${gateway.url}/greeter/say-hello`, { method: "POST", body: '{"name":"Ada"}', headers: { "content-type": "application/json", "x-api-key": "k-greet" } })).status, (s) => s === 200);
  await eventually(async () => (await fetch(`${gateway.url}/web/public/`, { headers: { "x-api-key": "k-none" } })).status, (s) => s === 200);
  current = observe();
});

// ---- Requests ------------------------------------------------------------------------------

interface Credential {
  readonly name: string;
  readonly headers: Record<string, string>;
  /** The identities the request may act as (both, when it sends two credentials); none: anonymous or refused. */
  readonly ids: readonly string[];
}

async function credentials(): Promise<Credential[]> {
  const jwt = (claims: Record<string, unknown>, key = secret, alg: "HS256" | "HS512" = "HS256") =>
    sign({ iss: "tests", exp: Math.floor(Date.now() / 1000) + 3600, ...claims }, key, alg);
  const list: Credential[] = [{ name: "anonymous", headers: {}, ids: [] }];
  for (const [key, id] of Object.entries(apiKeys)) {
    list.push({ name: `x-api-key ${id}`, headers: { "x-api-key": key }, ids: [id] });
    list.push({ name: `bearer key ${id}`, headers: { authorization: `Bearer ${key}` }, ids: [id] });
  }
  // JWT subs: real JWT identities, ones that only look like others, and ones that must be refused.
  // Subs that are an API-key identity but for spaces (NATS headers trim them) must not reach anything as that identity.
  for (const sub of ["jwt-greeter", "bob", "Reader", "deployer ", "deployer\u00a0", "\u00a0dash", "reader\u3000", "dash\u200b", "micro:greeter", "history/bob", "@as-user/bob", "tenant:x"]) {
    list.push({ name: `jwt ${JSON.stringify(sub)}`, headers: { authorization: `Bearer ${await jwt({ sub })}` }, ids: [sub] });
  }
  for (const sub of ["reader", "dash", "*", "tenant-ops"]) list.push({ name: `jwt colliding ${sub}`, headers: { authorization: `Bearer ${await jwt({ sub })}` }, ids: [] });
  list.push(
    { name: "jwt wrong secret", headers: { authorization: `Bearer ${await jwt({ sub: "jwt-greeter" }, "another-secret-of-32-characters!")}` }, ids: [] },
    { name: "jwt HS512", headers: { authorization: `Bearer ${await jwt({ sub: "jwt-greeter" }, secret, "HS512")}` }, ids: [] },
    { name: "jwt no exp", headers: { authorization: `Bearer ${await sign({ iss: "tests", sub: "jwt-greeter" }, secret, "HS256")}` }, ids: [] },
    { name: "jwt alg none", headers: { authorization: `Bearer ${btoa('{"alg":"none","typ":"JWT"}').replace(/=/g, "")}.${btoa('{"sub":"dash","iss":"tests"}').replace(/=/g, "")}.` }, ids: [] },
    { name: "key upper-cased", headers: { "x-api-key": "K-DASH" }, ids: [] },
    // HTTP drops the spaces around a header value: this is k-dash.
    { name: "key with spaces around", headers: { "x-api-key": " k-dash " }, ids: ["dash"] },
    { name: "empty key", headers: { "x-api-key": "" }, ids: [] },
    { name: "two bearer tokens", headers: { authorization: "Bearer k-reader k-dash" }, ids: [] },
    { name: "basic", headers: { authorization: "Basic azpkYXNo" }, ids: [] },
    { name: "lower-case bearer", headers: { authorization: "bearer k-reader" }, ids: ["reader"] },
    { name: "key and other bearer", headers: { "x-api-key": "k-reader", authorization: "Bearer k-dash" }, ids: ["reader", "dash"] },
  );
  return list;
}

interface HttpRequest {
  readonly family: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** Open as a WebSocket instead. */
  readonly ws?: boolean;
}

const json = { "content-type": "application/json" };
const envelope = (message: unknown) => {
  const body = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
};

const services = ["greeter", "hello", "counter", "tgreeter", "audit", "Greeter", "HELLO", "events", "sidecar", "dashboard", "web", "history", "rpc"];
const methods = ["", "/say-hello", "/say-goodbye", "/SayHello", "/call", "/echo", "/count", "/sum", "/hello/call", "/greeter/say-hello", "/admin/delete", "/history", "/-call", "/say_goodbye"];
const pathPrefixes = ["", "", "", "/v1", "/v2", "/tenant", "/srv/greeter", "/micro", "/x", "/node/greeter", "/api"];
const endpoints = [
  "Greeter.SayHello", "Greeter.SayGoodbye", "greeter.v1.Greeter/SayHello", "greeter.v1.Greeter/SayGoodbye", "Hello.Call", "Hello.Echo", "hello.v1.Hello/Echo", "hello.v1.Hello/Call",
  "Counter.Count", "Audit.History", "Greeter.*", "Greeter.>", "Greeter.SayHello.x", "SayHello", "SayGoodbye", "Echo", "Call", "x.Greeter/SayHello", "Greeter.v1.Admin/Delete",
];
const namespaces = [undefined, "micro", "tenant", "micro.srv", "Micro", "", "tenant.x", "micro ", "*", ">"];
const topics = ["deploy.started", "deploy.x.y", "deploy", "Deploy.x", "deploy.*", "deploy.>", "deployx.y", "billing.paid", "audit.user.bob.x", "deploy..x", "deploy.%2A", "deploy%2Ex", "deploy.x%2F..%2Fbilling", ">", "*.started"];
const users = ["", "bob", "alice", "reader", "deployer", "speaker", "Bob", "bob ", "*", "b\u043eb"];
const historyUsers = ["bob", "alice", "reader", "deployer", "auditor", "nobody", "Bob", "*", "bob.x", "jwt-greeter", "Reader", "dash%E2%80%8B", "history%2Fbob", "b%D0%BEb", "%62ob"];
const webNames = ["shop", "public", "admin", "Shop", "sh%6Fp", "public/../shop", "public/%2e%2e/shop", "public%2F..%2Fshop"];
const sidecarCalls: Array<[string, string, string | undefined]> = [
  ["GET", "/sidecar/hosted", undefined], ["GET", "/sidecar/hosted/", undefined], ["GET", "/sidecar//hosted", undefined], ["GET", "/sidecar/Hosted", undefined],
  ["GET", "/sidecar/registry", undefined], ["GET", "/sidecar/registry/greeter", undefined], ["DELETE", "/sidecar/registry/greeter", undefined],
  ["POST", "/sidecar/registry", JSON.stringify({ name: "intruder", url: "http://127.0.0.1:9", endpoints: ["Intruder.Call"] })],
  ["POST", "/sidecar/rpc", JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: {} })],
  ["POST", "/sidecar/rpc", JSON.stringify({ service: "hello", endpoint: "Hello.Call", request: {} })],
  ["POST", "/sidecar/events/deploy.x", "{}"], ["GET", "/sidecar/events/deploy.>/stream", undefined], ["GET", "/sidecar/subscriptions", undefined],
  ["POST", "/sidecar/subscriptions", JSON.stringify({ topic: "deploy.x", url: "http://127.0.0.1:9/hook", service: "hooks" })], ["DELETE", "/sidecar/subscriptions/s1", undefined],
  ["GET", "/sidecar/hosted%2F..%2Fregistry", undefined], ["GET", "/sidecar/hosted/../registry", undefined], ["POST", "/sidecar/hosted/../rpc", JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: {} })],
];
const dashboardCalls: Array<[string, string, string | undefined]> = [
  ["GET", "/", undefined], ["HEAD", "/", undefined], ["GET", "//", undefined], ["GET", "/dashboard/api/nodes", undefined], ["GET", "/dashboard/api/weights", undefined],
  ["POST", "/dashboard/api/weights/greeter", JSON.stringify({ weights: { "1.0.0": 100 } })], ["GET", "/dashboard/api/events", undefined],
  ["GET", "/dashboard/api/dead-letters/greeter", undefined], ["GET", "/dashboard/api/dead-letters/greeter/1", undefined],
  ["POST", "/dashboard/api/dead-letters/greeter/redrive", "{}"], ["GET", "/dashboard/api/x", undefined], ["GET", "/dashboard/app.js", undefined],
  ["GET", "/dashboard/api/nodes/", undefined], ["GET", "/dashboard/API/nodes", undefined], ["GET", "/dashboard/app.js/../api/nodes", undefined],
];
const connectPaths = ["/greeter.v1.Greeter/SayHello", "/greeter.v1.Greeter/SayGoodbye", "/hello.v1.Hello/Call", "/hello.v1.Hello/Echo", "/x.Hello/Call", "/hello.v1.HELLO/Call", "/a.Greeter/SayHello", "/counter.v1.Counter/Count", "/counter.v1.Counter/Echo", "/tenant.Tgreeter/SayHello", "/greeter.v1.greeter/SayHello"];
const wsPaths = ["/ws/counter/Counter.Echo", "/ws/counter/Counter.Count", "/ws/counter/counter.Count", "/ws/greeter/Greeter.SayHello", "/ws/hello/Hello.Call", "/ws/tgreeter/Greeter.SayHello"];

const requests: fc.Arbitrary<HttpRequest> = fc.oneof(
  fc.record({ prefix: fc.constantFrom(...pathPrefixes), service: fc.constantFrom(...services), method: fc.constantFrom(...methods), verb: fc.constantFrom("GET", "POST", "PUT", "DELETE"), count: fc.boolean() })
    .map(({ prefix, service, method, verb, count }) => ({
      family: "path", method: verb, path: `${prefix}/${service}${method}`, headers: { ...json, ...(count ? { accept: "application/x-ndjson" } : {}) },
      ...(verb === "GET" ? {} : { body: service === "counter" ? '{"to":2}' : '{"name":"Ada"}' }),
    })),
  fc.record({ service: fc.constantFrom(...services), endpoint: fc.constantFrom(...endpoints), namespace: fc.constantFrom(...namespaces), twice: fc.option(fc.constantFrom(...services), { nil: undefined }) })
    .map(({ service, endpoint, namespace, twice }) => {
      let body = JSON.stringify({ service, endpoint, ...(namespace !== undefined ? { namespace } : {}), request: endpoint.includes("Count") ? { to: 2 } : endpoint.includes("Hello.") ? {} : { name: "Ada" } });
      // A duplicate key: the last one wins in JSON.parse, so auth and the call must read the same one.
      if (twice !== undefined) body = body.replace("{", `{"service":${JSON.stringify(twice)},`);
      return { family: "rpc", method: "POST", path: "/rpc", headers: json, body };
    }),
  fc.record({ path: fc.constantFrom(...connectPaths), stream: fc.boolean() }).map(({ path, stream }) => ({
    family: "connect", method: "POST", path,
    headers: { "content-type": stream ? "application/connect+json" : "application/json" },
    body: stream ? envelope(path.includes("Count") ? { to: 2 } : {}) : path.includes("Greeter") ? '{"name":"Ada"}' : "{}",
  })),
  fc.record({ topic: fc.constantFrom(...topics), user: fc.constantFrom(...users) }).map(({ topic, user }) => ({
    family: "publish", method: "POST", path: `/events/${topic}`, headers: { ...json, ...(user !== "" ? { "x-micro-user": user } : {}) }, body: '{"v":1}',
  })),
  fc.record({ filter: fc.constantFrom(...topics), live: fc.boolean() }).map(({ filter, live }) => ({
    family: live ? "stream" : "replay", method: "GET", path: `/events/${filter}/${live ? "stream" : "replay"}`, headers: {},
  })),
  fc.record({ user: fc.constantFrom(...historyUsers), trailing: fc.constantFrom("", "", "/", "?topics=deploy.>") }).map(({ user, trailing }) => ({
    family: "history", method: "GET", path: `/history/${user}${trailing}`, headers: {},
  })),
  fc.constantFrom(...sidecarCalls).map(([method, path, body]) => ({ family: "sidecar", method, path, headers: json, ...(body !== undefined ? { body } : {}) })),
  fc.constantFrom(...dashboardCalls).map(([method, path, body]) => ({ family: "dashboard", method, path, headers: json, ...(body !== undefined ? { body } : {}) })),
  fc.record({ name: fc.constantFrom(...webNames), rest: fc.constantFrom("/", "", "/x", "/../admin/", "/%2e%2e/admin/"), ws: fc.boolean() }).map(({ name, rest, ws }) => ({
    family: "web", method: "GET", path: `/web/${name}${rest}`, headers: {}, ...(ws ? { ws: true } : {}),
  })),
  fc.constantFrom(...wsPaths).map((path) => ({ family: "ws", method: "GET", path, headers: {}, ws: true })),
);

/** Requests an identity's rules (or everyone's) allow, to mutate: most random requests are refused at the door. */
function homes(id: string | undefined): HttpRequest[] {
  const rpc = (service: string, endpoint: string, request: unknown, namespace?: string): HttpRequest =>
    ({ family: "rpc", method: "POST", path: "/rpc", headers: json, body: JSON.stringify({ service, endpoint, request, ...(namespace !== undefined ? { namespace } : {}) }) });
  const path = (method: string, p: string, body?: string): HttpRequest => ({ family: "path", method, path: p, headers: json, ...(body !== undefined ? { body } : {}) });
  const own: HttpRequest[] = id === undefined ? [] : [
    { family: "history", method: "GET", path: `/history/${encodeURIComponent(id)}`, headers: {} },
    { family: "web", method: "GET", path: "/web/public/", headers: {} },
  ];
  const mine: Record<string, HttpRequest[]> = {
    reader: [path("GET", "/hello?name=Ada"), path("POST", "/hello/call", '{"name":"Ada"}'), rpc("hello", "Hello.Call", {}), { family: "connect", method: "POST", path: "/hello.v1.Hello/Call", headers: json, body: "{}" }],
    greetone: [path("POST", "/greeter/say-hello", '{"name":"Ada"}'), path("GET", "/v1/greeter/say-hello"), rpc("greeter", "Greeter.SayHello", { name: "Ada" }), { family: "connect", method: "POST", path: "/greeter.v1.Greeter/SayHello", headers: json, body: '{"name":"Ada"}' }],
    "jwt-greeter": [path("POST", "/greeter/say-goodbye", '{"name":"Ada"}'), rpc("greeter", "greeter.v1.Greeter/SayGoodbye", { name: "Ada" }), rpc("greeter", "Greeter.SayGoodbye", { name: "Ada" })],
    streamer: [
      path("POST", "/counter/count", '{"to":2}'), { family: "ws", method: "GET", path: "/ws/counter/Counter.Count", headers: {}, ws: true },
      { family: "connect", method: "POST", path: "/counter.v1.Counter/Count", headers: { "content-type": "application/connect+json" }, body: envelope({ to: 2 }) },
    ],
    deployer: [
      { family: "publish", method: "POST", path: "/events/deploy.started", headers: json, body: '{"v":1}' },
      { family: "publish", method: "POST", path: "/events/deploy.x.y", headers: { ...json, "x-micro-user": "deployer" }, body: '{"v":1}' },
      { family: "replay", method: "GET", path: "/events/deploy.>/replay", headers: {} }, { family: "stream", method: "GET", path: "/events/deploy.*/stream", headers: {} },
    ],
    speaker: [{ family: "publish", method: "POST", path: "/events/deploy.started", headers: { ...json, "x-micro-user": "bob" }, body: '{"v":1}' }, { family: "replay", method: "GET", path: "/events/deploy.started/replay", headers: {} }],
    dash: dashboardCalls.map(([method, p, body]) => ({ family: "dashboard", method, path: p, headers: json, ...(body !== undefined ? { body } : {}) })),
    pageview: [{ family: "dashboard", method: "GET", path: "/", headers: {} }],
    auditor: [{ family: "history", method: "GET", path: "/history/bob", headers: {} }],
    sidehosted: [{ family: "sidecar", method: "GET", path: "/sidecar/hosted", headers: {} }],
    shopper: [{ family: "web", method: "GET", path: "/web/shop/x", headers: {} }],
    "tenant-ops": [rpc("tgreeter", "Greeter.SayHello", { name: "Ada" }, "tenant"), rpc("greeter", "Greeter.SayHello", { name: "Ada" }, "tenant"), path("POST", "/tenant/tgreeter/greeter/say-hello", '{"name":"Ada"}')],
    "tg-micro": [rpc("tgreeter", "Greeter.SayHello", { name: "Ada" }), path("POST", "/tgreeter/say-hello", '{"name":"Ada"}')],
  };
  return [...own, ...(id === undefined ? [] : mine[id] ?? [])];
}

/** One hostile change to a path: encodings, dot segments, slashes, case, look-alikes, wildcards. */
type Mutation = (path: string, at: number) => string;
const lookalikes: Record<string, string> = { a: "\u0430", e: "\u0435", o: "\u043e", c: "\u0441", p: "\u0440", k: "\u212a", s: "\u017f", i: "\u0131", l: "\u04cf", y: "\u0443" };
const hex = (ch: string) => Array.from(new TextEncoder().encode(ch), (b) => `%${b.toString(16).padStart(2, "0")}`).join("");
const pathPart = (path: string): [string, string] => {
  const q = path.indexOf("?");
  return q < 0 ? [path, ""] : [path.slice(0, q), path.slice(q)];
};
const mutations: Record<string, Mutation> = {
  encode: (p, at) => replaceAt(p, at, (ch) => (ch === "/" ? ch : hex(ch).toUpperCase())),
  encodeLower: (p, at) => replaceAt(p, at, (ch) => (ch === "/" ? ch : hex(ch))),
  doubleEncode: (p, at) => replaceAt(p, at, (ch) => (ch === "/" ? "%252F" : hex(ch).replace(/%/g, "%25"))),
  encodeSlash: (p, at) => replaceSlash(p, at, (s) => s, ["%2F", "%2f", "%252F", "%5C", "\\"]),
  dotDot: (p, at) => replaceSlash(p, at, (s) => s, ["/zz/../", "/./", "/%2e/", "/%2E%2E/x/../", "/../"]),
  doubleSlash: (p, at) => replaceSlash(p, at, (s) => s, ["//", "///"]),
  trailing: (p) => `${p}/`,
  caseFlip: (p, at) => replaceAt(p, at, (ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())),
  lookalike: (p, at) => replaceAt(p, at, (ch) => lookalikes[ch.toLowerCase()] ?? ch, (ch) => lookalikes[ch.toLowerCase()] !== undefined),
  wildcard: (p, at) => replaceAt(p, at, (ch) => (ch === "/" ? ch : `${ch}${["*", ">", ".", "%2A", "%3E"][at % 5]}`)),
  none: (p) => p,
};
function replaceAt(path: string, at: number, change: (ch: string) => string, eligible: (ch: string) => boolean = (ch) => ch !== "/" && ch !== "%"): string {
  const [p, q] = pathPart(path);
  const positions = [...p].map((ch, i) => [ch, i] as const).filter(([ch, i]) => i > 0 && eligible(ch));
  if (positions.length === 0) return path;
  const [ch, i] = positions[at % positions.length]!;
  const chars = [...p];
  chars[i] = change(ch);
  return chars.join("") + q;
}
function replaceSlash(path: string, at: number, _keep: (s: string) => string, choices: string[]): string {
  const [p, q] = pathPart(path);
  const slashes = [...p].map((ch, i) => [ch, i] as const).filter(([ch, i]) => ch === "/" && i > 0).map(([, i]) => i);
  if (slashes.length === 0) return path;
  const i = slashes[at % slashes.length]!;
  return p.slice(0, i) + choices[at % choices.length] + p.slice(i + 1) + q;
}

const spoofHeaders = fc.record({
  "x-micro-meta-identity": fc.constantFrom("dash", "reader", "tenant-ops", "root"),
  "x-micro-meta-user": fc.constantFrom("bob", "dash"),
  "x-micro-user": fc.constantFrom("bob", "dash", "alice"),
  "x-forwarded-user": fc.constantFrom("dash", "admin"),
  "x-forwarded-for": fc.constantFrom("127.0.0.1", "10.0.0.1"),
  "x-forwarded-host": fc.constantFrom("localhost", "internal"),
  "x-remote-user": fc.constantFrom("dash"),
  "x-micro-identity": fc.constantFrom("dash"),
  "x-micro-source": fc.constantFrom("gateway:dash", "sidecar:dash"),
  "x-http-method-override": fc.constantFrom("GET", "DELETE", "POST"),
  "x-original-url": fc.constantFrom("/rpc", "/greeter/say-hello", "/"),
  "x-micro-version": fc.constantFrom("1.0.0", "2.0.0", "*", ">", "1.0.0,2.0.0"),
  "x-micro-labels": fc.constantFrom("zone=a", "namespace=tenant"),
  "x-micro-key": fc.constantFrom("user-1", "*"),
  "x-micro-namespace": fc.constantFrom("tenant", "micro"),
}, { requiredKeys: [] });

// ---- Sending -------------------------------------------------------------------------------

type Outcome = { status: number | "hang" | "dropped" | "ws-open" | "ws-refused"; body: string };

/** fetch, or raw bytes on a socket when the path must reach the server exactly as written (or fetch refuses it). */
async function send(request: HttpRequest, headers: Record<string, string>, raw: boolean): Promise<Outcome> {
  if (request.ws === true) return await openSocket(request.path, headers);
  const init = { method: request.method, headers: { ...request.headers, ...headers }, ...(request.body !== undefined && request.method !== "GET" && request.method !== "HEAD" ? { body: request.body } : {}) };
  // fetch takes only Latin-1 header values: others go as UTF-8 bytes.
  const bytesOnly = !/^[\x21-\x7e]*$/.test(request.path) || Object.values(init.headers).some((v) => /[^\x00-\xff]/.test(v));
  if (raw || bytesOnly) return await sendRaw(request.method, request.path, init.headers, init.body);
  const signal = AbortSignal.timeout(gatewayTimeoutMs + 3000);
  try {
    const res = await fetch(`${gateway.url}${request.path}`, { ...init, body: init.body as BodyInit | undefined, signal, redirect: "manual" });
    const streaming = res.headers.get("content-type")?.startsWith("text/event-stream");
    const body = streaming ? "" : await res.text();
    if (streaming) await res.body?.cancel();
    return { status: res.status, body };
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return { status: "hang", body: "" };
    throw error;
  }
}

function sendRaw(method: string, path: string, headers: Record<string, string>, body: string | Uint8Array | undefined): Promise<Outcome> {
  const bytes = body === undefined ? new Uint8Array(0) : typeof body === "string" ? new TextEncoder().encode(body) : body;
  const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, "connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (bytes.length > 0 || method === "POST" || method === "PUT") lines.push(`content-length: ${bytes.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8");
  return new Promise((resolve) => {
    let text = "";
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const parsed = (): Outcome => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      return match === null ? { status: "dropped", body: text.slice(0, 200) } : { status: Number(match[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
    };
    const socket = tcpConnect(port, "127.0.0.1", () => socket.write(Buffer.concat([head, bytes])));
    const timer = setTimeout(() => finish({ status: "hang", body: text.slice(0, 200) }), gatewayTimeoutMs + 3000);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      // A live stream never ends: its head is the answer.
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0 && /content-type: text\/event-stream/i.test(text.slice(0, end))) finish(parsed());
    });
    socket.on("close", () => finish(parsed()));
    socket.on("error", () => finish(parsed()));
  });
}

/** Opens a WebSocket, sends one message, and waits for the first answer or the close. */
function openSocket(path: string, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    let opened = false;
    let first = "";
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${gateway.url.replace("http:", "ws:")}${path}`, { headers } as unknown as string[]);
    } catch (error) {
      resolve({ status: "dropped", body: (error as Error).message });
      return;
    }
    const finish = () => {
      clearTimeout(timer);
      try {
        ws.close();
      } catch { /* already closed */ }
      resolve({ status: opened ? "ws-open" : "ws-refused", body: first });
    };
    const timer = setTimeout(finish, 1500);
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ message: path.includes("Count") ? { to: 1 } : { text: "hi", name: "x" } }));
      if (!path.includes("Count")) ws.send(JSON.stringify({ end: true }));
    };
    ws.onmessage = (e) => {
      first = String(e.data);
      finish();
    };
    ws.onerror = () => finish();
    ws.onclose = () => finish();
  });
}

// ---- The oracle --------------------------------------------------------------------------

/** Everything that happened for one request and is not what its identities' rules grant. */
function wrongfulAllows(request: HttpRequest, ids: readonly string[], seen: Observed): string[] {
  const out: string[] = [];
  for (const h of seen.handlers) {
    if (!mayCall(ids, h.namespace, h.service, h.method)) out.push(`handler ${h.kind} ${h.namespace}:${h.service}/${h.method} ran`);
    if (h.identity === undefined ? ids.length > 0 : !ids.includes(h.identity)) out.push(`handler ${h.namespace}:${h.service}/${h.method} saw identity ${JSON.stringify(h.identity)}`);
  }
  for (const s of seen.subjects) {
    // A Connect label with another package (`/a.Greeter/SayHello`) is authorized as `Greeter.SayHello`
    // and reaches no handler (the service knows only its own full names): held to that name.
    const method = canonical.get(`${s.namespace}:${s.service}`)?.get(s.endpoint) ?? s.endpoint.replace(/^(?:[A-Za-z0-9_]+\.)*([A-Za-z0-9_]+)\/([A-Za-z0-9_]+)$/, "$1.$2");
    if (!mayCall(ids, s.namespace, s.service, method)) out.push(`message reached ${s.subject}`);
  }
  for (const a of seen.audit) {
    if (request.family !== "history") {
      if (!mayCall(ids, "micro", "audit", "Audit.History")) out.push(`audit service asked for the history of ${JSON.stringify(a.user)} outside /history`);
    } else if (!mayHistory(ids, a.user)) out.push(`audit service asked for the history of ${JSON.stringify(a.user)}`);
    if (a.identity === null ? ids.length > 0 : !ids.includes(a.identity)) out.push(`audit service saw identity ${JSON.stringify(a.identity)}`);
  }
  for (const topic of seen.published) {
    const ok = request.family === "sidecar" ? maySidecar(ids, `events/${topic}`) : mayPublish(ids, topic);
    if (!ok) out.push(`event stored on ${topic}`);
  }
  for (const filter of seen.consumers) {
    const ok = request.family === "sidecar" ? maySidecar(ids, `events/${filter}/stream`) : mayRead(ids, filter);
    if (!ok) out.push(`events read with filter ${filter}`);
  }
  for (const op of seen.sidecar) if (!maySidecar(ids, op)) out.push(`sidecar ${op}`);
  if (seen.pages > 0 && !mayDashboard(ids, "page") && !maySidecar(ids, "registry")) out.push(`registry listed (dashboard page) ${seen.pages}x`);
  for (const op of seen.operator) if (!mayDashboard(ids, op)) out.push(`dashboard operator ${op}`);
  for (const w of seen.web) {
    if (!mayWeb(ids, w.name)) out.push(`web app ${w.name} reached`);
    if (w.credentials) out.push(`web app ${w.name} got the gateway credentials`);
  }
  return out;
}

/** A 5xx is allowed only as a real service's "unimplemented" (a method it does not have). */
function unexpectedStatus(outcome: Outcome): boolean {
  if (outcome.status === "hang") return true;
  if (typeof outcome.status !== "number" || outcome.status < 500) return false;
  return !(outcome.status === 501 && outcome.body.includes('"unimplemented"'));
}

describe("gateway auth under fuzzing", () => {
  it("reaches, stores and reads nothing outside an identity's rules, over every route family, with no 5xx and no hang", async () => {
    const creds = await credentials();
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    const families = new Map<string, number>();
    let allowedRequests = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...creds).chain((cred) => {
          const near = homes(cred.ids[0]);
          return fc.tuple(fc.constant(cred), near.length === 0 ? requests : fc.oneof(requests, fc.constantFrom(...near)));
        }), fc.oneof(fc.constant([] as Array<[string, number]>), fc.array(fc.tuple(fc.constantFrom(...Object.keys(mutations)), fc.nat()), { minLength: 1, maxLength: 3 })), spoofHeaders, fc.boolean(), fc.boolean(),
        async ([cred, request], changes, spoof, raw, spoofing) => {
          let path = request.path;
          for (const [name, at] of changes) path = mutations[name]!(path, at);
          // Spoofed headers never replace the credential; a publish keeps the X-Micro-User it was made with.
          const headers = { ...(spoofing ? spoof : {}), ...request.headers, ...cred.headers };
          const sent: HttpRequest = { ...request, path, headers: {} };
          current = observe();
          const seen = current;
          const outcome = await send(sent, headers, raw);
          // Whatever the request set off has reached the observers once they have heard back from the server.
          await observer.nc.flush();
          const name = `${cred.name} ${request.method} ${path}${request.ws ? " (WebSocket)" : ""} ${JSON.stringify(headers)}${request.body !== undefined && typeof request.body === "string" ? ` body ${request.body.slice(0, 200)}` : ""}`;
          statuses.set(String(outcome.status), (statuses.get(String(outcome.status)) ?? 0) + 1);
          families.set(request.family, (families.get(request.family) ?? 0) + 1);
          const wrongful = wrongfulAllows(request, cred.ids, seen);
          if (wrongful.length > 0) failures.push(`${name} → ${outcome.status}: ${wrongful.join("; ")}`);
          if (unexpectedStatus(outcome)) failures.push(`${name} → ${outcome.status} ${outcome.body.slice(0, 200)}`);
          const reached = seen.handlers.length + seen.published.length + seen.audit.length + seen.web.length + seen.operator.length + seen.pages;
          if (reached > 0) allowedRequests++;
        },
      ),
      { numRuns, seed, endOnFailure: true },
    );
    // Late arrivals (a stream's handler, a stored event) are attributed to the last request.
    await Bun.sleep(200);
    await observer.nc.flush();
    console.log(`auth-fuzz seed ${seed}, ${numRuns} runs: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, families ${JSON.stringify(Object.fromEntries(families))}, requests that reached something ${allowedRequests}, totals ${JSON.stringify(totals)}`);
    expect(failures).toEqual([]);

    // Every stored event was published by an identity allowed its topic, naming only a user it may name.
    const stored: string[] = [];
    for await (const e of broker.replay(">")) {
      const [via, id] = [e.source?.split(":")[0] ?? "", e.source?.slice(e.source.indexOf(":") + 1) ?? ""];
      const ok = via === "gateway" ? mayPublish([id], e.topic) : via === "sidecar" ? maySidecar([id], `events/${e.topic}`) : false;
      if (!ok || !mayNameUser([id], e.user ?? "")) stored.push(`${e.topic} from ${e.source} naming ${JSON.stringify(e.user)}`);
    }
    expect(stored).toEqual([]);
    // Nothing registered, hosted or subscribed through the sidecar.
    expect(realHosted()).toEqual({ hosted: [], webhooks: [] });
    expect((await registry.listServices()).map((s) => s.name).sort()).toEqual(["admin", "counter", "greeter", "hello", "public", "shop", "tgreeter"]);
    // Not all refused at the door: the oracle saw allowed calls, events and pages happen.
    expect(totals.handlers).toBeGreaterThan(0);
    expect(totals.published).toBeGreaterThan(0);
    expect(totals.web).toBeGreaterThan(0);
    expect(totals.operator).toBeGreaterThan(0);
    expect(totals.consumers).toBeGreaterThan(0);
    expect(totals.audit).toBeGreaterThan(0);
    expect(statuses.get("403") ?? 0).toBeGreaterThan(0);
    expect(statuses.get("401") ?? 0).toBeGreaterThan(0);
    expect(conn.nc.isClosed()).toBe(false);
  }, 600_000);
});

describe("wrongful allows the fuzzing found", () => {
  const rpc = (key: string, body: unknown) =>
    fetch(`${gateway.url}/rpc`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

  it("never reaches a service of another namespace through $SRV.INFO (services of other NATS libraries)", async () => {
    // tenant-ops may call anything in namespace tenant, where no greeter runs: micro's must not answer.
    current = observe();
    const tenant = await rpc("k-tenant", { namespace: "tenant", service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } });
    // tg-micro may call tgreeter in namespace micro, where none runs: tenant's must not answer.
    const micro = await rpc("k-tg", { service: "tgreeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } });
    await observer.nc.flush();
    expect([tenant.status, micro.status]).toEqual([404, 404]);
    expect(current.handlers).toEqual([]);
    expect(current.subjects).toEqual([]);
    // Each still reaches its own namespace's service.
    expect((await rpc("k-tenant", { namespace: "tenant", service: "tgreeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } })).status).toBe(200);
    expect(current.handlers.map((h) => [h.namespace, h.service, h.identity])).toEqual([["tenant", "tgreeter", "tenant-ops"]]);
  });

  it("refuses a JWT whose sub is an API-key identity but for spaces, which NATS headers would drop", async () => {
    for (const sub of ["deployer ", "deployer\u00a0", "\u00a0dash", "reader\u3000"]) {
      current = observe();
      const token = await sign({ iss: "tests", sub, exp: Math.floor(Date.now() / 1000) + 60 }, secret, "HS256");
      const res = await fetch(`${gateway.url}/history/${encodeURIComponent(sub)}`, { headers: { authorization: `Bearer ${token}` } });
      await observer.nc.flush();
      expect([sub, res.status, current.audit]).toEqual([sub, 401, []]);
    }
  });
});

function realHosted(): { hosted: unknown[]; webhooks: unknown[] } {
  // Read past the recording proxy: these calls are the test's, not a request's.
  const saved = current;
  current = observe();
  const result = { hosted: sidecar.hosted(), webhooks: sidecar.webhooks() };
  current = saved;
  return result;
}
