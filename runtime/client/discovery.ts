import type { Registry, Service } from "../registry/types.ts";
import type { RoutingRules } from "../selector/routing-rules.ts";
import { createSelector } from "../selector/selector.ts";
import type { Selector } from "../selector/types.ts";
import { type CircuitBreaker, type CircuitBreakerOptions, createCircuitBreaker } from "./circuit-breaker.ts";

/** Options for {@link createDiscovery}. */
export interface DiscoveryOptions {
  readonly registry: Registry;
  /** Default: a random selector. */
  readonly selector?: Selector;
  /** Version weights followed by calls that name no version. */
  readonly rules?: RoutingRules;
  /** The per-node circuit breaker's settings (see `circuit-breaker.ts`); default threshold 5 in 10 s, cool-down 5 s. */
  readonly breaker?: CircuitBreakerOptions;
}

/**
 * What a client needs to route calls to nodes: a per-service copy of the registry, refreshed
 * when the registry reports a change (not per call), a selector and the routing rules.
 */
export interface Discovery {
  readonly selector: Selector;
  readonly rules: RoutingRules | undefined;
  /** Per-node circuit breakers; routing skips open nodes. Absent: no breaker. */
  readonly breaker?: CircuitBreaker;
  /** The cached versions of a service, or undefined before its first {@link load}. */
  cached(namespace: string, name: string): readonly Service[] | undefined;
  /** Reads a service from the registry into the cache. */
  load(namespace: string, name: string): Promise<readonly Service[]>;
  close(): Promise<void>;
}

/** Creates a {@link Discovery} over a registry. */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  // Per namespace, per service: two lookups per call, no key string built.
  const cache = new Map<string, Map<string, readonly Service[]>>();
  const stop = new AbortController();

  async function load(namespace: string, name: string): Promise<readonly Service[]> {
    const services = await options.registry.getService(name, namespace);
    let inNamespace = cache.get(namespace);
    if (inNamespace === undefined) cache.set(namespace, (inNamespace = new Map()));
    // A new array, never an edited one: the selector keeps its sorted nodes per array.
    inNamespace.set(name, services);
    return services;
  }

  (async () => {
    for await (const event of options.registry.watch(stop.signal)) {
      // Only services this client calls are kept; a heartbeat of an unchanged node is cheap to reload.
      if (cache.get(event.record.namespace)?.has(event.record.name)) await load(event.record.namespace, event.record.name);
    }
  })().catch(() => undefined);

  return {
    selector: options.selector ?? createSelector(),
    rules: options.rules,
    breaker: createCircuitBreaker(options.breaker),
    cached: (namespace, name) => cache.get(namespace)?.get(name),
    load,
    async close() {
      stop.abort();
    },
  };
}
