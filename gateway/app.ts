/**
 * The edge gateway as a Hono `fetch` app: Web-standard in, Web-standard out, so the same app
 * serves on Bun, Deno and Node through `runtime/platform/http-server.ts`.
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { timeout } from "hono/timeout";
import type { UpgradeWebSocket } from "hono/ws";
import { createDiscovery, type JetStreamBroker, MicroError, type Registry, type Transport } from "../runtime/mod.ts";
import { decodeApiResponse, encodeApiRequest } from "./api-handler.ts";
import { type AuthConfig, createAuth, parseAuthConfig } from "./auth.ts";
import { addConnectRoutes } from "./connect.ts";
import { addConnectStreamRoutes } from "./connect-stream.ts";
import { addStreamSocketRoute } from "./stream-socket.ts";
import { addEventRoutes } from "./events.ts";
import { callJson } from "./call.ts";
import { bodyTooLarge, errorResponse } from "./errors.ts";
import { createGuard, defaultForwardHeaders, identityKey, metaHeadersEntry } from "./guard.ts";
import { resolvePath } from "./paths.ts";
import { callSubject, shown } from "../runtime/protocol/mod.ts";
import { addDashboardRoutes } from "./dashboard/routes.ts";
import type { ActorStatusSource } from "./dashboard/actors-view.ts";
import { addWebRoutes } from "./web/routes.ts";
import { createSidecarApp, sidecarIdentity } from "./sidecar/routes.ts";
import type { Sidecar } from "./sidecar/sidecar.ts";
import { resolveTarget } from "./target.ts";
import { createServiceIndex } from "./service-index.ts";

/** Gateway settings. */
export interface GatewayOptions {
  /** How calls reach services. */
  readonly transport: Transport;
  /** Namespace of services reached by path (`micro`). */
  readonly namespace?: string;
  /** Namespaces `/rpc` may call; default only `namespace`. */
  readonly rpcNamespaces?: readonly string[];
  /** Call timeout in ms (10000); a request may lower it with `X-Micro-Timeout`. */
  readonly timeoutMs?: number;
  /** Largest request body in bytes (1 MiB); never more than `natsMaxPayload` allows. */
  readonly maxBodyBytes?: number;
  /** The NATS server's max payload (`nc.info.max_payload`): bodies that could not travel get 413 here. */
  readonly natsMaxPayload?: number;
  /** With a broker: `/events/...` and `/history/{user}` routes. */
  readonly broker?: JetStreamBroker;
  /** The platform's WebSocket upgrade (`platformUpgradeWebSocket()`), for WebSocket routes. */
  readonly upgradeWebSocket?: UpgradeWebSocket;
  /** With a sidecar (`createSidecar`): its HTTP API under `/sidecar/...` (behind auth when auth is on). */
  readonly sidecar?: Sidecar;
  /**
   * With a registry: paths reach API services (type `api`) as well as srv services, and
   * `/v1/...` paths reach a version; the dashboard is served at `/` and web services
   * under `/web/{name}/...`. Without one, paths reach srv services only. The gateway
   * follows the registry's watch until the registry is closed.
   */
  readonly registry?: Registry;
  /** API keys and/or JWT with per-identity rules; unset, the gateway is open (development). */
  readonly auth?: AuthConfig;
  /** Request headers passed to handlers as call metadata (by lower-case name), e.g. `["x-tenant"]`. */
  readonly forwardHeaders?: readonly string[];
  /** Origins allowed by CORS (`["*"]`); empty turns CORS off. */
  readonly corsOrigins?: readonly string[];
  /**
   * How the dashboard asks keyed actor types for their nodes, shards and active keys, e.g.
   * `(service, namespace) => listActors(nc, service, { namespace, waitMs: 300 })`. With `auth`
   * on, only identities allowed the `dashboard` target see the page, and so the keys.
   */
  readonly actors?: ActorStatusSource;
}

/** Room for the NATS headers and the api Request around a body. */
const envelopeBytes = 16 * 1024;

const json = { "content-type": "application/json" };
const encoder = new TextEncoder();

/**
 * Creates the gateway: `POST /rpc` with `{service, endpoint, request[, namespace]}`, and
 * go-micro path routing (`/greeter/say-hello` → `Greeter.SayHello` of `greeter`) onto srv
 * services (JSON bodies) and API services (the whole HTTP request). Errors are
 * `{id, code, detail, status}` with the matching HTTP status.
 *
 * @example
 * ```ts
 * const app = createGateway({ transport, registry, auth: { apiKeys: { "k-1": "ci" }, allow: { ci: ["greeter"] } } });
 * await serveHttp(app.fetch, { port: 8080 });
 * ```
 */
