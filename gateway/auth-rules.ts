/**
 * The auth rules: which targets a pattern grants. Services and the gateway's own features
 * live in two separate rule namespaces, so a rule names exactly what it grants:
 *
 * | pattern | grants |
 * |---|---|
 * | `greeter`, `greeter/Greeter.*`, `admin:users/*` | calls to services (`{namespace}:{service}/{endpoint}`, namespace defaulting to the gateway's) |
 * | `dashboard`, `sidecar[/path]`, `events/{topic}`, `history/{user}`, `web/{name}` | the gateway's features (pseudo-targets), never a service of that name |
 * | `@as-user/{user}` (or any `@{target}/...`) | a gateway target written explicitly; `@as-user/*` lets an identity publish events naming other users |
 * | `micro:dashboard` | a real service named `dashboard` (a namespace makes it a service rule) |
 * | `*` | everything |
 *
 * An identity may always read its own history (`history/{identity}`) and publish events that
 * name itself as their user.
 * @module
 */

/** What a request wants to reach, for the rules. */
export interface AuthTarget {
  /** The service's namespace, or {@link gatewayTargetNamespace} for the gateway's own features. */
  readonly namespace: string;
  /** The service, or the gateway feature (`events`, `history`, ...). */
  readonly service: string;
  /** Endpoint (`Greeter.SayHello`), or what of the feature: the topic for `events`, the user for `history`. */
  readonly endpoint: string;
}

/**
 * The namespace of the gateway's pseudo-targets in {@link AuthTarget}: `@` is never part of a
 * real namespace, so no service can be reached through a rule meant for the gateway.
 */
export const gatewayTargetNamespace = "@gateway";

/** Names that, written bare in a rule, mean the gateway's features (what rules always meant by them). */
export const pseudoTargets: ReadonlySet<string> = new Set(["dashboard", "sidecar", "events", "history", "web"]);

/** The gateway target `service/endpoint`, e.g. `gatewayTarget("events", "orders.created")`. */
export function gatewayTarget(service: string, endpoint: string): AuthTarget {
  return { namespace: gatewayTargetNamespace, service, endpoint };
}

/** True when `target` is one of the gateway's own features rather than a service. */
export function isGatewayTarget(target: AuthTarget): boolean {
  return target.namespace === gatewayTargetNamespace;
}

/** The string a rule's expression is matched against. */
export function ruleSubject(target: AuthTarget): string {
  return `${target.namespace}:${target.service}/${target.endpoint}`;
}

/** A pattern as the expression of the targets it grants; see the module comment. */
export function patternRegExp(pattern: string, namespace: string): RegExp {
  if (pattern === "*") return /^/;
  let p = pattern;
  if (p.startsWith("@")) p = `${gatewayTargetNamespace}:${p.slice(1)}`;
  else if (!p.includes(":")) {
    const first = p.split("/")[0]!;
    p = `${pseudoTargets.has(first) ? gatewayTargetNamespace : namespace}:${p}`;
  }
  if (!p.includes("/")) p = `${p}/*`;
  const source = p.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\@]/g, "\\$&")).join(".*");
  // Service wildcards stay among services: `*:x` or `*/...` never reaches `@gateway`.
  const guard = p.startsWith(gatewayTargetNamespace) ? "" : `(?!${gatewayTargetNamespace.replace("@", "\\@")}:)`;
  return new RegExp(`^${guard}${source}$`);
}

/** What a refusal says the caller wanted. */
export function describeTarget(target: AuthTarget, gatewayNamespace: string): string {
  if (isGatewayTarget(target)) {
    if (target.service === "events") return `events on ${target.endpoint}`;
    if (target.service === "history") return `the history of user ${JSON.stringify(target.endpoint)}`;
    if (target.service === "as-user") return `events naming user ${JSON.stringify(target.endpoint)}`;
    return `the gateway's ${target.service}${target.endpoint ? ` (${target.endpoint})` : ""}`;
  }
  return `${target.service}/${target.endpoint}${target.namespace === gatewayNamespace ? "" : ` in namespace ${target.namespace}`}`;
}

/** The grants every identity has on itself: its own history, and events naming itself as user. */
export function ownTarget(identity: string, target: AuthTarget): boolean {
  return isGatewayTarget(target) && (target.service === "history" || target.service === "as-user") && target.endpoint === identity;
}
