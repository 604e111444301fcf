import { describe, expect, it } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { createClient, startActor } from "../../../runtime/mod.ts";
import { shardOf } from "../../../runtime/actor/key.ts";
import { actorMailboxSubject, actorReminderHeader } from "../../../runtime/protocol/mod.ts";
import { listActor, listSkus } from "../../fixtures/actors/list.ts";
import { actorHost } from "../../support/actor-host.ts";
import { withNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";
import { eventually, until } from "../../support/wait.ts";

// Keyed actors leave nothing behind when stopped, and a timer or reminder runs no more often
// than its command allows: each test here failed before the fix it names.

const { nats, conn, teardown } = withNats();
// Stopped at the end of the file; a handler's failure is what these tests cause on purpose.
const start = actorHost({ conn, teardown }, { leaseMs: 1000, onHandlerError: () => undefined });
const skus = (service: string, namespace?: string) => listSkus(conn.transport, service, namespace);

describe("keyed actors: clean-up on stop, timers and reminders", () => {
  it("removes its subscriptions and its mailbox consumers when stopped", async () => {
    const own = await openTestConnection(nats.url);
    const subs = () => (own.nc as unknown as { protocol: { subscriptions: { size(): number } } }).protocol.subscriptions.size();
    // The connection's own request inbox (JetStream API calls) is not the actor's to remove.
    await (await jetstreamManager(own.nc)).streams.names().next();
    const before = subs();
    const jsm = await jetstreamManager(conn.nc);
    const consumers = async () => (await jsm.consumers.list("MICRO_ACTORS_rvclean").next()).length;
    const definition = await listActor("clean");
    const instance = await startActor(definition, { connection: own.nc, transport: own.transport, leaseMs: 1000, namespace: "rvclean" });
    const client = createClient(Cart, conn.transport, { service: "clean", namespace: "rvclean", timeoutMs: 5000 });
    for (let i = 0; i < 20; i++) await client.addItem({ cartId: `k${i}`, sku: "a", quantity: 1 });
    expect(await consumers()).toBeGreaterThan(0);
    await instance.stop();
    // Ordered consumers finish their clean-up shortly after stop.
    await until(() => subs() === before, 3000);
    // Before: 16 ordered consumers stayed on the server for 5 minutes.
    expect(await eventually(consumers, (n) => n === 0, { timeoutMs: 2000, intervalMs: 50, what: "the mailbox consumers of rvclean removed" })).toBe(0);
    await own.close();
  });

  it("sets no timer for a command whose handler failed, as it keeps no state or reminder of it", async () => {
    await start(await listActor("timers"));
    const client = createClient(Cart, conn.transport, { service: "timers", timeoutMs: 3000 });
    await client.addItem({ cartId: "t1", sku: "a", quantity: 1 });
    expect((await rejection(client.addItem({ cartId: "t1", sku: "timerfail", quantity: 1 }))).code).toBe("internal");
    // Nothing to wait for: the 50 ms timer must not fire, so give it four times its delay.
    await Bun.sleep(200);
    expect(await skus("timers")("t1")).toEqual(["a"]);
  });

  it("applies a reminder firing once even when it is fired again after JetStream's duplicate window", async () => {
    // An owner that died between putting a reminder in the mailbox and moving it on fires it
    // again from the next owner, under the same message id; here after a 1 s duplicate window.
    const jsm = await jetstreamManager(conn.nc);
    await jsm.streams.add({ name: "MICRO_ACTORS_rvrem", subjects: ["rvrem.actor.>"], duplicate_window: 1_000_000_000 });
    await start(await listActor("rem"), { namespace: "rvrem" });
    const js = jetstream(conn.nc);
    const fire = () => {
      const h = headers();
      h.set(actorReminderHeader, "r");
      return js.publish(actorMailboxSubject("rvrem", "rem", shardOf("r1", 16), "r1"), "due", { headers: h, msgID: "reminder.rem.r1.r.1700000000000" });
    };
    await fire();
    const read = skus("rem", "rvrem");
    await eventually(() => read("r1"), (applied) => applied.length > 0, { timeoutMs: 3000, what: "the first firing of r1 applied" });
    // A firing inside the window is dropped by JetStream; the first one past it is stored.
    const refired = await eventually(fire, (ack) => !ack.duplicate, { timeoutMs: 5000, intervalMs: 100, what: "JetStream's duplicate window to pass" });
    expect(refired.duplicate).toBe(false);
    // A command after it in the same mailbox is applied after it: by then it was applied or skipped.
    await createClient(Cart, conn.transport, { service: "rem", namespace: "rvrem", timeoutMs: 5000 }).addItem({ cartId: "r1", sku: "after", quantity: 1 });
    expect(await read("r1")).toEqual(["reminder:due", "after"]);
  });
});
