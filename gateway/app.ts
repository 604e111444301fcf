/**
 * The edge gateway as a Hono `fetch` app: Web-standard in, Web-standard out, so the same app
 * serves on Bun, Deno and Node through `runtime/platform/http-server.ts`.
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import type { UpgradeWebSocket } from "hono/ws";
import { type JetStreamBroker, MicroError, type Transport } from "../runtime/mod.ts";
import { addConnectRoutes } from "./connect.ts";
import { addConnectStreamRoutes } from "./connect-stream.ts";
import { addStreamSocketRoute } from "./stream-socket.ts";
import { addEventRoutes } from "./events.ts";
import { callJson } from "./call.ts";
import { errorResponse } from "./errors.ts";
import { resolvePath } from "./paths.ts";
import { createSidecarApp } from "./sidecar/routes.ts";
import type { Sidecar } from "./sidecar/sidecar.ts";

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
  /** Largest request body in bytes (1 MiB). */
  readonly maxBodyBytes?: number;
  /** With a broker: `/events/...` and `/history/{user}` routes. */
  readonly broker?: JetStreamBroker;
  /** The platform's WebSocket upgrade (`platformUpgradeWebSocket()`), for WebSocket routes. */
  readonly upgradeWebSocket?: UpgradeWebSocket;
  /** With a sidecar (`createSidecar`): its HTTP API under `/sidecar/...`. */
  readonly sidecar?: Sidecar;
}

const json = { "content-type": "application/json" };

/**
 * Creates the gateway: `POST /rpc` with `{service, endpoint, request[, namespace]}`, and
 * go-micro path routing (`/greeter/say-hello` → `Greeter.SayHello` of `greeter`), both with
 * JSON bodies. Errors are `{id, code, detail, status}` with the matching HTTP status.
 */
export function createGateway(options: GatewayOptions): Hono {
  const namespace = options.namespace ?? "micro";
  const rpcNamespaces = new Set(options.rpcNamespaces ?? [namespace]);
  const defaultTimeout = options.timeoutMs ?? 10_000;
  const app = new Hono();

  app.use(requestId());
  app.use(bodyLimit({
    maxSize: options.maxBodyBytes ?? 1024 * 1024,
    onError: (c) => errorResponse(new MicroError("resource_exhausted", "request body too large"), c.get("requestId")),
  }));
  app.onError((error, c) => errorResponse(error, c.get("requestId")));
  app.notFound((c) => errorResponse(new MicroError("not_found", `no route for ${c.req.method} ${c.req.path}`), c.get("requestId")));

  const timeoutOf = (header: string | undefined): number => {
    if (header === undefined) return defaultTimeout;
    const ms = Number(header);
    if (!Number.isInteger(ms) || ms <= 0) throw new MicroError("invalid_argument", `X-Micro-Timeout must be a whole number of ms, got "${header}"`);
    return Math.min(ms, defaultTimeout);
  };
  const metadataOf = (request: Request): Record<string, string> => {
    const out: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      if (key.startsWith("x-micro-meta-")) out[key.slice("x-micro-meta-".length)] = value;
    });
    return out;
  };

  app.get("/health", (c) => c.json({ status: "ok" }));
  addConnectStreamRoutes(app, { transport: options.transport, namespace, openTimeoutMs: defaultTimeout });
  addConnectRoutes(app, { transport: options.transport, namespace, timeoutMs: defaultTimeout });
  if (options.broker !== undefined) addEventRoutes(app, { broker: options.broker, transport: options.transport, namespace });
  if (options.sidecar !== undefined) app.route("/sidecar", createSidecarApp(options.sidecar));

  if (options.upgradeWebSocket !== undefined) {
    addStreamSocketRoute(app, { transport: options.transport, namespace, upgradeWebSocket: options.upgradeWebSocket, openTimeoutMs: defaultTimeout });
  }

  app.post("/rpc", async (c) => {
    let body: { service?: unknown; endpoint?: unknown; request?: unknown; namespace?: unknown };
    try {
      body = await c.req.json();
    } catch {
      throw new MicroError("invalid_argument", "the body must be JSON: {\"service\", \"endpoint\", \"request\"}");
    }
    if (typeof body !== "object" || body === null || typeof body.service !== "string" || typeof body.endpoint !== "string") {
      throw new MicroError("invalid_argument", "service and endpoint are required strings, e.g. {\"service\":\"greeter\",\"endpoint\":\"Greeter.SayHello\"}");
    }
    const ns = typeof body.namespace === "string" ? body.namespace : namespace;
    if (!rpcNamespaces.has(ns)) throw new MicroError("permission_denied", `/rpc may not call namespace "${ns}"`);
    if (!/^[A-Za-z0-9_-]+$/.test(body.service) || !/^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/.test(body.endpoint)) {
      throw new MicroError("invalid_argument", `bad service "${body.service}" or endpoint "${body.endpoint}" (expected e.g. greeter and Greeter.SayHello)`);
    }
    const reply = await callJson(options.transport, {
      namespace: ns,
      service: body.service,
      endpoint: body.endpoint,
      body: new TextEncoder().encode(JSON.stringify(body.request ?? {})),
      timeoutMs: timeoutOf(c.req.header("x-micro-timeout")),
      metadata: metadataOf(c.req.raw),
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, json);
  });

  app.on(["GET", "POST"], "/*", async (c) => {
    const route = resolvePath(c.req.path);
    const raw = c.req.method === "GET" ? new Uint8Array() : new Uint8Array(await c.req.arrayBuffer());
    const reply = await callJson(options.transport, {
      namespace,
      service: route.service,
      endpoint: route.endpoint,
      body: raw.length === 0 ? new TextEncoder().encode("{}") : raw,
      timeoutMs: timeoutOf(c.req.header("x-micro-timeout")),
      metadata: metadataOf(c.req.raw),
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, json);
  });

  return app;
}
