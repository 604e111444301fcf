/**
 * The sidecar's HTTP API, a Hono app the gateway mounts at `/sidecar` (and `runSidecar`
 * serves on its own port, at the same paths):
 *
 * | route | what |
 * |---|---|
 * | `POST /registry` | host a service for an app: `{name, version?, url, endpoints, metadata?, health?, healthIntervalMs?}` → 201 |
 * | `DELETE /registry/{name}[?version=v]` | stop hosting it (deregistered at once, in-flight calls finish) |
 * | `GET /registry`, `GET /registry/{name}` | services in the registry (every node, any language) |
 * | `GET /hosted` | the services this sidecar hosts, with their health state |
 * | `POST /rpc` | call any service: `{service, endpoint, request}` → its JSON reply |
 * | `POST /events/{topic}` | publish the JSON body → 201 `{id, sequence, duplicate}` |
 * | `GET /events/{filter}/stream` | live events as server-sent events |
 * | `POST /subscriptions` | webhook subscription: `{topic, url, service, maxDeliveries?, concurrency?, timeoutMs?}` → 201 `{id, ...}` |
 * | `GET /subscriptions`, `DELETE /subscriptions/{id}` | list, stop |
 *
 * Errors are the gateway's `{id, code, detail, status}` with the matching status.
 * @module
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { assertTopic, MicroError } from "../../runtime/mod.ts";
import { assertToken, maxTimeoutMs, type TraceContext } from "../../runtime/protocol/mod.ts";
import { eventField, eventUser, timeoutFrom } from "../edge-bounds.ts";
import { eventIdHeader, eventSourceHeader, eventUserHeader, metaHeaderPrefix, timeoutHeader } from "../http-headers.ts";
import { callJson } from "../call.ts";
import { errorResponse } from "../errors.ts";
import { assertMayNameUser, assertPublishable } from "../events.ts";
import { defaultMaxEventStreams, LiveEventSlots, serveLiveEvents } from "../live-events.ts";
import { assertJsonContentType } from "../content-type.ts";
import { bodyText, stringifyJson } from "../json-body.ts";
import type { AuthTarget } from "../auth.ts";
import { gatewayTarget } from "../auth-rules.ts";
import { identityKey } from "../authorization.ts";
import type { GatewayEnv, GatewayPart } from "../part.ts";
import type { Sidecar } from "./sidecar.ts";
import { parseCall, parseJsonText, parseRegistration, parseSubscription } from "./requests.ts";

const encoder = new TextEncoder();

/** What the sidecar's routes read from the context: the caller's identity when the gateway's auth set one, and the request's span when it traces. */
interface SidecarEnv {
  Variables: { identity?: string | undefined; requestId?: string; trace?: TraceContext | undefined };
}

/**
 * The sidecar API over `sidecar`; see the module comment for the routes. `authorize`, when
 * given, is the first handler of every route (the gateway's authorisation).
 */
