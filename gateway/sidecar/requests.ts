/**
 * What the sidecar API accepts, checked field by field: anything wrong is `invalid_argument`
 * (HTTP 400) naming the field and what it should be. Unknown fields are refused too, so a
 * typo (`endpionts`) is never silently ignored.
 * @module
 */
import { assertTopic, MicroError } from "../../runtime/mod.ts";
import { isEndpoint, isToken, maxTokenLength, shown } from "../../runtime/protocol/mod.ts";
import { parseJson } from "../json-body.ts";
import { camel } from "../paths.ts";
import type { HostedServiceSpec } from "./hosted-service.ts";
import type { JsonEndpoint } from "./json-service.ts";
import type { WebhookSpec } from "./webhooks.ts";

/** Defaults for fields a request leaves out. */
export interface RequestDefaults {
  /** Health poll interval in ms when a registration names a health path. */
  readonly healthIntervalMs: number;
  /** How errors name a field (`url` → `--app` for flags); default the field itself. */
  readonly label?: (field: string) => string;
}

/**
 * A registration, as `POST /sidecar/registry` takes it:
 * `{name, version?, url, endpoints, metadata?, health?, healthIntervalMs?, concurrency?}`. An endpoint is
 * `"Orders.Create"`, `"Create"` (the service's CamelCase name is prepended) or
 * `{"name": "Orders.Create", "path": "/orders"}`; its path on the app defaults to `/{name}`.
 */
export function parseRegistration(body: unknown, defaults: RequestDefaults): HostedServiceSpec {
  const label = defaults.label ?? ((field: string) => field);
  const o = object(body, "the registration", ["name", "version", "url", "endpoints", "metadata", "health", "healthIntervalMs", "concurrency"]);
  const name = serviceName(o.name, label("name"));
  const version = o.version === undefined ? "latest" : text(o.version, label("version"), /^[A-Za-z0-9._+-]+$/, 'letters, digits, ".", "_", "+" or "-", e.g. "1.0.0"');
  const url = baseUrl(o.url, label("url"));
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
    throw invalid(label("endpoints"), `${label("endpoints")} must be a non-empty list, e.g. ["Orders.Create"] or [{"name":"Orders.Create","path":"/orders"}]`);
  }
  const endpoints = o.endpoints.map((e, i) => endpoint(e, name, `${label("endpoints")}[${i}]`));
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (seen.has(e.name)) throw invalid(label("endpoints"), `endpoint ${e.name} is listed twice`);
    seen.add(e.name);
  }
  const metadata = o.metadata === undefined ? {} : stringRecord(o.metadata, label("metadata"));
  if (o.health === undefined && o.healthIntervalMs !== undefined) throw invalid(label("healthIntervalMs"), `${label("healthIntervalMs")} needs a health path`);
  const health = o.health === undefined ? undefined : (() => {
    const intervalMs = o.healthIntervalMs === undefined ? defaults.healthIntervalMs : whole(o.healthIntervalMs, label("healthIntervalMs"), 100);
    return { path: path(o.health, label("health")), intervalMs, timeoutMs: Math.min(intervalMs, 2000) };
  })();
  // How many calls the app gets at once; more wait in the mailbox (up to 1000), not on the app.
  const concurrency = o.concurrency === undefined ? 100 : whole(o.concurrency, label("concurrency"), 1);
  return { name, version, url, endpoints, metadata, mailbox: { capacity: 1000, concurrency }, ...(health ? { health } : {}) };
}

/**
 * A webhook subscription, as `POST /sidecar/subscriptions` takes it:
 * `{topic, url, service, maxDeliveries?, concurrency?, timeoutMs?}`.
 */
export function parseSubscription(body: unknown): WebhookSpec {
  const o = object(body, "the subscription", ["topic", "url", "service", "maxDeliveries", "concurrency", "timeoutMs"]);
  if (typeof o.topic !== "string" || o.topic === "") throw invalid("topic", 'topic is required: a topic or filter such as "orders.created" or "orders.>"');
  try {
    assertTopic(o.topic, true);
  } catch (error) {
    throw invalid("topic", (error as Error).message);
  }
  const url = baseUrl(o.url, "url");
  const service = serviceName(o.service, "service");
  return {
    topic: o.topic,
    url,
    service,
    maxDeliveries: o.maxDeliveries === undefined ? 5 : whole(o.maxDeliveries, "maxDeliveries", 1),
    concurrency: o.concurrency === undefined ? 16 : whole(o.concurrency, "concurrency", 1),
    timeoutMs: o.timeoutMs === undefined ? 10_000 : whole(o.timeoutMs, "timeoutMs", 1),
  };
}

