/**
 * Opening a stream on a node the selector picks, as {@link ../client/routed-request.ts} does
 * for unary calls: version, labels, key and routing-rule weights apply to streams too.
 * @module
 */
import type { Discovery } from "./discovery.ts";
import { type RouteOptions, type RouteTarget, routed } from "./routed-request.ts";
import type { StreamChannel } from "../stream/channel.ts";
import type { OpenStreamRequest } from "./open-stream.ts";

/**
 * Opens the stream on a node chosen by the selector. An open that reaches nobody (the node
 * died since the registry last heard of it) is safe to retry, as no handler ran: the node is
 * reported failed and another is tried, a few times and never past `request.openBy`. A
 * refusal or failure from a node that got the open is not retried. With no registered node
 * and no version or labels asked for, the open goes to the queue subject.
 */
export function routedOpen(
  discovery: Discovery,
  openStream: (request: OpenStreamRequest) => Promise<StreamChannel>,
  target: RouteTarget,
  route: RouteOptions,
  request: Omit<OpenStreamRequest, "subject">,
): Promise<StreamChannel> {
  return routed(discovery, target, route, (subject) => openStream({ ...request, subject }), request.openBy, request.signal);
}
