/**
 * The middleware every gateway request passes before its route: a request id, checks on
 * framing, headers and host (`edge-request.ts`), security headers, CORS for browsers, a time
 * limit, a body limit, and the one error answer.
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { timeout } from "hono/timeout";
import { MicroError } from "../runtime/mod.ts";
import { metaHeadersEntry } from "./authorization.ts";
import { errorResponse } from "./errors.ts";
import { isLoopbackOrigin, loopbackOrigins } from "./exposure.ts";
import { bodyStalled, bodyStillArriving } from "./body-framing.ts";
import { limitBodies } from "./body-limit.ts";
import { corsAllowedHeaders, metaHeaderPrefix } from "./http-headers.ts";
import { requestChecks } from "./edge-request.ts";
import { requestIds } from "./request-id.ts";
import type { GatewayEnv } from "./part.ts";
import { isLongLivedRequest, requestPath } from "../runtime/platform/http-server.ts";

/** Settings of the edge middleware. */
export interface EdgeOptions {
  /** Call timeout in ms; the time limit is a second past it. */
  readonly timeoutMs: number;
  /** Largest request body in bytes. */
  readonly maxBodyBytes: number;
  /** Origins allowed by CORS; empty turns CORS off. */
  readonly corsOrigins: readonly string[];
  /** Headers forwarded as metadata (allowed in CORS preflights). */
  readonly forwardHeaders: readonly string[];
  /** Host names the gateway answers; unset, any. */
  readonly allowedHosts?: readonly string[];
}

/** Adds the edge middleware, the error answer and the not-found answer to `app`. */
export function addEdgeMiddleware(app: Hono<GatewayEnv>, options: EdgeOptions): void {
  const { timeoutMs, maxBodyBytes: maxBody, corsOrigins: origins, forwardHeaders } = options;
  app.use(requestIds());
  app.use(requestChecks(options.allowedHosts !== undefined ? { allowedHosts: options.allowedHosts } : {}));
  // Web apps behind /web/{name}/ set their own security headers.
  const secure = secureHeaders();
  app.use((c, next) => (c.req.path.startsWith("/web/") ? next() : secure(c, next)));
  if (origins.length > 0) {
    const exact = new Set(origins);
    const allowOrigins = cors({
      origin: origins.includes("*")
        ? "*"
        : origins.includes(loopbackOrigins)
        ? (origin) => (exact.has(origin) || isLoopbackOrigin(origin) ? origin : null)
        : [...origins],
      exposeHeaders: ["X-Request-Id"],
      allowHeaders: [...corsAllowedHeaders, ...forwardHeaders.filter((h) => h !== metaHeadersEntry)],
    });
    // Only browsers send Origin, and CORS is only for them: other clients skip its cost. With
    // a list of origins every response needs CORS's `Vary: Origin`, for caches.
    const anyOrigin = origins.includes("*");
    const withCors: MiddlewareHandler<GatewayEnv> = async (c, next) => {
      const response = await allowOrigins(c, next);
      // `X-Micro-Meta-<key>` headers are metadata for any key: a preflight asking for some gets them.
      const meta = c.req.method === "OPTIONS" && forwardHeaders.includes(metaHeadersEntry) ? metaHeadersAsked(c.req.header("access-control-request-headers")) : [];
      if (response instanceof Response && meta.length > 0) {
        const allowed = [response.headers.get("access-control-allow-headers"), ...meta].filter(Boolean).join(",");
        // Hono copies the context's headers onto a returned response: set both.
        for (const headers of [response.headers, c.res.headers]) headers.set("access-control-allow-headers", allowed);
      }
      return response;
    };
    // No async frame for the usual request without Origin: it goes straight on.
    app.use((c, next) => (anyOrigin && c.req.raw.headers.get("origin") === null ? next() : withCors(c, next)));
  }
  // A safety net past the call deadline (which answers first, with a better message). A body
  // that stopped arriving times out here too: 408, the client's doing (a 5xx would put a slow
  // client in the error log and the 5xx alerts, unsampled).
  const limitMs = timeoutMs + 1000;
  const timeLimit = timeout(limitMs, (c) =>
    bodyStillArriving(c.req.raw) ? bodyStalled(limitMs) : new HTTPException(504, { message: `no answer within ${limitMs} ms` }));
  // Streams and WebSocket upgrades stay open; web apps behind /web/ answer on their own time.
  app.use((c, next) => (isLongLived(c.req.raw, c.req.path) ? next() : timeLimit(c, next)));
  // Bodies are counted as routes read them, never buffered here (see body-limit.ts).
  app.use(limitBodies(maxBody));
  app.onError((error, c) => errorResponse(error, c.get("requestId"), c.req.raw));
  app.notFound((c) => errorResponse(new MicroError("not_found", `no route for ${c.req.method} ${c.req.path.slice(0, 100)}`), c.get("requestId")));
}

/**
 * Requests the HTTP server must not cut when they go quiet (its idle timeout): streams,
 * WebSocket upgrades, Connect streams and proxied web apps.
 */
export function isLongLivedGatewayRequest(request: Request): boolean {
  return isLongLived(request, requestPath(request.url)) || isLongLivedRequest(request);
}

/**
 * Live streams, WebSocket upgrades and proxied web apps: no gateway time limit. Streams and
 * handshakes are GETs, which have no body to wait for; other methods cannot claim to be one.
 */
function isLongLived(request: Request, path: string): boolean {
  if (path.startsWith("/web/")) return true;
  return request.method === "GET" && (path.endsWith("/stream") || request.headers.get("upgrade")?.toLowerCase() === "websocket");
}

/** The `X-Micro-Meta-*` names in a preflight's `Access-Control-Request-Headers`. */
function metaHeadersAsked(requested: string | undefined): string[] {
  return (requested ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => /^x-micro-meta-[a-z0-9_-]+$/.test(h));
}
