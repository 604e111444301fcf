/**
 * A paused host (SIGSTOP past its lease, then SIGCONT): another node takes its keys over, and
 * when the paused one wakes up with commands still in its hands, its stale commits fail on the
 * revision check. Every command counts once, in mailbox order.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { createClient, listActors, MicroError } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";
import { probeActorModule, type ProbeState } from "../../support/actor-modules.ts";
import { makeServicesDir } from "../../support/service-dirs.ts";
import { type Child, runMicro } from "../../support/subprocess.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let services: { dir: string; remove(): void };
const children: Child[] = [];
const leaseMs = 1000;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  services = makeServicesDir({ "probe.ts": probeActorModule({ name: "paused" }) });
});

afterAll(async () => {
  for (const child of children) {
    child.process.kill("SIGCONT");
    child.process.kill("SIGKILL");
  }
  await Promise.all(children.map((c) => c.exited));
  await conn.close();
  await nats.stop();
  services.remove();
});

async function startNode(): Promise<{ child: Child; nodeId: string }> {
  const child = runMicro(["run", services.dir], { NATS_URL: nats.url, MICRO_ACTOR_LEASE_MS: String(leaseMs), MICRO_DRAIN_TIMEOUT_MS: "2000" });
  children.push(child);
  await child.waitFor(/service paused .*\(node (paused-\w+)\)/, 45_000);
  return { child, nodeId: /\(node (paused-\w+)\)/.exec(child.output())![1]! };
}

describe("keyed actors with a paused host", () => {
  it("counts every command once, in mailbox order, when the host of a key is paused past its lease and wakes up", async () => {
    const nodes = await Promise.all([startNode(), startNode()]);
    const client = createClient(Cart, conn.transport, { service: "paused", timeoutMs: 10_000 });
    const end = Date.now() + 20_000;
    while ((await listActors(conn.nc, "paused")).reduce((n, s) => n + s.shards.length, 0) !== 16 || (await listActors(conn.nc, "paused")).some((s) => s.shards.length === 0)) {
      if (Date.now() > end) throw new Error("shards not balanced");
      await Bun.sleep(100);
    }
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
    await Bun.sleep(50);
    victim.child.process.kill("SIGSTOP");
    await Promise.all(inFlight);
    for (let i = 21; i < 40; i++) await send(i);
    victim.child.process.kill("SIGCONT");
    await Bun.sleep(leaseMs);
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
