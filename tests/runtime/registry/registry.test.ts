import { describe, expect, it } from "bun:test";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { defineService } from "../../../runtime/mod.ts";
import { createMemoryRegistry } from "../../../runtime/registry/memory.ts";
import { createNatsRegistry } from "../../../runtime/registry/nats-kv.ts";
import { maxNodesPerService } from "../../../runtime/registry/record-table.ts";
import { serviceRecord } from "../../../runtime/registry/records.ts";
import type { Registry, RegistryEvent, ServiceRecord } from "../../../runtime/registry/types.ts";
import { startTestNats, withNats } from "../../support/nats.ts";
import { eventually } from "../../support/wait.ts";

const v1 = defineService(Greeter, { version: "1.0.0", metadata: { team: "a" } }, { sayHello: () => ({ message: "" }) });
const v2 = defineService(Greeter, { version: "2.0.0" }, { sayHello: () => ({ message: "" }) });

function record(definition: typeof v1, id: string, ttlMs = 60_000, zone = "a"): ServiceRecord {
  return serviceRecord(definition, { id, address: `micro.node.${id}`, namespace: "micro", metadata: { zone } }, ttlMs);
}

const { nats, conn, teardown } = withNats();

/** A registry on a connection of its own, as two processes would have. */
async function natsRegistry(ttlMs?: number): Promise<Registry> {
  const nc = await connect({ servers: nats.url });
  teardown(() => nc.close());
  return createNatsRegistry(nc, { bucket: `reg_${ttlMs ?? "default"}`, ...(ttlMs ? { ttlMs } : {}) });
}

const backends: Array<[string, () => Promise<[Registry, Registry]>]> = [
  ["memory", async () => {
    const r = createMemoryRegistry();
    return [r, r];
  }],
  ["nats kv", async () => [await natsRegistry(), await natsRegistry()]],
];

for (const [backend, open] of backends) {
  describe(`${backend} registry`, () => {
    it("lists a service by version with its nodes, endpoints and request schema", async () => {
      const [writer, reader] = await open();
      await writer.register(record(v1, "greeter-a"));
      await writer.register(record(v1, "greeter-b", 60_000, "b"));
      await writer.register(record(v2, "greeter-c"));
      const services = await eventually(() => reader.getService("greeter"), (s) => s.flatMap((x) => x.nodes).length === 3, { timeoutMs: 5000, what: "the reader to see the 3 greeter nodes" });
      expect(services.map((s) => [s.version, s.nodes.map((n) => n.id).sort()])).toEqual([
        ["1.0.0", ["greeter-a", "greeter-b"]],
        ["2.0.0", ["greeter-c"]],
      ]);
      expect(services[0]!.metadata).toEqual({ team: "a" });
      expect(services[0]!.nodes.find((n) => n.id === "greeter-b")?.metadata).toEqual({ zone: "b" });
      const sayHello = services[0]!.endpoints.find((e) => e.name === "Greeter.SayHello")!;
      expect(sayHello.request).toEqual({ typeName: "greeter.v1.SayHelloRequest", fields: [{ name: "name", type: "string", repeated: false, map: false }] });
      expect(sayHello.implemented).toBe(true);
      expect((await reader.listServices()).map((s) => `${s.name}@${s.version}`)).toEqual(["greeter@1.0.0", "greeter@2.0.0"]);
      expect(await reader.getService("nobody")).toEqual([]);
      for (const id of ["greeter-a", "greeter-b"]) await writer.deregister(record(v1, id));
      await writer.deregister(record(v2, "greeter-c"));
      await writer.close();
      await reader.close();
    });

    it("tells watchers about registration, deregistration and expiry", async () => {
      const [writer, reader] = await open();
      const controller = new AbortController();
      const events: string[] = [];
      const watching = (async () => {
        for await (const e of reader.watch(controller.signal) as AsyncIterable<RegistryEvent>) events.push(`${e.type} ${e.record.node.id}`);
      })(); // watching from here: the loop's first read runs the watch up to its first wait
      await writer.register(record(v1, "w-1"));
      await writer.register(record(v1, "w-1"));
      await writer.register(record(v1, "w-2", 200));
      await writer.deregister(record(v1, "w-1"));
      await eventually(async () => events, (e) => e.includes("expire w-2"), { timeoutMs: 3000, what: "the expiry of w-2 reported" });
      controller.abort();
      await watching;
      expect(events).toEqual(["register w-1", "update w-1", "register w-2", "deregister w-1", "expire w-2"]);
      expect(await reader.getService("greeter")).toEqual([]);
      await writer.close();
      await reader.close();
    });
  });
}

