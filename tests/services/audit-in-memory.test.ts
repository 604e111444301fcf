import { afterEach, describe, expect, it } from "bun:test";
import { Audit } from "../../gen/audit/v1/audit_pb.ts";
import { createClient, createMemoryBroker, createMemoryTransport, type MemoryBroker, type Transport } from "../../runtime/mod.ts";
import audit from "../../services/audit.ts";
import { rejection } from "../support/rpc.ts";

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

/** Polls an asynchronous condition until it holds (the index fills as events are handled). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

async function historyOf(client: ReturnType<typeof startAudit>, user: string, expected: number) {
  let events: Awaited<ReturnType<typeof client.history>>["events"] = [];
  await eventually(async () => (events = (await client.history({ user, limit: 1000 })).events).length >= expected);
  return events;
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
    const letters: Array<{ id: string; error: string }> = [];
    await eventually(async () => {
      letters.length = 0;
      for await (const letter of broker.deadLetters("audit")) letters.push(letter);
      return letters.length === 1;
    });
    expect(letters[0]!.id).toBe("long-user");
    expect(letters[0]!.error).toContain("too long to index");
  });
});
