/**
 * A live broadcast subscription (what the gateway's SSE and WebSocket event feeds use) keeps
 * delivering on an R3 cluster when the NATS node holding its consumer is SIGKILLed: the
 * consumer keeps as many copies as the stream, so another node takes it over.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { until } from "../../support/wait.ts";

const stream = "FEED_FAILOVER";
const text = new TextDecoder();

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe("broadcast subscriptions on an R3 cluster", () => {
  it("deliver every event published after the node holding their consumer is SIGKILLed", async () => {
    const nc = await connectNats({ servers: cluster.url });
    try {
      const broker = await createJetStreamBroker(nc, { replicas: 3, stream, namespace: "feedfo" });
      const jsm = await jetstreamManager(nc);
      await until(async () => (await jsm.streams.info(stream)).cluster?.replicas?.length === 2, { what: "the stream's two followers", timeoutMs: 20_000, retryErrors: true });
      const seen: string[] = [];
      const subscription = await broker.subscribe("feed.>", (e) => void seen.push(text.decode(e.data)), { service: "gateway", broadcast: true, concurrency: 1 });
      try {
        const publish = async (from: number, to: number) => {
          for (let i = from; i < to; i++) await broker.publish("feed.tick", new TextEncoder().encode(`tick-${i}`), { id: `tick-${i}` });
        };
        await publish(0, 100);
        await until(() => seen.length >= 100, { what: "the first 100 events" });
        const holders: string[] = [];
        for await (const c of jsm.consumers.list(stream)) holders.push(c.cluster?.leader ?? "");
        expect(holders.length).toBe(1);
        // Three copies, like the stream: a node's death does not take the subscription with it.
        const info = (await jsm.consumers.list(stream).next())[0]!;
        expect(info.cluster?.replicas?.length).toBe(2);
        await cluster.kill(cluster.indexOf(holders[0]!));
        const killedAt = Date.now();
        await publish(100, 200);
        const publishedIn = Date.now() - killedAt;
        await until(() => new Set(seen).size === 200, { what: "the 100 events published after the kill", timeoutMs: 25_000 });
        const deliveredIn = Date.now() - killedAt;
        // Shown to tell a slow election (publishes) from a slow resumption (the consumer).
        console.log(`after the kill: published in ${publishedIn} ms, all delivered in ${deliveredIn} ms`);
        expect(deliveredIn).toBeLessThan(25_000); // typically 7-14 s: the election, two missed heartbeats, then a pull
        // At least once: every event is there, in publish order once duplicates are set aside.
        expect([...new Set(seen)]).toEqual(Array.from({ length: 200 }, (_, i) => `tick-${i}`));
      } finally {
        await subscription.stop();
      }
    } finally {
      await nc.close();
    }
  }, 90_000);
});
