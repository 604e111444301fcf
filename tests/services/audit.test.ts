import { beforeAll, describe, expect, it } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { Audit } from "../../gen/audit/v1/audit_pb.ts";
import { createClient, createJetStreamBroker, type JetStreamBroker, type ServiceInstance, startService } from "../../runtime/mod.ts";
import audit from "../../services/audit.ts";
import { withNats } from "../support/nats.ts";
import { rejection } from "../support/rpc.ts";
import { eventually } from "../support/wait.ts";

const { conn, teardown } = withNats();
let broker: JetStreamBroker;
let instance: ServiceInstance | undefined;
const text = new TextEncoder();

beforeAll(async () => {
  broker = await createJetStreamBroker(conn.nc);
});
teardown(() => instance?.stop());

const start = () => startService(audit, { connection: conn.nc, transport: conn.transport, broker });
const client = () => createClient(Audit, conn.transport, { timeoutMs: 20_000 });

/** How many events the audit service holds for `user`, once it holds at least `expected`. */
async function historyCount(user: string, expected: number, oldestFirst = false): Promise<number> {
  const count = async () => {
    let total = 0;
    let cursor = "";
    const seen = new Set<string>();
    do {
      const page = await client().history({ user, limit: 1000, cursor, oldestFirst });
      // Each page goes on where the one before ended: no event twice.
      for (const e of page.events) seen.add(e.id);
      total += page.events.length;
      expect(seen.size).toBe(total);
      cursor = page.nextCursor;
    } while (cursor !== "");
    return total;
  };
  return await eventually(count, (n) => n >= expected, { timeoutMs: 20_000, intervalMs: 100, what: `${expected} events in the history of ${user}` });
}

