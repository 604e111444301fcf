/**
 * What a caller keeps per node (the circuit breaker, the selector's cool-down) is keyed by node
 * id and shared by every service it calls, so a node id must name one service's node: a service
 * whose records name another service's nodes must not be able to take those nodes out of its
 * callers' rotation.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, createDiscovery, createMemoryRegistry, defineService, MicroError, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import { isNodeOf } from "../../../runtime/protocol/mod.ts";
import { serviceRecord } from "../../../runtime/registry/records.ts";
import { withNats } from "../../support/nats.ts";

const { conn, teardown } = withNats();
const registry = createMemoryRegistry();
afterAll(() => registry.close());

const owned = defineService(Greeter, { name: "owned", version: "1.0.0" }, {
  sayHello: (_req, ctx) => ({ message: ctx.service.nodeId }),
});
// Registered by a rogue under its own name; no instance of it runs.
const rogue = defineService(Greeter, { name: "rogue", version: "1.0.0" }, { sayHello: () => ({ message: "" }) });

describe("node ids in routing", () => {
  const instances: ServiceInstance[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const instance = await startService(owned, { connection: conn.nc, transport: conn.transport });
      instances.push(instance);
      teardown(() => instance.stop());
      await registry.register(serviceRecord(owned, { id: instance.nodeId, address: instance.nodeSubject, namespace: "micro" }, 60_000));
    }
    // The rogue's records name both of owned's nodes as its own; so do those of an "owned" of
    // another namespace (its user may write staging.owned.>), where no node answers.
    for (const instance of instances) {
      await registry.register(serviceRecord(rogue, { id: instance.nodeId, address: instance.nodeSubject, namespace: "micro" }, 60_000));
      await registry.register(serviceRecord(owned, { id: instance.nodeId, address: instance.nodeSubject, namespace: "staging" }, 60_000));
    }
  });

  it("a node id names one service's node: {service}-{unique part without a dash}", () => {
    expect(isNodeOf("greeter", "greeter-x1")).toBe(true);
    expect(isNodeOf("a-b", "a-b-x1")).toBe(true);
    // "a-b-x1" is a node of a-b, never of a.
    expect(isNodeOf("a", "a-b-x1")).toBe(false);
    expect(isNodeOf("greeter", "orders-x1")).toBe(false);
    expect(isNodeOf("greeter", "greeter-")).toBe(false);
    expect(isNodeOf("greeter", "greeter")).toBe(false);
    expect(isNodeOf("greeter", "greeter-a.b")).toBe(false);
    expect(isNodeOf("greeter", 7)).toBe(false);
  });

  it("keeps calls spread over a service's nodes while another service's (or namespace's) records name them and their calls fail", async () => {
    const discovery = createDiscovery({ registry, breaker: { threshold: 2, cooldownMs: 60_000 } });
    teardown(() => discovery.close());
    const rogueClient = createClient(Greeter, conn.transport, { service: "rogue", discovery, timeoutMs: 1000 });
    for (let i = 0; i < 10; i++) {
      const error = await rogueClient.sayHello({ name: "x" }).then(() => undefined, (e) => MicroError.from(e));
      // The rogue's nodes are not its own: unavailable, naming why.
      expect(error?.code).toBe("unavailable");
      expect(error?.message).toContain("is not named as a node of rogue");
    }
    // The same ids in another namespace: valid node ids of owned, but not these nodes.
    const stagingClient = createClient(Greeter, conn.transport, { service: "owned", namespace: "staging", discovery, timeoutMs: 1000 });
    for (let i = 0; i < 10; i++) {
      const error = await stagingClient.sayHello({ name: "x" }).then(() => undefined, (e) => MicroError.from(e));
      expect(error?.code).toBe("unavailable");
    }
    // Nothing of those failures counts against owned's nodes (the breaker names a node by
    // namespace, service and id); the staging nodes' breakers did open.
    for (const instance of instances) {
      expect(discovery.breaker!.state(`micro.owned.${instance.nodeId}`)).toBe("closed");
      expect(discovery.breaker!.state(`staging.owned.${instance.nodeId}`)).toBe("open");
    }
    const ownedClient = createClient(Greeter, conn.transport, { service: "owned", discovery, timeoutMs: 2000 });
    const served = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const { message } = await ownedClient.sayHello({ name: "x" });
      served.set(message, (served.get(message) ?? 0) + 1);
    }
    // Random selection over two nodes: each gets about half (below 60 of 200 has odds under 1e-8).
    expect([...served.keys()].sort()).toEqual(instances.map((i) => i.nodeId).sort());
    for (const count of served.values()) expect(count).toBeGreaterThan(60);
  });
});