export function createSidecarApp(
  sidecar: Sidecar,
  options: {
    authorize?: MiddlewareHandler;
    allows?: (identity: string | undefined, target: AuthTarget) => boolean;
    /** The open live event streams to count against (the gateway's, mounted); default {@link defaultMaxEventStreams} of its own. */
    liveEvents?: LiveEventSlots;
  } = {},
): Hono {
  const app = new Hono<SidecarEnv>();
  // Each live stream holds a JetStream consumer: bounded (see live-events.ts).
  const live = options.liveEvents ?? new LiveEventSlots(defaultMaxEventStreams, defaultMaxEventStreams, "the sidecar's own");
  // Standalone, the sidecar has no auth: every route is open to whoever reaches its port.
  const guard = (options.authorize ?? ((_c, next) => next())) as MiddlewareHandler<SidecarEnv>;
  const requestIdOf = (c: Context): string => (c.get("requestId" as never) as string | undefined) ?? crypto.randomUUID();
  app.onError((error, c) => errorResponse(error, requestIdOf(c), c.req.raw));
  const body = async (c: Context): Promise<unknown> => {
    assertJsonContentType(c.req.raw.headers, `${c.req.method} /sidecar${c.req.path.replace(/^\/sidecar/, "")}`);
    return parseJsonText(await bodyText(c.req.raw));
  };
  const broker = (what: string) => {
    if (sidecar.broker === undefined) throw new MicroError("failed_precondition", `${what} needs JetStream, and this sidecar runs without an event broker`);
    return sidecar.broker;
  };

  app.get("/health", guard, (c) => c.json({ status: "ok" }));

  app.post("/registry", guard, async (c) => {
    const spec = parseRegistration(await body(c), { healthIntervalMs: sidecar.healthIntervalMs });
    return c.json(await sidecar.register(spec), 201);
  });
  app.delete("/registry/:name", guard, async (c) => {
    const name = c.req.param("name");
    assertToken("service", name);
    const stopped = await sidecar.deregister(name, c.req.query("version"));
    if (stopped.length === 0) throw new MicroError("not_found", `this sidecar hosts no service ${name}${c.req.query("version") ? ` ${c.req.query("version")}` : ""}`, { detail: name });
    return c.json({ deregistered: stopped });
  });
  app.get("/registry", guard, async (c) => {
    const services = (await sidecar.registry.listServices()).filter((s) => s.namespace === sidecar.namespace);
    return c.json({ services });
  });
  app.get("/registry/:name", guard, async (c) => {
    const name = c.req.param("name");
    assertToken("service", name);
    const services = await sidecar.registry.getService(name, sidecar.namespace);
    if (services.length === 0) throw new MicroError("not_found", `no service ${name} is registered`, { detail: name });
    return c.json({ services });
  });
  app.get("/hosted", guard, (c) => c.json({ services: sidecar.hosted() }));

  app.post("/rpc", guard, async (c) => {
    const call = parseCall(await body(c));
    const timeout = c.req.header(timeoutHeader);
    const timeoutMs = timeout === undefined ? 10_000 : timeoutFrom(timeout, "X-Micro-Timeout", maxTimeoutMs);
    const metadata: Record<string, string> = {};
    c.req.raw.headers.forEach((value, key) => {
      if (key.startsWith(metaHeaderPrefix)) metadata[key.slice(metaHeaderPrefix.length)] = value;
    });
    // The identity is the gateway's to say (its auth sets it for the sidecar), never the caller's.
    delete metadata[identityKey];
    const identity = c.var.identity;
    if (identity !== undefined) metadata[identityKey] = identity;
    const reply = await callJson(sidecar.transport, {
      namespace: sidecar.namespace,
      service: call.service,
      endpoint: call.endpoint,
      body: encoder.encode(stringifyJson(call.request, "request")),
      timeoutMs,
      metadata,
      trace: c.var.trace,
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/json" });
  });

  app.post("/events/:topic", guard, async (c) => {
    const topic = c.req.param("topic");
    try {
      assertTopic(topic, false);
    } catch (error) {
      throw new MicroError("invalid_argument", (error as Error).message, { detail: "topic" });
    }
    assertPublishable(topic);
    const user = eventUser(c.req.header(eventUserHeader), "header X-Micro-User");
    const id = eventField(c.req.header(eventIdHeader), "header X-Event-Id");
    const identity = c.var.identity;
    // Who published is the gateway's to say: behind the gateway the source names the caller's
    // identity and X-Micro-Source is refused; only a standalone sidecar (its app alone reaches
    // it) takes the app's own name, and never one that claims to be the gateway.
    const claimed = eventField(c.req.header(eventSourceHeader), "header X-Micro-Source");
    if (claimed !== undefined && (options.authorize !== undefined || claimed.startsWith("gateway"))) {
      throw new MicroError("invalid_argument", `header X-Micro-Source is set by ${options.authorize !== undefined ? "the gateway, never by a caller" : "the sidecar: it may not claim to be the gateway"}`, { detail: "X-Micro-Source" });
    }
    if (options.allows !== undefined) assertMayNameUser(options.allows, identity, user);
    const source = options.authorize === undefined ? (claimed ?? "sidecar") : identity === undefined ? "sidecar" : `sidecar:${identity}`;
    assertJsonContentType(c.req.raw.headers, `POST /sidecar/events/${topic}`);
    const text = await bodyText(c.req.raw);
    parseJsonText(text);
    const result = await broker("publishing").publish(topic, encoder.encode(text), {
      contentType: "application/json",
      source,
      user,
      ...(id ? { id } : {}),
      ...(c.var.trace === undefined ? {} : { traceparent: c.var.trace.traceparent }),
    });
    return c.json(result, result.duplicate ? 200 : 201);
  });
  app.get("/events/:filter/stream", guard, (c) => {
    const filter = c.req.param("filter");
    try {
      assertTopic(filter, true);
    } catch (error) {
      throw new MicroError("invalid_argument", (error as Error).message, { detail: "filter" });
    }
    return serveLiveEvents(c, broker("streaming events"), filter, "sidecar", live);
  });

  app.post("/subscriptions", guard, async (c) => {
    const spec = parseSubscription(await body(c));
    broker("a subscription");
    return c.json(await sidecar.subscribe(spec), 201);
  });
  app.get("/subscriptions", guard, (c) => c.json({ subscriptions: sidecar.webhooks() }));
  app.delete("/subscriptions/:id", guard, async (c) => {
    const id = c.req.param("id");
    if (!(await sidecar.unsubscribe(id))) throw new MicroError("not_found", `no subscription ${id}`, { detail: id });
    return c.json({ stopped: id });
  });

  // Mounted under the gateway, unknown sidecar paths must not fall through to service routing.
  app.all("*", guard, (c) => errorResponse(new MicroError("not_found", `no sidecar route for ${c.req.method} ${c.req.path}`), requestIdOf(c)));
  return app as unknown as Hono;
}

/**
 * With a sidecar: its API under `/sidecar`. Whoever reaches it can register services: with
 * auth on, only identities allowed the target `sidecar` (endpoint: the path after `/sidecar/`) may use it.
 */
export const sidecarPart: GatewayPart = (deps) => {
  if (deps.sidecar === undefined) return undefined;
  const sidecarTarget = (c: Context<GatewayEnv>): AuthTarget => gatewayTarget("sidecar", c.req.path.slice("/sidecar/".length));
  return new Hono<GatewayEnv>().route("/sidecar", createSidecarApp(deps.sidecar, { authorize: deps.authorize(sidecarTarget) as unknown as MiddlewareHandler, allows: deps.allows, liveEvents: deps.liveEvents }));
};
