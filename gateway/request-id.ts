/**
 * The request id of every gateway answer: the caller's `X-Request-Id` when it is a plain
 * token of at most 255 characters, else a new UUID; kept in `c.var.requestId` and echoed in
 * the answer's header. What Hono's `requestId` middleware does, without an `async` frame and
 * its promise around the rest of the chain (it runs for every request).
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { requestIdHeader } from "./http-headers.ts";
import type { GatewayEnv } from "./part.ts";

/** Longest caller-given request id kept. */
export const maxRequestIdLength = 255;
const unsafe = /[^\w\-=]/;

/** The middleware; see the module comment. */
export function requestIds(): MiddlewareHandler<GatewayEnv> {
  return function requestId(c, next) {
    let id = c.req.raw.headers.get(requestIdHeader);
    if (id === null || id === "" || id.length > maxRequestIdLength || unsafe.test(id)) id = crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    return next();
  };
}
