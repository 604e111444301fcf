/**
 * What a command may use on NATS, as layers over one connection: the client transport, the
 * registry, the event broker, the routing rules and registry-backed discovery. The registry,
 * broker and rules live in the CLI's own layers where the runtime has none.
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { layerJetStreamBroker } from "../runtime/broker/layer.ts";
import { createDiscovery, type Discovery } from "../runtime/client/discovery.ts";
import { layerNatsTransport } from "../runtime/client/transport-layer.ts";
import type { Settings } from "../runtime/config/mod.ts";
import { MicroError } from "../runtime/errors/micro-error.ts";
import { layerNats, Nats } from "../runtime/nats/connection.ts";
import { natsOptionsOf } from "../runtime/nats/connect-options.ts";
import { layerNatsRegistry, ServiceRegistry } from "../runtime/registry/layer.ts";
import { createRoutingRules, type RoutingRules } from "../runtime/selector/routing-rules.ts";

/** Version weights of services (`micro_routes`), followed live. */
export class Routes extends Context.Service<Routes, RoutingRules>()("jetmicro/cli/Routes") {}

/** Registry-backed routing (version weights included) for calls. */
export class CallDiscovery extends Context.Service<CallDiscovery, Discovery>()("jetmicro/cli/Discovery") {}

const layerRoutes = (replicas: number): Layer.Layer<Routes, MicroError, Nats> => Layer.effect(
  Routes,
  Effect.gen(function* () {
    const nc = yield* Nats;
    return yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => createRoutingRules(nc, undefined, replicas), catch: (e) => MicroError.from(e, "unavailable") }),
      (rules) => Effect.promise(() => rules.close().catch(() => undefined)),
    );
  }),
);

const layerDiscovery: Layer.Layer<CallDiscovery, never, ServiceRegistry | Routes> = Layer.effect(
  CallDiscovery,
  Effect.gen(function* () {
    const registry = yield* ServiceRegistry;
    const rules = yield* Routes;
    return yield* Effect.acquireRelease(Effect.sync(() => createDiscovery({ registry, rules })), (d) => Effect.promise(() => d.close().catch(() => undefined)));
  }),
);

/**
 * The layers of one command, each on the one connection. Built through one memo map, a layer
 * used by two others (the registry, by itself and under discovery) is built once.
 */
export function sessionLayers(settings: Settings, natsUrl: string) {
  const nats = layerNats(natsOptionsOf(settings, "jetmicro-cli", natsUrl));
  const registry = layerNatsRegistry({ ttlMs: settings.registryTtlMs, replicas: settings.replicas }).pipe(Layer.provide(nats));
  const routes = layerRoutes(settings.replicas).pipe(Layer.provide(nats));
  return {
    nats,
    transport: layerNatsTransport.pipe(Layer.provide(nats)),
    registry,
    // The broker as a command sees it: the namespace's events, the stream as the runner made it.
    broker: layerJetStreamBroker({ namespace: settings.namespace, replicas: settings.events.replicas }).pipe(Layer.provide(nats)),
    routes,
    discovery: layerDiscovery.pipe(Layer.provide(Layer.merge(registry, routes))),
  };
}
