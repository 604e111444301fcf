/**
 * The gateway's observability: one middleware, outermost, that makes the HTTP request the
 * root (or, with a `traceparent` from the client, a child) of its trace and returns
 * `traceparent` on the response, counts `micro_gateway_requests_total{route,method,status}`
 * with its latency, and writes a log line per request: every 5xx, and 4xx refusals and
 * successes each sampled (a flood of hostile requests must not become a flood of log lines,
 * each costing the gateway CPU and its operators storage; the next line taken says how many
 * were skipped).
 * And `GET /metrics`, public as Prometheus scrapes it without credentials.
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { traceContextOf, traceIdOf, traceparentHeader, tracestateHeader } from "../runtime/protocol/mod.ts";
import { createSampler, type Logger } from "../runtime/observability/logger.ts";
import { type MetricsRegistry, prometheusContentType } from "../runtime/observability/metrics.ts";
import type { Tracing } from "../runtime/observability/tracing.ts";
import { publicRoute } from "./authorization.ts";
import type { GatewayEnv } from "./part.ts";

/** What the gateway observes itself with; each part optional. */
export interface GatewayObservability {
  readonly tracing?: Tracing | undefined;
  readonly metrics?: MetricsRegistry | undefined;
  readonly logger?: Logger | undefined;
  /** Most success lines per second, and most 4xx lines per second (100 each). */
  readonly samplePerSecond?: number;
}

/** The middleware; see the module doc. */
export function observabilityMiddleware(o: GatewayObservability): MiddlewareHandler<GatewayEnv> {
  const { tracing, metrics, logger } = o;
  const sampler = createSampler(o.samplePerSecond ?? 100);
  const refusals = createSampler(o.samplePerSecond ?? 100);
  const total = metrics?.counter("micro_gateway_requests_total", "HTTP requests the gateway answered, by route, method and status.", ["route", "method", "status"]);
  const duration = metrics?.histogram("micro_gateway_request_duration_seconds", "Time the gateway took to answer, by route and method.", ["route", "method"]);
  return async function observe(c, next) {
    const began = performance.now();
    const method = methodLabel(c.req.method);
    let traceId: string | undefined;
    if (tracing === undefined) {
      await next();
    } else {
      const span = tracing.startSpan("server", traceContextOf(c.req.header(traceparentHeader), c.req.header(tracestateHeader)));
      c.set("trace", span.trace);
      try {
        await span.run(next);
      } finally {
        const route = routeOf(c);
        const status = c.res.status;
        span.end(`${method} ${route}`, {
          "http.request.method": method,
          "url.path": c.req.path.slice(0, 2048),
          "http.route": route,
          "http.response.status_code": status,
        }, status >= 500 ? "" : undefined);
        traceId = traceIdOf(span.trace);
        // Returned so a client can find its request's trace; a WebSocket upgrade's headers are fixed.
        if (status !== 101) {
          try {
            c.res.headers.set(traceparentHeader, span.trace.traceparent);
          } catch {
            // Immutable headers (a proxied response): the trace id is still in the log line.
          }
        }
      }
    }
    const route = routeOf(c);
    const status = c.res.status;
    const ms = performance.now() - began;
    total?.inc({ route, method, status: String(status) });
    duration?.observe({ route, method }, ms / 1000);
    if (logger !== undefined) {
      const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
      const kept = level === "error" ? undefined : level === "warn" ? refusals : sampler;
      if (kept === undefined || (logger.enabled(level) && kept.take())) {
        logger.log(level, "http request", {
          method: c.req.method.slice(0, 32),
          path: c.req.path.slice(0, 200),
          route,
          status,
          ms: Math.round(ms * 100) / 100,
          trace_id: traceId,
          skipped: kept?.skipped || undefined,
        });
      }
    }
  };
}

/** HTTP methods labelled as they are; Deno passes any token on, so other ones would each be a new series. */
const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);

function methodLabel(method: string): string {
  return knownMethods.has(method) ? method : "other";
}

/**
 * The route pattern that answered (`/rpc`, `/events/:topic`), bounded in number by the app's
 * routes; for the catch-all path routes, the pattern the path resolved by (`/{service}/{endpoint}`).
 */
function routeOf(c: { req: { matchedRoutes: readonly { path: string; method: string }[] }; get(key: "routePattern"): string | undefined }): string {
  const pattern = c.get("routePattern");
  if (pattern !== undefined) return pattern;
  const routes = c.req.matchedRoutes;
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== "ALL") return routes[i]!.path;
  return "unmatched";
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoutes(metrics: MetricsRegistry): Hono<GatewayEnv> {
  return new Hono<GatewayEnv>().get("/metrics", publicRoute, async (c) => c.body(await metrics.scrape(), 200, { "content-type": prometheusContentType }));
}
