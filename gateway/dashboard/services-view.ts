/**
 * The services section: each service by name, one block per version, with its nodes and
 * endpoints, and a request form for every endpoint the gateway can call.
 * @module
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { type EndpointRecord, type NodeRecord, type Service, webServiceUrlKey } from "../../runtime/mod.ts";
import { requestForm } from "./request-form.ts";
import { type ActorStatuses, actorsPanel, isActorService } from "./actors-view.ts";


type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * Renders `services` (as `Registry.listServices` gives them) grouped by name; actor types get
 * an actors panel from `actors` (undefined: the gateway cannot ask).
 */
export function servicesView(services: readonly Service[], actors?: ActorStatuses): Html {
  if (services.length === 0) return html`<p class="muted" id="no-services">No service is registered. Start one with <code>npm start</code>.</p>`;
  const byName = new Map<string, Service[]>();
  for (const s of services) {
    const key = `${s.namespace}.${s.type}.${s.name}`;
    byName.set(key, [...(byName.get(key) ?? []), s]);
  }
  return html`${[...byName.values()].map((versions) => serviceView(versions, actors))}`;
}

function serviceView(versions: readonly Service[], actors: ActorStatuses | undefined): Html {
  const first = versions[0]!;
  const actorType = versions.find(isActorService);
  return html`<section class="service" data-service="${first.name}" data-type="${first.type}">
  <h3>${first.name} <span class="tag">${first.type}</span> <span class="tag">${first.namespace}</span></h3>
  ${versions.map((s) => versionView(s))}
  ${actorType === undefined ? "" : actorsPanel(actorType, actors?.get(`${first.namespace}.${first.name}`))}
</section>`;
}

function versionView(service: Service): Html {
  return html`<details class="version" data-version="${service.version}" open>
  <summary>version ${service.version} · ${service.nodes.length} node${service.nodes.length === 1 ? "" : "s"}</summary>
  <ul class="nodes">${service.nodes.map((n) => nodeView(service, n))}</ul>
  ${service.type === "web" ? html`<p><a href="/web/${encodeURIComponent(service.name)}/">open /web/${service.name}/</a></p>` : ""}
  ${service.endpoints.length > 0 ? html`<div class="endpoints">${service.endpoints.map((e) => endpointView(service, e))}</div>` : ""}
</details>`;
}

function nodeView(service: Service, node: NodeRecord): Html {
  const metadata = Object.entries(node.metadata);
  const url = service.type === "web" ? node.metadata[webServiceUrlKey] : undefined;
  return html`<li class="node"><code>${node.id}</code> <span class="muted">${url ?? node.address}</span>${
    metadata.length > 0 ? html` <span class="meta">${metadata.map(([k, v]) => html`<span>${k}=${v}</span> `)}</span>` : ""
  }</li>`;
}

function endpointView(service: Service, endpoint: EndpointRecord): Html {
  const callable = service.type === "srv" && endpoint.kind === "unary";
  return html`<details class="endpoint" data-endpoint="${endpoint.name}">
  <summary><code>${endpoint.name}</code> <span class="muted">${endpoint.request.typeName} → ${endpoint.response.typeName}</span>${
    endpoint.implemented ? "" : html` <span class="tag warn">unimplemented</span>`
  }${endpoint.kind === "unary" ? "" : html` <span class="tag">${endpoint.kind}</span>`}</summary>
  ${callable ? requestForm(service.namespace, service.name, endpoint) : html`<p class="muted">not callable from this page</p>`}
</details>`;
}
