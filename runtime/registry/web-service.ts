/**
 * Web services (go-micro's `micro web`): HTTP apps listed in the registry as type `web`, with
 * their URL in node metadata, so the gateway can serve them under `/web/{name}/...`.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { assertNamespace, assertToken, defaultNamespace, nodeSubject } from "../protocol/mod.ts";
import type { Registry, ServiceRecord } from "./types.ts";
import { keepRegistered, type Registration } from "./keep-registered.ts";

/** The node metadata key holding a web service's base URL (`http://127.0.0.1:5173`). */
export const webServiceUrlKey = "http";

/**
 * A web service's base URL, or undefined unless it is an `http:` or `https:` URL. Checked when
 * an app registers and again by whoever follows the registry (the gateway): anyone who may
 * write the registry can announce any string, and a `file:` or `data:` URL would make a
 * gateway's `fetch` (Bun's, Deno's) serve its own files, its auth file included.
 */
export function webServiceUrl(value: string): URL | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") ? url : undefined;
}

/** What a web app registers. */
export interface WebServiceOptions {
  /** The name under `/web/` (`/web/{name}/...`): one NATS subject token. */
  readonly name: string;
  /** Where the app listens: an `http:` or `https:` URL, optionally with a base path. */
  readonly url: string;
  readonly version?: string;
  readonly namespace?: string;
  /** The node is dropped this long after the last refresh (30000 ms); refreshed every third of it. */
  readonly ttlMs?: number;
  /** More node metadata, shown on the dashboard. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A registered web service; `stop()` deregisters it. */
export type WebServiceRegistration = Registration;

/** The registry record of a web service node, checked: a bad name or URL throws `invalid_argument`. */
export function webServiceRecord(options: WebServiceOptions): ServiceRecord {
  const namespace = options.namespace ?? defaultNamespace;
  assertNamespace(namespace);
  assertToken("web service name", options.name);
  if (!URL.canParse(options.url)) {
    throw new MicroError("invalid_argument", `web service ${options.name}: url "${options.url}" is not a URL (e.g. http://127.0.0.1:5173)`);
  }
  const url = webServiceUrl(options.url);
  if (url === undefined) {
    throw new MicroError("invalid_argument", `web service ${options.name}: url "${options.url}" must be http: or https:`);
  }
  const id = `${options.name}-${crypto.randomUUID().slice(0, 8)}`;
  return {
    namespace,
    type: "web",
    name: options.name,
    version: options.version ?? "latest",
    metadata: {},
    endpoints: [],
    node: { id, address: nodeSubject(namespace, options.name, id), metadata: { ...options.metadata, [webServiceUrlKey]: url.href.replace(/\/$/, "") } },
    ttlMs: options.ttlMs ?? 30_000,
  };
}

/**
 * Registers an HTTP app as a web service and keeps it registered until `stop()` (a failed
 * refresh is retried at the next one). The gateway then proxies `/web/{name}/...` to it,
 * WebSockets included.
 *
 * @example
 * const web = await registerWebService(registry, { name: "shop", url: "http://127.0.0.1:5173" });
 * // ... on shutdown:
 * await web.stop();
 */
export async function registerWebService(registry: Registry, options: WebServiceOptions): Promise<WebServiceRegistration> {
  return keepRegistered(registry, webServiceRecord(options));
}
