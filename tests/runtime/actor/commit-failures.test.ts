import { describe, expect, it } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { createClient } from "../../../runtime/mod.ts";
import { shardOf } from "../../../runtime/actor/key.ts";
import { actorMailboxSubject } from "../../../runtime/protocol/mod.ts";
import { listActor, listActorProbe, listSkus } from "../../fixtures/actors/list.ts";
import { actorHost } from "../../support/actor-host.ts";
import { withNats } from "../../support/nats.ts";
import { gate, rejection } from "../../support/rpc.ts";
import { eventually, until } from "../../support/wait.ts";

// Keyed actors when a commit fails or a command comes again: each test here failed before
// the fix it names.

const { conn, teardown } = withNats();
// Stopped at the end of the file; a handler's failure is what these tests cause on purpose.
const start = actorHost({ conn, teardown }, { leaseMs: 1000, onHandlerError: () => undefined });
const skus = (service: string, namespace?: string) => listSkus(conn.transport, service, namespace);

describe("keyed actors when a commit fails or a command comes again", () => {
  it("answers a state that cannot be stored as JSON with an error, and keeps serving the key and its shard", async () => {
    await start(await listActor("poison"));
    const client = createClient(Cart, conn.transport, { service: "poison", timeoutMs: 3000 });
    await client.addItem({ cartId: "p1", sku: "a", quantity: 1 });
    const cycle = await rejection(client.addItem({ cartId: "p1", sku: "cycle", quantity: 1 }));
    expect(cycle.code).toBe("internal");
    expect(cycle.message).toContain("JSON");
    // A Map would be stored as {} and its content lost on the next activation.
    const map = await rejection(client.addItem({ cartId: "p1", sku: "map", quantity: 1 }));
    expect(map.code).toBe("internal");
    expect(map.message).toContain("Map");
    // Reminder data too large to store failed the commit after the handler (stopping the shard).
    const big = await rejection(client.addItem({ cartId: "p1", sku: "bigremind", quantity: 1 }));
    expect(big.code).toBe("invalid_argument");
    expect(big.message).toContain("reminder r");
    await client.addItem({ cartId: "p1", sku: "b", quantity: 1 });
    expect(await skus("poison")("p1")).toEqual(["a", "b"]);
  });

  it("applies an idempotent retry once even after JetStream's duplicate window has passed", async () => {
    // A stream made with a 1 s duplicate window stands for a retry that comes after 2 minutes.
    const jsm = await jetstreamManager(conn.nc);
    await jsm.streams.add({ name: "MICRO_ACTORS_rvidem", subjects: ["rvidem.actor.>"], duplicate_window: 1_000_000_000 });
    await start(await listActor("idem"), { namespace: "rvidem" });
    const client = createClient(Cart, conn.transport, { service: "idem", namespace: "rvidem", timeoutMs: 5000 });
    const metadata = { "idempotency-key": "pay-1" };
    const first = await client.addItem({ cartId: "i1", sku: "pay", quantity: 1 }, { metadata });
    // A marker stored after the first command, on a subject no actor reads: once JetStream
    // stores it again under its id, the window has passed for the first command too.
    const js = jetstream(conn.nc);
    const marker = () => js.publish(actorMailboxSubject("rvidem", "window-marker", 0, "m"), "", { msgID: "window-marker" });
    await marker();
    await eventually(marker, (ack) => !ack.duplicate, { timeoutMs: 5000, intervalMs: 100, what: "JetStream's duplicate window to pass" });
    const retry = await client.addItem({ cartId: "i1", sku: "pay", quantity: 1 }, { metadata });
    expect(retry.lines).toEqual(first.lines);
    expect(await skus("idem", "rvidem")("i1")).toEqual(["pay"]);
  });

  it("does not move a draining shard's checkpoint past commands whose commit failed", async () => {
    const probe = listActorProbe();
    const definition = await listActor("drainfail", probe);
    const a = await start(definition, { drainTimeoutMs: 5000 });
    const client = createClient(Cart, conn.transport, { service: "drainfail", timeoutMs: 8000 });
    const held = gate();
    probe.release = held.opened;
    const keys = Array.from({ length: 12 }, (_, i) => `d${i}`);
    const calls = keys.flatMap((key) => [client.addItem({ cartId: key, sku: "wait", quantity: 1 }), client.addItem({ cartId: key, sku: "after", quantity: 1 })]);
    await until(() => keys.every((key) => a.actorStatus().active.some((k) => k.key === key && k.depth === 1)));
    // Another writer commits every key (as a node that wrongly presumed A dead would), so
    // A's commits fail; a second node joins, so A is draining some of its shards when they do.
    const kv = await new Kvm(conn.nc).open("micro_actor_state");
    for (const key of keys) await kv.put(`micro.drainfail.${key}`, JSON.stringify({ seq: 0, state: { skus: ["other"] } }));
    const b = await start(definition);
    await until(() => a.actorStatus().members.length === 2);
    held.open();
    await Promise.allSettled(calls);
    await until(() => a.actorStatus().shards.length + b.actorStatus().shards.length === 16);
    expect(keys.some((key) => b.actorStatus().shards.includes(shardOf(key, 16)))).toBe(true);
    // Every key's two commands must run once after the other writer's state: none was committed.
    const read = skus("drainfail");
    for (const key of keys) expect({ key, skus: await read(key) }).toEqual({ key, skus: ["other", "wait", "after"] });
  });

  it("restarts a failed shard only after its keys' running handlers have finished (one activation per key)", async () => {
    const probe = listActorProbe();
    await start(await listActor("restart", probe));
    const client = createClient(Cart, conn.transport, { service: "restart", timeoutMs: 8000 });
    // Two keys of one shard: x's commit fails (another writer), while y's handler is running.
    const x = "x0";
    let y = "y0";
    for (let i = 1; shardOf(y, 16) !== shardOf(x, 16); i++) y = `y${i}`;
    await client.addItem({ cartId: x, sku: "first", quantity: 1 });
    const kv = await new Kvm(conn.nc).open("micro_actor_state");
    const committed = (await kv.get(`micro.restart.${x}`))!.json<{ seq: number }>().seq;
    await kv.put(`micro.restart.${x}`, JSON.stringify({ seq: committed, state: { skus: ["other"] } }));
    const slow = client.addItem({ cartId: y, sku: "slow", quantity: 1 });
    await until(() => probe.running.get(y) === 1, { timeoutMs: 5000, what: `the slow handler of ${y} running` });
    await client.addItem({ cartId: x, sku: "b", quantity: 1 });
    await slow;
    expect(probe.overlap).toBe(false);
    expect(await skus("restart")(y)).toEqual(["slow"]);
    expect(await skus("restart")(x)).toEqual(["other", "b"]);
  });
});
