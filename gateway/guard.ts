/**
 * The one check every gateway route makes before it calls anything: who is calling (when
 * auth is on), whether they may reach the target, and which call metadata the request
 * carries. HTTP headers become metadata only through the allow list; its entry
 * `x-micro-meta-*` (in the default list) admits `X-Micro-Meta-<key>` as metadata `<key>`; the `identity` key is the gateway's alone, so a client cannot claim one.
 * @module
 */
import type { Auth, AuthTarget } from "./auth.ts";

/** Authenticates and authorises a request for `target`; resolves with the call metadata. */
export type Guard = (request: Request, target: AuthTarget) => Promise<Record<string, string>>;

/** Metadata key carrying the authenticated identity to handlers. */
export const identityKey = "identity";

const metaPrefix = "x-micro-meta-";

/** The allow-list entry admitting every `X-Micro-Meta-<key>` header. */
export const metaHeadersEntry = "x-micro-meta-*";

/** The allow list when none is configured: only the `X-Micro-Meta-<key>` convention. */
export const defaultForwardHeaders: readonly string[] = [metaHeadersEntry];

/** A guard with optional auth and a header allow list (lower-case names). */
export function createGuard(options: { auth?: Auth; forwardHeaders?: readonly string[] }): Guard {
  const forward = new Set((options.forwardHeaders ?? defaultForwardHeaders).map((h) => h.toLowerCase()));
  const metaConvention = forward.has(metaHeadersEntry);
  const auth = options.auth;
  // One authentication per request, though a route may check several targets.
  const identities = new WeakMap<Request, Promise<string>>();

  return async function guard(request, target) {
    const metadata: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      if (metaConvention && key.startsWith(metaPrefix)) metadata[key.slice(metaPrefix.length)] = value;
      else if (forward.has(key)) metadata[key] = value;
    });
    delete metadata[identityKey];
    if (auth === undefined) return metadata;
    let identity = identities.get(request);
    if (identity === undefined) {
      identity = auth.authenticate(request.headers);
      identities.set(request, identity);
    }
    const who = await identity;
    auth.authorize(who, target);
    metadata[identityKey] = who;
    return metadata;
  };
}
