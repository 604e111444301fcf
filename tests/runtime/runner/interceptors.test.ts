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
import { greeterModule, makeServicesDir } from "../../support/service-dirs.ts";

let nats: NatsServerProcess;
const services = makeServicesDir({ "alpha.ts": greeterModule("alpha-intercepted") });
const outer = join(services.dir, "_outer.ts");
const notOne = join(services.dir, "_not-one.ts");
writeFileSync(outer, `export default (next) => async function outer(request) { return next(request); };\n`);
writeFileSync(notOne, `export default { not: "a function" };\n`);

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  services.remove();
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
    // The runner's own (observability: the failed-call log) stay outermost; then the settings', then the code's.
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
