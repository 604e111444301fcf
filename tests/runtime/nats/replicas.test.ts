import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { actorBuckets, openActorStore } from "../../../runtime/actor/store.ts";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { createNatsRegistry } from "../../../runtime/registry/nats-kv.ts";
import { createRoutingRules } from "../../../runtime/selector/routing-rules.ts";
import { startTestNats } from "../../support/nats.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { rejection } from "../../support/rpc.ts";

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe("MICRO_REPLICAS on a 3-node cluster", () => {
  it("gives every stream and bucket jetmicro creates 3 replicas, scaling up one made with 1", async () => {
    const nc = await connectNats({ servers: cluster.url });
    try {
      // The registry's bucket exists already on one replica, as a single-node set-up left it.
      await new Kvm(nc).create("micro_registry", { history: 1, ttl: 15_000, replicas: 1 });
      await createJetStreamBroker(nc, { replicas: 3 });
      await openActorStore(nc, "micro", 3000, 3);
      const registry = await createNatsRegistry(nc, { replicas: 3 });
      const rules = await createRoutingRules(nc, undefined, 3);
      await registry.close();
      await rules.close();
      const jsm = await jetstreamManager(nc);
      const stores = ["MICRO_EVENTS", "MICRO_EVENTS_DLQ", "MICRO_ACTORS", ...actorBuckets.map((b) => `KV_${b}`), "KV_micro_registry", "KV_micro_routes"];
      const replicas = await Promise.all(stores.map(async (name) => [name, (await jsm.streams.info(name)).config.num_replicas] as const));
      expect(Object.fromEntries(replicas)).toEqual(Object.fromEntries(stores.map((name) => [name, 3])));
      // A process without the setting (a CLI on a laptop) never scales a cluster's stores down.
      await createJetStreamBroker(nc, { replicas: 1 });
      await openActorStore(nc, "micro", 3000, 1);
      expect((await jsm.streams.info("MICRO_EVENTS")).config.num_replicas).toBe(3);
      expect((await jsm.streams.info("MICRO_ACTORS")).config.num_replicas).toBe(3);
    } finally {
      await nc.close();
    }
  }, 60_000);
});

describe("a store that cannot have the replicas asked for", () => {
  it("is reported with how to migrate it, not silently used", async () => {
    const nats = await startTestNats();
    const nc = await connectNats({ servers: nats.url });
    try {
      await new Kvm(nc).create("micro_registry", { history: 1, ttl: 15_000 });
      const error = await rejection(createNatsRegistry(nc, { replicas: 3 }));
      expect(error.code).toBe("failed_precondition");
      expect(error.message).toMatch(/KV_micro_registry has 1 replica\(s\) but MICRO_REPLICAS asks for 3/);
      expect(error.message).toMatch(/nats stream edit KV_micro_registry --replicas 3.*or set MICRO_REPLICAS=1/);
    } finally {
      await nc.close();
      await nats.stop();
    }
  });
});
