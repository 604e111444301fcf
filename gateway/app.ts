/**
 * The edge gateway as a Hono `fetch` app: Web-standard in, Web-standard out, so the same app
 * serves on Bun, Deno and Node through `runtime/platform/http-server.ts`.
 *
 * It is a list of parts (see `part.ts`) mounted behind the edge middleware (`edge.ts`) and
 * authentication (`authentication.ts`); every route of every part authorizes its target
 * through one `authorize` (`authorization.ts`), which the gateway checks as it is built.
 * @module
 */
import { Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { createDiscovery, type Discovery, type JetStreamBroker, type Registry, type Transport } from "../runtime/mod.ts";
import { defaultNamespace } from "../runtime/protocol/mod.ts";
import { createAbsentServices } from "./absent-services.ts";
import { type AuthConfig, createAuth, parseAuthConfig } from "./auth.ts";
import { authentication } from "./authentication.ts";
import { assertEveryRouteAuthorized, createAuthorize, defaultForwardHeaders } from "./authorization.ts";
import { connectPart } from "./connect.ts";
import type { ActorStatusSource } from "./dashboard/actors-view.ts";
import type { OperatorSource } from "./dashboard/operator.ts";
import { dashboardPart } from "./dashboard/routes.ts";
import { addEdgeMiddleware } from "./edge.ts";
import { eventsPart } from "./events.ts";
import { healthPart } from "./health.ts";
import { historyPart } from "./history.ts";
import type { GatewayDeps, GatewayEnv, GatewayPart } from "./part.ts";
import type { NatsMicroDirectory } from "../runtime/registry/nats-micro-endpoints.ts";
import { rpcPart } from "./rpc.ts";
import { createServiceIndex } from "./service-index.ts";
import { servicePathsPart } from "./service-paths.ts";
import { sidecarPart } from "./sidecar/routes.ts";
import type { Sidecar } from "./sidecar/sidecar.ts";
import { streamSocketPart } from "./stream-socket.ts";
import { type GatewayObservability, metricsRoutes, observabilityMiddleware } from "./observability.ts";
import { webPart } from "./web/routes.ts";
import { defaultMaxEventStreams, defaultMaxEventStreamsPerIdentity, LiveEventSlots } from "./live-events.ts";

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
  /**
   * JSON replies of `/rpc` and path routes carry default-valued fields (`0`, `""`, `false`,
   * `[]`) too (false): protobuf JSON leaves them out. A request may ask either way with
   * `X-Micro-Emit-Defaults` or `?emit_defaults=`.
   */
  readonly emitDefaults?: boolean;
  /** Largest request body in bytes (1 MiB); never more than `natsMaxPayload` allows. */
  readonly maxBodyBytes?: number;
  /** Live event streams open at once (`/events/{filter}/stream`, the sidecar's), each a JetStream consumer; more is 429. Default 1000. */
  readonly maxEventStreams?: number;
  /** Of those, the most one authenticated identity holds (with auth on); more is 429. Default 100. */
  readonly maxEventStreamsPerIdentity?: number;
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
  /**
   * How calls choose nodes (with `registry`): pass one made with the routing rules
   * (`createDiscovery({ registry, rules })`) so every route follows `micro traffic` weights.
   * Default: discovery over `registry` without routing rules.
   */
  readonly discovery?: Discovery;
  /**
   * Services written with other NATS libraries (nats.go `micro`, `@nats-io/services`, ...):
   * `/rpc` and path routes reach their endpoints on the subjects their `$SRV.INFO` announces,
   * e.g. `createNatsMicroDirectory(nc)`. Without it only jetmicro subjects are reached.
   */
  readonly natsMicro?: NatsMicroDirectory;
  /** API keys and/or JWT with per-identity rules; unset, the gateway is open (development). */
  readonly auth?: AuthConfig;
  /** Request headers passed to handlers as call metadata (by lower-case name), e.g. `["x-tenant"]`. */
  readonly forwardHeaders?: readonly string[];
  /** Host names (with `:port` where it is not the default) the gateway answers; unset, any. Others get 400. */
  readonly allowedHosts?: readonly string[];
  /** Origins allowed by CORS (`["*"]`); empty turns CORS off. */
  readonly corsOrigins?: readonly string[];
  /**
   * How the dashboard asks keyed actor types for their nodes, shards and active keys, e.g.
   * `(service, namespace) => listActors(nc, service, { namespace, waitMs: 300 })`. With `auth`
   * on, only identities allowed the `dashboard` target see the page, and so the keys.
   */
  readonly actors?: ActorStatusSource;
  /**
   * With a registry: the dashboard's operator sections and their JSON routes under
   * `/dashboard/api/*` (live stats and health, version weights, dead letters, consumer lag),
   * e.g. `createNatsOperator({ nc, namespace, registry, broker, rules })`. Every route needs
   * the `dashboard` target when auth is on.
   */
  readonly operator?: OperatorSource;
  /**
   * The features mounted, in order (default {@link gatewayParts}). A part of your own goes
   * before `servicePathsPart`, the catch-all, and starts each route with `deps.authorize`.
   */
  readonly parts?: readonly GatewayPart[];
  /** Tracing (HTTP spans, `traceparent` in and out), metrics (and `GET /metrics`) and request log lines. */
  readonly observability?: GatewayObservability;
}

