import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { type ActorDefinition, createClient, startActor } from "../../../runtime/mod.ts";
import type { ActorInstance } from "../../../runtime/actor/host.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";
import { makeServicesDir, repoPath } from "../../support/service-dirs.ts";
import { until } from "../../support/wait.ts";
import { shardOf } from "../../../runtime/actor/key.ts";

// Review of keyed actors: each test here failed before the fix it names.

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ActorInstance[] = [];
const dirs: Array<{ remove(): void }> = [];

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
});

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await conn.close();
  await nats.stop();
  for (const dir of dirs) dir.remove();
});

/**
 * An actor on the Cart proto whose state lists the skus applied. Sku `wait` holds the key
 * until the test opens `globalThis.reviewGate`, sku `slow` for 600 ms (a second handler of the
 * same key running meanwhile sets `globalThis.reviewOverlap`); sku `cycle` returns a state with a cycle in it,
 * sku `map` one holding a Map: neither can be stored as JSON.
 */
async function listActor(name: string): Promise<ActorDefinition> {
  const dir = makeServicesDir({
    [`${name}.ts`]: `import { Cart } from ${JSON.stringify(repoPath("gen/cart/v1/cart_pb.ts"))};
import { defineActor } from ${JSON.stringify(repoPath("runtime/mod.ts"))};
export default defineActor(Cart, { name: ${JSON.stringify(name)}, key: "cart_id", initialState: () => ({ skus: [] }), onTimer: (state) => ({ skus: [...state.skus, "timer"] }), onReminder: (state, r) => ({ skus: [...state.skus, "reminder:" + r.data] }) }, {
  async addItem(state, req, ctx) {
    if (req.sku === "wait") await globalThis.reviewGate;
    const running = (globalThis.reviewRunning ??= {});
    running[req.cartId] = (running[req.cartId] ?? 0) + 1;
    globalThis.reviewOverlap ||= running[req.cartId] > 1;
    try { if (req.sku === "slow") await new Promise((r) => setTimeout(r, 600)); } finally { running[req.cartId]--; }
    if (req.sku === "cycle") { const next = { skus: [...state.skus, "cycle"] }; next.self = next; return { reply: { cartId: req.cartId }, state: next }; }
    if (req.sku === "timerfail") { ctx.setTimer("t", 50); throw new Error("refused after setting a timer"); }
    if (req.sku === "bigremind") ctx.remind("r", 60000, { data: "x".repeat(2_000_000) });
    if (req.sku === "map") return { reply: { cartId: req.cartId }, state: { skus: [...state.skus, "map"], index: new Map([["a", 1]]) } };
    return { reply: { cartId: req.cartId, lines: [{ sku: req.sku, quantity: state.skus.length + 1 }] }, state: { skus: [...state.skus, req.sku] } };
  },
  getCart(state, req) {
    return { reply: { cartId: req.cartId, lines: state.skus.map((sku) => ({ sku, quantity: 1 })) } };
  },
});
`,
  });
  dirs.push(dir);
  return (await import(`${dir.dir}/${name}.ts`)).default as ActorDefinition;
}

async function start(definition: ActorDefinition, options: { namespace?: string; drainTimeoutMs?: number } = {}): Promise<ActorInstance> {
  const instance = await startActor(definition, { connection: conn.nc, transport: conn.transport, leaseMs: 1000, onHandlerError: () => undefined, ...options });
  instances.push(instance);
  return instance;
}

function skus(service: string, namespace = "micro") {
  const client = createClient(Cart, conn.transport, { service, namespace, timeoutMs: 5000 });
  return async (key: string) => (await client.getCart({ cartId: key })).lines.map((l) => l.sku);
}

