/**
 * The runner: finds or starts NATS, loads every module in `services/`, starts each as a
 * service instance, and stops them all (draining) when its scope closes.
 * @module
 */
import { Effect, Layer } from "effect";
import { layerNatsTransport } from "../client/transport-layer.ts";
import { layerNats } from "../nats/connection.ts";
import { layerNatsRegistry } from "../registry/layer.ts";
import { layerJetStreamBroker } from "../broker/layer.ts";
import { layerNatsServer, NatsServer } from "../nats/server-layer.ts";
import { serveService } from "../server/serve-effect.ts";
import type { ServiceInstance } from "../server/service-instance.ts";
import { type LoadFailure, loadServices } from "./load-services.ts";

/** Runner settings; see the configuration table in the README. */
export interface RunnerConfig {
  /** Folder of service modules; default `services`. */
  readonly servicesDir: string;
  /** NATS URL to use; when unset a local server is found or started. */
  readonly natsUrl: string | undefined;
  /** Store dir of a NATS server started here. */
  readonly natsStoreDir: string;
  /** Port of a NATS server started here (a free one when it is taken); also where one is looked for. */
  readonly natsPort: number;
  /** Default namespace of services. */
  readonly namespace: string;
  /** Event stream settings (`MICRO_EVENTS_*`). */
  readonly events: { readonly storage: "file" | "memory"; readonly maxAgeMs: number; readonly replicas: number };
  /** Port of the HTTP gateway (`MICRO_GATEWAY_PORT`, 8080); 0 runs none. */
  readonly gatewayPort: number;
  /** Address the gateway listens on (`MICRO_GATEWAY_HOST`, 127.0.0.1; `0.0.0.0` for every interface). */
  readonly gatewayHost: string;
  /** JSON file of gateway API keys, JWT secret and rules (`MICRO_GATEWAY_AUTH_FILE`); unset, auth is off. */
  readonly gatewayAuthFile?: string | undefined;
  /** Request headers the gateway passes to handlers as metadata (`MICRO_GATEWAY_FORWARD_HEADERS`). */
  readonly gatewayForwardHeaders?: readonly string[];
  /** Origins the gateway's CORS allows (`MICRO_GATEWAY_CORS_ORIGINS`, `*`); empty turns CORS off. */
  readonly gatewayCorsOrigins?: readonly string[];
  /** Largest request body the gateway takes, in bytes (`MICRO_GATEWAY_MAX_BODY_BYTES`, 1 MiB). */
  readonly gatewayMaxBodyBytes?: number;
  /** Gateway call timeout in ms (`MICRO_GATEWAY_TIMEOUT_MS`, 10000). */
  readonly gatewayTimeoutMs?: number;
  /** Namespaces `POST /rpc` may call (`MICRO_GATEWAY_RPC_NAMESPACES`; default the runner's namespace). */
  readonly gatewayRpcNamespaces?: readonly string[];
  /** Metadata of the nodes this runner starts (`MICRO_NODE_METADATA=zone=a,rack=2`). */
  readonly nodeMetadata: Readonly<Record<string, string>>;
  /** How long the registry keeps a node without a heartbeat, in ms. */
  readonly registryTtlMs: number;
  /** Drain grace on stop, in ms. */
  readonly drainTimeoutMs: number;
  /** Progress output. */
  readonly log: (line: string) => void;
  /** Run only this module of the folder (`micro run --watch` runs one process per module). */
  readonly onlyModule?: string;
}

/** What a started runner is running. */
export interface RunningServices {
  readonly natsUrl: string;
  readonly natsStartedHere: boolean;
  readonly instances: readonly ServiceInstance[];
  readonly failures: readonly LoadFailure[];
}

/** Starts the services of `config.servicesDir` on the NATS connection in context; stops them with the scope. */
export const startServices = (config: RunnerConfig) =>
  Effect.gen(function* () {
    const server = yield* NatsServer;
    const loaded = yield* Effect.promise(() => loadServices(config.servicesDir, config.onlyModule));
    const instances: ServiceInstance[] = [];
    const failures: LoadFailure[] = [...loaded.failures];
    for (const { file, definition } of loaded.services) {
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
  return Layer.mergeAll(layerNatsTransport, registry, broker).pipe(Layer.provideMerge(connection));
}
