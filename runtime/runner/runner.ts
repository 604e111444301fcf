/**
 * The runner: finds or starts NATS, loads every module in `services/`, starts each as a
 * service instance, and stops them all (draining) when its scope closes.
 * @module
 */
import { Effect, Layer } from "effect";
import { layerNatsTransport } from "../client/transport-layer.ts";
import { layerNatsDiscovery } from "../client/discovery-layer.ts";
import { layerNats } from "../nats/connection.ts";
import { layerNatsRegistry } from "../registry/layer.ts";
import { layerJetStreamBroker } from "../broker/layer.ts";
import { layerNatsServer, NatsServer } from "../nats/server-layer.ts";
import { serveService } from "../server/serve-effect.ts";
import type { ServiceInstance } from "../server/service-instance.ts";
import { type LoadFailure, loadServices } from "./load-services.ts";
import { loadInterceptors } from "./load-interceptors.ts";
import type { Settings } from "../config/mod.ts";
import type { Interceptor } from "../protocol/mod.ts";
import { MicroError } from "../errors/micro-error.ts";

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
}

/** Starts the services of `config.servicesDir` on the NATS connection in context; stops them with the scope. */
export const startServices = (config: RunnerConfig, options: StartServicesOptions = {}) =>
  Effect.gen(function* () {
    const server = yield* NatsServer;
    const configured = yield* Effect.tryPromise({ try: () => loadInterceptors(config.interceptorModules ?? []), catch: (e) => MicroError.from(e) });
    const interceptors = [...configured, ...(options.interceptors ?? [])];
    const loaded = yield* Effect.promise(() => loadServices(config.servicesDir, config.onlyModule));
    const instances: ServiceInstance[] = [];
    const failures: LoadFailure[] = [...loaded.failures];
    for (const { file, definition: own } of loaded.services) {
      const definition = interceptors.length === 0 ? own : { ...own, interceptors: [...interceptors, ...own.interceptors] };
      const started = yield* serveService(definition, {
        namespace: config.namespace,
        drainTimeoutMs: config.drainTimeoutMs,
        registryTtlMs: config.registryTtlMs,
        nodeMetadata: config.nodeMetadata,
      })
        .pipe(Effect.result);
      if (started._tag === "Success") instances.push(started.success);
      else failures.push({ file, error: `cannot start ${definition.name}: ${started.failure.message}` });
    }
    return { natsUrl: server.url, natsStartedHere: server.startedHere, instances, failures } satisfies RunningServices;
  });

/**
 * The layers a runner needs, bottom up: the NATS server, the connection, the client
 * transport, the registry and the event broker. Closing the scope releases them top down.
 */
export function layerRuntime(config: Pick<RunnerConfig, "natsUrl" | "natsStoreDir" | "natsPort" | "registryTtlMs" | "namespace" | "events" | "log">) {
  const server = layerNatsServer({ url: config.natsUrl, storeDir: config.natsStoreDir, port: config.natsPort, log: config.log });
  const connection = Layer.unwrap(
    Effect.gen(function* () {
      const { url } = yield* NatsServer;
      return layerNats({ servers: url, name: "jetmicro-runner" });
    }),
  ).pipe(Layer.provideMerge(server));
  const registry = layerNatsRegistry({ ttlMs: config.registryTtlMs });
  const broker = layerJetStreamBroker({ namespace: config.namespace, ...config.events });
  // Discovery (with the routing rules) routes handlers' nested calls and the gateway's.
  const discovery = layerNatsDiscovery.pipe(Layer.provideMerge(registry));
  return Layer.mergeAll(layerNatsTransport, discovery, broker).pipe(Layer.provideMerge(connection));
}
