/**
 * The routing step of a call: which node gets each send, and which failures send again.
 *
 * - A send that reached nobody (the node died since the registry last heard of it) is always
 *   retried on another node: no handler ran.
 * - A send whose node goes silent while holding it (no heartbeat for `nodeGoneAfterMs`, see
 *   `node-liveness.ts`) ends at once: retried on another node when the call is safe to repeat
 *   (`idempotent`), else failed with `unavailable` (reason `node-gone`): the handler may or
 *   may not have run, and only the caller can decide.
 * - Safe calls also retry after an attempt timeout (`attemptTimeoutMs`) and after an
 *   `unavailable` answer (a node stopping before it ran the call).
 * - Other errors come from handlers and are never retried.
 *
 * Every retry goes to an untried node, after a short backoff, at most {@link maxAttempts}
 * sends and never past the deadline. Nodes known to be gone and nodes whose circuit breaker
 * is open are skipped, unless nothing else is left.
 * @module
 */
import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import type { Discovery } from "./discovery.ts";
import { endpointSubject, isNodeOf, nodeGoneReason, nodeSubject, registryKey, wasNotDelivered } from "../protocol/mod.ts";
import type { NodeLiveness } from "./node-liveness.ts";
import type { Transport, TransportReply } from "./transport.ts";

/** Where a routed call goes. */
export interface RouteTarget {
  readonly namespace: string;
  readonly service: string;
  readonly endpoint: string;
  /** The queue subject, used when the registry knows no node of the service. */
  readonly queueSubject: string;
}

/** Per-call routing constraints. */
export interface RouteOptions {
  readonly version?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly key?: string;
}

/** How a unary call may be retried (streams have none: their opens retry only undelivered sends). */
export interface RetryPolicy {
  /** Safe to send again after the node may have run it (proto `idempotency_level`, or the per-call override). */
  readonly idempotent: boolean;
  /** For safe calls: the most one send may wait before the next node is tried, ms. */
  readonly attemptTimeoutMs?: number;
  /** Heartbeats of the nodes, to fail or move a call whose node crashed. */
  readonly liveness?: NodeLiveness;
}