describe("nats kv registry", () => {
  it("gives a reader that starts later the nodes already registered", async () => {
    const writer = await natsRegistry(30_000);
    await writer.register(record(v2, "early-1"));
    const late = await natsRegistry(30_000);
    expect((await late.getService("greeter")).map((s) => s.nodes.map((n) => n.id))).toEqual([["early-1"]]);
    await writer.close();
    await late.close();
  });
});

describe("nats kv registry records", () => {
  it("ignores a record that names another service, namespace or node than its key (written by another service's user)", async () => {
    // A bucket of its own (the TTL names it): no node of another test is in it.
    const writer = await natsRegistry(31_000);
    const reader = await natsRegistry(31_000);
    const kv = await new Kvm(conn.nc).open("reg_31000");
    // orders' user may write micro.orders.> only: its record claims a greeter node.
    await kv.put("micro.orders.orders-1", JSON.stringify(record(v2, "orders-1")));
    await kv.put("micro.greeter.greeter-2", JSON.stringify(record(v2, "greeter-3")));
    await writer.register(record(v2, "greeter-1"));
    await eventually(() => reader.getService("greeter"), (s) => s.length === 1, { what: "greeter's real node" });
    // Read again by a registry that starts now (the snapshot path) as well as by the watcher.
    const late = await natsRegistry(31_000);
    for (const r of [reader, late]) {
      expect((await r.getService("greeter")).map((s) => s.nodes.map((n) => n.id))).toEqual([["greeter-1"]]);
    }
    await Promise.all([writer.close(), reader.close(), late.close()]);
  });
});

describe("nats kv registry hostile records", () => {
  // What a service's user may write under its own key {ns}.{service}.{id}: anything at all.
  const deep = (depth: number): unknown => JSON.parse(`${"[".repeat(depth)}"x"${"]".repeat(depth)}`);
  const valid = (id: string) => record(v2, id) as unknown as Record<string, unknown>;
  const hostile: Array<[string, unknown]> = [
    ["a version 10000 arrays deep", { ...valid("rogue-1"), name: "rogue", version: deep(10_000) }],
    ["endpoints that are a string", { ...valid("rogue-2"), name: "rogue", endpoints: "Greeter.SayHello" }],
    ["metadata 10000 objects deep", { ...valid("rogue-3"), name: "rogue", metadata: { a: JSON.parse(`${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`) } }],
    ["node metadata that is a number", { ...valid("rogue-4"), name: "rogue", node: { id: "rogue-4", address: "x", metadata: 5 } }],
    ["a name that is an array", { ...valid("rogue-5"), name: ["rogue"], node: { id: "rogue-5", address: "x", metadata: {} } }],
    ["a type no service has", { ...valid("rogue-6"), name: "rogue", type: { srv: 1 } }],
    ["endpoint fields nested 10000 deep", {
      ...valid("rogue-7"), name: "rogue",
      endpoints: [{ ...(valid("x").endpoints as object[])[0]!, request: { typeName: "a.B", fields: JSON.parse(`${'[{"name":"a","type":"message","repeated":false,"map":false,"fields":'.repeat(10_000)}[]${"}]".repeat(10_000)}`) } }],
    }],
    ["a JSON string", "rogue"],
    ["null", null],
  ];

  it("keeps serving every other service when one writes records of any shape under its own key", async () => {
    const writer = await natsRegistry(32_000);
    const reader = await natsRegistry(32_000);
    const kv = await new Kvm(conn.nc).open("reg_32000");
    for (const [i, [, value]] of hostile.entries()) await kv.put(`micro.rogue.rogue-${i + 1}`, JSON.stringify(value));
    await writer.register(record(v2, "greeter-1"));
    await eventually(() => reader.getService("greeter"), (s) => s.length === 1, { what: "greeter's node" });
    // Read again by a registry that starts now (the snapshot path) as well as by the watcher.
    const late = await natsRegistry(32_000);
    for (const r of [reader, late]) {
      expect((await r.listServices()).map((s) => `${s.name}@${s.version} ${s.nodes.map((n) => n.id)}`)).toEqual(["greeter@2.0.0 greeter-1"]);
      expect(await r.getService("rogue")).toEqual([]);
    }
    await Promise.all([writer.close(), reader.close(), late.close()]);
  });
});

