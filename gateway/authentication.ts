/**
 * Authentication as a middleware: once per request, before any route, the caller's
 * credentials become an identity on the context (`c.var.identity`). A request without
 * credentials goes on as anonymous (public routes such as `/health` need none; every other
 * route's `authorize` then answers 401); wrong credentials are 401 at once.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Auth } from "./auth.ts";
import { apiKeyHeader, authorizationHeader } from "./http-headers.ts";
import type { GatewayEnv } from "./part.ts";

/** Sets `identity` from the request's API key or JWT; see the module comment. */
export function authentication(auth: Auth): MiddlewareHandler<GatewayEnv> {
  return async function authenticate(c, next) {
    const headers = c.req.raw.headers;
    if (headers.has(apiKeyHeader) || headers.has(authorizationHeader)) c.set("identity", await auth.authenticate(headers));
    return next();
  };
}
