import { beforeAll, describe, expect, it } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { Audit } from "../../../gen/audit/v1/audit_pb.ts";
import { eventLine } from "../../../cli/events-output.ts";
import { eventJson } from "../../../gateway/event-json.ts";
import { createClient, createJetStreamBroker, type JetStreamBroker, startService, type StoredEvent } from "../../../runtime/mod.ts";
import audit from "../../../services/audit.ts";
import { withNats } from "../../support/nats.ts";
import { rejection } from "../../support/rpc.ts";
import { eventually, until } from "../../support/wait.ts";

const { conn, teardown } = withNats();
let broker: JetStreamBroker;
const text = new TextEncoder();

beforeAll(async () => {
  broker = await createJetStreamBroker(conn.nc);
});

describe("event envelope", () => {
  it("takes a foreign publisher's Micro-Event-Time only as whole epoch ms a date can hold, else the stored time", async () => {
    // A publisher on the bus wrote these directly: `1.5` broke the audit history of the user
    // (BigInt of a fraction), `9e15` and `1e300` made `micro replay` throw on the date.
    const instance = await startService(audit, { connection: conn.nc, transport: conn.transport, broker });
    teardown(() => instance.stop());
    const js = jetstream(conn.nc);
    const before = Date.now();
    const forged = ["1.5", "9e15", "1e300", "0x10", "-5", "253402300800000", "12.0"];
    for (const time of [...forged, "1700000000000"]) {
      const h = headers();
      h.set("Micro-Event-User", "time-victim");
      h.set("Micro-Event-Time", time);
      await js.publish("micro.events.clock.tick", text.encode(time), { headers: h });
    }
    const times = new Map<string, number>();
    for await (const e of broker.replay("clock.tick")) {
      times.set(new TextDecoder().decode(e.data), e.time);
      expect(() => eventLine(eventJson(e))).not.toThrow();
    }
    for (const time of forged) {
      expect(times.get(time)).toBeGreaterThanOrEqual(before - 1000);
      expect(times.get(time)).toBeLessThanOrEqual(Date.now());
    }
    expect(times.get("1700000000000")).toBe(1700000000000);

    const history = await eventually(
      () => createClient(Audit, conn.transport, { timeoutMs: 10_000 }).history({ user: "time-victim", limit: 100 }),
      (page) => page.events.length === forged.length + 1,
      { timeoutMs: 15_000, intervalMs: 100, what: "the whole history of time-victim" },
    );
    expect(history.events.map((e) => e.timeMs >= BigInt(before - 1000) || e.timeMs === 1700000000000n)).toEqual(Array(forged.length + 1).fill(true));
  });

  it("refuses to publish an event time that is not whole epoch ms from 1970 to year 9999", async () => {
    for (const time of [1.5, Number.NaN, 9e15, 0, -1]) {
      const refused = await rejection(broker.publish("clock.set", text.encode("x"), { time }));
      expect([refused.code, refused.detail]).toEqual(["invalid_argument", "time"]);
    }
    expect((await broker.publish("clock.set", text.encode("x"), { time: 1700000000000 })).duplicate).toBe(false);
  });

  it("takes an event's topic from its subject and its id from Nats-Msg-Id, whatever envelope headers its publisher wrote", async () => {
    // A publisher allowed only `ledger.>` on NATS wrote Micro-Event-Topic and Micro-Event-Id:
    // subscribers saw `payment.refunded`, the audit filed the event under it in the user's
    // history (an `audit.` topic kept it out of the history), and the id named another event.
    const instance = await startService(audit, { connection: conn.nc, transport: conn.transport, broker });
    teardown(() => instance.stop());
    const js = jetstream(conn.nc);
    const seen: StoredEvent[] = [];
    const sub = await broker.subscribe("ledger.>", (e) => {
      seen.push(e);
      if (new TextDecoder().decode(e.data) === "fails") throw new Error("cannot book");
    }, { service: "ledger", maxDeliveries: 1 });
    for (const [forgedTopic, body] of [["payment.refunded", "refund"], ["audit.user.x", "hidden"], ["payment.refunded", "fails"]]) {
      const h = headers();
      h.set("Micro-Event-User", "topic-victim");
      h.set("Micro-Event-Topic", forgedTopic!);
      h.set("Micro-Event-Id", "someone-elses-id");
      await js.publish("micro.events.ledger.note", text.encode(body), { headers: h, msgID: `own-${body}` });
    }
    await until(() => seen.length === 3, { what: "the 3 ledger events" });
    expect(seen.map((e) => [e.topic, e.id])).toEqual([["ledger.note", "own-refund"], ["ledger.note", "own-hidden"], ["ledger.note", "own-fails"]]);
    const history = await eventually(
      () => createClient(Audit, conn.transport, { timeoutMs: 10_000 }).history({ user: "topic-victim", oldestFirst: true }),
      (page) => page.events.length >= 3,
      { timeoutMs: 15_000, intervalMs: 100, what: "3 events in the history of topic-victim" },
    );
    expect(history.events.map((e) => [e.topic, e.id])).toEqual([["ledger.note", "own-refund"], ["ledger.note", "own-hidden"], ["ledger.note", "own-fails"]]);
    // Its dead letter, and the event re-driven from it, read the same.
    const dead = await eventually(async () => {
      const out: StoredEvent[] = [];
      for await (const d of broker.deadLetters("ledger")) out.push(d);
      return out;
    }, (found) => found.length === 1, { what: "the failed event in ledger's dead letters" });
    expect([dead[0]!.topic, dead[0]!.id]).toEqual(["ledger.note", "own-fails"]);
    expect(await broker.redrive("ledger")).toBe(1);
    await until(() => seen.length === 4, { what: "the re-driven event" });
    expect([seen[3]!.topic, seen[3]!.id, seen[3]!.deliveries]).toEqual(["ledger.note", "own-fails", 1]);
    await sub.stop();
  });
});
