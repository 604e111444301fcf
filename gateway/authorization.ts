/**
 * Authorisation, the one way every gateway route goes: `authorize(targetOf)` is the first
 * handler of a route. `targetOf` says what the request reaches (and checks its names, so a
 * hostile one is a 400 before anything else); the caller's identity (from the authentication
 * middleware) must be allowed that target by the auth rules; the request's call metadata is
 * then set on the context. Routes that reach nothing (`/health`, the dashboard's script)
 * are declared `publicRoute` instead. {@link assertEveryRouteAuthorized} refuses an app with
 * a route that has neither, so none can be added that skips the check silently.
 *
 * Call metadata: HTTP headers become metadata only through the allow list; its entry
 * `x-micro-meta-*` (in the default list) admits `X-Micro-Meta-<key>` as metadata `<key>`. The
 * `identity` key is the gateway's alone, so a client cannot claim one.
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { MicroError } from "../runtime/mod.ts";
import type { Auth, AuthTarget } from "./auth.ts";
import { metaHeaderPrefix } from "./http-headers.ts";
import type { Authorize, GatewayEnv, GatewayVariables, TargetOf } from "./part.ts";

/** Metadata key carrying the authenticated identity to handlers. */
export const identityKey = "identity";

/** The allow-list entry admitting every `X-Micro-Meta-<key>` header. */
export const metaHeadersEntry = `${metaHeaderPrefix}*`;

/** The allow list when none is configured: only the `X-Micro-Meta-<key>` convention. */
export const defaultForwardHeaders: readonly string[] = [metaHeadersEntry];


// Route handlers made by `authorize` and `publicRoute`, for assertEveryRouteAuthorized.
const checked = new WeakSet<object>();

/** Builds `authorize` for a gateway: `auth` undefined means open (development), every target allowed. */
export function createAuthorize(options: { auth?: Auth; forwardHeaders?: readonly string[] }): Authorize {
  const forward = new Set((options.forwardHeaders ?? defaultForwardHeaders).map((h) => h.toLowerCase()));
  const metaConvention = forward.has(metaHeadersEntry);
  const auth = options.auth;
  return <T extends AuthTarget>(targetOf: TargetOf<T>) => {
    const middleware: MiddlewareHandler<GatewayEnv> = async function authorize(c, next) {
      const target = await targetOf(c);
      const identity = c.var.identity;
      if (auth !== undefined) {
        // Anonymous: authenticate() names the credentials this route needs.
        if (identity === undefined) await auth.authenticate(new Headers());
        auth.authorize(identity!, target);
      }
      const metadata: Record<string, string> = {};
      c.req.raw.headers.forEach((value, key) => {
        if (metaConvention && key.startsWith(metaHeaderPrefix)) metadata[key.slice(metaHeaderPrefix.length)] = value;
        else if (forward.has(key)) metadata[key] = value;
      });
      delete metadata[identityKey];
      if (identity !== undefined) metadata[identityKey] = identity;
      c.set("target", target);
      c.set("metadata", metadata);
      return next();
    };
    checked.add(middleware);
    return middleware as unknown as MiddlewareHandler<{ Variables: GatewayVariables & { target: T } }>;
  };
}

/** The first handler of a route that reaches nothing behind the gateway and needs no credentials. */
export const publicRoute: MiddlewareHandler<GatewayEnv> = function publicRoute(_c, next) {
  return next();
};
checked.add(publicRoute);

/**
 * Throws unless every route registered on `app` from `app.routes[from]` on has an `authorize`
 * or `publicRoute` handler for its method and path.
 */
export function assertEveryRouteAuthorized(app: Hono<GatewayEnv>, from = 0): void {
  const routes = app.routes.slice(from);
  const covered = new Set<string>();
  for (const r of routes) if (checked.has(unwrapped(r.handler))) covered.add(`${r.method} ${r.path}`);
  for (const r of routes) {
    if (!covered.has(`${r.method} ${r.path}`)) {
      throw new MicroError("internal", `gateway route ${r.method} ${r.path} neither authorizes its target nor is declared public: start it with deps.authorize(...) or publicRoute`);
    }
  }
}

// Hono wraps the handlers of a sub-app that has its own error handler; the original stays reachable.
function unwrapped(handler: unknown): object {
  let h = handler as { __COMPOSED_HANDLER?: unknown };
  while (h.__COMPOSED_HANDLER !== undefined) h = h.__COMPOSED_HANDLER as typeof h;
  return h;
}
