/**
 * The dashboard routes: `GET /` renders the page from the registry on every request (so it is
 * never stale), `/dashboard/app.js` and `/dashboard/style.css` are its script and style.
 * @module
 */
import { Hono } from "hono";
import type { AuthTarget } from "../auth.ts";
import { gatewayTarget } from "../auth-rules.ts";
import { publicRoute } from "../authorization.ts";
import type { GatewayEnv, GatewayPart } from "../part.ts";
import { clientScript } from "./client-script.ts";
import { dashboardPage } from "./page.ts";
import { dashboardStyle } from "./style.ts";
import { actorStatuses } from "./actors-view.ts";
import { operatorApi } from "./operator-api.ts";

/**
 * With a registry: `GET /` (behind auth as the pseudo-service `dashboard`, endpoint `page`: it
 * lists every node, and actor keys) and its script and style (public); with `deps.operator`,
 * the operator routes under `/dashboard/api/*` (see `operator-api.ts`).
 */
export const dashboardPart: GatewayPart = (deps) => {
  const registry = deps.registry;
  if (registry === undefined) return undefined;
  const page = (): AuthTarget => gatewayTarget("dashboard", "page");
  const app = new Hono<GatewayEnv>();
  app.get("/", deps.authorize(page), async (c) => {
    const services = await registry.listServices();
    const actors = deps.actors === undefined ? undefined : await actorStatuses(services, deps.actors);
    return c.html(dashboardPage({ services, events: deps.broker !== undefined, operator: deps.operator !== undefined, ...(actors === undefined ? {} : { actors }) }));
  });
  if (deps.operator !== undefined) app.route("/", operatorApi(deps, deps.operator));
  app.get("/dashboard/app.js", publicRoute, (c) => c.body(clientScript, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }));
  app.get("/dashboard/style.css", publicRoute, (c) => c.body(dashboardStyle, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }));
  return app;
};
