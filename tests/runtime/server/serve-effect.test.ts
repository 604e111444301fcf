import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Effect, Layer } from "effect";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { ClientTransport, createClient, createMemoryRegistry, Nats, serveService, ServiceRegistry } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import greeter from "../../../services/greeter.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
});
afterAll(async () => {
  await conn.close();
  await nats.stop();
});

function layers(registry: ReturnType<typeof createMemoryRegistry>) {
  return Layer.mergeAll(
    Layer.succeed(Nats, conn.nc),
    Layer.succeed(ClientTransport, conn.transport),
    Layer.succeed(ServiceRegistry, registry),
  );
}

describe("serveService (Effect)", () => {
  it("serves and registers for the life of the scope, then deregisters and stops", async () => {
    const registry = createMemoryRegistry();
    const client = createClient(Greeter, conn.transport);
    await Effect.runPromise(
      Effect.gen(function* () {
        const instance = yield* serveService(greeter);
        const [service] = yield* Effect.promise(() => registry.getService("greeter"));
        expect(service?.nodes.map((n) => n.id)).toEqual([instance.nodeId]);
        expect((yield* Effect.promise(() => client.sayHello({ name: "E" }))).message).toBe("Hello E");
      }).pipe(Effect.scoped, Effect.provide(layers(registry))),
    );
    expect(await registry.getService("greeter")).toEqual([]);
    expect((await rejection(client.sayHello({ name: "gone" }))).code).toBe("unavailable");
  });

  it("stops the instance when it cannot register, so nothing serves undiscoverable", async () => {
    const registry = { ...createMemoryRegistry(), register: () => Promise.reject(new Error("kv put timed out")) };
    const client = createClient(Greeter, conn.transport);
    // The scope stays open, as the runner's does while other services run.
    const [tag, code] = await Effect.runPromise(
      Effect.gen(function* () {
        const outcome = yield* serveService(greeter).pipe(Effect.result);
        const error = yield* Effect.promise(() => rejection(client.sayHello({ name: "x" })));
        return [outcome._tag, error.code] as const;
      }).pipe(Effect.scoped, Effect.provide(layers(registry))),
    );
    expect(tag).toBe("Failure");
    expect(code).toBe("unavailable");
  });
});
