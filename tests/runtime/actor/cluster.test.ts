/**
 * Keyed actors across several real `micro run` processes on one real nats-server: ordering
 * per key, parallelism across keys, a SIGKILL of the host in the middle of 1,000 commands,
 * and a reminder that fires after its host died.
 */
import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { type Client, createClient, listActors, MicroError } from "../../../runtime/mod.ts";
import type { ProbeState } from "../../fixtures/actors/probe.ts";
import { actorNodes, type ActorNode } from "../../support/actor-nodes.ts";
import { withNats } from "../../support/nats.ts";
import { eventually, until } from "../../support/wait.ts";

const { nats, conn } = withNats();
const leaseMs = 1200;
const runners = actorNodes({ nats, conn, leaseMs });

// Each test its own service name: no test meets the leases and member entries of the nodes
// the previous one killed (they expire while the next nodes list the members).
let round = 0;
let service = "probe";
beforeEach(() => {
  service = `probe${++round}`;
});

afterEach(() => runners.killAll());

/** Starts a runner serving the probe actor; resolves with it and its node id. */
function startNode(): Promise<ActorNode> {
  return runners.start(service);
}

/** Waits until every node owns some shards and they agree on the members. */
async function balanced(count: number): Promise<void> {
  await runners.balanced(service, count);
}

function client(): Client<typeof Cart> {
  return createClient(Cart, conn.transport, { service, timeoutMs: 10_000 });
}

async function state(key: string): Promise<ProbeState> {
  return JSON.parse((await client().getCart({ cartId: key })).lines[0]!.sku) as ProbeState;
}

