/**
 * `jetmicro/testing`: run services, events and actors in tests without a NATS server, or
 * against a throwaway one.
 *
 * - {@link createMemoryTransport}: calls go straight to handlers in this process.
 * - {@link createMemoryBroker}: events in memory, delivered to the services' event handlers.
 * - {@link hostActorInMemory}: one keyed actor without JetStream.
 * - {@link startNatsServer}: a real nats-server on a free port with its own store directory,
 *   for tests that must cross NATS.
 *
 * @example
 * ```ts
 * import { createClient } from "jetmicro";
 * import { createMemoryTransport } from "jetmicro/testing";
 * import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
 * import greeter from "../services/greeter.ts";
 *
 * const client = createClient(Greeter, createMemoryTransport([greeter]));
 * console.log((await client.sayHello({ name: "Ada" })).message); // Hello Ada
 * ```
 * @module
 */
export { createMemoryTransport, type MemoryTransportOptions } from "./memory-transport.ts";
export { hostActorInMemory, type MemoryActorHost, type MemoryActorOptions } from "./memory-actors.ts";
export { createMemoryBroker, type MemoryBroker, type MemoryBrokerOptions } from "../broker/memory.ts";
export { createMemoryRegistry } from "../registry/memory.ts";
export { ensureNatsServerBinary, findNatsServerBinary, type NatsServerProcess, startNatsServer, type StartNatsServerOptions } from "../nats/mod.ts";
