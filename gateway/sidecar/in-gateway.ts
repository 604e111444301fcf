/**
 * The sidecar inside `micro run`'s gateway, when `MICRO_GATEWAY_SIDECAR=1`: its API under
 * `/sidecar` on the gateway's port, on the runner's connection, registry and broker, stopped
 * (hosted services deregistered) with the run. Off by default: the gateway has no
 * authentication, and a sidecar lets whoever reaches it register services.
 * @module
 */
import { Effect, type Scope } from "effect";
import { ClientTransport, EventBroker, Nats, type RunnerConfig, ServiceRegistry } from "../../runtime/mod.ts";
import { env } from "../../runtime/platform/signals.ts";
import { createSidecar, type Sidecar } from "./sidecar.ts";

/** A sidecar for the run's gateway, or undefined when `MICRO_GATEWAY_SIDECAR` is not `1`. */
export const gatewaySidecar = (
  config: Pick<RunnerConfig, "namespace" | "registryTtlMs" | "drainTimeoutMs" | "nodeMetadata" | "log">,
): Effect.Effect<Sidecar | undefined, never, Nats | ClientTransport | ServiceRegistry | EventBroker | Scope.Scope> =>
  Effect.gen(function* () {
    if (env("MICRO_GATEWAY_SIDECAR") !== "1") return undefined;
    const connection = yield* Nats;
    const transport = yield* ClientTransport;
    const registry = yield* ServiceRegistry;
    const broker = yield* EventBroker;
    return yield* Effect.acquireRelease(
      Effect.sync(() => createSidecar({ connection, transport, registry, broker, ...config })),
      (sidecar) => Effect.promise(() => sidecar.close()),
    );
  });
