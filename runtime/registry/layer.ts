/**
 * The registry as an Effect service, and a node's registration as a scoped resource:
 * registered when acquired, refreshed on a schedule, deregistered when the scope closes.
 * @module
 */
import { Context, Effect, Layer, Option, type Scope } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { Nats } from "../nats/connection.ts";
import { createMemoryRegistry } from "./memory.ts";
import { createNatsRegistry, type NatsRegistryOptions } from "./nats-kv.ts";
import type { Registry, ServiceRecord } from "./types.ts";
import { keepRegistered as keepRegisteredUntilStopped } from "./keep-registered.ts";

/** The registry of a process. */
export class ServiceRegistry extends Context.Service<ServiceRegistry, Registry>()("jetmicro/Registry") {}

/** A JetStream KV registry on the process connection. */
export function layerNatsRegistry(options: NatsRegistryOptions = {}): Layer.Layer<ServiceRegistry, MicroError, Nats> {
  return Layer.effect(
    ServiceRegistry,
    Effect.gen(function* () {
      const nc = yield* Nats;
      return yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => createNatsRegistry(nc, options), catch: (e) => MicroError.from(e, "unavailable") }),
        (registry) => Effect.promise(() => registry.close()),
      );
    }),
  );
}

/** An in-process registry, for tests. */
export const layerMemoryRegistry: Layer.Layer<ServiceRegistry> = Layer.effect(
  ServiceRegistry,
  Effect.acquireRelease(Effect.sync(createMemoryRegistry), (registry) => Effect.promise(() => registry.close())),
);

/**
 * Keeps `record` registered for the life of the scope when a registry is in context (the one
 * heartbeat of `keep-registered.ts`): registers now, refreshes every third of its TTL,
 * deregisters on release.
 */
export function keepRegistered(record: ServiceRecord): Effect.Effect<void, MicroError, Scope.Scope> {
  return Effect.gen(function* () {
    const found = yield* Effect.serviceOption(ServiceRegistry);
    if (Option.isNone(found)) return;
    const registry = found.value;
    yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => keepRegisteredUntilStopped(registry, record), catch: (e) => MicroError.from(e, "unavailable") }),
      (registration) => Effect.promise(() => registration.stop().catch(() => undefined)),
    );
  });
}
