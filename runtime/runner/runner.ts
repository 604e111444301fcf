/**
 * The runner: finds or starts NATS, loads every module in `services/`, starts each as a
 * service instance, and stops them all (draining) when its scope closes.
 * @module
 */
import { Effect, Layer } from "effect";
import { layerNatsTransport } from "../client/transport-layer.ts";
import { layerNatsDiscovery } from "../client/discovery-layer.ts";
import { layerNats, Nats } from "../nats/connection.ts";
import { natsOptionsOf } from "../nats/connect-options.ts";
import { layerNatsRegistry } from "../registry/layer.ts";
import { layerJetStreamBroker } from "../broker/layer.ts";
import { layerNatsServer, NatsServer } from "../nats/server-layer.ts";
import { serveService } from "../server/serve-effect.ts";
import { isActorDefinition } from "../actor/define.ts";
import { startActor } from "../actor/host.ts";
import type { ActorDefinition } from "../actor/types.ts";
import type { ServiceInstance } from "../server/service-instance.ts";
import { type LoadFailure, loadServices } from "./load-services.ts";
import { loadInterceptors } from "./load-interceptors.ts";
import type { Settings } from "../config/mod.ts";
import type { CallObserver, Interceptor } from "../protocol/mod.ts";
import { MicroError } from "../errors/micro-error.ts";
import { collectInstance } from "../observability/call-metrics.ts";
import { collectEventMetrics } from "../observability/event-metrics.ts";
import { collectActorMetrics } from "../observability/actor-metrics.ts";
import { prometheusContentType } from "../observability/metrics.ts";
import { type Observability, observabilityFrom } from "../observability/setup.ts";
import { serveHttp } from "../platform/http-server.ts";

/** Runner settings: the process settings (see the README's configuration table) and what only code sets. */
export interface RunnerConfig extends Settings {
  /** Progress output. */
  readonly log: (line: string) => void;
  /** Run only this module of the folder (`micro run --watch` runs one process per module). */
  readonly onlyModule?: string;
}

/** Options of {@link startServices}. */
export interface StartServicesOptions {
  /**
   * Interceptors around every service started, outermost first, before each service's own
   * (after those of the modules named by `MICRO_INTERCEPTORS`).
   */
  readonly interceptors?: readonly Interceptor[];
}

/** What a started runner is running. */
export interface RunningServices {
  readonly natsUrl: string;
  readonly natsStartedHere: boolean;
  readonly instances: readonly ServiceInstance[];
  readonly failures: readonly LoadFailure[];
  /** The runner's tracer, metrics and logger (a gateway in the same process shares them). */
  readonly observability: Observability;
  /** Where `/metrics` is served (`MICRO_METRICS_PORT`), when it is. */
  readonly metricsUrl?: string;
}

