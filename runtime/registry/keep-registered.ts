/**
 * A node's registration kept alive: registered now, refreshed every third of its TTL (a failed
 * refresh is retried at the next beat, so one lost heartbeat does not drop the node), and
 * deregistered on stop. The one heartbeat of services, web services and the sidecar's hosted
 * services; `layer.ts` wraps it as a scoped Effect resource.
 * @module
 */
import type { Registry, ServiceRecord } from "./types.ts";

/** A registration being kept; `stop()` ends the heartbeat and deregisters (once). */
export interface Registration {
  readonly record: ServiceRecord;
  stop(): Promise<void>;
}

/** Time between two heartbeats of `record`: a third of its TTL, at least 100 ms. */
export const heartbeatInterval = (record: ServiceRecord): number => Math.max(100, Math.floor(record.ttlMs / 3));

/**
 * Registers `record` (rejecting when that fails: a node nobody can discover must not serve)
 * and keeps it registered until `stop()`. The heartbeat never keeps a finished process alive.
 *
 * @example
 * ```ts
 * const registration = await keepRegistered(registry, record);
 * // ... on shutdown, before the node stops taking calls:
 * await registration.stop();
 * ```
 */
export async function keepRegistered(registry: Registry, record: ServiceRecord): Promise<Registration> {
  await registry.register(record);
  const timer = setInterval(() => void registry.register(record).catch(() => undefined), heartbeatInterval(record));
  (timer as { unref?: () => void }).unref?.();
  let stopped: Promise<void> | undefined;
  return {
    record,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await registry.deregister(record);
      })()),
  };
}
