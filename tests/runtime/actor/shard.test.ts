import { describe, expect, it } from "bun:test";
import type { DescMethod } from "@bufbuild/protobuf";
import type { QueuedIterator } from "@nats-io/nats-core";
import type { KV, KvEntry } from "@nats-io/kv";
import type { ActorHostContext } from "../../../runtime/actor/command.ts";
import { shardOf } from "../../../runtime/actor/key.ts";
import { ShardWorker } from "../../../runtime/actor/shard.ts";
import { type ActorStore, openActorStore, type StateEntry, type StoredReminder } from "../../../runtime/actor/store.ts";
import { actorMailboxSubject, actorReminderKey, actorReminderPrefix, actorStateKey } from "../../../runtime/protocol/mod.ts";
import { probeActor } from "../../fixtures/actors/probe.ts";
import { withNats } from "../../support/nats.ts";
import { eventually } from "../../support/wait.ts";

// One shard worker on a real store whose reminder listing stalls the way nats-server stalls
// a key listing while entries expire under it: the listing never ends until stopped.

const { conn, teardown } = withNats();
const service = "probe";
const boundMs = 300;

/** A key listing that yields nothing and ends only when stopped, as a stalled one does. */
function stalledListing(): QueuedIterator<string> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  return {
    stop,
    async *[Symbol.asyncIterator]() {
      await stopped;
    },
  } as unknown as QueuedIterator<string>;
}

type Read = (key: string) => Promise<KvEntry | null>;

/** The store's reminder bucket, whose first `stalls` listings stall and whose reads go through `read`. */
function slowReminders(kv: KV, stalls: number, read: (key: string, real: Read) => Promise<KvEntry | null> = (key, real) => real(key)): { kv: KV; listings: () => number } {
  let listings = 0;
  const wrapped = new Proxy(kv, {
    get(target, prop) {
      if (prop === "keys") {
        return (filter?: string) => ++listings <= stalls ? Promise.resolve(stalledListing()) : target.keys(filter);
      }
      if (prop === "get") return (key: string) => read(key, (k) => target.get(k));
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: wrapped, listings: () => listings };
}

function context(namespace: string, store: ActorStore, errors: string[]): ActorHostContext {
  const definition = probeActor({ name: service });
  const methods = new Map<string, { method: DescMethod; handler: string }>();
  for (const endpoint of definition.endpoints) {
    if (endpoint.handler !== undefined) methods.set(endpoint.name, { method: endpoint.method, handler: endpoint.method.localName });
  }
  return {
    nc: conn.nc,
    store,
    namespace,
    service,
    nodeId: "node-1",
    spec: definition.actor,
    methods,
    state: store.state,
    reply: (to, data, headers) => conn.nc.publish(to, data, headers === undefined ? undefined : { headers }),
    passivateAfterMs: 60_000,
    purgeEveryMs: 1000,
    listingBoundMs: boundMs,
    transport: conn.transport,
    onError: (error) => void errors.push(String((error as Error)?.message ?? error)),
  };
}

async function storeReminder(store: ActorStore, namespace: string, key: string, reminder: StoredReminder): Promise<string> {
  const k = actorReminderKey(actorReminderPrefix(namespace, service, shardOf(key, 16)), key, "r");
  await store.reminders.put(k, JSON.stringify(reminder));
  return k;
}

async function applied(store: ActorStore, namespace: string, key: string): Promise<string[]> {
  const entry = await store.state.get(actorStateKey(namespace, service, key));
  if (entry === null || entry.length === 0) return [];
  return (entry.json<StateEntry>().state as { applied: Array<{ sku: string }> }).applied.map((a) => a.sku);
}

function start(store: ActorStore, namespace: string, key: string, errors: string[]): Promise<ShardWorker> {
  const worker = new ShardWorker(context(namespace, store, errors), shardOf(key, 16), 0, () => undefined);
  teardown(() => worker.kill());
  return worker.start().then(() => worker);
}

describe("shard reminders when the reminder listing stalls", () => {
  it("starts within the listing bound, then fires the stored reminder once a later listing completes", async () => {
    const namespace = "rvslow";
    const real = await openActorStore(conn.nc, namespace, 1000);
    const k = await storeReminder(real, namespace, "k1", { dueAt: Date.now(), everyMs: 0, data: "stored" });
    const reminders = slowReminders(real.reminders, 1);
    const errors: string[] = [];
    const began = Date.now();
    // Before the bound, a stalled listing held the shard's start (and the node's) for good.
    await start({ ...real, reminders: reminders.kv }, namespace, "k1", errors);
    expect(Date.now() - began).toBeLessThan(boundMs + 2000);
    expect(errors.some((e) => e.includes(`took over ${boundMs} ms`))).toBe(true);
    await eventually(() => applied(real, namespace, "k1"), (skus) => skus.includes("reminded:stored"), { what: "the stored reminder of k1 to fire after the retried listing" });
    expect(reminders.listings()).toBe(2);
    // Fired once, so no longer stored.
    expect(await eventually(() => real.reminders.get(k), (entry) => entry === null || entry.operation !== "PUT", { what: "the fired reminder removed" })).toBeTruthy();
    expect(await applied(real, namespace, "k1")).toEqual(["reminded:stored"]);
  });

  it("does not bring back a reminder forgotten on this node while its listing stalled, from a read older than the forget", async () => {
    const namespace = "rvforget";
    const real = await openActorStore(conn.nc, namespace, 1000);
    // k2 and k3 share a shard, so one worker loads both in the same pass.
    const k3 = Array.from({ length: 200 }, (_, i) => `k${i + 3}`).find((key) => shardOf(key, 16) === shardOf("k2", 16))!;
    const k2Reminder = await storeReminder(real, namespace, "k2", { dueAt: Date.now(), everyMs: 0, data: "old" });
    await storeReminder(real, namespace, k3, { dueAt: Date.now(), everyMs: 0, data: "witness" });
    // The retried listing lists and reads k2's reminder, and the forget lands just after that read.
    let forget: (() => Promise<void>) | undefined;
    const reminders = slowReminders(real.reminders, 1, async (key, read) => {
      const entry = await read(key);
      if (key === k2Reminder && forget !== undefined) await forget();
      return entry;
    });
    const worker = await start({ ...real, reminders: reminders.kv }, namespace, "k2", []);
    forget = () => worker.saveReminders("k2", [{ name: "r", forget: true }]);
    await eventually(() => applied(real, namespace, k3), (skus) => skus.includes("reminded:witness"), { what: `the reminder of ${k3}, loaded in the same pass, to fire` });
    // k2's would have been put in the mailbox before k3's: it is not there.
    const fired = await real.jsm.streams.getMessage(real.stream, { last_by_subj: actorMailboxSubject(namespace, service, shardOf("k2", 16), "k2") }).catch(() => null);
    expect(fired).toBeNull();
    expect(await applied(real, namespace, "k2")).toEqual([]);
  });
});
