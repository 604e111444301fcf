/**
 * A service instance as an Effect resource: started on the process connection, stopped
 * (drained) when the surrounding scope closes. For apps that assemble jetmicro with Effect.
 * @module
 */
import { Effect, Option, type Scope } from "effect";
import { EventBroker } from "../broker/layer.ts";
import { ClientTransport } from "../client/transport-layer.ts";
import { ClientDiscovery } from "../client/discovery-layer.ts";
import { MicroError } from "../errors/micro-error.ts";
import { Nats } from "../nats/connection.ts";
import { keepRegistered } from "../registry/layer.ts";
import { serviceRecord } from "../registry/records.ts";
import type { ServiceDefinition } from "../service/types.ts";
import type { ServiceInstance, StartServiceOptions } from "./service-instance.ts";
import { startInstance } from "./self-starting.ts";

/**
 * Serves `definition` for the life of the current scope, registered (with heartbeats) in the
 * {@link ServiceRegistry} when one is in context.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const instance = yield* serveService(greeter);
 *   yield* Effect.never;
 * }).pipe(Effect.scoped, Effect.provide(layerRuntime(config)));
 * ```
 */
export function serveService(
  definition: ServiceDefinition,
  options: Omit<StartServiceOptions, "connection" | "transport"> & {
    /** How long the registry keeps the node without a heartbeat; default 15000 ms. */
    readonly registryTtlMs?: number;
    /** Metadata of this node in the registry (zone, rack, ...), for label routing. */
    readonly nodeMetadata?: Readonly<Record<string, string>>;
    /** Replicas of the stores a keyed actor type creates (`MICRO_REPLICAS`). */
    readonly replicas?: number;
  } = {},
): Effect.Effect<ServiceInstance, MicroError, Nats | ClientTransport | Scope.Scope> {
  return Effect.gen(function* () {
    const connection = yield* Nats;
    const transport = yield* ClientTransport;
    const broker = Option.getOrUndefined(yield* Effect.serviceOption(EventBroker));
    // With discovery in context, handlers' nested calls are routed (weights, version, labels, key).
    const discovery = options.discovery ?? Option.getOrUndefined(yield* Effect.serviceOption(ClientDiscovery));
    const instance = yield* Effect.acquireRelease(
      Effect.tryPromise({
        // Keyed actor types start their own runtime around the same service instance.
        try: () => startInstance(definition, { ...options, connection, transport, broker, ...(discovery !== undefined ? { discovery } : {}) }),
        catch: (e) => MicroError.from(e),
      }),
      (instance) => Effect.promise(() => instance.stop()),
    );
    // Released first: the node leaves the registry before it stops taking calls.
    yield* keepRegistered(
      serviceRecord(definition, { id: instance.nodeId, address: instance.nodeSubject, namespace: instance.namespace, metadata: options.nodeMetadata }, options.registryTtlMs ?? 15_000),
    ).pipe(
      // An instance nobody can discover must not keep serving behind the runner's back.
      Effect.onError(() => Effect.promise(() => instance.stop())),
    );
    return instance;
  });
}
