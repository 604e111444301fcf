/**
 * Actor replies that cannot be lost: three real nodes serve the probe actor, a routed client
 * sends commands with idempotency keys to one key, and a node that routes commands but does
 * not own the key is SIGKILLed mid-run. The owner answers the caller's own reply subject (so a
 * command the dead router stored is still answered), and a call the dead router held is
 * retried on another router, where JetStream's deduplication and the reply kept with the key's
 * state make it count once.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { createClient, createDiscovery, createNatsRegistry, listActors, MicroError } from "../../../runtime/mod.ts";
import type { ProbeState } from "../../fixtures/actors/probe.ts";
import { actorNodes } from "../../support/actor-nodes.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

const { nats, conn, teardown } = withNats();
const runners = actorNodes({ nats, conn, leaseMs: 1200 });
afterAll(() => runners.killAll());

describe("an actor router SIGKILLed mid-run", () => {
  it("loses no reply and applies every command once", async () => {
    const service = "probe-router-crash";
    const nodes = await Promise.all([runners.start(service), runners.start(service), runners.start(service)]);
    await runners.balanced(service, 3);
    const registry = await createNatsRegistry(conn.nc);
    const discovery = createDiscovery({ registry });
    teardown(async () => {
      await discovery.close();
      await registry.close();
    });
    await until(async () => (await registry.getService(service)).flatMap((s) => s.nodes).length === 3, { timeoutMs: 30_000, what: "3 routers in the registry" });
    const liveness = conn.transport.liveness("micro");
    await until(() => nodes.every((n) => liveness.lastHeard(n.nodeId) !== undefined), { what: "a heartbeat from each node" });
    const client = createClient(Cart, conn.transport, { service, discovery, timeoutMs: 10_000 });
    const key = "r1";
    await client.addItem({ cartId: key, sku: "warm-up" }, { metadata: { "idempotency-key": "warm-up" } });
    const owner = (await listActors(conn.nc, service)).find((n) => n.active.some((a) => a.key === key))!.nodeId;
    const victim = nodes.find((n) => n.nodeId !== owner)!;

    const total = 600;
    const errors: string[] = [];
    let next = 0;
    let done = 0;
    let killedAt = 0;
    let worstPastCrash = 0;
    async function worker() {
      while (next < total) {
        const i = next++;
        const started = Date.now();
        try {
          // The idempotency key makes the command safe to send again, so the call may be retried.
          await client.addItem({ cartId: key, sku: `s${i}` }, { idempotent: true, metadata: { "idempotency-key": `s${i}` } });
        } catch (error) {
          errors.push(`s${i}: ${MicroError.from(error).code} ${MicroError.from(error).message}`);
        }
        if (killedAt > 0) worstPastCrash = Math.max(worstPastCrash, Date.now() - Math.max(started, killedAt));
        if (++done === total / 3) {
          killedAt = Date.now();
          victim.child.process.kill("SIGKILL");
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(errors).toEqual([]);
    expect(killedAt).toBeGreaterThan(0);
    const state = JSON.parse((await client.getCart({ cartId: key })).lines[0]!.sku) as ProbeState;
    const skus = state.applied.map((a) => a.sku).filter((s) => s !== "warm-up");
    // Exactly once: every command applied, none twice.
    expect(skus.length).toBe(total);
    expect(new Set(skus).size).toBe(total);
    expect(worstPastCrash).toBeLessThan(3_000);
  }, 150_000);
});
