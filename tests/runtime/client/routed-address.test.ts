/**
 * A routed call goes to the node subject of the service it calls, built from the node's id,
 * never to the address a registry record claims: a record is written by the service's own
 * NATS user, and a service confined to its own subjects must not be able to point another
 * service's callers (their requests, metadata and identity) at a subject it reads.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, createDiscovery, createMemoryRegistry, MicroError } from "../../../runtime/mod.ts";
import { nodeSubject } from "../../../runtime/protocol/mod.ts";
import { serviceRecord } from "../../../runtime/registry/records.ts";
import greeter from "../../../services/greeter.ts";
import { withNats } from "../../support/nats.ts";

const { conn, teardown } = withNats();
const registry = createMemoryRegistry();
afterAll(() => registry.close());

describe("routed calls", () => {
  let stolen = 0;
  beforeAll(async () => {
    // "orders" may read micro.node.orders.>: its record claims a greeter node living there.
    const thief = nodeSubject("micro", "orders", "orders-thief");
    const sub = conn.nc.subscribe(`${thief}.>`, { callback: () => void stolen++ });
    teardown(() => sub.unsubscribe());
    await conn.nc.flush();
    await registry.register(serviceRecord(greeter, { id: "greeter-rogue", address: thief, namespace: "micro" }, 60_000));
  });

  it("never sends a call to the address a registry record claims", async () => {
    const discovery = createDiscovery({ registry });
    teardown(() => discovery.close());
    const client = createClient(Greeter, conn.transport, { service: "greeter", discovery, timeoutMs: 1000 });
    const error = await client.sayHello({ name: "Ada" }).catch((e) => MicroError.from(e));
    expect(error).toBeInstanceOf(MicroError);
    await conn.nc.flush();
    expect(stolen).toBe(0);
  });
});
