/**
 * A stream reader whose consumer creation does not answer (as when nats-server 2.9 places the
 * consumer on a node that just died) races it with another under a new name, reads through
 * the first that is made, and deletes the one that answered late.
 */
import { describe, expect, it } from "bun:test";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { StreamReader } from "../../../runtime/nats/stream-reader.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();

/**
 * `jsm` whose first `consumers.add` reaches the server only after `holdMs` (the others at
 * once); `held` settles when that one has been answered.
 */
function holdingFirstCreation(jsm: JetStreamManager, holdMs: number): { jsm: JetStreamManager; created: string[]; held: Promise<unknown> } {
  const created: string[] = [];
  const add = jsm.consumers.add.bind(jsm.consumers);
  let answered!: (v: unknown) => void;
  const held = new Promise((resolve) => (answered = resolve));
  const consumers = Object.create(jsm.consumers) as JetStreamManager["consumers"];
  consumers.add = async (stream, config) => {
    created.push(config!.name!);
    if (created.length > 1) return add(stream, config);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    return add(stream, config).finally(() => answered(undefined));
  };
  return { jsm: Object.assign(Object.create(jsm) as JetStreamManager, { consumers }), created, held };
}

describe("stream reader", () => {
  it("reads through a second consumer when the first creation does not answer, and deletes the late one", async () => {
    const realJsm = await jetstreamManager(conn.nc);
    const js = jetstream(conn.nc);
    await realJsm.streams.add({ name: "HEDGE", subjects: ["hedge.>"] });
    for (let i = 1; i <= 5; i++) await js.publish("hedge.a", String(i));
    const { jsm, created, held } = holdingFirstCreation(realJsm, 5000);
    let heldAnswered = false;
    void held.then(() => (heldAnswered = true));
    const reader = new StreamReader({ js, jsm, stream: "HEDGE", filter: "hedge.>", namePrefix: "test_hedge", label: "test" });
    teardown(() => reader.stop());

    await reader.open();
    const seen: string[] = [];
    void (async () => {
      for await (const m of reader) seen.push(m.string());
    })();
    await until(() => seen.length === 5, { what: "the stored messages" });
    // Read before the held creation was even answered.
    expect(heldAnswered).toBe(false);
    expect(seen).toEqual(["1", "2", "3", "4", "5"]);
    // A third placement only if the second was slow to answer (a loaded machine).
    expect(created.length).toBeGreaterThanOrEqual(2);

    const names = async () => {
      const out: string[] = [];
      for await (const c of realJsm.consumers.list("HEDGE")) out.push(c.name);
      return out;
    };
    // The held creation is made on the server at last, and then deleted: one consumer is left,
    // the one read through.
    await held;
    await until(async () => (await names()).length === 1, { what: "the late consumer to be deleted" });
    const [kept] = await names();
    expect(kept).not.toBe(created[0]);
    expect(created).toContain(kept!);
    await js.publish("hedge.a", "6");
    await until(() => seen.length === 6, { what: "a message published after the race" });

    reader.stop();
    await until(async () => (await names()).length === 0, { what: "the stopped reader's consumer to be deleted" });
  }, 30_000);
});
