import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { MicroError } from "../../../runtime/errors/micro-error.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import type { Interceptor } from "../../../runtime/protocol/mod.ts";
import { runnerConfigFromEnv } from "../../../runtime/runner/config.ts";
import { layerRuntime, type RunnerConfig, startServices } from "../../../runtime/runner/runner.ts";
import { startTestNats } from "../../support/nats.ts";
import { greeterModule, makeServicesDir, repoPath } from "../../support/service-dirs.ts";
import type { ActorDefinition } from "../../../runtime/actor/types.ts";

let nats: NatsServerProcess;
const services = makeServicesDir({ "alpha.ts": greeterModule("alpha-intercepted") });
const observed = makeServicesDir({
  "beta.ts": greeterModule("beta-observed"),
  "cart.ts": `import { Cart } from ${JSON.stringify(repoPath("gen/cart/v1/cart_pb.ts"))};
import { defineActor } from ${JSON.stringify(repoPath("runtime/mod.ts"))};
export default defineActor(Cart, { name: "cart-observed", key: "cart_id", initialState: () => ({}) }, { getCart: (state, r) => ({ reply: { cartId: r.cartId } }) });
`,
});
const outer = join(services.dir, "_outer.ts");
const notOne = join(services.dir, "_not-one.ts");
writeFileSync(outer, `export default (next) => async function outer(request) { return next(request); };\n`);
writeFileSync(notOne, `export default { not: "a function" };\n`);

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  services.remove();
  observed.remove();
  await nats.stop();
});

const config = (interceptorModules: string[]): RunnerConfig => ({
  ...runnerConfigFromEnv({ natsUrl: nats.url, servicesDir: services.dir, namespace: "intercepted", log: () => {} }),
  interceptorModules,
});

/** The interceptors of each service a runner started, by service name. */
const started = (c: RunnerConfig, extra: Interceptor[] = []) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const running = yield* startServices(c, { interceptors: extra });
      return Object.fromEntries(running.instances.map((i) => [i.definition.name, i.definition.interceptors]));
    }).pipe(Effect.scoped, Effect.provide(layerRuntime(c))),
  );

describe("interceptors from the settings", () => {
  it("go around every service the runner starts, outermost first, before those given in code", async () => {
    const fromModule = (await import(outer)).default as Interceptor;
    const inCode: Interceptor = (next) => next;
    const interceptors = (await started(config([outer]), [inCode]))["alpha-intercepted"]!;
    // The runner's own (observability: tracing, when on) stay outermost; then the settings', then the code's.
    const builtIn = (await started(config([])))["alpha-intercepted"]!;
    expect(interceptors.length).toBe(builtIn.length + 2);
    expect(interceptors.slice(builtIn.length)).toEqual([fromModule, inCode]);
  }, 30_000);

  it("stop the run when a module does not default-export an interceptor, naming it", async () => {
    const error = await started(config([notOne])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MicroError);
    expect((error as MicroError).code).toBe("invalid_argument");
    expect((error as MicroError).message).toContain(`interceptor module ${notOne}`);
  }, 30_000);
});

describe("the runner's observability with tracing and metrics off", () => {
  it("adds the failed-call log as an observer, never an interceptor: services and actor owners keep their fast paths", async () => {
    const c: RunnerConfig = { ...runnerConfigFromEnv({ natsUrl: nats.url, servicesDir: observed.dir, namespace: "observed", log: () => {} }), interceptorModules: [] };
    const seen = await Effect.runPromise(
      Effect.gen(function* () {
        const running = yield* startServices(c);
        const byName = Object.fromEntries(running.instances.map((i) => [i.definition.name, i.definition]));
        const actor = byName["cart-observed"] as ActorDefinition;
        return {
          failures: running.failures,
          tracing: running.observability.tracing !== undefined,
          metrics: running.observability.metrics !== undefined,
          observers: running.observability.serverObservers,
          service: { interceptors: byName["beta-observed"]!.interceptors, observers: byName["beta-observed"]!.observers },
          router: { interceptors: actor.interceptors, observers: actor.observers },
          owner: { interceptors: actor.actor.interceptors, observers: actor.actor.observers },
        };
      }).pipe(Effect.scoped, Effect.provide(layerRuntime(c))),
    );
    expect(seen.failures).toEqual([]);
    expect([seen.tracing, seen.metrics]).toEqual([false, false]);
    expect(seen.observers.length).toBe(1);
    expect(seen.service).toEqual({ interceptors: [], observers: [...seen.observers] });
    // An actor's commands are observed once, by their owner, not by the router that forwards them.
    expect(seen.router).toEqual({ interceptors: [], observers: [] });
    expect(seen.owner).toEqual({ interceptors: [], observers: [...seen.observers] });
  }, 60_000);
});
