import { afterEach, describe, expect, it } from "bun:test";
import { createMemoryBroker, type MemoryBroker } from "../../../runtime/broker/memory.ts";
import type { DeliveredEvent, StoredEvent } from "../../../runtime/broker/types.ts";
import { MicroError } from "../../../runtime/mod.ts";
import { eventually, until } from "../../support/wait.ts";

const text = new TextEncoder();
const read = (e: StoredEvent) => new TextDecoder().decode(e.data);

let broker: MemoryBroker;
afterEach(() => broker?.close());

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("memory broker", () => {
  it("stores an event before publish resolves, and a repeated id once", async () => {
    broker = createMemoryBroker();
    const first = await broker.publish("customer.login", text.encode("a"), { id: "evt-1", user: "42", source: "auth", sourceVersion: "1.2.0" });
    const again = await broker.publish("customer.login", text.encode("a"), { id: "evt-1", user: "42" });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ id: "evt-1", sequence: first.sequence, duplicate: true });
    const stored = await all(broker.replay("customer.>"));
    expect(stored.map((e) => [e.id, e.topic, e.user, e.source, e.sourceVersion, e.contentType, read(e)])).toEqual([
      ["evt-1", "customer.login", "42", "auth", "1.2.0", "application/proto", "a"],
    ]);
  });

  it("refuses bad topics, filters and envelopes as the JetStream broker does", async () => {
    broker = createMemoryBroker();
    await expect(broker.publish("customer.*", text.encode(""))).rejects.toThrow(/topic "customer\.\*" has a bad token "\*"/);
    await expect(broker.subscribe("a.>.b", async () => {}, { service: "x" })).rejects.toThrow(/bad token ">"/);
    await expect(broker.publish("a.b", text.encode(""), { user: "x\ny" })).rejects.toThrow(/must not contain line breaks/);
    const long = await broker.publish("a.b", text.encode(""), { user: "u".repeat(5000) }).catch((e) => e);
    expect(MicroError.is(long) && long.code).toBe("invalid_argument");
    await expect(broker.subscribe("a.b", async () => {}, { service: "s".repeat(5000) })).rejects.toThrow(/longer than 256/);
    expect(await all(broker.replay(">"))).toEqual([]);
  });

  it("hands each event to one subscriber per service, and to every service", async () => {
    broker = createMemoryBroker();
    const audit: string[] = [];
    const mail: string[] = [];
    const a1 = await broker.subscribe("order.>", (e) => void audit.push(`1:${read(e)}`), { service: "audit" });
    const a2 = await broker.subscribe("order.>", (e) => void audit.push(`2:${read(e)}`), { service: "audit" });
    const m1 = await broker.subscribe("order.placed", (e) => void mail.push(read(e)), { service: "mailer" });
    for (let i = 0; i < 50; i++) await broker.publish(i % 2 ? "order.placed" : "order.paid", text.encode(String(i)));
    await until(() => audit.length === 50 && mail.length === 25);
    expect(new Set(audit.map((a) => a.slice(2))).size).toBe(50);
    expect(audit.some((a) => a.startsWith("1:")) && audit.some((a) => a.startsWith("2:"))).toBe(true);
    await Promise.all([a1.stop(), a2.stop(), m1.stop()]);
  });

  it("delivers history and exactly the events a service missed while it was down", async () => {
    broker = createMemoryBroker();
    await broker.publish("profile.updated", text.encode("history"));
    const seen: string[] = [];
    const first = await broker.subscribe("profile.>", (e) => void seen.push(read(e)), { service: "history" });
    await until(() => seen.length === 1);
    await first.stop();
    for (let i = 0; i < 100; i++) await broker.publish("profile.updated", text.encode(`missed-${i}`));
    expect(seen).toHaveLength(1);
    const second = await broker.subscribe("profile.>", (e) => void seen.push(read(e)), { service: "history" });
    await until(() => seen.length === 101);
    expect(new Set(seen).size).toBe(101);
    await second.stop();
  });

  it("keeps at most `concurrency` events of a subscription in flight", async () => {
    broker = createMemoryBroker();
    let running = 0;
    let most = 0;
    let done = 0;
    const sub = await broker.subscribe("work.item", async () => {
      most = Math.max(most, ++running);
      await Bun.sleep(5); // the handler's work: holds its slot so the events overlap
      running--;
      done++;
    }, { service: "worker", concurrency: 3 });
    for (let i = 0; i < 20; i++) await broker.publish("work.item", text.encode(String(i)));
    await until(() => done === 20);
    expect(most).toBe(3);
    await sub.stop();
  });

  it("retries a failing handler with backoff, dead-letters it, and re-drives it to that subscription only", async () => {
    broker = createMemoryBroker();
    const attempts: number[] = [];
    const sub = await broker.subscribe("payment.failed", (e) => {
      attempts.push(e.deliveries);
      throw new Error(`ledger down for ${read(e)}`);
    }, { service: "ledger", maxDeliveries: 3, backoffMs: () => 5 });
    const sibling: string[] = [];
    const ledgerAll = await broker.subscribe("payment.>", (e) => void sibling.push(read(e)), { service: "ledger" });
    const other: string[] = [];
    const reports = await broker.subscribe("payment.>", (e) => void other.push(read(e)), { service: "reports" });
    const { id } = await broker.publish("payment.failed", text.encode("p-9"), { user: "7" });
    await until(() => attempts.length === 3);
    const dead = await eventually(() => all(broker.deadLetters("ledger")), (d) => d.length > 0, { timeoutMs: 5000, what: "the failed event in ledger's dead letters" });
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead.map((d) => [d.id, d.topic, d.user, d.error, d.deliveries, read(d)])).toEqual([[id, "payment.failed", "7", "ledger down for p-9", 3, "p-9"]]);
    await sub.stop();

    const healed: DeliveredEvent[] = [];
    const fixed = await broker.subscribe("payment.failed", (e) => void healed.push(e), { service: "ledger", maxDeliveries: 3 });
    expect(await broker.redrive("ledger")).toBe(1);
    await until(() => healed.length === 1);
    expect([healed[0]!.id, healed[0]!.topic, read(healed[0]!)]).toEqual([id, "payment.failed", "p-9"]);
    expect(await all(broker.deadLetters("ledger"))).toEqual([]);
    expect(sibling).toEqual(["p-9"]);
    expect(other).toEqual(["p-9"]);
    await Promise.all([fixed.stop(), ledgerAll.stop(), reports.stop()]);
  });

  it("lets a manual-ack subscriber settle events itself, and redelivers what it leaves unsettled", async () => {
    broker = createMemoryBroker({ ackWaitMs: 50 });
    const held: DeliveredEvent[] = [];
    const sub = await broker.subscribe("manual.work", (e) => void held.push(e), { service: "manual", manualAck: true });
    await broker.publish("manual.work", text.encode("m"));
    await until(() => held.length === 1);
    held[0]!.nak(10);
    await until(() => held.length === 2);
    expect(held[1]!.deliveries).toBe(2);
    // Left unsettled: delivered again after the ack wait.
    await until(() => held.length === 3);
    held[2]!.ack();
    await Bun.sleep(150); // a window of three ack waits in which an acked event must not come again
    expect(held).toHaveLength(3);
    await sub.stop();
  });

  it("gives every broadcast subscriber every new event, and no history", async () => {
    broker = createMemoryBroker();
    await broker.publish("cache.flush", text.encode("old"));
    const got: string[] = [];
    const b1 = await broker.subscribe("cache.flush", (e) => void got.push(`1:${read(e)}`), { service: "web", broadcast: true });
    const b2 = await broker.subscribe("cache.flush", (e) => void got.push(`2:${read(e)}`), { service: "web", broadcast: true });
    await broker.publish("cache.flush", text.encode("x"));
    await until(() => got.length === 2);
    expect(got.sort()).toEqual(["1:x", "2:x"]);
    await Promise.all([b1.stop(), b2.stop()]);
  });

  it("replays a topic filter in order from a sequence or a time, and ends", async () => {
    broker = createMemoryBroker();
    await broker.publish("other.topic", text.encode("no"));
    const since = Date.now();
    const published = [];
    for (const n of ["r1", "r2", "r3"]) published.push(await broker.publish(`replay.${n}`, text.encode(n)));
    expect((await all(broker.replay("replay.>", { since }))).map(read)).toEqual(["r1", "r2", "r3"]);
    expect((await all(broker.replay("replay.>", { fromSequence: published[1]!.sequence }))).map((e) => e.sequence)).toEqual([published[1]!.sequence, published[2]!.sequence]);
    expect(await all(broker.replay("replay.>", { until: since - 1 }))).toEqual([]);
    const model = new Map<string, string>();
    expect(await broker.replayInto("*.r2", (e) => void model.set(e.topic, read(e)))).toBe(1);
    expect([...model]).toEqual([["replay.r2", "r2"]]);
    await expect(all(broker.replay("x.>", { since: 1e20 }))).rejects.toThrow(/since must be a time in epoch ms/);
  });
});
