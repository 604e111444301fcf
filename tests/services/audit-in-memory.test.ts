import { afterEach, describe, expect, it } from "bun:test";
import { Audit } from "../../gen/audit/v1/audit_pb.ts";
import { createClient, createMemoryBroker, createMemoryTransport, type MemoryBroker, type Transport } from "../../runtime/mod.ts";
import audit from "../../services/audit.ts";
import { rejection } from "../support/rpc.ts";
import { eventually } from "../support/wait.ts";

const text = new TextEncoder();
let broker: MemoryBroker;
let transport: Transport;

afterEach(async () => {
  await transport?.close();
  broker?.close();
});

function startAudit() {
  broker = createMemoryBroker();
  transport = createMemoryTransport([audit], { broker, onHandlerError: () => {} });
  return createClient(Audit, transport, { timeoutMs: 5000 });
}

/** The history of `user` once it holds at least `expected` events (the index fills as events are handled). */
async function historyOf(client: ReturnType<typeof startAudit>, user: string, expected: number) {
  const read = async () => (await client.history({ user, limit: 1000 })).events;
  return await eventually(read, (events) => events.length >= expected, { timeoutMs: 5000, intervalMs: 10, what: `${expected} events in the history of ${user}` });
}

describe("audit service in memory (no nats-server)", () => {
  it("indexes every event that names a user and answers history newest first, per user", async () => {
    const client = startAudit();
    await broker.publish("customer.login", text.encode("l1"), { user: "42", source: "auth" });
    await broker.publish("order.placed", text.encode("o1"), { user: "42", source: "orders" });
    await broker.publish("order.placed", text.encode("o2"), { user: "alice@example.com" });
    await broker.publish("system.tick", text.encode("nobody"));
    const mine = await historyOf(client, "42", 2);
    expect(mine.map((e) => [e.topic, e.source, new TextDecoder().decode(e.data)])).toEqual([["order.placed", "orders", "o1"], ["customer.login", "auth", "l1"]]);
    expect((await historyOf(client, "alice@example.com", 1)).map((e) => e.topic)).toEqual(["order.placed"]);
    const only = await client.history({ user: "42", topics: ["customer.>"] });
    expect(only.events.map((e) => e.topic)).toEqual(["customer.login"]);
  });

  it("refuses a user id too long to index with invalid_argument, and keeps working", async () => {
    const client = startAudit();
    const huge = await rejection(client.history({ user: "u".repeat(5000) }));
    expect([huge.code, huge.detail]).toEqual(["invalid_argument", "user"]);
    expect(huge.message).toContain("too long to index");
    // Not plain letters: base64 makes it longer than a token even under 256 characters.
    expect((await rejection(client.history({ user: "é".repeat(200) }))).code).toBe("invalid_argument");

    // An event naming such a user is stored, cannot be indexed, and is dead-lettered with the reason.
    await broker.publish("customer.login", text.encode("x"), { id: "long-user", user: "é".repeat(200) });
    await broker.publish("customer.login", text.encode("ok"), { user: "7" });
    expect((await historyOf(client, "7", 1)).map((e) => new TextDecoder().decode(e.data))).toEqual(["ok"]);
    const letters = await eventually(async () => {
      const out: Array<{ id: string; error: string }> = [];
      for await (const letter of broker.deadLetters("audit")) out.push(letter);
      return out;
    }, (found) => found.length === 1, { timeoutMs: 5000, intervalMs: 10, what: "the long-user event in audit's dead letters" });
    expect(letters[0]!.id).toBe("long-user");
    expect(letters[0]!.error).toContain("too long to index");
  });
});
