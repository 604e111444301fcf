/**
 * The dashboard routes: `GET /` renders the page from the registry on every request (so it is
 * never stale), `/dashboard/app.js` and `/dashboard/style.css` are its script and style.
 * @module
 */
import type { Hono } from "hono";
import type { Registry } from "../../runtime/mod.ts";
import { clientScript } from "./client-script.ts";
import { dashboardPage } from "./page.ts";
import { dashboardStyle } from "./style.ts";
import { type ActorStatusSource, actorStatuses } from "./actors-view.ts";

/** Dashboard settings. */
export interface DashboardOptions {
  readonly registry: Registry;
  /** Whether the gateway serves `/events/...` and `/history/...`. */
  readonly events: boolean;
  /** How to ask actor types for their nodes, shards and active keys; without it the actors panel says so. */
  readonly actors?: ActorStatusSource;
}

/** Adds the dashboard to `app`. */
export function addDashboardRoutes(app: Hono, options: DashboardOptions): void {
  app.get("/", async (c) => {
    const services = await options.registry.listServices();
    const actors = options.actors === undefined ? undefined : await actorStatuses(services, options.actors);
    return c.html(dashboardPage({ services, events: options.events, ...(actors === undefined ? {} : { actors }) }));
  });
  app.get("/dashboard/app.js", (c) => c.body(clientScript, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }));
  app.get("/dashboard/style.css", (c) => c.body(dashboardStyle, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" }));
}