describe("nats kv registry size", () => {
  it("reads the records through one consumer, and keeps at most maxNodesPerService nodes of a service writing more", async () => {
    const writer = await natsRegistry(33_000);
    const kv = await new Kvm(conn.nc).open("reg_33000");
    // A service's user may write any number of keys under its own prefix.
    const rogue = defineService(Greeter, { name: "rogue", version: "1.0.0" }, { sayHello: () => ({ message: "" }) });
    const written = maxNodesPerService + 100;
    await Promise.all(Array.from({ length: written }, (_, i) => kv.put(`micro.rogue.rogue-${i}`, JSON.stringify(record(rogue, `rogue-${i}`)))));
    await writer.register(record(v2, "greeter-1"));
    // Every JetStream request a registry starting now makes: not one per key.
    let requests = 0;
    const spy = conn.nc.subscribe("$JS.API.>", { callback: () => void requests++ });
    await conn.nc.flush();
    const late = await natsRegistry(33_000);
    await conn.nc.flush();
    spy.unsubscribe();
    expect(requests).toBeLessThan(50);
    expect((await late.getService("greeter")).map((s) => s.nodes.map((n) => n.id))).toEqual([["greeter-1"]]);
    expect((await late.getService("rogue"))[0]?.nodes.length).toBe(maxNodesPerService);
    await Promise.all([writer.close(), late.close()]);
  }, 30_000);
});

describe("registry bucket", () => {
  it("takes a changed TTL even when the bucket already exists", async () => {
    const nc = conn.nc;
    const short = await createNatsRegistry(nc, { bucket: "reg_ttl", ttlMs: 15_000 });
    await short.close();
    const long = await createNatsRegistry(nc, { bucket: "reg_ttl", ttlMs: 60_000 });
    const jsm = await (await import("@nats-io/jetstream")).jetstreamManager(nc);
    expect((await jsm.streams.info("KV_reg_ttl")).config.max_age).toBe(60_000 * 1_000_000);
    await long.close();
  });
});

describe("registry outage", () => {
  it("keeps serving the last known nodes while NATS is unreachable", async () => {
    // A server of its own, as the test kills it.
    const own = await startTestNats();
    teardown(() => own.stop());
    const nc = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const registry = await createNatsRegistry(nc, { bucket: "reg_outage" });
    await registry.register(record(v1, "survivor", 300));
    await eventually(() => registry.getService("greeter"), (s) => s.length === 1, { timeoutMs: 5000, what: "the survivor registered" });
    own.kill("SIGKILL");
    await own.exited;
    await Bun.sleep(1500); // five TTLs without a heartbeat, but also without a registry
    expect((await registry.getService("greeter")).map((s) => s.nodes.map((n) => n.id))).toEqual([["survivor"]]);
    await registry.close();
    await nc.close();
    await own.stop();
  });
});

describe("service records", () => {
  it("mark streaming methods with a handler as implemented, with their kind", async () => {
    const { default: counter } = await import("../../../services/counter.ts");
    const record = serviceRecord(counter, { id: "counter-a", address: "micro.node.counter-a", namespace: "micro" }, 15_000);
    expect(record.endpoints.map((e) => [e.name, e.kind, e.implemented])).toEqual([
      ["Counter.Count", "server_streaming", true],
      ["Counter.Sum", "client_streaming", true],
      ["Counter.Echo", "bidi_streaming", true],
    ]);
  });
});
