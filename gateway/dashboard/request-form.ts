/**
 * A request form built from an endpoint's request schema: one input per field, chosen by type,
 * with JSON text for what a single input cannot hold (repeated, map and message fields).
 * @module
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { EndpointRecord, FieldSchema } from "../../runtime/mod.ts";

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const integer32 = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);
const floating = new Set(["double", "float"]);
// The protobuf JSON mapping writes 64-bit integers as strings, which keeps them exact.
const integer64 = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/** How the page's script turns an input back into JSON: `data-kind` on each input. */
export type FieldKind = "string" | "number" | "int64" | "bool" | "enum" | "json";

/** The input kind for a field. */
export function fieldKind(field: FieldSchema): FieldKind {
  if (field.repeated || field.map || field.type === "message") return "json";
  if (field.type === "bool") return "bool";
  if (field.type === "enum") return "enum";
  if (integer32.has(field.type) || floating.has(field.type)) return "number";
  if (integer64.has(field.type)) return "int64";
  return "string";
}

/** A short JSON shape shown as the placeholder of a JSON field. */
export function jsonPlaceholder(field: FieldSchema): string {
  const inner = field.fields ? `{${field.fields.map((f) => `"${f.name}": …`).join(", ")}}` : field.type === "message" ? "{…}" : field.type;
  if (field.map) return `{"key": ${inner}}`;
  if (field.repeated) return `[${inner}, …]`;
  return inner;
}

/** The form for one endpoint of `service`; its script posts it to `/rpc`. */
export function requestForm(namespace: string, service: string, endpoint: EndpointRecord): Html {
  const id = `${namespace}-${service}-${endpoint.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  return html`<form class="call" data-namespace="${namespace}" data-service="${service}" data-endpoint="${endpoint.name}">
  ${endpoint.request.fields.length === 0 ? html`<p class="muted">no request fields</p>` : ""}
  ${endpoint.request.fields.map((field) => fieldInput(id, field))}
  <button type="submit">Call ${endpoint.name}</button>
  <div class="reply" hidden><span class="status"></span><pre class="body"></pre></div>
</form>`;
}

function fieldInput(formId: string, field: FieldSchema): Html {
  const id = `${formId}-${field.name}`;
  const kind = fieldKind(field);
  const label = html`<label for="${id}">${field.name} <span class="type">${typeLabel(field)}</span></label>`;
  const common = { id, name: field.name };
  switch (kind) {
    case "bool":
      return html`<div class="field">${label}<input type="checkbox" id="${common.id}" name="${common.name}" data-kind="bool"></div>`;
    case "enum":
      return html`<div class="field">${label}<select id="${common.id}" name="${common.name}" data-kind="enum"><option value="">(default)</option>${
        (field.enumValues ?? []).map((v) => html`<option value="${v}">${v}</option>`)
      }</select></div>`;
    case "json":
      return html`<div class="field">${label}<textarea id="${common.id}" name="${common.name}" data-kind="json" rows="3" placeholder="${jsonPlaceholder(field)}"></textarea></div>`;
    case "number":
      return html`<div class="field">${label}<input type="number" step="${floating.has(field.type) ? "any" : "1"}" id="${common.id}" name="${common.name}" data-kind="number"></div>`;
    case "int64":
      return html`<div class="field">${label}<input type="text" inputmode="numeric" pattern="-?[0-9]*" id="${common.id}" name="${common.name}" data-kind="int64"></div>`;
    default:
      return html`<div class="field">${label}<input type="text" id="${common.id}" name="${common.name}" data-kind="string"></div>`;
  }
}

function typeLabel(field: FieldSchema): string {
  const base = field.typeName ?? field.type;
  if (field.map) return `map<…, ${base}>`;
  return field.repeated ? `repeated ${base}` : base;
}
