/**
 * What the gateway knows about running services, to tell an API service from a srv service
 * and to find the versions a `/v1/...` path may reach. A local copy of the registry, rebuilt
 * only after the registry reports a change: a request costs no registry read.
 * @module
 */
import type { Registry, Service } from "../runtime/mod.ts";

/** Services by namespace and name, kept current from the registry. */
export interface ServiceIndex {
  /** The live versions of a service (empty when the registry knows none). */
  lookup(namespace: string, name: string): Promise<readonly Service[]>;
  /** Stops following the registry. */
  close(): void;
}

/** Follows `registry` until {@link ServiceIndex.close}. */
export function createServiceIndex(registry: Registry): ServiceIndex {
  const stop = new AbortController();
  let byName = new Map<string, Service[]>();
  // A promise of the next rebuild; null while the copy is current.
  let rebuilding: Promise<void> | null = null;
  let dirty = true;

  const rebuild = async () => {
    dirty = false;
    const next = new Map<string, Service[]>();
    for (const s of await registry.listServices()) {
      const key = `${s.namespace} ${s.name}`;
      next.set(key, [...(next.get(key) ?? []), s]);
    }
    byName = next;
  };
  const current = async () => {
    while (dirty) {
      rebuilding ??= rebuild().finally(() => (rebuilding = null));
      await rebuilding;
    }
  };

  (async () => {
    for await (const event of registry.watch(stop.signal)) {
      // A heartbeat of a node already known changes nothing the gateway routes by.
      const r = event.record;
      const known = byName.get(`${r.namespace} ${r.name}`)?.some((s) => s.version === r.version && s.type === r.type && s.nodes.some((n) => n.id === r.node.id));
      if (event.type !== "update" || !known) dirty = true;
    }
  })().catch(() => undefined);

  return {
    async lookup(namespace, name) {
      if (dirty) await current();
      return byName.get(`${namespace} ${name}`) ?? [];
    },
    close: () => stop.abort(),
  };
}
