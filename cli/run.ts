/**
 * `micro run [dir]`: NATS (found or started), every service module in `dir`, until Ctrl-C.
 * @module
 */
import { Cause, Deferred, Effect, Exit, Scope } from "effect";
import type { RunnerConfig, RunningServices } from "../runtime/runner/runner.ts";
import { layerRuntime, startServices } from "../runtime/runner/runner.ts";
import { runnerConfigFromEnv } from "../runtime/runner/config.ts";
import type { SettingSources } from "../runtime/config/mod.ts";
import { exitAfter, onShutdownSignal, setExitCode } from "../runtime/platform/signals.ts";
import { MicroError } from "../runtime/errors/micro-error.ts";
import { NatsTransport } from "../runtime/client/nats-transport.ts";
import { EventBroker } from "../runtime/broker/layer.ts";
import { ServiceRegistry } from "../runtime/registry/layer.ts";
import { ClientDiscovery } from "../runtime/client/discovery-layer.ts";
import { createNatsMicroDirectory } from "../runtime/registry/nats-micro-endpoints.ts";
import { serveHttp } from "../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket } from "../runtime/platform/websocket.ts";
import { createGateway } from "../gateway/app.ts";
import { createNatsOperator } from "../gateway/dashboard/nats-operator.ts";
import { type Observability, observabilityFrom } from "../runtime/observability/setup.ts";
import { NatsServer } from "../runtime/nats/server-layer.ts";
import { redactNatsUrl } from "../runtime/nats/connect-options.ts";
import { exitWithParent, Supervisor } from "./watch.ts";
import { gatewaySidecar } from "../gateway/sidecar/in-gateway.ts";
import { type AuthConfig, loadAuthFile } from "../gateway/auth.ts";
import { isLongLivedGatewayRequest } from "../gateway/edge.ts";
import { assertSafeExposure, browserDefaults } from "../gateway/exposure.ts";
import { Nats } from "../runtime/nats/connection.ts";
import { listActors } from "../runtime/actor/status.ts";

/** Runs until SIGINT/SIGTERM, then stops everything cleanly. Resolves with the exit code. */
export async function runCommand(
  overrides: Partial<RunnerConfig> = {},
  options: { watch?: boolean; sources?: SettingSources; gatewayOnly?: boolean } = {},
): Promise<number> {
  let config: RunnerConfig;
  let auth: AuthConfig | undefined;
  try {
    config = runnerConfigFromEnv(overrides, options.sources);
    // A broken auth file must stop the run, never leave the gateway open.
    auth = config.gatewayAuthFile === undefined || config.gatewayPort === 0 ? undefined : loadAuthFile(config.gatewayAuthFile);
    // Nor start an open gateway where the network reaches it, unless told to.
    if (config.gatewayPort !== 0) assertSafeExposure({ host: config.gatewayHost, auth: auth !== undefined, insecure: config.gatewayInsecure === true });
  } catch (error) {
    console.error(`micro run: ${MicroError.from(error).message}`);
    return 1;
  }
  const log = config.log;
  if (options.gatewayOnly && config.gatewayPort === 0) {
    console.error("micro gateway: MICRO_GATEWAY_PORT is 0 (no gateway); set a port, e.g. --port 8080");
    return 1;
  }
  if (options.watch) return runWatched(config, auth);
  const releaseStdin = exitWithParent();

  const bound: StopBound = {};
  const program = Effect.gen(function* () {
    const stopRequested = yield* shutdownRequested(config, bound);
    // `micro gateway`: the gateway alone, so gateways and services scale on their own.
    const running = options.gatewayOnly ? yield* gatewayOnlyStart(config) : yield* startServices(config);
    report(running, log);
    if ("metricsUrl" in running && running.metricsUrl !== undefined) log(`metrics ${running.metricsUrl}`);
    const gatewayUp = config.gatewayPort !== 0 && (yield* startGateway(config, auth, log, running.observability));
    if (running.instances.length === 0 && !gatewayUp) {
      log("no service is running; add a module to services/ (see README)");
      return 1;
    }
    if (running.instances.length === 0 && !options.gatewayOnly) log(`no service in ${config.servicesDir}/: serving the gateway alone`);
    const signal = yield* Deferred.await(stopRequested);
    log(`${signal}: stopping (in-flight calls finish first)`);
    return 0;
  }).pipe(Effect.scoped, Effect.provide(layerRuntime(config)));

  try {
    return await runToExit(program, log, bound);
  } finally {
    releaseStdin();
  }
}

