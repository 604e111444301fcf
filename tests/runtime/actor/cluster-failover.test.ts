/**
 * Keyed actors on an R3 NATS cluster keep answering while a NATS node dies: the actor stream
 * and buckets keep three copies (`replicas: 3`, what `MICRO_REPLICAS=3` sets), the node that
 * leads the mailbox stream is SIGKILLed mid-run, and every command (each with an idempotency
 * key, so a retry counts once) is answered and applied exactly once. Calls are safe to repeat
 * with a 4 s attempt limit: a request or reply in flight through the dying server is lost
 * (core NATS), and is sent again.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { type ActorInstance, createClient, MicroError, NatsTransport, startActor } from "../../../runtime/mod.ts";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { probeActor, type ProbeState } from "../../fixtures/actors/probe.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { eventually, until } from "../../support/wait.ts";

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe("keyed actors on an R3 cluster", () => {
  it("answer and apply every command once while the node leading the mailbox stream is SIGKILLed", async () => {
    const service = "cart-failover";
    const hostNc = await connectNats({ servers: cluster.url });
    const callerNc = await connectNats({ servers: cluster.url });
    const hostTransport = new NatsTransport(hostNc);
    const callerTransport = new NatsTransport(callerNc);
    let node: ActorInstance | undefined;
    const hostErrors: string[] = [];
    try {
      node = await startActor(probeActor({ name: service }), {
        connection: hostNc,
        transport: hostTransport,
        leaseMs: 1500,
        replicas: 3,
        // Lease and member writes that gave up during the election are expected (the next beat
        // writes again); shown only when the test fails.
        onHandlerError: (error, what) => hostErrors.push(`${what}: ${(error as Error).message}`),
      });
      const jsm = await jetstreamManager(callerNc);
      for (const stream of ["MICRO_ACTORS", "KV_micro_actor_state", "KV_micro_actor_leases"]) {
        await until(async () => (await jsm.streams.info(stream)).cluster?.replicas?.length === 2, { what: `${stream}'s two followers`, timeoutMs: 20_000, retryErrors: true });
      }
      const client = createClient(Cart, callerTransport, { service, timeoutMs: 15_000 });
      const keys = ["c0", "c1", "c2", "c3"];
      await Promise.all(keys.map((cartId) => client.addItem({ cartId, sku: "warm-up" }, { metadata: { "idempotency-key": `${cartId}-warm-up` } })));
      const leader = (await jsm.streams.info("MICRO_ACTORS")).cluster!.leader!;

      const total = 200;
      const errors: string[] = [];
      let next = 0;
      let done = 0;
      let killed: Promise<void> | undefined;
      let killedAt = 0;
      let worstPastCrash = 0;
      const worker = async () => {
        for (let i = next++; i < total; i = next++) {
          const cartId = keys[i % keys.length]!;
          const started = Date.now();
          try {
            await client.addItem({ cartId, sku: `s${i}` }, { idempotent: true, attemptTimeoutMs: 4000, metadata: { "idempotency-key": `s${i}` } });
          } catch (error) {
            errors.push(`s${i}: ${MicroError.from(error).code} ${MicroError.from(error).message}`);
          }
          if (killedAt > 0) worstPastCrash = Math.max(worstPastCrash, Date.now() - Math.max(started, killedAt));
          if (++done === total / 4 && killed === undefined) {
            killedAt = Date.now();
            killed = cluster.kill(cluster.indexOf(leader));
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await killed;
      expect(killed).toBeDefined();
      if (errors.length > 0) console.error(hostErrors.join("\n"));
      expect(errors).toEqual([]);
      const info = await eventually(() => jsm.streams.info("MICRO_ACTORS"), (i) => i.cluster?.leader !== undefined, { what: "the mailbox stream's new leader", timeoutMs: 20_000, retryErrors: true });
      expect(info.cluster?.leader).not.toBe(leader);
      // Exactly once: every command applied on its key, none twice.
      const skus: string[] = [];
      for (const cartId of keys) {
        const state = JSON.parse((await client.getCart({ cartId })).lines[0]!.sku) as ProbeState;
        skus.push(...state.applied.map((a) => a.sku).filter((s) => s !== "warm-up"));
      }
      expect(skus.length).toBe(total);
      expect(new Set(skus).size).toBe(total);
      // The election, a new mailbox consumer (a few seconds) and at most one lost attempt (4 s).
      expect(worstPastCrash).toBeLessThan(13_000);
    } finally {
      await node?.stop().catch(() => {});
      await hostTransport.close();
      await callerTransport.close();
      await hostNc.close();
      await callerNc.close();
    }
  }, 60_000);
});
