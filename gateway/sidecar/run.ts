/**
 * The sidecar as a process: NATS found or started (as `micro run` does), the sidecar API on
 * its own port, and in fronting mode one existing HTTP app served as a jetmicro service.
 * @module
 */
import { Deferred, Effect, Exit } from "effect";
import { Hono, type MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import { ClientTransport, EventBroker, layerRuntime, MicroError, Nats, NatsServer, redactNatsUrl, runnerConfigFromEnv, ServiceRegistry } from "../../runtime/mod.ts";
import { idleTimeoutSeconds, serveHttp } from "../../runtime/platform/http-server.ts";
import { onShutdownSignal } from "../../runtime/platform/signals.ts";
import { bodyDeadline } from "../body-deadline.ts";
import { requestChecks } from "../edge-request.ts";
import { errorResponse } from "../errors.ts";
import { browserDefaults } from "../exposure.ts";
import type { HostedServiceView } from "./hosted-service.ts";
import { parseRegistration } from "./requests.ts";
import { createSidecarApp } from "./routes.ts";
import { limitBodies } from "../body-limit.ts";
import { createSidecar, type Sidecar } from "./sidecar.ts";

/**
 * Options of {@link runSidecar}. Every field is optional; the environment fills what is left
 * out (see `sidecarOptionsFromArgs` for the flags and `MICRO_*` variables).
 *
 * Fronting mode is on when `app` is set: `name` and `endpoints` are then required.
 */
export interface RunSidecarOptions {
  /** Port of the sidecar's HTTP API (8081); 0 picks a free one. */
  readonly port?: number;
  /** Address the API listens on (`127.0.0.1`; `0.0.0.0` exposes it, and it has no authentication). */
  readonly host?: string;
  /** NATS server(s); when unset, `NATS_URL`, else one found or started as by `micro run`. */
  readonly natsUrl?: string;
  /** Namespace of hosted and called services (`MICRO_NAMESPACE`, `micro`). */
  readonly namespace?: string;
  /** Fronting mode: base URL of the HTTP app to serve, e.g. `http://127.0.0.1:5000`. */
  readonly app?: string;
  /** Fronting mode: the service name the app is served as. */
  readonly name?: string;
  /** Fronting mode: its version (`latest`). */
  readonly version?: string;
  /**
   * Fronting mode: the endpoints forwarded to the app: `"Orders.Create"` (to
   * `POST {app}/Orders.Create`), `"Create"` (the service's CamelCase name prepended), or
   * `{ name: "Orders.Create", path: "/orders" }`.
   */
  readonly endpoints?: readonly (string | { readonly name: string; readonly path?: string })[];
  /** Fronting mode: service metadata in the registry. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Fronting mode: path polled for health (`/health`); a non-2xx answer or none deregisters the service. Omit to never poll. */
  readonly health?: string;
  /** Fronting mode: calls sent to the app at once (100); more wait in the service's mailbox. */
  readonly concurrency?: number;
  /** Time between health checks in ms (5000); also the default of API registrations with a health path. */
  readonly healthIntervalMs?: number;
  /** Largest request body of the API in bytes (1 MiB). */
  readonly maxBodyBytes?: number;
  /** Stop on SIGINT/SIGTERM (true). */
  readonly handleSignals?: boolean;
  /** Progress output (`console.log`). */
  readonly log?: (line: string) => void;
}

/** A running sidecar process. */
export interface RunningSidecar {
  /** Base URL of the API, e.g. `http://127.0.0.1:8081/sidecar`. */
  readonly url: string;
  readonly port: number;
  readonly natsUrl: string;
  readonly sidecar: Sidecar;
  /** The fronted service, in fronting mode. */
  readonly fronted: HostedServiceView | undefined;
  /** Stops hosting and subscriptions, the API, the connection, and a nats-server started here. */
  stop(): Promise<void>;
  /** Resolves when stopped (by `stop()` or a signal). */
  readonly stopped: Promise<void>;
}

/**
 * Runs a sidecar until stopped: the API at `http://{host}:{port}/sidecar/...`, and with
 * `app` set, that app served as service `name`.
 *
 * @example
 * ```ts
 * const running = await runSidecar({ app: "http://127.0.0.1:5000", name: "orders", version: "1.0.0",
 *   endpoints: [{ name: "Orders.Create", path: "/orders" }], health: "/health" });
 * await running.stopped; // Ctrl-C
 * ```
 */
export async function runSidecar(options: RunSidecarOptions = {}): Promise<RunningSidecar> {
  const log = options.log ?? ((line: string) => console.log(line));
  const healthIntervalMs = options.healthIntervalMs ?? 5000;
  // Bad flags fail before anything starts.
  const fronting = options.app === undefined ? undefined : parseRegistration({
    name: options.name,
    url: options.app,
    endpoints: options.endpoints ?? [],
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.health === undefined ? {} : { health: options.health, healthIntervalMs }),
  }, { healthIntervalMs, label: (field) => frontingLabels[field] ?? field });
  if (fronting === undefined && (options.name !== undefined || options.endpoints?.length || options.health !== undefined)) {
    throw new MicroError("invalid_argument", "name, endpoints and health are for fronting mode: give the app's URL too (--app)", { detail: "app" });
  }
  // The process settings (flags here, then the environment), as the runner reads them.
  const config = runnerConfigFromEnv({ log, natsUrl: options.natsUrl, namespace: options.namespace });

  // As `micro run` does: one scoped program on the runner's layers, released (top down) when it ends.
  const stopRequested = Deferred.makeUnsafe<void>();
  let markStarted!: (running: RunningSidecar) => void;
  const started = new Promise<RunningSidecar>((resolve) => (markStarted = resolve));
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = () => {
    Deferred.doneUnsafe(stopRequested, Exit.void);
    return stopped;
  };

  const program = Effect.gen(function* () {
    const connection = yield* Nats;
    const host = options.host ?? "127.0.0.1";
    const sidecar = createSidecar({
      connection,
      transport: yield* ClientTransport,
      registry: yield* ServiceRegistry,
      broker: yield* EventBroker,
      namespace: config.namespace,
      registryTtlMs: config.registryTtlMs,
      drainTimeoutMs: config.drainTimeoutMs,
      nodeMetadata: config.nodeMetadata,
      healthIntervalMs,
      log,
    });
    const root = new Hono();
    root.use(requestId());
    // The gateway's checks on the request itself (framing, header bounds, Host). It has no auth:
    // on loopback it answers only this machine's names, so a website pointed at 127.0.0.1 (DNS
    // rebinding) cannot use it from the developer's browser.
    const allowedHosts = browserDefaults({ host, auth: false }).allowedHosts;
    root.use(requestChecks(allowedHosts !== undefined ? { allowedHosts } : {}) as MiddlewareHandler);
    root.use(limitBodies(options.maxBodyBytes ?? 1024 * 1024));
    // Its calls may take as long as their callers ask; a body that trickles in may not.
    root.use(bodyDeadline(idleTimeoutSeconds * 1000));
    root.onError((error, c) => errorResponse(error, c.get("requestId"), c.req.raw));
    root.get("/health", (c) => c.json({ status: "ok" }));
    root.route("/sidecar", createSidecarApp(sidecar));
    root.notFound((c) => errorResponse(new MicroError("not_found", `no route for ${c.req.method} ${c.req.path}; the sidecar API is under /sidecar`), c.get("requestId")));
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => serveHttp(root.fetch, { port: options.port ?? 8081, hostname: host }), catch: (e) => MicroError.from(e, "unavailable") }),
      (server) => Effect.promise(() => server.close()),
    );
    // Released before the API closes: hosted services deregister and drain first.
    yield* Effect.addFinalizer(() => Effect.promise(() => sidecar.close().catch((e) => log(`sidecar: ${(e as Error).message}`))));
    const natsUrl = (yield* NatsServer).url;
    const url = `http://${host}:${server.port}/sidecar`;
    log(`sidecar ${url} (NATS ${redactNatsUrl(natsUrl)})`);
    let fronted: HostedServiceView | undefined;
    if (fronting !== undefined) {
      fronted = yield* Effect.tryPromise({ try: () => sidecar.register(fronting), catch: (e) => MicroError.from(e, "unavailable") });
      log(`service ${fronted.name} ${fronted.version} on ${fronted.subject}.> forwarded to ${fronted.url} (${fronted.state}${fronted.nodeId ? `, node ${fronted.nodeId}` : ""})`);
      for (const e of fronted.endpoints) log(`  ${e.name}  -> POST ${fronted.url}${e.path}`);
    }
    if (options.handleSignals ?? true) {
      const removeSignals = onShutdownSignal((signal) => {
        log(`${signal}: stopping the sidecar (in-flight calls finish first)`);
        void stop();
      });
      yield* Effect.addFinalizer(() => Effect.sync(removeSignals));
    }
    markStarted({ url, port: server.port, natsUrl, sidecar, fronted, stop, stopped });
    yield* Deferred.await(stopRequested);
  }).pipe(Effect.scoped, Effect.provide(layerRuntime(config)));

  const ended = Effect.runPromise(program).finally(() => markStopped());
  void ended.then(() => log("sidecar stopped"), () => undefined);
  // Whichever comes first: started, or failed while starting (everything opened is released by then).
  return Promise.race([started, ended.then(() => started)]).catch((error: unknown) => {
    throw MicroError.from(error, "unavailable");
  });
}

/** How fronting-mode errors name the options (they arrive as flags or options of this call). */
const frontingLabels: Record<string, string> = {
  name: "name (--name)",
  version: "version (--version)",
  url: "app (--app)",
  endpoints: "endpoints (--endpoint)",
  metadata: "metadata (--metadata)",
  health: "health (--health)",
  healthIntervalMs: "healthIntervalMs (--health-interval)",
  concurrency: "concurrency (--concurrency)",
};
