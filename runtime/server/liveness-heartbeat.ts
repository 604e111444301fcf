/**
 * The liveness signal of a running instance: an empty message on `{ns}.alive.{service}.{nodeId}` every
 * `heartbeatEveryMs` (see `runtime/protocol/liveness.ts`). Callers with calls in flight on the
 * node watch it, so a crash fails or moves those calls within about a second and a half
 * instead of leaving them to their deadline. It runs until the instance has finished its
 * last call, so a draining node is never mistaken for a dead one.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { heartbeatEveryMs, nodeAliveSubject } from "../protocol/mod.ts";

/** Starts publishing the heartbeat of node `nodeId` of `service`; the returned function stops it. */
export function startLivenessHeartbeat(nc: NatsConnection, namespace: string, service: string, nodeId: string): () => void {
  const subject = nodeAliveSubject(namespace, service, nodeId);
  const beat = () => {
    // A closed or reconnecting connection is not an error here: the beat is simply missed.
    try {
      if (!nc.isClosed()) nc.publish(subject);
    } catch {
      // ignored, see above
    }
  };
  beat();
  const timer = setInterval(beat, heartbeatEveryMs);
  // The NATS connection keeps the process alive while it serves; the heartbeat must not.
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
