/**
 * The shard mailbox reader keeps reading, in order and without a gap, when its consumer
 * vanishes under it (as when the NATS node holding it dies), and stops for good when stopped.
 */
import { describe, expect, it } from "bun:test";
import { jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { MailboxReader } from "../../../runtime/actor/mailbox-reader.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();

describe("mailbox reader", () => {
  it("makes a new consumer from the next sequence when its consumer is deleted, losing and repeating nothing", async () => {
    const jsm = await jetstreamManager(conn.nc);
    const js = jetstream(conn.nc);
    await jsm.streams.add({ name: "READER", subjects: ["reader.>"] });
    // Another shard's messages in between: the reader's filter skips them.
    for (let i = 0; i < 10; i++) {
      await js.publish("reader.0.k", String(i));
      await js.publish("reader.1.k", "other");
    }
    const seen: number[] = [];
    const reader = new MailboxReader({
      js,
      jsm,
      stream: "READER",
      filter: "reader.0.*",
      from: 3,
      label: "test",
      onMessage: (m: JsMsg) => void seen.push(Number(m.string())),
    });
    teardown(() => reader.stop());
    await reader.start();
    await until(() => seen.length === 9, { what: "the first messages from sequence 3" });
    const consumers = async () => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list("READER")) names.push(c.name);
      return names;
    };
    const [first] = await consumers();
    await jsm.consumers.delete("READER", first!);
    for (let i = 10; i < 20; i++) await js.publish("reader.0.k", String(i));
    await until(() => seen.length === 19, { what: "the messages stored after the consumer was deleted", timeoutMs: 15_000 });
    expect(seen).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    const [second] = await consumers();
    expect(second).not.toBe(first);

    reader.stop();
    await until(async () => (await consumers()).length === 0, { what: "the stopped reader's consumer to be deleted" });
    await js.publish("reader.0.k", "after stop");
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing may arrive: a short look
    expect(seen.length).toBe(19);
  }, 30_000);
});
