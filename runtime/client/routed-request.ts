import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import type { Discovery } from "./discovery.ts";
import { endpointSubject, wasNotDelivered } from "../protocol/mod.ts";
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

const maxAttempts = 4;

/**
 * Sends a request to a node chosen by the selector. A node that receives nothing (it died
 * since the registry last heard from it) is put in cool-down and the call goes to another
 * node, after a short backoff, at most {@link maxAttempts} times and never past the deadline.
 * Errors from handlers are not retried: the call may have had effects.
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
): Promise<TransportReply> {
  return routed(discovery, target, route, (subject) => transport.request(subject, data, headers, deadline, signal), deadline, signal);
}

/**
 * The routing loop shared by calls and stream opens: `send` goes to the subject of a node the
 * selector picks (or the queue subject when the registry knows no node and nothing narrows the
 * choice). Only a send that reached nobody is retried, on another node, after a short backoff,
 * at most {@link maxAttempts} times and never past `giveUpAt` (epoch ms) or `signal`.
 */
export async function routed<T>(
  discovery: Discovery,
  target: RouteTarget,
  route: RouteOptions,
  send: (subject: string) => Promise<T>,
  giveUpAt: number,
  signal?: AbortSignal,
): Promise<T> {
  const services = discovery.cached(target.namespace, target.service) ?? (await discovery.load(target.namespace, target.service));
  // Services that do not register (plain NATS instances) still answer on the queue subject.
  if (services.length === 0 && route.version === undefined && route.labels === undefined) {
    return send(target.queueSubject);
  }
  const tried = new Set<string>();
  let lastError: MicroError | undefined;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = discovery.cached(target.namespace, target.service) ?? services;
    const weights = route.version === undefined ? discovery.rules?.get(target.namespace, target.service)?.weights : undefined;
    const choice = discovery.selector.select(current, { ...route, weights, exclude: tried });
    if (choice === undefined) {
      const wanted = JSON.stringify({ version: route.version, labels: route.labels });
      throw lastError ?? new MicroError("unavailable", `no node of ${target.service} matches ${wanted}`, { detail: target.service });
    }
    const began = performance.now();
    try {
      const result = await send(endpointSubject(choice.node.address, target.endpoint));
      discovery.selector.report(choice.node.id, { ok: true, latencyMs: performance.now() - began });
      return result;
    } catch (error) {
      if (!wasNotDelivered(error)) {
        discovery.selector.report(choice.node.id, { ok: true, latencyMs: performance.now() - began });
        throw error;
      }
      discovery.selector.report(choice.node.id, { ok: false });
      tried.add(choice.node.id);
      lastError = error as MicroError;
      const backoff = Math.min(5 * 2 ** attempt, 100);
      if (Date.now() + backoff >= giveUpAt || signal?.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }
  throw lastError!;
}