function report(running: RunningServices, log: (line: string) => void): void {
  log(`NATS ${redactNatsUrl(running.natsUrl)}${running.natsStartedHere ? " (started by jetmicro)" : ""}`);
  for (const instance of running.instances) {
    const d = instance.definition;
    log(`service ${d.name} ${d.version} on ${instance.subject}.> (node ${instance.nodeId})`);
    for (const endpoint of d.endpoints) {
      const note = endpoint.handler === undefined && endpoint.stream === undefined ? "  [unimplemented]" : "";
      log(`  ${endpoint.name}  ${endpoint.method.input.typeName} -> ${endpoint.method.output.typeName}${note}`);
    }
  }
  for (const failure of running.failures) log(`FAILED ${failure.file}: ${failure.error}`);
}

/** `--watch`: NATS and the gateway here, each service module in a child process the {@link Supervisor} reloads. */
async function runWatched(config: RunnerConfig, auth: AuthConfig | undefined): Promise<number> {
  const log = config.log;
  const bound: StopBound = {};
  const program = Effect.gen(function* () {
    const stopRequested = yield* shutdownRequested(config, bound);
    const server = yield* NatsServer;
    log(`NATS ${redactNatsUrl(server.url)}${server.startedHere ? " (started by jetmicro)" : ""}`);
    if (config.gatewayPort !== 0) yield* startGateway(config, auth, log);
    const supervisor = new Supervisor({ servicesDir: config.servicesDir, natsUrl: server.url, namespace: config.namespace, protoDir: "proto", log, ...(config.logLevel !== undefined ? { logLevel: config.logLevel } : {}) });
    const started = yield* Effect.acquireRelease(Effect.promise(() => supervisor.start()), () => Effect.promise(() => supervisor.stop()));
    if (started === 0) log(`no service module in ${config.servicesDir}/ yet: add one (micro new <name>) and it starts`);
    const signal = yield* Deferred.await(stopRequested);
    log(`${signal}: stopping (in-flight calls finish first)`);
    return 0;
  }).pipe(Effect.scoped, Effect.provide(layerRuntime(config)));
  return runToExit(program, log, bound);
}

/** What `micro gateway` runs besides the gateway: nothing, on the NATS found or started. */
const gatewayOnlyStart = (config: RunnerConfig) => Effect.gen(function* () {
  const server = yield* NatsServer;
  // The gateway's own traces, metrics and request log, as when it runs beside services.
  const observability = yield* Effect.promise(() => observabilityFrom(config, { serviceName: "jetmicro-gateway" }));
  yield* Effect.addFinalizer(() => Effect.promise(async () => {
    await observability.tracing?.flush();
    // A last export, so counts of the final seconds before a stop reach the collector.
    await observability.metricsExport?.shutdown();
  }));
  return { natsUrl: server.url, natsStartedHere: server.startedHere, instances: [], failures: [], observability } satisfies RunningServices;
});

/**
 * A deferred completed by the first SIGINT/SIGTERM, with the handlers removed when the scope
 * closes. The stop it starts is bounded: drainTimeoutMs plus a second, NATS or not.
 */
const shutdownRequested = (config: Pick<RunnerConfig, "drainTimeoutMs" | "log">, bound: StopBound) => Effect.gen(function* () {
  const stopRequested = yield* Deferred.make<string>();
  const removeHandlers = onShutdownSignal((signal) => {
    const boundMs = config.drainTimeoutMs + 1000;
    bound.cancel = exitAfter(boundMs, () => console.error(`micro run: still stopping after ${boundMs} ms (is NATS gone?); exiting`));
    Deferred.doneUnsafe(stopRequested, Exit.succeed(signal));
  });
  yield* Effect.addFinalizer(() => Effect.sync(removeHandlers));
  return stopRequested;
});

/** The bound a stop signal arms (see {@link shutdownRequested}), to be cancelled once the stop is done. */
interface StopBound {
  cancel?: () => void;
}

/**
 * Runs a whole `micro run` program; resolves with its exit code, reporting a failure without a
 * stack. Once stopped, the process ends within a second with that code even if something a
 * service module started (its own timer or socket) would keep it alive: waiting for it made
 * `micro run` end after the stop's bound with code 1 and "is NATS gone?".
 */
async function runToExit(program: Effect.Effect<number, unknown>, log: (line: string) => void, bound: StopBound): Promise<number> {
  const exit = await Effect.runPromiseExit(program);
  if (Exit.isSuccess(exit)) {
    if (exit.value === 0) log("stopped");
    bound.cancel?.();
    exitAfter(1000, () => console.error("micro run: stopped, but something a service module started keeps running (a timer or a socket of its own); exiting"), exit.value);
    return exit.value;
  }
  // A MicroError says what to fix in its message; anything else (a defect in a finalizer, say)
  // is shown whole, so a failed stop is never just "internal".
  const failure = Cause.squash(exit.cause);
  console.error(`micro run: ${MicroError.is(failure) ? failure.message : Cause.pretty(exit.cause)}`);
  setExitCode(1);
  return 1;
}