export function createGateway(options: GatewayOptions): Hono {
  const namespace = options.namespace ?? "micro";
  const rpcNamespaces = new Set(options.rpcNamespaces ?? [namespace]);
  const defaultTimeout = options.timeoutMs ?? 10_000;
  const maxBody = Math.min(options.maxBodyBytes ?? 1024 * 1024, (options.natsMaxPayload ?? Infinity) - envelopeBytes);
  const auth = options.auth === undefined ? undefined : createAuth(parseAuthConfig(options.auth, "gateway auth"), namespace);
  const forwardHeaders = options.forwardHeaders ?? defaultForwardHeaders;
  const guard = createGuard({ ...(auth ? { auth } : {}), forwardHeaders });
  const index = options.registry === undefined ? undefined : createServiceIndex(options.registry);
  const discovery = options.registry === undefined ? undefined : createDiscovery({ registry: options.registry });
  const app = new Hono();

  app.use(requestId());
  // Web apps behind /web/{name}/ set their own security headers.
  const secure = secureHeaders();
  app.use((c, next) => (c.req.path.startsWith("/web/") ? next() : secure(c, next)));
  const origins = options.corsOrigins ?? ["*"];
  if (origins.length > 0) {
    const allowOrigins = cors({
      origin: origins.includes("*") ? "*" : [...origins],
      exposeHeaders: ["X-Request-Id"],
      allowHeaders: ["Content-Type", "Authorization", "X-API-Key", "X-Request-Id", "X-Micro-Timeout", "X-Event-Id", "X-Micro-User", "Connect-Protocol-Version", "Connect-Timeout-Ms", ...forwardHeaders.filter((h) => h !== metaHeadersEntry)],
    });
    // Only browsers send Origin, and CORS is only for them: other clients skip its cost. With
    // a list of origins every response needs CORS's `Vary: Origin`, for caches.
    const anyOrigin = origins.includes("*");
    app.use(async (c, next) => {
      if (anyOrigin && c.req.header("origin") === undefined) return next();
      const response = await allowOrigins(c, next);
      // `X-Micro-Meta-<key>` headers are metadata for any key: a preflight asking for some gets them.
      const meta = c.req.method === "OPTIONS" && forwardHeaders.includes(metaHeadersEntry) ? metaHeadersAsked(c.req.header("access-control-request-headers")) : [];
      if (response instanceof Response && meta.length > 0) {
        const allowed = [response.headers.get("access-control-allow-headers"), ...meta].filter(Boolean).join(",");
        // Hono copies the context's headers onto a returned response: set both.
        for (const headers of [response.headers, c.res.headers]) headers.set("access-control-allow-headers", allowed);
      }
      return response;
    });
  }
  // A safety net past the call deadline (which answers first, with a better message). Before
  // the body limit, which reads a chunked body to its end: a body that never ends times out too.
  const timeLimit = timeout(defaultTimeout + 1000, () => new HTTPException(504, { message: `no answer within ${defaultTimeout + 1000} ms` }));
  // Streams and WebSocket upgrades stay open; web apps behind /web/ answer on their own time.
  app.use((c, next) => (isLongLived(c.req.raw, c.req.path) ? next() : timeLimit(c, next)));
  const limitBody = bodyLimit({ maxSize: maxBody, onError: (c) => errorResponse(bodyTooLarge(maxBody), c.get("requestId")) });
  // A Content-Length within the limit is all the body limit would check (it counts only
  // bodies of unknown length), and asking a request for its body stream costs: skip it then.
  app.use((c, next) => (withinLimit(c.req.raw.headers, maxBody) ? next() : limitBody(c, next)));
  app.onError((error, c) => errorResponse(error, c.get("requestId")));
  app.notFound((c) => errorResponse(new MicroError("not_found", `no route for ${c.req.method} ${c.req.path}`), c.get("requestId")));

  const timeoutOf = (header: string | undefined): number => {
    if (header === undefined) return defaultTimeout;
    const ms = Number(header);
    if (!Number.isInteger(ms) || ms <= 0) throw new MicroError("invalid_argument", `X-Micro-Timeout must be a whole number of ms, got "${header}"`);
    return Math.min(ms, defaultTimeout);
  };

  app.get("/health", (c) => c.json({ status: "ok" }));
  addConnectStreamRoutes(app, { transport: options.transport, namespace, openTimeoutMs: defaultTimeout, guard });
  addConnectRoutes(app, { transport: options.transport, namespace, timeoutMs: defaultTimeout, guard });
  if (options.broker !== undefined) addEventRoutes(app, { broker: options.broker, transport: options.transport, namespace, guard, timeoutMs: defaultTimeout });
  if (options.sidecar !== undefined) {
    // Whoever reaches the sidecar can register services: with auth on, only identities allowed
    // the target "sidecar" may use it.
    app.use("/sidecar/*", async (c, next) => {
      const metadata = await guard(c.req.raw, { namespace, service: "sidecar", endpoint: c.req.path.slice("/sidecar/".length) });
      if (metadata[identityKey] !== undefined) c.set(sidecarIdentity as never, metadata[identityKey] as never);
      return next();
    });
    app.route("/sidecar", createSidecarApp(options.sidecar));
  }

  if (options.registry !== undefined) {
    // With auth on, the page (it lists every node) and web apps need credentials like any
    // route: the dashboard is the pseudo-service `dashboard`, web service `shop` is `web/shop`.
    app.on("GET", "/", async (c, next) => {
      await guard(c.req.raw, { namespace, service: "dashboard", endpoint: "page" });
      return next();
    });
    const guardWeb: MiddlewareHandler = async (c, next) => {
      await guard(c.req.raw, { namespace, service: "web", endpoint: c.req.param("service") ?? "" });
      return next();
    };
    app.use("/web/:service", guardWeb);
    app.use("/web/:service/*", guardWeb);
    addDashboardRoutes(app, { registry: options.registry, events: options.broker !== undefined, ...(options.actors !== undefined ? { actors: options.actors } : {}) });
    addWebRoutes(app, { registry: options.registry, namespace, upgradeWebSocket: options.upgradeWebSocket, dropHeaders: auth?.credentialHeaders ?? [] });
  }

  if (options.upgradeWebSocket !== undefined) {
    addStreamSocketRoute(app, { transport: options.transport, namespace, upgradeWebSocket: options.upgradeWebSocket, openTimeoutMs: defaultTimeout, guard });
  }

  app.post("/rpc", async (c) => {
    const body = parseJson(await c.req.text(), "the body") as { service?: unknown; endpoint?: unknown; request?: unknown; namespace?: unknown };
    if (typeof body !== "object" || body === null || typeof body.service !== "string" || typeof body.endpoint !== "string") {
      throw new MicroError("invalid_argument", "service and endpoint are required strings, e.g. {\"service\":\"greeter\",\"endpoint\":\"Greeter.SayHello\"}");
    }
    const ns = typeof body.namespace === "string" ? body.namespace : namespace;
    if (!rpcNamespaces.has(ns)) throw new MicroError("permission_denied", `/rpc may not call namespace "${shown(ns)}"`);
    // Every name is checked as the subject is built: a hostile one is a 400 before NATS.
    callSubject({ namespace: ns, service: body.service, endpoint: body.endpoint });
    const metadata = await guard(c.req.raw, { namespace: ns, service: body.service, endpoint: body.endpoint });
    const reply = await callJson(options.transport, {
      namespace: ns,
      service: body.service,
      endpoint: body.endpoint,
      body: encoder.encode(JSON.stringify(body.request ?? {})),
      timeoutMs: timeoutOf(c.req.header("x-micro-timeout")),
      metadata,
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, json);
  });

  // go-micro's path routes: an API service gets the whole request, a srv service the JSON body.
  app.all("/*", async (c) => {
    const route = resolvePath(c.req.path);
    const ns = route.subNamespace === undefined ? namespace : `${namespace}.${route.subNamespace}`;
    callSubject({ namespace: ns, service: route.service, endpoint: route.endpoint });
    const metadata = await guard(c.req.raw, { namespace: ns, service: route.service, endpoint: route.endpoint });
    const target = await resolveTarget(index, ns, route);
    const call = {
      namespace: ns,
      service: route.service,
      endpoint: route.endpoint,
      timeoutMs: timeoutOf(c.req.header("x-micro-timeout")),
      metadata,
      ...(target.version !== undefined && discovery !== undefined ? { version: target.version, discovery } : {}),
    };
    if (target.type === "api") {
      const body = await encodeApiRequest(c.req.raw, auth?.credentialHeaders ?? []);
      const reply = await callJson(options.transport, { ...call, type: "api", contentType: "application/proto", body });
      return decodeApiResponse(reply, route.service);
    }
    const raw = c.req.method === "GET" || c.req.method === "HEAD" ? "" : await c.req.text();
    if (raw.trim() !== "") {
      const parsed = parseJson(raw, "the body");
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new MicroError("invalid_argument", `the body must be a JSON object (the ${route.endpoint} request message), got ${Array.isArray(parsed) ? "an array" : String(parsed)}`);
      }
    }
    const reply = await callJson(options.transport, { ...call, body: raw.trim() === "" ? encoder.encode("{}") : encoder.encode(raw) });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, json);
  });

  return app;
}

/**
 * Live streams, WebSocket upgrades and proxied web apps: no gateway time limit. Streams and
 * handshakes are GETs, which have no body to wait for; other methods cannot claim to be one.
 */
function isLongLived(request: Request, path: string): boolean {
  if (path.startsWith("/web/")) return true;
  return request.method === "GET" && (path.endsWith("/stream") || request.headers.get("upgrade")?.toLowerCase() === "websocket");
}

/** True when the request declares a length (and no chunked body) of at most `max` bytes. */
function withinLimit(headers: Headers, max: number): boolean {
  const length = headers.get("content-length");
  return length !== null && !headers.has("transfer-encoding") && Number.parseInt(length, 10) <= max;
}

/** The `X-Micro-Meta-*` names in a preflight's `Access-Control-Request-Headers`. */
function metaHeadersAsked(requested: string | undefined): string[] {
  return (requested ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => /^x-micro-meta-[a-z0-9_-]+$/.test(h));
}

/** `JSON.parse` with a 400 that names the problem. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MicroError("invalid_argument", `${what} is not valid JSON: ${(error as Error).message}`);
  }
}

