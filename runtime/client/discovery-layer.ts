/**
 * Discovery as an Effect service: the registry plus the routing rules (`micro_routes`), so
 * the clients a process makes (handlers' `ctx.client(...)`, its gateway) follow version
 * weights, labels and keys as `micro call` does.
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { Nats } from "../nats/connection.ts";
import { ServiceRegistry } from "../registry/layer.ts";
import { createRoutingRules } from "../selector/routing-rules.ts";
import { createDiscovery, type Discovery } from "./discovery.ts";

/** How the clients of a process choose nodes. */
export class ClientDiscovery extends Context.Service<ClientDiscovery, Discovery>()("jetmicro/ClientDiscovery") {}

/** Discovery over the registry in context, following the routing rules kept in NATS. */
export const layerNatsDiscovery: Layer.Layer<ClientDiscovery, MicroError, Nats | ServiceRegistry> = Layer.effect(
  ClientDiscovery,
  Effect.gen(function* () {
    const nc = yield* Nats;
    const registry = yield* ServiceRegistry;
    const rules = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => createRoutingRules(nc), catch: (e) => MicroError.from(e, "unavailable") }),
      (r) => Effect.promise(() => r.close().catch(() => undefined)),
    );
    return yield* Effect.acquireRelease(Effect.sync(() => createDiscovery({ registry, rules })), (d) => Effect.promise(() => d.close().catch(() => undefined)));
  }),
);
