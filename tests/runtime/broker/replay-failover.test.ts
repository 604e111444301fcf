/**
 * Event replays on an R3 cluster ride out the death of a NATS node: a replay started right
 * after the stream's leader is SIGKILLed, and a replay whose consumer's node is SIGKILLed while
 * it reads, each hand on exactly the stored events of their filter, in order, none missing and
 * none twice, within a bound (nats-server 2.9 may place new consumers on the dead node for a
 * while: each such try costs 2 s, then the replay tries again under a new name).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import type { Broker } from "../../../runtime/broker/types.ts";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { eventually, until } from "../../support/wait.ts";

const stream = "REPLAY_FAILOVER";
const total = 600;
const text = new TextDecoder();

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

/** Publishes `total` order events with other topics' events in between; returns the order bodies in order. */
async function publishHistory(broker: Broker): Promise<string[]> {
  const expected: string[] = [];
  for (let i = 0; i < total; i++) {
    await broker.publish("order.created", new TextEncoder().encode(`order-${i}`), { id: `order-${i}` });
    expected.push(`order-${i}`);
    if (i % 3 === 0) await broker.publish("stock.moved", new TextEncoder().encode(`stock-${i}`), { id: `stock-${i}` });
  }
  return expected;
}

async function followersCurrent(jsm: JetStreamManager): Promise<void> {
  await until(async () => {
    const replicas = (await jsm.streams.info(stream)).cluster?.replicas ?? [];
    return replicas.length === 2 && replicas.every((r) => r.current && !r.offline);
  }, { what: "the stream's two followers, current", timeoutMs: 30_000, retryErrors: true });
}

describe("event replays on an R3 cluster", () => {
  it("replay exactly the stored events, in order, right after the stream leader is SIGKILLed and while their consumer's node dies", async () => {
    const nc = await connectNats({ servers: cluster.url });
    try {
      const broker = await createJetStreamBroker(nc, { replicas: 3, stream, namespace: "replayfo" });
      const jsm = await jetstreamManager(nc);
      const expected = await publishHistory(broker);
      await followersCurrent(jsm);

      // 1. The leader dies; a replay starts at once.
      const leader = (await jsm.streams.info(stream)).cluster!.leader!;
      const leaderIndex = cluster.indexOf(leader);
      await cluster.kill(leaderIndex);
      const killedAt = Date.now();
      const afterKill: string[] = [];
      for await (const e of broker.replay("order.>")) afterKill.push(text.decode(e.data));
      const answeredIn = Date.now() - killedAt;
      expect(afterKill).toEqual(expected);
      expect(answeredIn).toBeLessThan(15_000);

      // 2. A replay reads slowly; the node holding its consumer is SIGKILLed half-way.
      await cluster.restart(leaderIndex);
      await followersCurrent(jsm);
      // The NATS node of each replay consumer there is, by its leader's name.
      const replayConsumers = async () => {
        const leaders: string[] = [];
        for await (const c of jsm.consumers.list(stream)) if (c.name.startsWith("micro_replay_")) leaders.push(c.cluster?.leader ?? "");
        return leaders;
      };
      // The first replay's consumers are deleted, so the only one left below is the second's.
      await eventually(replayConsumers, (leaders) => leaders.length === 0, { what: "the first replay's consumers to be deleted", timeoutMs: 40_000, retryErrors: true });
      const during: string[] = [];
      let killed: Promise<void> | undefined;
      let killedMidAt = 0;
      for await (const e of broker.replay("order.>")) {
        during.push(text.decode(e.data));
        if (during.length === total / 2) {
          // This replay's consumer: one, once any creation it raced under load (a second
          // placement, deleted when it answers late; see stream-reader.ts) is gone too.
          const replays = await eventually(replayConsumers, (leaders) => leaders.length === 1, { what: "one replay consumer", timeoutMs: 20_000, retryErrors: true });
          killedMidAt = Date.now();
          killed = cluster.kill(cluster.indexOf(replays[0]!));
          await killed;
        }
      }
      expect(killed).toBeDefined();
      expect(during).toEqual(expected);
      expect(Date.now() - killedMidAt).toBeLessThan(15_000);

      // The replays left no consumer behind (the stream answers again once a leader is elected).
      await eventually(async () => {
        const names: string[] = [];
        for await (const c of jsm.consumers.list(stream)) names.push(c.name);
        return names;
      }, (names) => names.every((n) => !n.startsWith("micro_replay_")), { what: "the replays' consumers to be deleted", timeoutMs: 40_000, retryErrors: true });
    } finally {
      await nc.close();
    }
  }, 150_000);
});
