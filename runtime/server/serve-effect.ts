/**
 * A service instance as an Effect resource: started on the process connection, stopped
 * (drained) when the surrounding scope closes. For apps that assemble jetmicro with Effect.
 * @module
 */
import { Effect, type Scope } from "effect";
import { ClientTransport } from "../client/transport-layer.ts";
import { MicroError } from "../errors/micro-error.ts";
import { Nats } from "../nats/connection.ts";
import type { ServiceDefinition } from "../service/types.ts";
import { type ServiceInstance, startService, type StartServiceOptions } from "./service-instance.ts";

/**
 * Serves `definition` for the life of the current scope.
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
  options: Omit<StartServiceOptions, "connection" | "transport"> = {},
): Effect.Effect<ServiceInstance, MicroError, Nats | ClientTransport | Scope.Scope> {
  return Effect.gen(function* () {
    const connection = yield* Nats;
    const transport = yield* ClientTransport;
    return yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startService(definition, { ...options, connection, transport }),
        catch: (e) => MicroError.from(e),
      }),
      (instance) => Effect.promise(() => instance.stop()),
    );
  });
}
