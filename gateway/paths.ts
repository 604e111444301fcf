/**
 * go-micro's path-to-service rules for srv handlers: `/greeter/say-hello` → service
 * `greeter`, endpoint `Greeter.SayHello`; `/greeter` → `Greeter.Call`;
 * `/greeter/admin/list-users` → service `greeter`, endpoint `Admin.ListUsers`.
 * Segments are kebab-case on the web and CamelCase in endpoint names.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";

/** Where an HTTP path goes. */
export interface Route {
  readonly service: string;
  readonly endpoint: string;
}

const segmentPattern = /^[A-Za-z0-9_-]+$/;

/** Resolves a path; `not_found` for one that names no service. */
export function resolvePath(path: string): Route {
  const segments = path.split("/").filter((s) => s !== "");
  if (segments.length === 0 || segments.length > 3) {
    throw new MicroError("not_found", `no service answers on ${path}: use /{service}/{method} or POST /rpc`);
  }
  for (const s of segments) {
    if (!segmentPattern.test(s)) throw new MicroError("not_found", `"${s}" in ${path} is not a service or method name`);
  }
  const [service, ...rest] = segments as [string, ...string[]];
  if (rest.length === 0) return { service, endpoint: `${camel(service)}.Call` };
  if (rest.length === 1) return { service, endpoint: `${camel(service)}.${camel(rest[0]!)}` };
  return { service, endpoint: `${camel(rest[0]!)}.${camel(rest[1]!)}` };
}

/** `say-hello` → `SayHello`, `greeter` → `Greeter`, `SayHello` stays. */
export function camel(segment: string): string {
  return segment
    .split(/[-_]/)
    .filter((p) => p !== "")
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}
