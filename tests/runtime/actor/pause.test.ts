/**
 * A paused host (SIGSTOP past its lease, then SIGCONT): another node takes its keys over, and
 * when the paused one wakes up with commands still in its hands, its stale commits fail on the
 * revision check. Every command counts once, in mailbox order.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { createClient, listActors, MicroError } from "../../../runtime/mod.ts";
import type { ProbeState } from "../../fixtures/actors/probe.ts";
import { actorNodes } from "../../support/actor-nodes.ts";
import { withNats } from "../../support/nats.ts";

const { nats, conn } = withNats();
const leaseMs = 1000;
const runners = actorNodes({ nats, conn, leaseMs });

afterAll(() => runners.killAll());

function startNode() {
  return runners.start("paused");
}

describe("keyed actors with a paused host", () => {
  it("counts every command once, in mailbox order, when the host of a key is paused past its lease and wakes up", async () => {
    const nodes = await Promise.all([startNode(), startNode()]);
    const client = createClient(Cart, conn.transport, { service: "paused", timeoutMs: 10_000 });
    await runners.balanced("paused", 2, 20_000);
    const send = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        try {
          // quantity: the handler holds the key that many ms, so the pause lands inside one.
          return await client.addItem({ cartId: "k", sku: `k-${i}`, quantity: 30 }, { timeoutMs: 800, metadata: { "idempotency-key": `k-${i}` } });
        } catch (error) {
          if (attempt > 60 || !(error instanceof MicroError)) throw error;
        }
      }
    };
    await send(0);
    const victimId = (await listActors(conn.nc, "paused")).find((n) => n.active.some((a) => a.key === "k"))!.nodeId;
    const victim = nodes.find((n) => n.nodeId === victimId)!;
    // Several commands queued in the victim's hands when it stops.
    const inFlight = Array.from({ length: 20 }, (_, i) => send(1 + i));
    // Fault injection, not a wait: the pause lands while the 20 commands are in the host's
    // hands (each holds the key 30 ms); the status (mailbox depth) did not show that moment reliably.
    await Bun.sleep(50);
    victim.child.process.kill("SIGSTOP");
    await Promise.all(inFlight);
    for (let i = 21; i < 40; i++) await send(i);
    victim.child.process.kill("SIGCONT");
    // The woken host finds its leases taken (its stale commits fail), then rejoins.
    await runners.balanced("paused", 2, 20_000);
    for (let i = 40; i < 60; i++) await send(i);
    const state = JSON.parse((await client.getCart({ cartId: "k" })).lines[0]!.sku) as ProbeState;
    const skus = state.applied.map((a) => a.sku);
    expect(new Set(skus).size).toBe(skus.length);
    expect([...skus].sort()).toEqual(Array.from({ length: 60 }, (_, i) => `k-${i}`).sort());
    const seqs = state.applied.map((a) => a.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(state.applied.map((a) => a.node)).size).toBe(2);
  }, 90_000);
});
