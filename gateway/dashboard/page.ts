/**
 * The dashboard page: the operator sections (live node stats and health, traffic weights,
 * event topics with lag, dead letters), services with request forms, a publish-event form,
 * live events, a user's audit history.
 * Rendered on the server with `hono/html`, which escapes every interpolated value.
 * @module
 */
import { html } from "hono/html";
import type { Service } from "../../runtime/mod.ts";
import { servicesView } from "./services-view.ts";
import type { ActorStatuses } from "./actors-view.ts";
import { operatorSections, publishSection } from "./operator-view.ts";

/** What the page shows. */
export interface DashboardPage {
  readonly services: readonly Service[];
  /** Whether `/events/...` and `/history/...` exist (the gateway has a broker). */
  readonly events: boolean;
  /** Status of the actor types among `services`; undefined when the gateway cannot ask. */
  readonly actors?: ActorStatuses;
  /** Whether the operator sections (live stats, weights, dead letters, lag) and `/dashboard/api/*` exist. */
  readonly operator?: boolean;
}

/** The whole page; its script and style are separate routes (see `routes.ts`). */
export function dashboardPage(page: DashboardPage) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jetmicro dashboard</title>
<link rel="stylesheet" href="/dashboard/style.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header><h1>jetmicro</h1><a href="/">refresh</a></header>
<main>
${page.operator === true ? operatorSections() : ""}
<section id="services"><h2>Services</h2>${servicesView(page.services, page.actors)}</section>
${page.events ? html`${publishSection()}${eventsSections()}` : html`<p class="muted">Events are off: this gateway has no event broker.</p>`}
</main>
</body>
</html>`;
}

function eventsSections() {
  return html`<section id="events"><h2>Live events</h2>
<form id="events-form"><label for="events-filter">topic filter</label> <input id="events-filter" value=">" size="24"> <button type="submit">Watch</button> <button type="button" id="events-stop" disabled>Stop</button> <span id="events-state" class="muted"></span></form>
<ol id="events-list" reversed></ol>
</section>
<section id="history"><h2>Audit history</h2>
<form id="history-form"><label for="history-user">user</label> <input id="history-user" required> <button type="submit">Show</button></form>
<div id="history-error" class="error" hidden></div>
<table id="history-table" hidden><thead><tr><th>time</th><th>topic</th><th>source</th><th>data</th></tr></thead><tbody></tbody></table>
</section>`;
}
