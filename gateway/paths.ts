/**
 * go-micro's path resolver (its `micro` resolver of `micro api`), for API and srv services:
 *
 * | path | service | endpoint |
 * |---|---|---|
 * | `/greeter` | `greeter` | `Greeter.Call` |
 * | `/greeter/say-hello` | `greeter` | `Greeter.SayHello` |
 * | `/greeter/admin/list-users` | `greeter` | `Admin.ListUsers` |
 * | `/v1/greeter/say-hello` | `greeter`, version `v1` | `Greeter.SayHello` |
 * | `/shop/cart/items/add` | `cart` in namespace `{ns}.shop` | `Items.Add` |
 *
 * go-micro names the service of a longer path by all segments but the last two joined with
 * dots (`shop.cart`); a jetmicro service name is one subject token, so the leading segments
 * extend the namespace instead (`micro.shop`, service `cart`), which keeps the same full name
 * `micro.shop.cart` on NATS. A leading `v<digits>` segment (with at least two segments after
 * it) is a version, not a service: go-micro's `v1.greeter` is service `greeter` whose version
 * is `v1`, `1` or `1.x.y` (see {@link versionMatches}). Segments are kebab-case on the web
 * and CamelCase in endpoint names.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";
import { maxSubjectLength, maxTokenLength, shown } from "../runtime/protocol/mod.ts";

/** Where an HTTP path goes. */
export interface Route {
  /** The service name (one subject token). */
  readonly service: string;
  /** go-micro style endpoint: `Greeter.SayHello`. */
  readonly endpoint: string;
  /** Dotted namespace segments that follow the gateway's own, from paths of four or more segments. */
  readonly subNamespace?: string;
  /** From a `/v1/...` path: the wanted major version. */
  readonly version?: string;
}

const segmentPattern = /^[A-Za-z0-9_-]+$/;
const versionPattern = /^v[0-9]+$/;
/** Deeper paths are almost certainly not service calls (and would make long namespaces). */
const maxSegments = 8;
/**
 * Namespace tokens that are not service namespaces: `{ns}.events.>`, `{ns}.dlq.>` and
 * `{ns}.redrive.>` are JetStream streams (a request there would be stored as an event) and
 * `{ns}.node.>` reaches single nodes.
 */
const reservedNamespaceTokens = new Set(["events", "dlq", "redrive", "node"]);

/** Resolved paths: a gateway sees the same few paths over and over. */
const cache = new Map<string, Route>();
const cacheLimit = 1024;

/** Resolves a path; `not_found` for one that cannot name a service. */
export function resolvePath(path: string): Route {
  let route = cache.get(path);
  if (route === undefined) {
    route = resolveUncached(path);
    // Bounded however many distinct paths clients make up: start over when full.
    if (cache.size >= cacheLimit) cache.clear();
    cache.set(path, route);
  }
  return route;
}

function resolveUncached(path: string): Route {
  // Every segment ends up in a NATS subject: refuse what could never be one before anything else.
  if (path.length > maxSubjectLength) throw new MicroError("invalid_argument", `the path "${shown(path)}" is longer than ${maxSubjectLength} characters`, { detail: "path" });
  const segments = path.split("/").filter((s) => s !== "");
  if (segments.length === 0 || segments.length > maxSegments) {
    throw new MicroError("not_found", `no service answers on ${shown(path)}: use /{service}/{method} or POST /rpc`);
  }
  for (const s of segments) {
    if (s.length > maxTokenLength) throw new MicroError("invalid_argument", `"${shown(s)}" in the path is longer than ${maxTokenLength} characters`, { detail: "path" });
    if (!segmentPattern.test(s)) throw new MicroError("not_found", `"${shown(s)}" in ${shown(path)} is not a service or method name`);
  }
  if (segments.length >= 3 && versionPattern.test(segments[0]!)) {
    return { ...resolveSegments(segments.slice(1)), version: segments[0]! };
  }
  return resolveSegments(segments);
}

function resolveSegments(segments: readonly string[]): Route {
  const [first, second] = segments as [string, string | undefined];
  if (segments.length === 1) return { service: first, endpoint: `${camel(first)}.Call` };
  if (segments.length === 2) return { service: first, endpoint: `${camel(first)}.${camel(second!)}` };
  const [handler, method] = segments.slice(-2) as [string, string];
  const owner = segments.slice(0, -2);
  const endpoint = `${camel(handler)}.${camel(method)}`;
  if (owner.length === 1) return { service: owner[0]!, endpoint };
  const namespace = owner.slice(0, -1);
  const reserved = namespace.find((token) => reservedNamespaceTokens.has(token));
  if (reserved !== undefined) throw new MicroError("not_found", `no service answers on /${segments.join("/")}: "${reserved}" is not a service namespace`);
  return { service: owner.at(-1)!, endpoint, subNamespace: namespace.join(".") };
}

/**
 * The pattern a resolved path matched, for metrics and logs: `/{service}`,
 * `/{service}/{endpoint}`, `/{service}/{handler}/{method}`, `/{namespace}/{service}/{handler}/{method}`
 * (however many namespace segments), each with a leading `/{version}` when the path had one, for
 * a path `resolvePath` resolved to `route`. A
 * handful of values whatever paths clients make up, so a label never grows with them.
 */
export function routePattern(path: string, route: Route): string {
  let segments = 0;
  for (const s of path.split("/")) if (s !== "") segments++;
  if (route.version !== undefined) segments--;
  const tail = segments <= 1 ? "/{service}" : segments === 2 ? "/{service}/{endpoint}" : segments === 3 ? "/{service}/{handler}/{method}" : "/{namespace}/{service}/{handler}/{method}";
  return route.version !== undefined ? `/{version}${tail}` : tail;
}

/** `say-hello` → `SayHello`, `greeter` → `Greeter`, `SayHello` stays. */
export function camel(segment: string): string {
  return segment
    .split(/[-_]/)
    .filter((p) => p !== "")
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}

/**
 * True when a registered `version` answers a path's `v<major>`: `v1` matches `v1`, `1`,
 * `1.4.2`, `v1.4.2` and `1.0.0-beta`, but not `10.0.0` or `latest`.
 */
export function versionMatches(wanted: string, version: string): boolean {
  const major = wanted.slice(1);
  const bare = version.startsWith("v") ? version.slice(1) : version;
  return bare === major || bare.startsWith(`${major}.`) || bare.startsWith(`${major}-`);
}

/** Newest first by numeric dotted parts (`1.10.0` before `1.9.3`), so a `/v1/...` path reaches the newest 1.x. */
export function compareVersionsDescending(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/, "").split(/[.-]/).map((p) => (/^\d+$/.test(p) ? Number(p) : -1));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] ?? -1) - (pa[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
