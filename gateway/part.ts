/**
 * The contract of a gateway part. The gateway is a list of parts (service path routes,
 * `/rpc`, Connect, events, history, dashboard, web proxy, WebSocket streams, sidecar), each a
 * Hono sub-app built from the shared {@link GatewayDeps} and mounted in order by
 * `createGateway`. Every route of a part goes through `deps.authorize(targetOf)` (or is
 * declared `publicRoute`): `createGateway` refuses to build an app with a route that does
 * neither, so no route can skip authorisation silently.
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import type { Discovery, JetStreamBroker, Registry, Transport } from "../runtime/mod.ts";
import type { TraceContext } from "../runtime/protocol/mod.ts";
import type { AbsentServices } from "./absent-services.ts";
import type { AuthTarget } from "./auth.ts";
import type { ActorStatusSource } from "./dashboard/actors-view.ts";
import type { OperatorSource } from "./dashboard/operator.ts";
import type { ServiceIndex } from "./service-index.ts";
import type { NatsMicroDirectory } from "../runtime/registry/nats-micro-endpoints.ts";
import type { Sidecar } from "./sidecar/sidecar.ts";
import type { LiveEventSlots } from "./live-events.ts";

/** What the gateway's middleware leaves on the Hono context for the routes. */
export interface GatewayVariables {
  /** Set by the edge's request-id middleware (`request-id.ts`). */
  requestId: string;
  /** The authenticated caller (set once per request by the authentication middleware); undefined with auth off or no credentials. */
  identity: string | undefined;
  /** What the route reaches, set by `authorize` once it is allowed. */
  target: AuthTarget;
  /** Call metadata of the request: the allowed headers, and `identity` when auth is on. Set by `authorize`. */
  metadata: Record<string, string>;
  /**
   * The route pattern metrics and logs name a request by, when its Hono route is a catch-all
   * (`/*`): a few fixed patterns such as `/{service}/{endpoint}`, never the raw path.
   */
  routePattern: string | undefined;
  /** The request's span, when tracing is on (set by the observability middleware): every call and event the request makes continues it. */
  trace: TraceContext | undefined;
}

/** The Hono env of every gateway route. */
export interface GatewayEnv {
  Variables: GatewayVariables;
}

/** What every part shares, built once by `createGateway`. */
export interface GatewayDeps {
  readonly transport: Transport;
  /** Namespace of services reached by path. */
  readonly namespace: string;
  /** Namespaces `/rpc` may call. */
  readonly rpcNamespaces: ReadonlySet<string>;
  /** Longest call, in ms; a request may lower it. */
  readonly timeoutMs: number;
  /** JSON replies carry default-valued fields unless a request says otherwise. */
  readonly emitDefaults: boolean;
  readonly broker?: JetStreamBroker;
  /** The gateway's open live event streams (its own and the mounted sidecar's), against their maximum. */
  readonly liveEvents: LiveEventSlots;
  readonly registry?: Registry;
  /** The registry's services kept current (with a registry). */
  readonly index?: ServiceIndex;
  /** Node selection of every call and stream (with a registry): weights, version, labels, key. */
  readonly discovery?: Discovery;
  /** With a registry: queue subjects that just had no responders, answered 404 without NATS for a moment (`absent-services.ts`). */
  readonly absent?: AbsentServices;
  /** Where services of other NATS libraries announce their endpoints (`$SRV.INFO`). */
  readonly natsMicro?: NatsMicroDirectory;
  readonly upgradeWebSocket?: UpgradeWebSocket;
  readonly sidecar?: Sidecar;
  readonly actors?: ActorStatusSource;
  /** What the dashboard's operator sections read and change (stats, health, weights, dead letters, lag); absent, they are off. */
  readonly operator?: OperatorSource;
  /** Request headers carrying gateway credentials: never passed to services or apps. */
  readonly credentialHeaders: readonly string[];
  /** The authorisation middleware factory every route goes through. */
  readonly authorize: Authorize;
  /**
   * True when `identity` may reach `target` (always, with auth off): for what a route checks
   * besides its own target, such as publishing an event naming another user (`@as-user/{user}`).
   */
  readonly allows: (identity: string | undefined, target: AuthTarget) => boolean;
}

/** A feature of the gateway: its routes as a sub-app, or undefined when it is off (no broker, no registry, ...). */
export type GatewayPart = (deps: GatewayDeps) => Hono<GatewayEnv> | undefined;

/** The context of a route's handlers once `authorize` set its target `T`. */
export type TargetContext<T extends AuthTarget> = Context<{ Variables: GatewayVariables & { target: T } }>;

/** What a request reaches, worked out (and its names checked) from the request. */
export type TargetOf<T extends AuthTarget> = (c: Context<GatewayEnv>) => T | Promise<T>;

/** The middleware of a route reaching what `targetOf` says; the route's handlers see the target as `c.var.target`. */
export type Authorize = <T extends AuthTarget>(targetOf: TargetOf<T>) => MiddlewareHandler<{ Variables: GatewayVariables & { target: T } }>;