/** Starts the services of `config.servicesDir` on the NATS connection in context; stops them with the scope. */
export const startServices = (config: RunnerConfig, options: StartServicesOptions = {}) =>
  Effect.gen(function* () {
    const server = yield* NatsServer;
    const configured = yield* Effect.tryPromise({ try: () => loadInterceptors(config.interceptorModules ?? []), catch: (e) => MicroError.from(e) });
    const observability = yield* Effect.promise(() => observabilityFrom(config, { serviceName: "jetmicro-runner" }));
    yield* Effect.addFinalizer(() => Effect.promise(async () => {
      await observability.tracing?.flush();
      // A last export, so counts of the final seconds before a stop reach the collector.
      await observability.metricsExport?.shutdown();
    }));
    const interceptors = [...observability.serverInterceptors, ...configured, ...(options.interceptors ?? [])];
    const clientInterceptors = observability.clientInterceptors;
    const clientObservers = observability.clientObservers;
    const observers = observability.serverObservers;
    if (observability.metrics !== undefined) {
      const stop = collectActorMetrics(observability.metrics);
      yield* Effect.addFinalizer(() => Effect.sync(stop));
    }
    const loaded = yield* Effect.promise(() => loadServices(config.servicesDir, config.onlyModule));
    const instances: ServiceInstance[] = [];
    const failures: LoadFailure[] = [...loaded.failures];
    for (const { file, definition: own } of loaded.services) {
      const definition = interceptors.length === 0 && clientInterceptors.length === 0 && observers.length === 0 && clientObservers.length === 0
        ? own
        : isActorDefinition(own)
          ? withActorInterceptors(own, interceptors, clientInterceptors, observers, clientObservers)
          : {
            ...own,
            interceptors: [...interceptors, ...own.interceptors],
            clientInterceptors: [...clientInterceptors, ...(own.clientInterceptors ?? [])],
            clientObservers: [...clientObservers, ...(own.clientObservers ?? [])],
            observers: [...observers, ...(own.observers ?? [])],
          };
      const started = yield* serveService(definition, {
        namespace: config.namespace,
        drainTimeoutMs: config.drainTimeoutMs,
        registryTtlMs: config.registryTtlMs,
        nodeMetadata: config.nodeMetadata,
        replicas: config.replicas,
      })
        .pipe(Effect.result);
      if (started._tag === "Success") {
        instances.push(started.success);
        if (observability.metrics !== undefined) {
          const stop = collectInstance(observability.metrics, started.success);
          yield* Effect.addFinalizer(() => Effect.sync(stop));
        }
      }
      else failures.push({ file, error: `cannot start ${definition.name}: ${started.failure.message}` });
    }
    let metricsUrl: string | undefined;
    const metrics = observability.metrics;
    if (metrics !== undefined) {
      const stop = collectEventMetrics(metrics, yield* Nats, { namespace: config.namespace });
      yield* Effect.addFinalizer(() => Effect.sync(stop));
    }
    if (metrics !== undefined && (config.metricsPort ?? 0) > 0) {
      const http = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () =>
            serveHttp(async (request) => {
              if (new URL(request.url).pathname !== "/metrics") return new Response("not found: metrics are at /metrics\n", { status: 404 });
              return new Response(await metrics.scrape(), { headers: { "content-type": prometheusContentType } });
            }, { port: config.metricsPort!, hostname: config.gatewayHost ?? "127.0.0.1" }),
          catch: (e) => new MicroError("unavailable", `cannot serve metrics on MICRO_METRICS_PORT ${config.metricsPort}: ${(e as Error).message}`),
        }),
        (s) => Effect.promise(() => s.close()),
      );
      metricsUrl = `http://${config.gatewayHost ?? "127.0.0.1"}:${http.port}/metrics`;
    }
    return { natsUrl: server.url, natsStartedHere: server.startedHere, instances, failures, observability, ...(metricsUrl ? { metricsUrl } : {}) } satisfies RunningServices;
  });

/**
 * An actor type with the runner's interceptors around each command (and its observers told of each), where an actor runs them
 * (its owners, not its router: see `ActorOptions.interceptors`); its `start` is rebuilt, since
 * the defined one starts the definition it closed over.
 */
function withActorInterceptors(
  own: ActorDefinition,
  interceptors: readonly Interceptor[],
  clientInterceptors: readonly Interceptor[],
  observers: readonly CallObserver[],
  clientObservers: readonly CallObserver[],
): ActorDefinition {
  const definition: ActorDefinition = {
    ...own,
    clientInterceptors: [...clientInterceptors, ...(own.clientInterceptors ?? [])],
    clientObservers: [...clientObservers, ...(own.clientObservers ?? [])],
    actor: { ...own.actor, interceptors: [...interceptors, ...own.actor.interceptors], observers: [...observers, ...(own.actor.observers ?? [])] },
    start: (options) => startActor(definition, options),
  };
  return definition;
}

/**
 * The layers a runner needs, bottom up: the NATS server, the connection, the client
 * transport, the registry and the event broker. Closing the scope releases them top down.
 */
export function layerRuntime(
  config: Pick<RunnerConfig, "natsUrl" | "natsAuth" | "natsStoreDir" | "natsPort" | "connectTimeoutMs" | "registryTtlMs" | "namespace" | "events" | "log"> & { readonly replicas?: number },
) {
  const server = layerNatsServer({ url: config.natsUrl, storeDir: config.natsStoreDir, port: config.natsPort, secretFile: config.natsAuth.secretFile, log: config.log });
  const connection = Layer.unwrap(
    Effect.gen(function* () {
      const { url } = yield* NatsServer;
      return layerNats(natsOptionsOf(config, "jetmicro-runner", url));
    }),
  ).pipe(Layer.provideMerge(server));
  const registry = layerNatsRegistry({ ttlMs: config.registryTtlMs, replicas: config.replicas });
  const broker = layerJetStreamBroker({ namespace: config.namespace, ...config.events });
  // Discovery (with the routing rules) routes handlers' nested calls and the gateway's.
  const discovery = layerNatsDiscovery.pipe(Layer.provideMerge(registry));
  return Layer.mergeAll(layerNatsTransport, discovery, broker).pipe(Layer.provideMerge(connection));
}
