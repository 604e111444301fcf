import { describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { type ActorDefinition, createClient, defineActor, type Interceptor, listActors, MicroError, startActor } from "../../../runtime/mod.ts";
import type { ActorInstance } from "../../../runtime/actor/host.ts";
import cart from "../../../services/cart.ts";
import { probeActor, type ProbeActorOptions, type ProbeState } from "../../fixtures/actors/probe.ts";
import { withNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";
import { eventually, until } from "../../support/wait.ts";

const { nats, conn, teardown } = withNats();
const instances: ActorInstance[] = [];
teardown(() => Promise.all(instances.map((i) => i.stop())));

async function probe(options: ProbeActorOptions): Promise<ActorDefinition> {
  return probeActor(options);
}

async function start(definition: ActorDefinition, options: { passivateAfterMs?: number; onHandlerError?: (error: unknown, what: string) => void } = {}): Promise<ActorInstance> {
  const instance = await startActor(definition, { connection: conn.nc, transport: conn.transport, leaseMs: 1000, ...options });
  instances.push(instance);
  return instance;
}

async function probeState(service: string, key: string): Promise<ProbeState> {
  const client = createClient(Cart, conn.transport, { service, timeoutMs: 5000 });
  return JSON.parse((await client.getCart({ cartId: key })).lines[0]!.sku) as ProbeState;
}

describe("keyed actors (one process)", () => {
  it("keeps a cart per cart_id and answers through the plain typed client", async () => {
    await start(cart as ActorDefinition);
    const client = createClient(Cart, conn.transport, { timeoutMs: 5000 });
    await client.addItem({ cartId: "c1", sku: "apple", quantity: 2 });
    await client.addItem({ cartId: "c2", sku: "pear", quantity: 1 });
    const view = await client.addItem({ cartId: "c1", sku: "apple", quantity: 3 });
    expect(view.lines.map((l) => [l.sku, l.quantity])).toEqual([["apple", 5]]);
    expect(view.version).toBe(2n);
    expect((await client.getCart({ cartId: "c2" })).lines.map((l) => l.sku)).toEqual(["pear"]);
    // Raw JSON over NATS, as any NATS client (or the gateway) sends it.
    const reply = await conn.nc.request("micro.srv.cart.Cart.GetCart", JSON.stringify({ cartId: "c1" }), {
      timeout: 5000,
      headers: (await import("@nats-io/nats-core")).headers(),
    });
    expect(reply.json<{ lines: Array<{ sku: string }> }>().lines[0]!.sku).toBe("apple");
  });

  it("answers a stored command's caller once: the owner's reply, no second one from the router", async () => {
    await start(cart as ActorDefinition);
    const { headers, createInbox } = await import("@nats-io/nats-core");
    const { toBinary, fromBinary, create } = await import("@bufbuild/protobuf");
    const { AddItemRequestSchema, CartViewSchema } = await import("../../../gen/cart/v1/cart_pb.ts");
    const inbox = createInbox();
    const replies: Uint8Array[] = [];
    const sub = conn.nc.subscribe(inbox, { callback: (_e, msg) => void replies.push(msg.data) });
    const h = headers();
    h.set("Content-Type", "application/proto");
    for (let i = 1; i <= 3; i++) conn.nc.publish("micro.srv.cart.Cart.AddItem", toBinary(AddItemRequestSchema, create(AddItemRequestSchema, { cartId: "once1", sku: "fig", quantity: 1 })), { reply: inbox, headers: h });
    await until(() => replies.length >= 3);
    // A second reply, were one sent, follows its first at once: give it a round trip to arrive.
    await conn.nc.flush();
    await createClient(Cart, conn.transport, { timeoutMs: 5000 }).getCart({ cartId: "once1" });
    await conn.nc.flush();
    sub.unsubscribe();
    expect(replies.length).toBe(3);
    expect(replies.map((r) => fromBinary(CartViewSchema, r).lines[0]!.quantity).sort()).toEqual([1, 2, 3]);
  });

  it("is reached through the HTTP gateway unchanged, with key errors as 400 naming the field", async () => {
    const { createGateway } = await import("../../../gateway/app.ts");
    const app = createGateway({ transport: conn.transport });
    const post = (body: unknown) => app.fetch(new Request("http://gateway/cart/add-item", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
    const ok = await post({ cartId: "h1", sku: "plum", quantity: 2 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ cartId: "h1", lines: [{ sku: "plum", quantity: 2 }], version: "1" });
    const missing = await post({ sku: "plum", quantity: 2 });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { code: string; detail: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.detail).toContain("cart_id");
  });

  it("refuses a request without a key, or with a malformed one, as invalid_argument naming the field", async () => {
    const client = createClient(Cart, conn.transport, { timeoutMs: 5000 });
    const missing = await rejection(client.addItem({ sku: "apple", quantity: 1 }));
    expect(missing.code).toBe("invalid_argument");
    expect(missing.detail).toBe("cart_id");
    expect(missing.message).toContain("cart_id is required");
    for (const bad of ["c.1", "c 1", "*", "x".repeat(201), "x".repeat(5000)]) {
      const malformed = await rejection(client.addItem({ cartId: bad, sku: "apple", quantity: 1 }));
      expect(malformed.code).toBe("invalid_argument");
      expect(malformed.detail).toBe("cart_id");
      expect(malformed.message).toContain("not a valid key");
    }
    // Refused before any subject or KV key was made of it: the shared connection stays up.
    expect(conn.nc.isClosed()).toBe(false);
    expect((await client.getCart({ cartId: "c1" })).cartId).toBe("c1");
  });

  it("runs the actor type's interceptors on the owner around each command, which can reject it", async () => {
    const seen: Array<[string, string, string, string | undefined]> = [];
    const requireUser: Interceptor = (next) => async function requireUser(request) {
      seen.push([request.kind, request.service, request.method, request.metadata.user]);
      if (!request.metadata.user) throw new MicroError("unauthenticated", "send metadata user");
      return await next(request);
    };
    const guarded = defineActor(Cart, { name: "guarded", key: "cart_id", initialState: () => ({ count: 0 }), interceptors: [requireUser] }, {
      addItem: (state, request) => {
        const next = { count: state.count + request.quantity };
        return { reply: { cartId: request.cartId, version: BigInt(next.count) }, state: next };
      },
    });
    await start(guarded);
    const client = createClient(Cart, conn.transport, { service: "guarded", timeoutMs: 5000 });
    const refused = await rejection(client.addItem({ cartId: "g1", quantity: 5 }));
    expect(refused.code).toBe("unauthenticated");
    expect((await client.addItem({ cartId: "g1", quantity: 2 }, { metadata: { user: "42" } })).version).toBe(2n);
    // Once per command, on the owner (the router that forwarded it runs none).
    expect(seen).toEqual([["actor", "guarded", "Cart.AddItem", undefined], ["actor", "guarded", "Cart.AddItem", "42"]]);
  });

  it("rejects a handler's error without changing the state", async () => {
    const client = createClient(Cart, conn.transport, { timeoutMs: 5000 });
    const error = await rejection(client.addItem({ cartId: "c3", sku: "", quantity: 1 }));
    expect(error.code).toBe("invalid_argument");
    expect(error.detail).toBe("sku");
    expect((await client.getCart({ cartId: "c3" })).version).toBe(0n);
  });

  it("applies a retried command with the same idempotency key once and answers the retry with the first reply", async () => {
    const client = createClient(Cart, conn.transport, { timeoutMs: 5000 });
    const metadata = { "idempotency-key": "order-17" };
    const first = await client.addItem({ cartId: "c4", sku: "fig", quantity: 1 }, { metadata });
    const retry = await client.addItem({ cartId: "c4", sku: "fig", quantity: 1 }, { metadata });
    expect(retry.version).toBe(first.version);
    const now = await client.getCart({ cartId: "c4" });
    expect(now.lines[0]!.quantity).toBe(1);
    expect(now.version).toBe(1n);
  });

  it("purges the mailbox once every command in it is committed", async () => {
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(conn.nc);
    expect((await jsm.streams.info("MICRO_ACTORS")).state.messages).toBeGreaterThan(0);
    const messages = async () => (await jsm.streams.info("MICRO_ACTORS")).state.messages;
    expect(await eventually(messages, (left) => left === 0, { timeoutMs: 8000, intervalMs: 100, what: "the mailbox to be purged" })).toBe(0);
  });

  it("lets a handler call another service with the command's metadata", async () => {
    const { startService } = await import("../../../runtime/mod.ts");
    const greeter = (await import("../../../services/greeter.ts")).default;
    const service = await startService(greeter, { connection: conn.nc, transport: conn.transport });
    try {
      await start(await probe({ name: "caller" }));
      const client = createClient(Cart, conn.transport, { service: "caller", timeoutMs: 5000 });
      await client.addItem({ cartId: "g1", sku: "greet:Ada" });
      expect((await probeState("caller", "g1")).applied.map((a) => a.sku)).toEqual(["Hello Ada"]);
    } finally {
      await service.stop();
    }
  });

  it("passivates an idle key and reactivates it with its state on the next command", async () => {
    const definition = await probe({ name: "idle", passivateAfterMs: 300 });
    const node = await start(definition);
    const client = createClient(Cart, conn.transport, { service: "idle", timeoutMs: 5000 });
    await client.addItem({ cartId: "k1", sku: "one" });
    expect(node.actorStatus().active.map((a) => a.key)).toEqual(["k1"]);
    await until(() => node.actorStatus().active.length === 0, 5000);
    await client.addItem({ cartId: "k1", sku: "two" });
    expect(node.actorStatus().active.map((a) => a.key)).toEqual(["k1"]);
    expect((await probeState("idle", "k1")).applied.map((a) => a.sku)).toEqual(["one", "two"]);
  });

  it("fires a timer while the activation lives, and reports active keys to listActors", async () => {
    const definition = await probe({ name: "timed" });
    await start(definition);
    const client = createClient(Cart, conn.transport, { service: "timed", timeoutMs: 5000 });
    await client.addItem({ cartId: "t1", sku: "timer:50" });
    const state = await eventually(() => probeState("timed", "t1"), (s) => s.timers > 0, { timeoutMs: 5000, what: "the timer of t1 to fire" });
    expect(state.applied.map((a) => a.sku)).toEqual(["timer:50", "timer:t"]);
    const nodes = await listActors(conn.nc, "timed");
    expect(nodes.length).toBe(1);
    expect(nodes[0]!.shards.length).toBe(16);
    expect(nodes[0]!.active.map((a) => a.key)).toContain("t1");
    // The same through the NATS services protocol, for `nats micro stats` and dashboards.
    const stats = (await conn.nc.request("$SRV.STATS.timed", "", { timeout: 2000 })).json<{ endpoints: Array<{ data: { actor_keys: Array<{ key: string; depth: number }>; actor_shards: number[] } }> }>();
    expect(stats.endpoints[0]!.data.actor_keys).toContainEqual({ key: "t1", depth: 0 });
    expect(stats.endpoints[0]!.data.actor_shards.length).toBe(16);
  });

  it("keeps a draining shard's lease until its keys are done, even past the lease time", async () => {
    const { shardOf } = await import("../../../runtime/actor/key.ts");
    const definition = await probe({ name: "handoff" });
    // Two owners at once would make one's commits fail (ownership lost): reported here.
    const failures: string[] = [];
    const first = await start(definition, { onHandlerError: (error, what) => failures.push(`${what}: ${String(error)}`) });
    await until(() => first.actorStatus().shards.length === 16, 5000);
    // One key per shard, each busy for twice the lease time when the second node joins.
    const keys: string[] = [];
    for (let i = 0; keys.length < 16; i++) if (!keys.some((k) => shardOf(k, 16) === shardOf(`h${i}`, 16))) keys.push(`h${i}`);
    const client = createClient(Cart, conn.transport, { service: "handoff", timeoutMs: 10_000 });
    const long = keys.map((key) => client.addItem({ cartId: key, sku: "long", quantity: 2000 }));
    await until(() => keys.every((key) => first.actorStatus().active.some((a) => a.key === key)), { timeoutMs: 5000, what: "every key's long command running" });
    const other = await openTestConnection(nats.url);
    let second: ActorInstance | undefined;
    try {
      second = await startActor(definition, {
        connection: other.nc,
        transport: other.transport,
        leaseMs: 1000,
        onHandlerError: (error, what) => failures.push(`${what}: ${String(error)}`),
      });
      // Once the first node has seen the second it is draining the shards it gives up:
      // these commands stay in the mailbox until the new owner starts.
      await until(() => first.actorStatus().members.length === 2, { timeoutMs: 5000, what: "the first node to see the second" });
      const next = keys.map((key) => client.addItem({ cartId: key, sku: "next" }));
      await Promise.all([...long, ...next]);
      let moved = 0;
      for (const key of keys) {
        const [a, b] = (await probeState("handoff", key)).applied;
        expect([a!.sku, b!.sku]).toEqual(["long", "next"]);
        expect(b!.started).toBeGreaterThanOrEqual(a!.ended);
        if (a!.node !== b!.node) moved++;
      }
      expect(moved).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    } finally {
      await second?.stop();
      await other.close();
    }
  });

  it("repeats a reminder with everyMs until it is forgotten", async () => {
    await start(await probe({ name: "repeat" }));
    const client = createClient(Cart, conn.transport, { service: "repeat", timeoutMs: 5000 });
    await client.addItem({ cartId: "e1", sku: "every:150" });
    await eventually(() => probeState("repeat", "e1"), (s) => s.reminded >= 2, { timeoutMs: 8000, what: "the reminder of e1 to fire twice" });
    await client.addItem({ cartId: "e1", sku: "forget" });
    await Bun.sleep(200); // a firing already on its way to the mailbox still lands
    const after = (await probeState("repeat", "e1")).reminded;
    expect(after).toBeGreaterThanOrEqual(2);
    await Bun.sleep(600); // four periods in which a forgotten reminder must not fire again
    expect((await probeState("repeat", "e1")).reminded).toBe(after);
  });

  it("serves commands without durable mailboxes straight to the one owner of the key", async () => {
    const definition = await probe({ name: "direct", durable: false });
    await start(definition);
    await start(definition);
    const client = createClient(Cart, conn.transport, { service: "direct", timeoutMs: 5000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.addItem({ cartId: "d1", sku: `s${i}` })));
    const state = await probeState("direct", "d1");
    expect(state.applied.length).toBe(20);
    expect(new Set(state.applied.map((a) => a.node)).size).toBe(1);
  });
});
