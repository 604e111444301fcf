/**
 * The actors panel of a keyed actor type (registry metadata `actor.key`): its key field and
 * shard count, then per node the shards it owns and the keys active there with their mailbox
 * depth, as `listActors` reports them when the page is rendered.
 * @module
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { ActorNodeStatus, Service } from "../../runtime/mod.ts";
import { actorKeyMetadata } from "../../runtime/actor/define.ts";
import { shardRanges } from "../../runtime/actor/shard-ranges.ts";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** How the dashboard asks an actor type's nodes for their status (`listActors` on the gateway's connection). */
export type ActorStatusSource = (service: string, namespace: string) => Promise<readonly ActorNodeStatus[]>;

/** Most keys listed per node: the panel stays readable with thousands of carts. */
const keysShown = 50;

/** Whether `service` is a keyed actor type: `defineActor` puts its key field in the metadata. */
export function isActorService(service: Service): boolean {
  return service.metadata[actorKeyMetadata] !== undefined;
}

/** Each actor type's status by `namespace.name`: its nodes' reports, or why they could not be had. */
export type ActorStatuses = ReadonlyMap<string, readonly ActorNodeStatus[] | Error>;

/** Asks for the status of each actor type among `services`, by `namespace.name`; a failure is shown, not thrown. */
export async function actorStatuses(services: readonly Service[], source: ActorStatusSource): Promise<ActorStatuses> {
  const types = [...new Map(services.filter(isActorService).map((s) => [`${s.namespace}.${s.name}`, s])).values()];
  const answers = await Promise.all(types.map((s) =>
    source(s.name, s.namespace).catch((error: unknown) =>
      // Nobody listening answers "no responders" at once: no node reports, which is not a fault.
      /no responders/i.test(String((error as Error)?.message ?? error)) ? [] : error instanceof Error ? error : new Error(String(error)))));
  return new Map(types.map((s, i) => [`${s.namespace}.${s.name}`, answers[i]!]));
}

/** The panel of one actor type; `status` is undefined when the gateway cannot ask (no NATS connection). */
export function actorsPanel(service: Service, status: readonly ActorNodeStatus[] | Error | undefined): Html {
  const shards = service.metadata["actor.shards"];
  return html`<div class="actors" data-actors="${service.name}">
  <h4>Actors <span class="muted">one per <code>${service.metadata[actorKeyMetadata]}</code>${shards === undefined ? "" : html`, ${shards} shards`}</span></h4>
  ${status === undefined
    ? html`<p class="muted">Actor status is not shown by this gateway (it has no NATS connection for it); run <code>micro actors ${service.name}</code>.</p>`
    : status instanceof Error
    ? html`<p class="error">actor status: ${status.message}</p>`
    : status.length === 0
    ? html`<p class="muted">No node of ${service.name} answered.</p>`
    : html`<table class="actor-nodes"><thead><tr><th>node</th><th>shards</th><th>active keys (mailbox depth)</th></tr></thead><tbody>${status.map(nodeRow)}</tbody></table>`}
</div>`;
}

function nodeRow(node: ActorNodeStatus): Html {
  const active = [...node.active].sort((a, b) => b.depth - a.depth || a.key.localeCompare(b.key));
  const more = active.length - keysShown;
  return html`<tr data-node="${node.nodeId}"><td><code>${node.nodeId}</code></td><td>${shardRanges(node.shards)} <span class="muted">(${node.shards.length})</span></td><td>${
    active.length === 0 ? html`<span class="muted">none active</span>` : html`${active.slice(0, keysShown).map((a) =>
      html`<span class="actor-key${a.depth > 0 ? " busy" : ""}" data-key="${a.key}" title="shard ${a.shard}, sequence ${a.sequence}, ${a.timers} timers"><code>${a.key}</code> (${a.depth})</span> `)}${more > 0 ? html`<span class="muted">and ${more} more</span>` : ""}`
  }</td></tr>`;
}
