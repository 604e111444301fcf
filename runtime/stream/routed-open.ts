/**
 * Opening a stream on a node the selector picks, as {@link ../client/routed-request.ts} does
 * for unary calls: version, labels, key and routing-rule weights apply to streams too.
 * @module
 */
import type { Discovery } from "../client/discovery.ts";
import type { RouteOptions, RouteTarget } from "../client/routed-request.ts";
import { wasNotDelivered } from "../client/transport.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { StreamChannel } from "./channel.ts";
import type { OpenStreamRequest } from "./open-stream.ts";

const maxAttempts = 4;

/**
 * Opens the stream on a node chosen by the selector. An open that reaches nobody (the node
 * died since the registry last heard of it) is safe to retry, as no handler ran: the node is
 * reported failed and another is tried, at most {@link maxAttempts} times and never past
 * `request.openBy`. A refusal or failure from a node that got the open is not retried. With
 * no registered node and no version or labels asked for, the open goes to the queue subject.
 */
export async function routedOpen(
  discovery: Discovery,
  openStream: (request: OpenStreamRequest) => Promise<StreamChannel>,
  target: RouteTarget,
  route: RouteOptions,
  request: Omit<OpenStreamRequest, "subject">,
): Promise<StreamChannel> {
  const services = discovery.cached(target.namespace, target.service) ?? (await discovery.load(target.namespace, target.service));
  if (services.length === 0 && route.version === undefined && route.labels === undefined) {
    return openStream({ ...request, subject: target.queueSubject });
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
      const channel = await openStream({ ...request, subject: `${choice.node.address}.${target.endpoint}` });
      discovery.selector.report(choice.node.id, { ok: true, latencyMs: performance.now() - began });
      return channel;
    } catch (error) {
      if (!wasNotDelivered(error)) {
        discovery.selector.report(choice.node.id, { ok: true, latencyMs: performance.now() - began });
        throw error;
      }
      discovery.selector.report(choice.node.id, { ok: false });
      tried.add(choice.node.id);
      lastError = error as MicroError;
      const backoff = Math.min(5 * 2 ** attempt, 100);
      if (Date.now() + backoff >= request.openBy || request.signal?.aborted) break;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }
  throw lastError!;
}