/** A call, as `POST /sidecar/rpc` takes it: `{service, endpoint, request?}`. */
export function parseCall(body: unknown): { service: string; endpoint: string; request: unknown } {
  const o = object(body, "the call", ["service", "endpoint", "request"]);
  const service = serviceName(o.service, "service");
  if (typeof o.endpoint !== "string" || !endpointPattern.test(o.endpoint) || !o.endpoint.includes(".")) {
    throw invalid("endpoint", `endpoint must be a name like "Orders.Create", got ${show(o.endpoint)}`);
  }
  if (o.request !== undefined && (typeof o.request !== "object" || o.request === null || Array.isArray(o.request))) {
    throw invalid("request", "request must be a JSON object");
  }
  return { service, endpoint: o.endpoint, request: o.request ?? {} };
}

/** Parses a JSON body; `invalid_argument` saying where it breaks. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") throw new MicroError("invalid_argument", "the body is empty: send a JSON object");
  return parseJson(text, "the body");
}

const endpointPattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function endpoint(value: unknown, service: string, where: string): JsonEndpoint {
  const spec = typeof value === "string" ? { name: value } : object(value, where, ["name", "path"]);
  if (typeof spec.name !== "string" || !endpointPattern.test(spec.name)) {
    throw invalid(where, `${where} must be an endpoint name like "Orders.Create" or "Create" (letters, digits, "_"), got ${show(spec.name)}`);
  }
  const name = spec.name.includes(".") ? spec.name : `${camel(service)}.${spec.name}`;
  if (!endpointPattern.test(name) || !isEndpoint(name)) throw invalid(where, `${where}: "${shown(name)}" is not a valid endpoint name; give it as "Service.Method" (at most ${maxTokenLength} characters)`);
  return { name, path: spec.path === undefined ? `/${name}` : path(spec.path, `${where}.path`) };
}

function object(value: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MicroError("invalid_argument", `${what} must be a JSON object`);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw invalid(key, `unknown field "${key}" in ${what} (fields: ${allowed.join(", ")})`);
  }
  return o;
}

function serviceName(value: unknown, field: string): string {
  if (value === undefined || value === "") throw invalid(field, `${field} is required: a service name such as "orders"`);
  if (typeof value === "string" && value.length > maxTokenLength) throw invalid(field, `${field} ${show(value)} is longer than ${maxTokenLength} characters`);
  if (!isToken(value)) throw invalid(field, `${field} must be one NATS subject token: letters, digits, "-" or "_", got ${show(value)}`);
  return value;
}

function text(value: unknown, field: string, pattern: RegExp, rule: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw invalid(field, `${field} must be ${rule}, got ${show(value)}`);
  return value;
}

function baseUrl(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw invalid(field, `${field} is required: the app's http:// or https:// URL`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalid(field, `${field} ${show(value)} is not a URL; expected e.g. "http://127.0.0.1:5000"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalid(field, `${field} must be an http:// or https:// URL, got ${show(value)}`);
  if (parsed.search !== "" || parsed.hash !== "") throw invalid(field, `${field} must not have a query or fragment, got ${show(value)}`);
  return parsed.href.replace(/\/+$/, "");
}

function path(value: unknown, field: string): string {
  if (typeof value !== "string" || !value.startsWith("/") || /\s/.test(value)) throw invalid(field, `${field} must be a path starting with "/", got ${show(value)}`);
  return value;
}

function whole(value: unknown, field: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalid(field, `${field} must be a whole number >= ${min}, got ${show(value)}`);
  return value;
}

function stringRecord(value: unknown, field: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, `${field} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw invalid(field, `${field}.${k} must be a string, got ${show(v)}`);
    out[k] = v;
  }
  return out;
}

function invalid(field: string, message: string): MicroError {
  return new MicroError("invalid_argument", message, { detail: field });
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : typeof value === "string" ? JSON.stringify(shown(value)) : JSON.stringify(value)?.slice(0, 80) ?? String(value);
}
