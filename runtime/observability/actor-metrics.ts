/**
 * Actor metrics, fed by the actor runtime through the protocol's runtime metrics hook:
 * activations (live and total), passivations and shard moves of this process's actor nodes.
 * @module
 */
import { addRuntimeMetricsHook } from "../protocol/mod.ts";
import type { MetricsRegistry } from "./metrics.ts";

/**
 * Adds `micro_actor_activations` (gauge), `micro_actor_activations_total`,
 * `micro_actor_passivations_total` and `micro_actor_shard_moves_total{service,direction}` to
 * `registry`, counted from now; returns a function that stops counting.
 */
export function collectActorMetrics(registry: MetricsRegistry): () => void {
  const active = registry.gauge("micro_actor_activations", "Actor keys active (in memory) on this process now.", ["service"]);
  const activated = registry.counter("micro_actor_activations_total", "Actor keys activated on this process.", ["service"]);
  const passivated = registry.counter("micro_actor_passivations_total", "Actor keys passivated after being idle on this process.", ["service"]);
  const moves = registry.counter("micro_actor_shard_moves_total", "Shards this process took (acquired) or gave up (released).", ["service", "direction"]);
  return addRuntimeMetricsHook({
    actorActivated(service) {
      active.add({ service }, 1);
      activated.inc({ service });
    },
    actorDeactivated(service, count, idle) {
      active.add({ service }, -count);
      if (idle) passivated.inc({ service }, count);
    },
    shardMoved(service, direction) {
      moves.inc({ service, direction });
    },
  });
}
