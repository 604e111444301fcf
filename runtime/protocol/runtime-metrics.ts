/**
 * The hook through which the actor runtime reports what no interceptor sees (an activation
 * made or passivated, a shard taken or handed off) to the metrics module above it
 * (`runtime/observability/`), without importing it. Nothing is set when metrics are off, so
 * each report costs one `undefined` check; each place reports in one line:
 * `runtimeMetrics()?.actorActivated(service)`.
 *
 * Process-wide like the trace context source, because the actor hosts of a process are many
 * and made deep inside the runtime; several registries may listen (tests run several runners).
 * @module
 */

/** What the runtime reports. */
export interface RuntimeMetricsHook {
  /** A key of actor type `service` was activated (its first command since it was idle). */
  actorActivated(service: string): void;
  /** `count` activations of `service` ended: passivated when idle, or stopped with their shard. */
  actorDeactivated(service: string, count: number, passivated: boolean): void;
  /** This node took (`acquired`) or gave up (`released`) one shard of `service`. */
  shardMoved(service: string, direction: "acquired" | "released"): void;
}

const hooks = new Set<RuntimeMetricsHook>();
let current: RuntimeMetricsHook | undefined;

/** Adds a listener; returns a function that removes it. */
export function addRuntimeMetricsHook(hook: RuntimeMetricsHook): () => void {
  hooks.add(hook);
  current = combined();
  return () => {
    hooks.delete(hook);
    current = combined();
  };
}

/** The listeners as one, or undefined when metrics are off. */
export function runtimeMetrics(): RuntimeMetricsHook | undefined {
  return current;
}

function combined(): RuntimeMetricsHook | undefined {
  if (hooks.size <= 1) return hooks.values().next().value;
  const all = [...hooks];
  return {
    actorActivated: (service) => all.forEach((h) => h.actorActivated(service)),
    actorDeactivated: (service, count, passivated) => all.forEach((h) => h.actorDeactivated(service, count, passivated)),
    shardMoved: (service, direction) => all.forEach((h) => h.shardMoved(service, direction)),
  };
}
