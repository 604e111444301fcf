/**
 * Which app a `/web/{name}/...` request goes to: a live node of web service `name`, from the
 * registry, picked at random among its nodes (all versions).
 * @module
 */
import { MicroError, type Registry, webServiceUrl, webServiceUrlKey } from "../../runtime/mod.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";

/** The base URL of one node of web service `name`; `not_found` when none runs. */
export async function webTarget(registry: Registry, namespace: string, name: string): Promise<string> {
  // The name becomes part of a registry key: a hostile one is refused before it reaches NATS.
  assertToken("web service", name);
  const services = await registry.getService(name, namespace);
  const announced = services
    .filter((s) => s.type === "web")
    .flatMap((s) => s.nodes.map((n) => n.metadata[webServiceUrlKey]))
    .filter((u): u is string => typeof u === "string" && u !== "");
  if (announced.length === 0) throw new MicroError("not_found", `no web service ${name} is running (register it with registerWebService)`, { detail: name });
  // Anyone who may write the registry announces what they like: only http(s) apps are
  // followed, never a file: or data: URL that `fetch` would answer from this machine.
  const urls = announced.filter((u) => webServiceUrl(u) !== undefined);
  if (urls.length === 0) throw new MicroError("unavailable", `web service ${name} announces no http: or https: URL`, { detail: name });
  return urls[Math.floor(Math.random() * urls.length)]!;
}

/** The upstream URL for `path` (after `/web/{name}`) and `search` on `base`. */
export function upstreamUrl(base: string, path: string, search: string): URL {
  const url = new URL(base);
  url.pathname = url.pathname.replace(/\/$/, "") + (path.startsWith("/") ? path : `/${path}`);
  url.search = search;
  return url;
}