/** The HTTP gateway for the life of the run; a taken port is reported, not fatal (another runner has it). */
const startGateway = (config: RunnerConfig, auth: AuthConfig | undefined, log: (line: string) => void, observability?: Observability) =>
  Effect.gen(function* () {
    const broker = yield* EventBroker;
    const registry = yield* ServiceRegistry;
    const discovery = yield* ClientDiscovery;
    const upgradeWebSocket = yield* Effect.promise(() => platformUpgradeWebSocket());
    const sidecar = yield* gatewaySidecar(config); // MICRO_GATEWAY_SIDECAR=1: the sidecar API at /sidecar
    const nc = yield* Nats;
    // The gateway's own transport, batching the NATS writes of one I/O turn: each HTTP request
    // arrives in its own I/O callback, so unbatched it costs a socket write (issue 18).
    const transport = yield* Effect.acquireRelease(
      Effect.sync(() => new NatsTransport(nc, { batchWrites: true })),
      (t) => Effect.promise(() => t.close()),
    );
    // With no CORS origins or hosts set, what its exposure allows browsers (see exposure.ts).
    const browsers = browserDefaults({ host: config.gatewayHost, auth: auth !== undefined });
    const allowedHosts = config.gatewayAllowedHosts ?? browsers.allowedHosts;
    const app = createGateway({
      transport,
      namespace: config.namespace,
      broker,
      registry,
      discovery,
      natsMicro: createNatsMicroDirectory(nc),
      upgradeWebSocket,
      sidecar,
      ...(auth !== undefined ? { auth } : {}),
      ...(nc.info?.max_payload !== undefined ? { natsMaxPayload: nc.info.max_payload } : {}),
      ...(config.gatewayForwardHeaders !== undefined ? { forwardHeaders: config.gatewayForwardHeaders } : {}),
      corsOrigins: config.gatewayCorsOrigins ?? browsers.corsOrigins,
      ...(config.gatewayMaxBodyBytes !== undefined ? { maxBodyBytes: config.gatewayMaxBodyBytes } : {}),
      ...(config.gatewayMaxEventStreams !== undefined ? { maxEventStreams: config.gatewayMaxEventStreams } : {}),
      ...(config.gatewayMaxEventStreamsPerIdentity !== undefined ? { maxEventStreamsPerIdentity: config.gatewayMaxEventStreamsPerIdentity } : {}),
      ...(config.gatewayTimeoutMs !== undefined ? { timeoutMs: config.gatewayTimeoutMs } : {}),
      ...(config.gatewayEmitDefaults === true ? { emitDefaults: true } : {}),
      ...(config.gatewayRpcNamespaces !== undefined ? { rpcNamespaces: config.gatewayRpcNamespaces } : {}),
      ...(allowedHosts !== undefined ? { allowedHosts } : {}),
      // The dashboard's actors panel: each actor type's nodes, shards and active keys.
      actors: (service, namespace) => listActors(nc, service, { namespace, waitMs: 300 }),
      // The dashboard's operator sections: what `micro stats|health|traffic|dlq|events` show.
      operator: createNatsOperator({ nc, namespace: config.namespace, registry, broker, ...(discovery.rules !== undefined ? { rules: discovery.rules } : {}) }),
      ...(observability !== undefined ? { observability } : {}),
    });
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => serveHttp(app.fetch, {
        port: config.gatewayPort,
        hostname: config.gatewayHost,
        longLived: isLongLivedGatewayRequest,
        // Above the longest call, so a slow answer is the gateway's 504, never a cut connection.
        idleTimeoutSeconds: Math.max(30, Math.ceil((config.gatewayTimeoutMs ?? 10_000) / 1000) + 5),
      }), catch: (e) => e as Error }).pipe(Effect.result),
      (result) => (result._tag === "Success" ? Effect.promise(() => result.success.close()) : Effect.void),
    );
    if (server._tag !== "Success") {
      log(`gateway not started: ${server.failure.message} (set MICRO_GATEWAY_PORT)`);
      return false;
    }
    log(`gateway http://${config.gatewayHost}:${server.success.port}${auth !== undefined ? ` (auth from ${config.gatewayAuthFile})` : ""} (try: curl --json '{"name":"Ada"}' http://127.0.0.1:${server.success.port}/greeter/say-hello)`);
    return true;
  });