describe("keyed actors under review", () => {
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
    await new Promise((r) => setTimeout(r, 1300));
    const retry = await client.addItem({ cartId: "i1", sku: "pay", quantity: 1 }, { metadata });
    expect(retry.lines).toEqual(first.lines);
    expect(await skus("idem", "rvidem")("i1")).toEqual(["pay"]);
  });

  it("does not move a draining shard's checkpoint past commands whose commit failed", async () => {
    const definition = await listActor("drainfail");
    const a = await start(definition, { drainTimeoutMs: 5000 });
    const client = createClient(Cart, conn.transport, { service: "drainfail", timeoutMs: 8000 });
    let open!: () => void;
    (globalThis as { reviewGate?: Promise<void> }).reviewGate = new Promise<void>((resolve) => (open = resolve));
    const keys = Array.from({ length: 12 }, (_, i) => `d${i}`);
    const calls = keys.flatMap((key) => [client.addItem({ cartId: key, sku: "wait", quantity: 1 }), client.addItem({ cartId: key, sku: "after", quantity: 1 })]);
    await until(() => keys.every((key) => a.actorStatus().active.some((k) => k.key === key && k.depth === 1)));
    // Another writer commits every key (as a node that wrongly presumed A dead would), so
    // A's commits fail; a second node joins, so A is draining some of its shards when they do.
    const kv = await new Kvm(conn.nc).open("micro_actor_state");
    for (const key of keys) await kv.put(`micro.drainfail.${key}`, JSON.stringify({ seq: 0, state: { skus: ["other"] } }));
    const b = await start(definition);
    await until(() => a.actorStatus().members.length === 2);
    open();
    await Promise.allSettled(calls);
    await until(() => a.actorStatus().shards.length + b.actorStatus().shards.length === 16);
    expect(keys.some((key) => b.actorStatus().shards.includes(shardOf(key, 16)))).toBe(true);
    // Every key's two commands must run once after the other writer's state: none was committed.
    const read = skus("drainfail");
    for (const key of keys) expect({ key, skus: await read(key) }).toEqual({ key, skus: ["other", "wait", "after"] });
  });

  it("restarts a failed shard only after its keys' running handlers have finished (one activation per key)", async () => {
    await start(await listActor("restart"));
    const client = createClient(Cart, conn.transport, { service: "restart", timeoutMs: 8000 });
    // Two keys of one shard: x's commit fails (another writer), while y's handler is running.
    const x = "x0";
    let y = "y0";
    for (let i = 1; shardOf(y, 16) !== shardOf(x, 16); i++) y = `y${i}`;
    await client.addItem({ cartId: x, sku: "first", quantity: 1 });
    const kv = await new Kvm(conn.nc).open("micro_actor_state");
    const committed = (await kv.get(`micro.restart.${x}`))!.json<{ seq: number }>().seq;
    await kv.put(`micro.restart.${x}`, JSON.stringify({ seq: committed, state: { skus: ["other"] } }));
    (globalThis as { reviewOverlap?: boolean }).reviewOverlap = false;
    const slow = client.addItem({ cartId: y, sku: "slow", quantity: 1 });
    await new Promise((r) => setTimeout(r, 100));
    await client.addItem({ cartId: x, sku: "b", quantity: 1 });
    await slow;
    expect((globalThis as { reviewOverlap?: boolean }).reviewOverlap).toBe(false);
    expect(await skus("restart")(y)).toEqual(["slow"]);
    expect(await skus("restart")(x)).toEqual(["other", "b"]);
  });
});

describe("keyed actors under review: clean-up, timers and reminders", () => {
  it("removes its subscriptions and its mailbox consumers when stopped", async () => {
    const { openTestConnection: open } = await import("../../support/rpc.ts");
    const own = await open(nats.url);
    const subs = () => (own.nc as unknown as { protocol: { subscriptions: { size(): number } } }).protocol.subscriptions.size();
    // The connection's own request inbox (JetStream API calls) is not the actor's to remove.
    await (await jetstreamManager(own.nc)).streams.names().next();
    const before = subs();
    const jsm = await jetstreamManager(conn.nc);
    const consumers = async () => (await jsm.consumers.list("MICRO_ACTORS_rvclean").next()).length;
    const definition = await listActor("clean");
    const instance = await startActor(definition, { connection: own.nc, transport: own.transport, leaseMs: 1000, namespace: "rvclean" });
    const client = createClient(Cart, conn.transport, { service: "clean", namespace: "rvclean", timeoutMs: 5000 });
    for (let i = 0; i < 20; i++) await client.addItem({ cartId: `k${i}`, sku: "a", quantity: 1 });
    expect(await consumers()).toBeGreaterThan(0);
    await instance.stop();
    // Ordered consumers finish their clean-up shortly after stop.
    await until(() => subs() === before, 3000);
    // Before: 16 ordered consumers stayed on the server for 5 minutes.
    const end = Date.now() + 2000;
    while ((await consumers()) > 0 && Date.now() < end) await Bun.sleep(50);
    expect(await consumers()).toBe(0);
    await own.close();
  });

  it("sets no timer for a command whose handler failed, as it keeps no state or reminder of it", async () => {
    await start(await listActor("timers"));
    const client = createClient(Cart, conn.transport, { service: "timers", timeoutMs: 3000 });
    await client.addItem({ cartId: "t1", sku: "a", quantity: 1 });
    expect((await rejection(client.addItem({ cartId: "t1", sku: "timerfail", quantity: 1 }))).code).toBe("internal");
    await Bun.sleep(200);
    expect(await skus("timers")("t1")).toEqual(["a"]);
  });

  it("applies a reminder firing once even when it is fired again after JetStream's duplicate window", async () => {
    // An owner that died between putting a reminder in the mailbox and moving it on fires it
    // again from the next owner, under the same message id; here after a 1 s duplicate window.
    const jsm = await jetstreamManager(conn.nc);
    await jsm.streams.add({ name: "MICRO_ACTORS_rvrem", subjects: ["rvrem.actor.>"], duplicate_window: 1_000_000_000 });
    await start(await listActor("rem"), { namespace: "rvrem" });
    const { headers } = await import("@nats-io/nats-core");
    const js = (await import("@nats-io/jetstream")).jetstream(conn.nc);
    const fire = () => {
      const h = headers();
      h.set("Micro-Actor-Reminder", "r");
      return js.publish(`rvrem.actor.rem.${shardOf("r1", 16)}.r1`, "due", { headers: h, msgID: "reminder.rem.r1.r.1700000000000" });
    };
    await fire();
    const read = skus("rem", "rvrem");
    const end = Date.now() + 3000;
    while ((await read("r1")).length === 0 && Date.now() < end) await Bun.sleep(20);
    await Bun.sleep(1100);
    expect((await fire()).duplicate).toBe(false);
    await Bun.sleep(300);
    expect(await read("r1")).toEqual(["reminder:due"]);
  });
});