describe("audit service", () => {
  it("misses nothing published while it was down, and keeps each user's history apart", async () => {
    instance = await start();
    await broker.publish("customer.login", text.encode("l0"), { user: "42", source: "auth" });
    expect(await historyCount("42", 1)).toBe(1);
    await instance.stop();
    const sources = ["auth", "profile", "orders"];
    const all = Array.from({ length: 10_000 }, (_, i) =>
      broker.publish(["customer.login", "customer.profile.updated", "order.placed"][i % 3]!, text.encode(`e${i}`), {
        user: i % 2 ? "42" : "alice@example.com",
        source: sources[i % 3]!,
      }));
    await Promise.all(all);
    instance = await start();
    expect(await historyCount("42", 5001)).toBe(5001);
    expect(await historyCount("42", 5001, true)).toBe(5001);
    expect(await historyCount("alice@example.com", 5000)).toBe(5000);
  });

  it("answers by type and time range, newest first by default, in pages with a cursor", async () => {
    const since = Date.now();
    for (const n of [1, 2, 3, 4, 5]) await broker.publish("cart.item.added", text.encode(`c${n}`), { user: "7", source: "cart" });
    await broker.publish("customer.login", text.encode("login"), { user: "7" });
    expect(await historyCount("7", 6)).toBe(6);
    const first = await client().history({ user: "7", topics: ["cart.>"], sinceMs: BigInt(since), limit: 2 });
    expect(first.events.map((e) => new TextDecoder().decode(e.data))).toEqual(["c5", "c4"]);
    expect(first.events[0]!.source).toBe("cart");
    const second = await client().history({ user: "7", topics: ["cart.>"], limit: 2, cursor: first.nextCursor });
    expect(second.events.map((e) => new TextDecoder().decode(e.data))).toEqual(["c3", "c2"]);
    const oldest = await client().history({ user: "7", topics: ["customer.login", "cart.item.added"], oldestFirst: true, limit: 10 });
    expect(oldest.events.map((e) => e.topic)).toEqual([...Array(5).fill("cart.item.added"), "customer.login"]);
    expect(oldest.nextCursor).toBe("");
    const none = await client().history({ user: "7", untilMs: BigInt(since) });
    expect(none.events).toEqual([]);
  });

  it("keeps events from publishers that send no id, and filters on the events' own time", async () => {
    const js = jetstream(conn.nc);
    for (const n of [1, 2, 3]) {
      const h = headers();
      h.set("Micro-Event-User", "raw-user");
      await js.publish("micro.events.raw.thing", text.encode(`r${n}`), { headers: h });
    }
    expect(await historyCount("raw-user", 3)).toBe(3);
    const now = Date.now();
    await broker.publish("timed.event", text.encode("older"), { user: "timed", time: now - 1000 });
    await broker.publish("timed.event", text.encode("oldest"), { user: "timed", time: now - 5000 });
    expect(await historyCount("timed", 2)).toBe(2);
    const until = await client().history({ user: "timed", untilMs: BigInt(now - 3000) });
    expect(until.events.map((e) => new TextDecoder().decode(e.data))).toEqual(["oldest"]);
    const since = await client().history({ user: "timed", sinceMs: BigInt(now - 3000) });
    expect(since.events.map((e) => new TextDecoder().decode(e.data))).toEqual(["older"]);
  });

  it("refuses bad queries with the field named", async () => {
    expect((await rejection(client().history({}))).message).toBe("user is required");
    expect((await rejection(client().history({ user: "7", limit: 5000 }))).message).toContain("limit must be at most 1000");
    expect((await rejection(client().history({ user: "7", cursor: "abc" }))).code).toBe("invalid_argument");
    // A sequence no stream reaches (the read would start there).
    expect((await rejection(client().history({ user: "7", cursor: "1".repeat(40), oldestFirst: true }))).detail).toBe("cursor");
  });

  it("refuses a 5,000-character user with invalid_argument and keeps the NATS connection up", async () => {
    const huge = "u".repeat(5000);
    const query = await rejection(client().history({ user: huge }));
    expect([query.code, query.detail]).toEqual(["invalid_argument", "user"]);
    const published = await rejection(broker.publish("customer.login", text.encode("x"), { user: huge }));
    expect(published.code).toBe("invalid_argument");
    // Short enough for an event, too long for the index once encoded: dead-lettered with the reason.
    await broker.publish("customer.login", text.encode("x"), { id: "unindexable", user: "é".repeat(200) });
    const dead = await eventually(async () => {
      const out: Array<{ id: string; error: string }> = [];
      for await (const d of broker.deadLetters("audit")) out.push(d);
      return out;
    }, (found) => found.some((d) => d.id === "unindexable"), { timeoutMs: 15_000, intervalMs: 100, what: "the unindexable event in audit's dead letters" });
    expect(dead.find((d) => d.id === "unindexable")?.error).toContain("too long to index");
    expect(conn.nc.isClosed()).toBe(false);
    await broker.publish("customer.login", text.encode("after"), { user: "after-huge" });
    expect(await historyCount("after-huge", 1)).toBe(1);
  });

  it("pages a history of large events by bytes too, so every page fits one NATS reply", async () => {
    // Two events of 600 KB naming a user (any publisher may write them) made each default page
    // of that user's history fail with resource_exhausted: one reply over the max payload.
    instance ??= await start();
    await broker.publish("customer.login", text.encode("small"), { user: "big-history" });
    for (const n of [1, 2]) await broker.publish("upload.done", new Uint8Array(600_000).fill(n), { user: "big-history" });
    expect(await historyCount("big-history", 3)).toBe(3);
    const pages: number[][] = [];
    let cursor = "";
    do {
      const page = await client().history({ user: "big-history", cursor });
      pages.push(page.events.map((e) => e.data.length));
      cursor = page.nextCursor;
    } while (cursor !== "");
    expect(pages).toEqual([[600_000], [600_000], [5]]);
    const oldest: number[][] = [];
    do {
      const page = await client().history({ user: "big-history", cursor, oldestFirst: true });
      oldest.push(page.events.map((e) => e.data.length));
      cursor = page.nextCursor;
    } while (cursor !== "");
    expect(oldest).toEqual([[5], [600_000], [600_000]]);
  });
});
