/**
 * Checks on the request itself, before any route: framing a proxy and the gateway could
 * read differently, oversized header sets, a repeated Host, and hosts the gateway does not
 * serve. Each is a 4xx naming the problem; nothing of such a request reaches a route.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { shown } from "../runtime/protocol/mod.ts";
import { assertFraming } from "./body-framing.ts";
import type { GatewayEnv } from "./part.ts";

/** Most request headers accepted. */
export const maxHeaderCount = 100;
/** Longest request header (name and value), in characters. */
export const maxHeaderLength = 8 * 1024;
/** Most bytes of all request headers together. */
export const maxHeadersTotal = 32 * 1024;

/** Settings of {@link requestChecks}. */
export interface RequestCheckOptions {
  /** Host names the gateway answers (lower case, `host[:port]`); unset, any. */
  readonly allowedHosts?: readonly string[];
}

/** The middleware; see the module comment. */
export function requestChecks(options: RequestCheckOptions = {}): MiddlewareHandler<GatewayEnv> {
  const hosts = options.allowedHosts === undefined ? undefined : new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  // Not async: a refusal throws before the chain goes on, and a pass adds no promise of its own.
  return function checkRequest(c, next) {
    const headers = c.req.raw.headers;
    assertFraming(headers);
    assertHeaderBounds(headers);
    const hostHeader = headers.get("host");
    assertOneHost(hostHeader);
    if (hosts !== undefined) {
      const host = (hostHeader ?? new URL(c.req.url).host).toLowerCase();
      if (!hosts.has(host) && !hosts.has(host.replace(/:\d+$/, ""))) {
        // 421 Misdirected Request: this gateway does not answer for that name.
        throw new HTTPException(421, { message: `this gateway does not serve host "${shown(host)}"` });
      }
    }
    return next();
  };
}

/**
 * Refuses a request with several Host headers, which a proxy in front and the gateway could
 * each read differently (RFC 9112 3.2: 400). (One with none never gets here: the HTTP server
 * answers it 400, `runtime/platform/http-server.ts`.)
 */
function assertOneHost(host: string | null): void {
  if (host?.includes(",")) throw new HTTPException(400, { message: "the request has more than one Host header" });
}

/** Refuses more than {@link maxHeaderCount} headers, or headers too long one by one or together (431). */
export function assertHeaderBounds(headers: Headers): void {
  let count = 0;
  let total = 0;
  let tooLong: string | undefined;
  headers.forEach((value, name) => {
    count++;
    const length = name.length + value.length;
    total += length;
    if (length > maxHeaderLength) tooLong ??= name;
  });
  if (count > maxHeaderCount) throw new HTTPException(431, { message: `too many request headers: ${count}, at most ${maxHeaderCount}` });
  if (tooLong !== undefined) throw new HTTPException(431, { message: `request header ${shown(tooLong)} is longer than ${maxHeaderLength} characters` });
  if (total > maxHeadersTotal) throw new HTTPException(431, { message: `request headers are ${total} characters together, at most ${maxHeadersTotal}` });
}
