import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { eventually, until } from "../../support/wait.ts";

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe("event publishes on an R3 cluster", () => {
  it("lose nothing and fail none when the stream leader is SIGKILLed mid-publish", async () => {
    const nc = await connectNats({ servers: cluster.url });
    try {
      // A publish retries through the election for publishTimeoutMs. The default (15 s) is
      // ample on a quiet machine (elections took 7-10 s here), but once, with the whole suite
      // running, the new leader came after 15 s and 32 publishes failed: what this test checks
      // is that nothing is lost or doubled within the budget, so it gives the election room.
      const broker = await createJetStreamBroker(nc, { replicas: 3, stream: "FAILOVER_EVENTS", namespace: "failover", publishTimeoutMs: 40_000 });
      const jsm = await jetstreamManager(nc);
      await until(async () => (await jsm.streams.info("FAILOVER_EVENTS")).cluster?.replicas?.length === 2, { what: "the stream's two followers", timeoutMs: 20_000, retryErrors: true });
      const leader = (await jsm.streams.info("FAILOVER_EVENTS")).cluster!.leader!;
      const total = 2000;
      const inFlight = 32;
      let next = 0;
      let acked = 0;
      const failures: string[] = [];
      let killed: Promise<void> | undefined;
      const worker = async () => {
        for (let i = next++; i < total; i = next++) {
          try {
            await broker.publish("order.created", new TextEncoder().encode(String(i)), { id: `event-${i}` });
            acked++;
          } catch (error) {
            failures.push((error as Error).message);
          }
          if (acked === 300 && killed === undefined) killed = cluster.kill(cluster.indexOf(leader));
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      await killed;
      expect(killed).toBeDefined();
      expect(failures).toEqual([]);
      expect(acked).toBe(total);
      // JetStream API requests time out while the stream elects its new leader: ask until one answers.
      const info = await eventually(() => jsm.streams.info("FAILOVER_EVENTS"), (i) => i.cluster?.leader !== undefined, { what: "the stream's new leader", timeoutMs: 20_000, retryErrors: true });
      expect(info.cluster?.leader).not.toBe(leader);
      // Exactly the events published, each once: the ids deduplicated every retry.
      expect(info.state.messages).toBe(total);
      // Read back with a replay right after the failover (it rides out consumers placed on
      // the dead node): every id once.
      const ids: string[] = [];
      for await (const e of broker.replay("order.created")) ids.push(e.id);
      expect(ids.length).toBe(total);
      const seen = new Set(ids);
      expect(seen.size).toBe(total);
    } finally {
      await nc.close();
    }
  }, 90_000);
});