describe("keyed actors across processes", () => {
  it("handles one key's commands one at a time in mailbox order on one node, and different keys in parallel across nodes", async () => {
    await Promise.all([startNode(), startNode(), startNode()]);
    await balanced(3);
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    // 12 keys x 8 commands, all at once; each command holds its key for 30 ms.
    await Promise.all(keys.flatMap((key) => Array.from({ length: 8 }, (_, i) => client().addItem({ cartId: key, sku: `${key}-${i}`, quantity: 30 }))));
    const nodesUsed = new Set<string>();
    const all: Array<{ started: number; ended: number }> = [];
    for (const key of keys) {
      const applied = (await state(key)).applied;
      expect(applied.length).toBe(8);
      // Mailbox order: strictly increasing sequences, each command once.
      const seqs = applied.map((a) => a.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(8);
      expect(new Set(applied.map((a) => a.sku)).size).toBe(8);
      // One node per key, and never two of its commands at once.
      expect(new Set(applied.map((a) => a.node)).size).toBe(1);
      for (let i = 1; i < applied.length; i++) expect(applied[i]!.started).toBeGreaterThanOrEqual(applied[i - 1]!.ended);
      nodesUsed.add(applied[0]!.node);
      all.push(...applied);
    }
    // Different keys ran at the same time, on more than one node.
    expect(nodesUsed.size).toBeGreaterThan(1);
    const overlapping = all.some((a) => all.some((b) => a !== b && a.started < b.ended && b.started < a.ended));
    expect(overlapping).toBe(true);
  }, 120_000);

  it("takes over a key within seconds after its host is SIGKILLed mid-run, with the exact state of a run without the kill", async () => {
    const nodes = await Promise.all([startNode(), startNode(), startNode()]);
    await balanced(3);
    const total = 1000;
    // Sequential commands, each retried with its idempotency key until it is answered.
    const send = async (key: string, i: number) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await client().addItem({ cartId: key, sku: `${key}-${i}` }, { timeoutMs: 1500, metadata: { "idempotency-key": `${key}-${i}` } });
        } catch (error) {
          if (attempt > 40 || !(error instanceof MicroError)) throw error;
        }
      }
    };
    for (let i = 0; i < total; i++) await send("c0", i); // the run without a kill
    let killedAt = 0;
    let resumedAfterMs = 0;
    let victim: string | undefined;
    for (let i = 0; i < total; i++) {
      if (i === 1) {
        victim = (await listActors(conn.nc, service)).find((n) => n.active.some((a) => a.key === "c1"))!.nodeId;
      }
      if (i === 300) {
        // The kill lands at some moment of a later command: stored, applying, committed or replying.
        const host = nodes.find((n) => n.nodeId === victim)!;
        setTimeout(() => {
          host.child.process.kill("SIGKILL");
          killedAt = Date.now();
        }, 150);
      }
      await send("c1", i);
      if (killedAt > 0 && resumedAfterMs === 0) resumedAfterMs = Date.now() - killedAt;
    }
    expect(victim).toBeDefined();
    const c0 = await state("c0");
    const c1 = await state("c1");
    expect(c1.applied.map((a) => a.sku)).toEqual(c0.applied.map((a) => a.sku.replace("c0-", "c1-")));
    expect(c1.applied.length).toBe(total);
    const hosts = new Set(c1.applied.map((a) => a.node));
    expect(hosts.has(victim!)).toBe(true);
    expect(hosts.size).toBe(2);
    // Within seconds: the lease time, a heartbeat, and a client retry.
    expect(resumedAfterMs).toBeLessThan(10_000);
    if (process.env.ACTOR_TEST_VERBOSE) console.log(`c1 resumed ${resumedAfterMs} ms after the kill`);
  }, 150_000);

  it("hands keys over drained when nodes join and leave under load: never two commands of a key at once, none lost or repeated", async () => {
    await startNode();
    await balanced(1);
    const keys = Array.from({ length: 8 }, (_, i) => `m${i}`);
    let running = true;
    const answered = new Map<string, number>();
    const load = keys.map(async (key) => {
      for (let i = 0; running; i++) {
        for (let attempt = 0; ; attempt++) {
          try {
            await client().addItem({ cartId: key, sku: `${key}-${i}`, quantity: 5 }, { timeoutMs: 3000, metadata: { "idempotency-key": `${key}-${i}` } });
            break;
          } catch (error) {
            if (attempt > 20) throw error;
          }
        }
        answered.set(key, i + 1);
      }
    });
    // Lets the load run for some commands per key, however slow the machine is.
    const loadAdvanced = async () => {
      const before = keys.map((key) => answered.get(key) ?? 0);
      await until(() => keys.every((key, i) => (answered.get(key) ?? 0) >= before[i]! + 10), { timeoutMs: 30_000, what: "10 more answered commands on every key" });
    };
    await loadAdvanced();
    const joined = await Promise.all([startNode(), startNode()]);
    await balanced(3);
    await loadAdvanced();
    joined[0].child.process.kill("SIGTERM");
    expect(await joined[0].child.exited).toBe(0);
    await balanced(2);
    await loadAdvanced();
    running = false;
    await Promise.all(load);
    let moved = 0;
    for (const key of keys) {
      const applied = (await state(key)).applied;
      expect(applied.map((a) => a.sku)).toEqual(Array.from({ length: answered.get(key)! }, (_, i) => `${key}-${i}`));
      const seqs = applied.map((a) => a.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      for (let i = 1; i < applied.length; i++) expect(applied[i]!.started).toBeGreaterThanOrEqual(applied[i - 1]!.ended);
      if (new Set(applied.map((a) => a.node)).size > 1) moved++;
    }
    expect(moved).toBeGreaterThan(0);
  }, 120_000);

  it("fires a persisted reminder after its host died, on the node that takes the key over", async () => {
    const first = await startNode();
    await balanced(1);
    await client().addItem({ cartId: "r1", sku: "remind:2500" });
    first.child.process.kill("SIGKILL");
    await first.child.exited;
    await startNode();
    const now = await eventually(() => state("r1"), (s) => s.reminded > 0, { timeoutMs: 20_000, intervalMs: 200, what: "the reminder of r1 to fire on the new node" });
    expect(now.applied.map((a) => a.sku)).toEqual(["remind:2500", "reminded:remind:2500"]);
    expect(now.reminded).toBe(1);
  }, 120_000);
});