/** The deadline and signal of one send. */
export interface Attempt {
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

/** The most sends of one call, routed or to the queue subject (`queue-attempts.ts`). */
export const maxAttempts = 4;
const notIdempotent: RetryPolicy = { idempotent: false };

/**
 * Sends a request to a node chosen by the selector, under the rules of this module, watching
 * the chosen node's heartbeats when the transport hears them. Without `policy` the call is
 * not safe to repeat.
 */
export function routedRequest(
  discovery: Discovery,
  transport: Transport,
  target: RouteTarget,
  route: RouteOptions,
  data: Uint8Array,
  headers: MsgHdrs,
  deadline: number,
  signal: AbortSignal | undefined,
  policy: RetryPolicy = notIdempotent,
): Promise<TransportReply> {
  const withLiveness = policy.liveness !== undefined || transport.liveness === undefined ? policy : { ...policy, liveness: transport.liveness(target.namespace) };
  return routed(discovery, target, route, (subject, attempt) => transport.request(subject, data, headers, attempt.deadline, attempt.signal), deadline, signal, withLiveness);
}

/** Why one send ended without an answer the caller gets as is. */
type Failure = "not_delivered" | "node_gone" | "attempt_timeout" | "unavailable" | undefined;

/**
 * The routing loop shared by calls and stream opens: `send` goes to the subject of a node the
 * selector picks (or the queue subject when the registry knows no node and nothing narrows the
 * choice), never past `giveUpAt` (epoch ms) or `signal`. Without a `policy`, only sends that
 * reached nobody are retried.
 */
export async function routed<T>(
  discovery: Discovery,
  target: RouteTarget,
  route: RouteOptions,
  send: (subject: string, attempt: Attempt) => Promise<T>,
  giveUpAt: number,
  signal?: AbortSignal,
  policy?: RetryPolicy,
): Promise<T> {
  const services = discovery.cached(target.namespace, target.service) ?? (await discovery.load(target.namespace, target.service));
  // Services that do not register (plain NATS instances) still answer on the queue subject.
  // NATS picks the instance there, so nothing can know which node holds the call.
  if (services.length === 0 && route.version === undefined && route.labels === undefined) {
    return send(target.queueSubject, { deadline: giveUpAt, signal });
  }
  const breaker = discovery.breaker;
  const liveness = policy?.liveness;
  const idempotent = policy?.idempotent === true;
  // Made on the first failure: most calls succeed on their first node.
  let tried: Set<string> | undefined;
  let lastError: MicroError | undefined;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = discovery.cached(target.namespace, target.service) ?? services;
    const weights = route.version === undefined ? discovery.rules?.get(target.namespace, target.service)?.weights : undefined;
    const choice = choose(discovery, current, weights === undefined ? route : { ...route, weights }, tried, liveness);
    if (choice === undefined) {
      // Only the caller's version or labels can leave no candidate before a send failed (the
      // breaker and liveness never make a service unreachable): the caller asked for nodes that
      // do not exist, as a made-up service name is not_found, so the client does not retry it.
      const wanted = JSON.stringify({ version: route.version, labels: route.labels });
      throw lastError ?? new MicroError("not_found", `no node of ${target.service} matches ${wanted}`, { detail: target.service });
    }
    const nodeId = choice.node.id;
    // What the breaker and the selector keep their state by, and what `tried` holds: a node id
    // is unique only within its service and namespace (one discovery serves them all).
    const key = choice.key;
    if (!isNodeOf(target.service, nodeId)) {
      // A record no node of this service wrote: its id is not one token (no subject reaches
      // it), or names another service's node. Not an attempt: the call has not been sent.
      (tried ??= new Set()).add(key);
      lastError ??= new MicroError("unavailable", `node "${String(nodeId).slice(0, 64)}" is not named as a node of ${target.service} ("${target.service}-" and a unique part without "-")`, { detail: target.service });
      attempt--;
      continue;
    }
    breaker?.chosen(key);
    const began = performance.now();
    const attemptDeadline = idempotent && policy?.attemptTimeoutMs !== undefined ? Math.min(giveUpAt, Date.now() + policy.attemptTimeoutMs) : giveUpAt;
    const nodeSignal = liveness?.signalFor(nodeId);
    try {
      const sendSignal = nodeSignal === undefined ? signal : signal === undefined ? nodeSignal : AbortSignal.any([signal, nodeSignal]);
      // The service's own node subject, not the record's `address`: a record is only as
      // trustworthy as whoever could write it, and only this service's NATS user may read
      // micro.node.<service>.>, so a call can reach no other service's subscription.
      const subject = endpointSubject(nodeSubject(target.namespace, target.service, nodeId), target.endpoint);
      const result = await send(subject, { deadline: attemptDeadline, signal: sendSignal });
      discovery.selector.report(key, { ok: true, latencyMs: performance.now() - began });
      breaker?.success(key);
      return result;
    } catch (error) {
      const failure: Failure = wasNotDelivered(error)
        ? "not_delivered"
        : nodeSignal?.aborted === true && !signal?.aborted
        ? "node_gone"
        : (error as MicroError).code === "deadline_exceeded" && attemptDeadline < giveUpAt
        ? "attempt_timeout"
        : (error as MicroError).code === "unavailable" && !signal?.aborted
        ? "unavailable"
        : undefined;
      if (failure === undefined) {
        // The node answered (with an error from its handler, or the caller gave up).
        discovery.selector.report(key, { ok: true, latencyMs: performance.now() - began });
        breaker?.success(key);
        throw error;
      }
      discovery.selector.report(key, { ok: false });
      breaker?.failure(key);
      (tried ??= new Set()).add(key);
      lastError = failure === "node_gone" ? nodeGone(target, nodeId, idempotent) : (error as MicroError);
      if (failure !== "not_delivered" && !idempotent) throw lastError;
      const backoff = failure === "not_delivered" ? Math.min(5 * 2 ** attempt, 100) : 0;
      if (Date.now() + backoff >= giveUpAt || signal?.aborted) break;
      if (backoff > 0) await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }
  throw lastError!;
}

/**
 * The selector's choice among nodes not tried by this call, preferring nodes not known gone
 * and not behind an open breaker; those are still chosen when nothing else is left, so
 * neither can make a service unreachable.
 */
function choose(
  discovery: Discovery,
  services: Parameters<Discovery["selector"]["select"]>[0],
  route: RouteOptions & { weights?: Readonly<Record<string, number>> },
  tried: ReadonlySet<string> | undefined,
  liveness: NodeLiveness | undefined,
) {
  const blocked = discovery.breaker?.blocked();
  let avoid: Set<string> | undefined;
  if (blocked !== undefined && blocked.size > 0) avoid = new Set([...(tried ?? []), ...blocked]);
  if (liveness !== undefined) {
    const now = Date.now();
    for (const service of services) {
      for (const node of service.nodes) if (liveness.isGone(node.id, now)) (avoid ??= new Set(tried)).add(registryKey(service.namespace, service.name, node.id));
    }
  }
  if (avoid !== undefined) {
    const choice = discovery.selector.select(services, { ...route, exclude: avoid });
    if (choice !== undefined) return choice;
  }
  // Nothing to exclude (the first send, nothing gone or blocked): the route as it is.
  return discovery.selector.select(services, tried === undefined ? route : { ...route, exclude: tried });
}

function nodeGone(target: RouteTarget, nodeId: string, retried: boolean): MicroError {
  const what = retried
    ? `node ${nodeId} of ${target.service} went silent while holding the call, and no other node answered it`
    : `node ${nodeId} of ${target.service} went silent while holding the call to ${target.endpoint}; it may or may not have run (the method is not marked idempotent, so it was not retried)`;
  return new MicroError("unavailable", what, { detail: nodeId, metadata: { reason: nodeGoneReason } });
}
