/**
 * Which nodes may answer one gateway call, from its HTTP headers: `X-Micro-Version` (exact
 * version), `X-Micro-Key` (sticky node for a key) and `X-Micro-Labels` (`zone=a,rack=r1`).
 * Every gateway route passes these to the client's routing, so version weights, labels and
 * keys hold for paths, `/rpc`, Connect and WebSocket streams alike. Values are bounded: a
 * hostile header is a 400 naming it, never a 5xx.
 * @module
 */
import type { RouteOptions } from "../runtime/client/routed-request.ts";
import { MicroError } from "../runtime/mod.ts";
import { shown } from "../runtime/protocol/mod.ts";
import { routeKeyHeader, routeLabelsHeader, routeVersionHeader } from "./http-headers.ts";

/** Longest version or key, in characters. */
export const maxRouteValueLength = 256;
/** Most labels one call may ask for. */
export const maxRouteLabels = 16;

const controlCharacter = /[\x00-\x1f\x7f]/;
const none: RouteOptions = {};

/** The routing wishes of a request (`{}` when it has none); `invalid_argument` naming a bad header. */
export function routeOptionsOf(header: (name: string) => string | undefined): RouteOptions {
  const version = header(routeVersionHeader);
  const key = header(routeKeyHeader);
  const labels = header(routeLabelsHeader);
  if (version === undefined && key === undefined && labels === undefined) return none;
  return {
    ...(version !== undefined ? { version: bounded("X-Micro-Version", version) } : {}),
    ...(key !== undefined ? { key: bounded("X-Micro-Key", key) } : {}),
    ...(labels !== undefined ? { labels: parseLabels(labels) } : {}),
  };
}

function bounded(what: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed === "" || trimmed.length > maxRouteValueLength || controlCharacter.test(trimmed)) {
    throw new MicroError("invalid_argument", `${what} "${shown(value)}" must be 1 to ${maxRouteValueLength} characters of one line`, { detail: what });
  }
  return trimmed;
}

function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pairs = bounded("X-Micro-Labels", value).split(",");
  if (pairs.length > maxRouteLabels) throw new MicroError("invalid_argument", `X-Micro-Labels has more than ${maxRouteLabels} labels`, { detail: "X-Micro-Labels" });
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const name = pair.slice(0, at).trim();
    if (at <= 0 || name === "") {
      throw new MicroError("invalid_argument", `X-Micro-Labels must be name=value pairs separated by commas, e.g. zone=a,rack=r1; got "${shown(pair)}"`, { detail: "X-Micro-Labels" });
    }
    labels[name] = pair.slice(at + 1).trim();
  }
  return labels;
}
