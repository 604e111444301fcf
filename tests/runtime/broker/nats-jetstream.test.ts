import { beforeAll, describe, expect, it } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createJetStreamBroker, type JetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import type { StoredEvent } from "../../../runtime/broker/types.ts";
import { withNats } from "../../support/nats.ts";
import { eventually, until } from "../../support/wait.ts";

const text = new TextEncoder();
const read = (e: StoredEvent) => new TextDecoder().decode(e.data);

const { conn } = withNats();
let broker: JetStreamBroker;

beforeAll(async () => {
  broker = await createJetStreamBroker(conn.nc);
});

describe("JetStream broker", () => {
  it("stores an event before publish resolves, and a repeated id once", async () => {
    const first = await broker.publish("customer.login", text.encode("a"), { id: "evt-1", user: "42", source: "auth", sourceVersion: "1.2.0" });
    const again = await broker.publish("customer.login", text.encode("a"), { id: "evt-1", user: "42" });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ id: "evt-1", sequence: first.sequence, duplicate: true });
    const jsm = await jetstreamManager(conn.nc);
    const stored = await jsm.streams.getMessage("MICRO_EVENTS", { seq: first.sequence });
    expect(stored?.subject).toBe("micro.events.customer.login");
    expect(stored?.header.get("Micro-Event-User")).toBe("42");
  });

  it("explains a conflicting existing stream instead of failing obscurely", async () => {
    const error = await createJetStreamBroker(conn.nc, { storage: "memory" }).catch((e) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("the stream MICRO_EVENTS exists with settings jetmicro cannot change");
    expect((error as Error).message).toContain("nats stream rm MICRO_EVENTS");
  });

  it("refuses bad topics and filters with the bad token named", async () => {
    await expect(broker.publish("customer.*", text.encode(""))).rejects.toThrow(/topic "customer\.\*" has a bad token "\*"/);
    await expect(broker.subscribe("a.>.b", async () => {}, { service: "x" })).rejects.toThrow(/bad token ">"/);
    await expect(broker.publish("", text.encode(""))).rejects.toThrow(/bad token ""/);
  });

  it("hands each event to one instance per service, and to every service", async () => {
    const audit: string[] = [];
    const mail: string[] = [];
    const a1 = await broker.subscribe("order.>", (e) => void audit.push(`1:${read(e)}`), { service: "audit" });
    const a2 = await broker.subscribe("order.>", (e) => void audit.push(`2:${read(e)}`), { service: "audit" });
    const m1 = await broker.subscribe("order.placed", (e) => void mail.push(read(e)), { service: "mailer" });
    for (let i = 0; i < 50; i++) await broker.publish(i % 2 ? "order.placed" : "order.paid", text.encode(String(i)));
    await until(() => audit.length === 50 && mail.length === 25);
    await Bun.sleep(200); // a window in which no event may reach a second instance or come twice
    expect(audit).toHaveLength(50);
    expect(new Set(audit.map((a) => a.slice(2))).size).toBe(50);
    expect(mail).toHaveLength(25);
    await Promise.all([a1.stop(), a2.stop(), m1.stop()]);
  });

  it("delivers exactly the events a service missed while it was down", async () => {
    const seen: string[] = [];
    const first = await broker.subscribe("profile.>", (e) => void seen.push(read(e)), { service: "history" });
    await broker.publish("profile.updated", text.encode("before"));
    await until(() => seen.length === 1);
    await first.stop();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => broker.publish("profile.updated", text.encode(`missed-${i}`))));
    const second = await broker.subscribe("profile.>", (e) => void seen.push(read(e)), { service: "history", concurrency: 64 });
    await until(() => seen.length === 1001);
    await Bun.sleep(300); // a window in which no event may come twice
    expect(seen).toHaveLength(1001);
    expect(new Set(seen).size).toBe(1001);
    await second.stop();
  });

  it("retries a failing handler with backoff, then dead-letters the event with the error", async () => {
    const attempts: number[] = [];
    const sub = await broker.subscribe("payment.failed", (e) => {
      attempts.push(e.deliveries);
      throw new Error(`ledger down for ${read(e)}`);
    }, { service: "ledger", maxDeliveries: 3, backoffMs: () => 20 });
    const { id } = await broker.publish("payment.failed", text.encode("p-9"), { user: "7" });
    await until(() => attempts.length === 3);
    await Bun.sleep(300); // a window in which no fourth attempt may come
    expect(attempts).toEqual([1, 2, 3]);
    const dead = await eventually(async () => {
      const out: Array<StoredEvent & { error: string }> = [];
      for await (const d of broker.deadLetters("ledger")) out.push(d);
      return out;
    }, (found) => found.length > 0, { what: "the failed event in ledger's dead letters" });
    expect(dead.map((d) => [d.id, d.topic, d.user, d.error, d.deliveries, read(d)])).toEqual([[id, "payment.failed", "7", "ledger down for p-9", 3, "p-9"]]);
    await sub.stop();

    // Fixed: re-drive sends it back to the ledger alone, and the dead-letter list empties.
    const otherService: string[] = [];
    const other = await broker.subscribe("payment.>", (e) => void otherService.push(read(e)), { service: "reports" });
    await until(() => otherService.includes("p-9"));
    const healed: StoredEvent[] = [];
    const sibling: string[] = [];
    const fixed = await broker.subscribe("payment.failed", (e) => void healed.push(e), { service: "ledger", maxDeliveries: 3 });
    // Another subscription of the same service, which never failed the event, must not get it again.
    const ledgerAll = await broker.subscribe("payment.>", (e) => void sibling.push(read(e)), { service: "ledger" });
    await until(() => sibling.includes("p-9"));
    expect(await broker.redrive("ledger")).toBe(1);
    await until(() => healed.length === 1);
    expect([healed[0]!.id, healed[0]!.topic, read(healed[0]!)]).toEqual([id, "payment.failed", "p-9"]);
    const left: StoredEvent[] = [];
    for await (const d of broker.deadLetters("ledger")) left.push(d);
    expect(left).toEqual([]);
    await Bun.sleep(200); // a window in which the re-driven event may reach no other subscription
    expect(otherService.filter((x) => x === "p-9")).toHaveLength(1);
    expect(sibling.filter((x) => x === "p-9")).toHaveLength(1);
    await Promise.all([fixed.stop(), other.stop(), ledgerAll.stop()]);
  });

  it("dead-letters an event of nearly the max payload, and delivers the events after it", async () => {
    // Its copy with the letter's headers passed the max payload: the letter was never written and
    // the event was redelivered for good, so a subscription at concurrency 1 got nothing after it.
    const js = jetstream(conn.nc);
    const max = conn.nc.info!.max_payload;
    const poison = new Uint8Array(max - 600).fill(7);
    await js.publish("micro.events.bulk.poison", poison, { msgID: "bulk-poison" });
    await broker.publish("bulk.after", text.encode("after"));
    const seen: string[] = [];
    const sub = await broker.subscribe("bulk.>", (e) => {
      seen.push(`${e.topic}#${e.deliveries}`);
      if (e.topic === "bulk.poison") throw new Error("cannot take it ".repeat(100));
    }, { service: "bulk", concurrency: 1, maxDeliveries: 2, backoffMs: () => 20 });
    await until(() => seen.includes("bulk.after#1"), { what: "the event after the large one" });
    await Bun.sleep(300); // a window in which the dead-lettered event must not come again
    expect(seen).toEqual(["bulk.poison#1", "bulk.poison#2", "bulk.after#1"]);
    const dead: Array<StoredEvent & { error: string }> = [];
    for await (const d of broker.deadLetters("bulk")) dead.push(d);
    expect(dead.map((d) => [d.id, d.topic, d.deliveries, d.error.slice(0, 15), d.data.length, d.data[0]])).toEqual([["bulk-poison", "bulk.poison", 2, "cannot take it ", poison.length, 7]]);
    await sub.stop();
    const again: StoredEvent[] = [];
    const fixed = await broker.subscribe("bulk.>", (e) => void again.push(e), { service: "bulk", concurrency: 1 });
    expect(await broker.redrive("bulk")).toBe(1);
    await until(() => again.length === 1, { what: "the re-driven large event" });
    expect([again[0]!.id, again[0]!.topic, again[0]!.data.length]).toEqual(["bulk-poison", "bulk.poison", poison.length]);
    await fixed.stop();
  });

  it("leaves listed a dead letter whose event is too large to re-drive, and re-drives the others", async () => {
    const js = jetstream(conn.nc);
    const full = new Uint8Array(conn.nc.info!.max_payload - 64).fill(9);
    await js.publish("micro.events.brim.full", full, { msgID: "brim-full" });
    await broker.publish("brim.small", text.encode("small"));
    const sub = await broker.subscribe("brim.>", () => {
      throw new Error("no");
    }, { service: "brim", maxDeliveries: 1 });
    await eventually(async () => {
      let n = 0;
      for await (const _ of broker.deadLetters("brim")) n++;
      return n;
    }, (n) => n === 2, { what: "2 dead letters of brim" });
    await sub.stop();
    expect(await broker.redrive("brim")).toBe(1);
    const left: StoredEvent[] = [];
    for await (const d of broker.deadLetters("brim")) left.push(d);
    expect(left.map((d) => [d.id, d.data.length])).toEqual([["brim-full", full.length]]);
  });

  it("ends a dead-letter listing whose letters were removed meanwhile (a redrive running alongside) instead of waiting for ever", async () => {
    const sub = await broker.subscribe("shelf.broken", () => {
      throw new Error("no shelf");
    }, { service: "shelf", maxDeliveries: 1 });
    // More than one pull of the listing takes.
    const total = 300;
    await Promise.all(Array.from({ length: total }, (_, n) => broker.publish("shelf.broken", text.encode(String(n)))));
    const all = await eventually(async () => {
      const out: number[] = [];
      for await (const d of broker.deadLetters("shelf")) out.push(d.deadLetterSequence);
      return out;
    }, (found) => found.length === total, { what: `${total} dead letters of shelf` });
    await sub.stop();
    const jsm = await jetstreamManager(conn.nc);
    const listing = broker.deadLetters("shelf")[Symbol.asyncIterator]();
    expect((await listing.next()).done).toBe(false);
    // The last ones are redriven (deleted) while the listing is read.
    for (const seq of all.slice(260)) await jsm.streams.deleteMessage("MICRO_EVENTS_DLQ", seq);
    const started = Date.now();
    const drained = (async () => {
      let n = 1;
      while (!(await listing.next()).done) n++;
      return n;
    })();
    const listed = await Promise.race([drained, Bun.sleep(10_000).then(() => "still waiting" as const)]);
    if (listed === "still waiting") await listing.return?.();
    expect(listed).toBe(260);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);

  it("lets redrives of one service run alongside: each letter goes back once, and none of them fails", async () => {
    // Two operators (or one double click) redriving at once: the later one found letters the
    // first had removed, and failed with "no message found" (a 500 on the dashboard).
    const sub = await broker.subscribe("rack.broken", () => {
      throw new Error("no rack");
    }, { service: "rack", maxDeliveries: 1 });
    const total = 300;
    await Promise.all(Array.from({ length: total }, (_, n) => broker.publish("rack.broken", text.encode(String(n)))));
    await eventually(async () => {
      let n = 0;
      for await (const _ of broker.deadLetters("rack")) n++;
      return n;
    }, (n) => n === total, { what: `${total} dead letters of rack` });
    await sub.stop();
    const counts = await Promise.all([broker.redrive("rack"), broker.redrive("rack"), broker.redrive("rack")]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    const left: number[] = [];
    for await (const d of broker.deadLetters("rack")) left.push(d.deadLetterSequence);
    expect(left).toEqual([]);
  }, 30_000);

  it("lets a manual-ack subscriber settle events itself", async () => {
    const held: Array<{ ack(): void; nak(ms?: number): void; deliveries: number }> = [];
    const sub = await broker.subscribe("manual.work", (e) => void held.push(e), { service: "manual", manualAck: true });
    await broker.publish("manual.work", text.encode("m"));
    await until(() => held.length === 1);
    held[0]!.nak(10); // not yet: deliver it again
    await until(() => held.length === 2);
    expect(held[1]!.deliveries).toBe(2);
    held[1]!.ack();
    await Bun.sleep(300); // a window in which the acked event must not come again
    expect(held).toHaveLength(2);
    await sub.stop();
  });

  it("keeps subscriptions to look-alike filters apart", async () => {
    const dotted: string[] = [];
    const underscored: string[] = [];
    const a = await broker.subscribe("look.alike", (e) => void dotted.push(read(e)), { service: "twins" });
    const b = await broker.subscribe("look_alike", (e) => void underscored.push(read(e)), { service: "twins" });
    await broker.publish("look.alike", text.encode("dot"));
    await broker.publish("look_alike", text.encode("underscore"));
    await until(() => dotted.length === 1 && underscored.length === 1);
    expect([dotted, underscored]).toEqual([["dot"], ["underscore"]]);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("refuses a replay time that is not a time", async () => {
    await expect((async () => {
      for await (const _ of broker.replay("x.>", { since: 1e20 })) break;
    })()).rejects.toThrow(/since must be a time from year 0 to 9999, got 100000000000000000000$/);
  });

  it("gives every instance every event when broadcast", async () => {
    const got: string[] = [];
    const b1 = await broker.subscribe("cache.flush", (e) => void got.push(`1:${read(e)}`), { service: "web", broadcast: true });
    const b2 = await broker.subscribe("cache.flush", (e) => void got.push(`2:${read(e)}`), { service: "web", broadcast: true });
    await broker.publish("cache.flush", text.encode("x"));
    await until(() => got.length === 2);
    expect(got.sort()).toEqual(["1:x", "2:x"]);
    await Promise.all([b1.stop(), b2.stop()]);
  });

  it("keeps storing one namespace's events after a broker of another namespace starts", async () => {
    const other = await createJetStreamBroker(conn.nc, { namespace: "otherns" });
    const mine = await broker.publish("ns.check", text.encode("micro"));
    const theirs = await other.publish("ns.check", text.encode("other"));
    const seen = async (b: JetStreamBroker) => {
      const out: string[] = [];
      for await (const e of b.replay("ns.check")) out.push(read(e));
      return out;
    };
    expect(await seen(broker)).toEqual(["micro"]);
    expect(await seen(other)).toEqual(["other"]);
    expect(theirs.sequence).toBeGreaterThan(mine.sequence);
    const info = await (await jetstreamManager(conn.nc)).streams.info("MICRO_EVENTS");
    expect(info.config.subjects).toEqual(["micro.events.>", "otherns.events.>"]);

    // A service of the same name in each namespace gets its own events, each once.
    const got: string[] = [];
    const subs = [
      await broker.subscribe("ns.>", (e) => void got.push(`micro:${read(e)}`), { service: "twin" }),
      await other.subscribe("ns.>", (e) => void got.push(`other:${read(e)}`), { service: "twin" }),
    ];
    await broker.publish("ns.live", text.encode("m2"));
    await other.publish("ns.live", text.encode("o2"));
    await until(() => got.length >= 4);
    await Bun.sleep(200); // a window in which no event may cross namespaces or come twice
    expect(got.sort()).toEqual(["micro:m2", "micro:micro", "other:o2", "other:other"]);
    await Promise.all(subs.map((sub) => sub.stop()));
  });

  it("replays a topic filter in order from a sequence or a time, and ends", async () => {
    const since = Date.now();
    const published = [];
    for (const n of ["r1", "r2", "r3"]) published.push(await broker.publish(`replay.${n}`, text.encode(n)));
    const fromTime: string[] = [];
    for await (const e of broker.replay("replay.>", { since })) fromTime.push(read(e));
    expect(fromTime).toEqual(["r1", "r2", "r3"]);
    const fromSeq: number[] = [];
    for await (const e of broker.replay("replay.>", { fromSequence: published[1]!.sequence })) fromSeq.push(e.sequence);
    expect(fromSeq).toEqual([published[1]!.sequence, published[2]!.sequence]);
    const model = new Map<string, string>();
    const count = await broker.replayInto("replay.>", (e) => void model.set(e.topic, read(e)), { since });
    expect(count).toBe(3);
    expect([...model]).toEqual([["replay.r1", "r1"], ["replay.r2", "r2"], ["replay.r3", "r3"]]);
    const none: StoredEvent[] = [];
    for await (const e of broker.replay("nothing.here")) none.push(e);
    expect(none).toEqual([]);
  });
});