/** Room for the NATS headers and the api Request around a body. */
const envelopeBytes = 16 * 1024;

/**
 * The gateway's features in the order they are mounted: more specific routes first, the
 * service path routes (the catch-all) last. Parts without what they need (a broker, a
 * registry, WebSockets, a sidecar) mount nothing.
 */
export const gatewayParts: readonly GatewayPart[] = [
  healthPart,
  connectPart,
  eventsPart,
  historyPart,
  sidecarPart,
  dashboardPart,
  webPart,
  streamSocketPart,
  rpcPart,
  servicePathsPart,
];

/**
 * Creates the gateway: `POST /rpc` with `{service, endpoint, request[, namespace]}`, and
 * go-micro path routing (`/greeter/say-hello` → `Greeter.SayHello` of `greeter`) onto srv
 * services (JSON bodies) and API services (the whole HTTP request), Connect, events, the
 * dashboard, web services and WebSocket streams. Errors are `{id, code, detail, status}` with
 * the matching HTTP status.
 *
 * @example
 * ```ts
 * const app = createGateway({ transport, registry, auth: { apiKeys: { "k-1": "ci" }, allow: { ci: ["greeter"] } } });
 * await serveHttp(app.fetch, { port: 8080 });
 * ```
 */
export function createGateway(options: GatewayOptions): Hono<GatewayEnv> {
  const namespace = options.namespace ?? defaultNamespace;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const auth = options.auth === undefined ? undefined : createAuth(parseAuthConfig(options.auth, "gateway auth"), namespace);
  const forwardHeaders = options.forwardHeaders ?? defaultForwardHeaders;
  const deps: GatewayDeps = {
    transport: options.transport,
    namespace,
    rpcNamespaces: new Set(options.rpcNamespaces ?? [namespace]),
    timeoutMs,
    emitDefaults: options.emitDefaults ?? false,
    credentialHeaders: auth?.credentialHeaders ?? [],
    authorize: createAuthorize({ ...(auth ? { auth } : {}), forwardHeaders }),
    allows: (identity, target) => auth === undefined || (identity !== undefined && auth.allows(identity, target)),
    ...(options.broker !== undefined ? { broker: options.broker } : {}),
    liveEvents: new LiveEventSlots(options.maxEventStreams ?? defaultMaxEventStreams, options.maxEventStreamsPerIdentity ?? defaultMaxEventStreamsPerIdentity),
    ...(options.registry !== undefined
      ? { registry: options.registry, index: createServiceIndex(options.registry), discovery: options.discovery ?? createDiscovery({ registry: options.registry }), absent: createAbsentServices() }
      : {}),
    ...(options.natsMicro !== undefined ? { natsMicro: options.natsMicro } : {}),
    ...(options.upgradeWebSocket !== undefined ? { upgradeWebSocket: options.upgradeWebSocket } : {}),
    ...(options.sidecar !== undefined ? { sidecar: options.sidecar } : {}),
    ...(options.actors !== undefined ? { actors: options.actors } : {}),
    ...(options.operator !== undefined ? { operator: options.operator } : {}),
  };

  const app = new Hono<GatewayEnv>();
  const observed = options.observability;
  if (observed !== undefined && (observed.tracing || observed.metrics || observed.logger)) app.use(observabilityMiddleware(observed));
  addEdgeMiddleware(app, {
    timeoutMs,
    maxBodyBytes: Math.min(options.maxBodyBytes ?? 1024 * 1024, (options.natsMaxPayload ?? Infinity) - envelopeBytes),
    corsOrigins: options.corsOrigins ?? ["*"],
    forwardHeaders,
    ...(options.allowedHosts !== undefined ? { allowedHosts: options.allowedHosts } : {}),
  });
  if (auth !== undefined) app.use(authentication(auth));
  const firstRoute = app.routes.length;
  if (observed?.metrics !== undefined) app.route("/", metricsRoutes(observed.metrics));
  for (const part of options.parts ?? gatewayParts) {
    const routes = part(deps);
    if (routes !== undefined) app.route("/", routes);
  }
  assertEveryRouteAuthorized(app, firstRoute);
  return app;
}
