/**
 * JetStream publishes acknowledged on one shared inbox: the stream stores and deduplicates as
 * it does for nats.js `js.publish()`, refuses a write at the wrong revision with the error
 * `isRevisionConflict` recognises, and a publish nobody stores fails at once, not at its timeout.
 */
import { describe, expect, it } from "bun:test";
import { Kvm } from "@nats-io/kv";
import { jetstreamManager } from "@nats-io/jetstream";
import { AckPublisher, AckTimeoutError } from "../../../runtime/nats/ack-publisher.ts";
import { isRevisionConflict } from "../../../runtime/nats/durable-kv.ts";
import { publishDurably, publishFailure } from "../../../runtime/nats/durable-publish.ts";
import { withNats } from "../../support/nats.ts";

const { conn } = withNats();
const encoder = new TextEncoder();

describe("AckPublisher", () => {
  it("resolves with the stream's ack and stores a message with a known id once", async () => {
    const jsm = await jetstreamManager(conn.nc);
    await jsm.streams.add({ name: "ACKPUB", subjects: ["ackpub.>"] });
    const publisher = new AckPublisher(conn.nc);
    try {
      const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publish(`ackpub.${i}`, encoder.encode(`m${i}`), { msgID: `id-${i}` })));
      expect(acks.map((a) => a.stream)).toEqual(Array(50).fill("ACKPUB"));
      expect(new Set(acks.map((a) => a.seq)).size).toBe(50);
      const again = await publishDurably(publisher, "ackpub.7", encoder.encode("m7"), { msgID: "id-7" }, Date.now() + 5000);
      expect(again.duplicate).toBe(true);
      expect(again.seq).toBe(acks[7]!.seq);
      expect((await jsm.streams.info("ACKPUB")).state.messages).toBe(50);
    } finally {
      publisher.close();
    }
  });

  it("writes a KV entry only at the revision it expects, and reports a conflict as nats.js does", async () => {
    const kv = await new Kvm(conn.nc).create("ackpub_kv");
    const publisher = new AckPublisher(conn.nc);
    try {
      const first = await publisher.publish("$KV.ackpub_kv.k", encoder.encode("v1"), { expect: { lastSubjectSequence: 0 } });
      const second = await publisher.publish("$KV.ackpub_kv.k", encoder.encode("v2"), { expect: { lastSubjectSequence: first.seq } });
      expect((await kv.get("k"))?.string()).toBe("v2");
      expect((await kv.get("k"))?.revision).toBe(second.seq);
      const stale = await publisher.publish("$KV.ackpub_kv.k", encoder.encode("v3"), { expect: { lastSubjectSequence: first.seq } }).catch((e) => e as Error);
      expect(isRevisionConflict(stale)).toBe(true);
      expect((await kv.get("k"))?.string()).toBe("v2");
    } finally {
      publisher.close();
    }
  });

  it("fails at once when no stream stores the subject, and after its timeout when no ack comes", async () => {
    const publisher = new AckPublisher(conn.nc);
    try {
      const began = Date.now();
      const none = await publisher.publish("nostream.x", encoder.encode("x"), { msgID: "a", timeout: 5000 }).catch((e) => e as Error);
      expect(Date.now() - began).toBeLessThan(2000);
      expect(publishFailure(none).retry).toBe(true);
      expect(String(none)).toContain("no responders");
      // A subscriber that never answers: the ack never comes.
      const silent = conn.nc.subscribe("silent.x");
      const late = await publisher.publish("silent.x", encoder.encode("x"), { msgID: "b", timeout: 200 }).catch((e) => e as Error);
      silent.unsubscribe();
      expect(late).toBeInstanceOf(AckTimeoutError);
      expect(publishFailure(late).timedOut).toBe(true);
    } finally {
      publisher.close();
    }
  });

  it("rejects what waits when closed, and every later publish", async () => {
    const publisher = new AckPublisher(conn.nc);
    const silent = conn.nc.subscribe("silent.y");
    const waiting = publisher.publish("silent.y", encoder.encode("x"), { timeout: 10_000 }).catch((e) => e as Error);
    publisher.close();
    silent.unsubscribe();
    expect(String(await waiting)).toContain("closed");
    expect(String(await publisher.publish("silent.y", encoder.encode("x")).catch((e) => e as Error))).toContain("closed");
  });
});
