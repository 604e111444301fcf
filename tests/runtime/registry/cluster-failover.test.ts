/**
 * The NATS registry's watch rides out the death of the NATS node holding its consumer on an
 * R3 cluster: a node registered after the SIGKILL is seen by a reader that was watching
 * before it, within 15 s (on nats.js's KV watch it was not seen in 30 s).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { defineService } from "../../../runtime/mod.ts";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { createNatsRegistry } from "../../../runtime/registry/nats-kv.ts";
import { serviceRecord } from "../../../runtime/registry/records.ts";
import type { ServiceRecord } from "../../../runtime/registry/types.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { eventually, until } from "../../support/wait.ts";

const greeter = defineService(Greeter, { version: "1.0.0" }, { sayHello: () => ({ message: "" }) });
const record = (id: string): ServiceRecord => serviceRecord(greeter, { id, address: `micro.node.${id}`, namespace: "micro", metadata: {} }, 60_000);
const bucket = "reg_failover";

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe("the NATS registry on an R3 cluster", () => {
  it("keeps watching when the node holding its watch is SIGKILLed: a node registered after it is seen", async () => {
    const readerNc = await connectNats({ servers: cluster.url });
    const writerNc = await connectNats({ servers: cluster.url });
    try {
      const reader = await createNatsRegistry(readerNc, { bucket, replicas: 3 });
      const writer = await createNatsRegistry(writerNc, { bucket, replicas: 3 });
      const jsm = await jetstreamManager(writerNc);
      await until(async () => (await jsm.streams.info(`KV_${bucket}`)).cluster?.replicas?.length === 2, { what: "the bucket's two followers", timeoutMs: 20_000, retryErrors: true });
      await writer.register(record("before"));
      await until(async () => (await reader.getService("greeter")).some((s) => s.nodes.some((n) => n.id === "before")), { what: "the node registered before the kill" });
      // The watches' consumers (not finished key listings'): kill a node holding one, and
      // require both registries to see what follows.
      const holders: string[] = [];
      for await (const c of jsm.consumers.list(`KV_${bucket}`)) if (c.name.startsWith("micro_kv_watch_")) holders.push(c.cluster?.leader ?? "");
      expect(holders.length).toBe(2);
      await cluster.kill(cluster.indexOf(holders[0]!));
      const killedAt = Date.now();
      // A write during the election may time out: register again until one is stored.
      await eventually(() => writer.register(record("after")), () => true, { what: "a registration after the kill", timeoutMs: 20_000, retryErrors: true });
      await until(async () => {
        const services = await Promise.all([reader, writer].map((r) => r.getService("greeter")));
        return services.every((s) => s.some((v) => v.nodes.some((n) => n.id === "after")));
      }, { what: "both registries to see the node registered after the kill", timeoutMs: 30_000 });
      console.log(`seen ${Date.now() - killedAt} ms after the kill`);
      expect(Date.now() - killedAt).toBeLessThan(15_000);
      await reader.close();
      await writer.close();
    } finally {
      await readerNc.close();
      await writerNc.close();
    }
  }, 120_000);
});
