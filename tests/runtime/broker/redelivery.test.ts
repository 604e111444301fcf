import { describe, expect, it } from "bun:test";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import { withNats } from "../../support/nats.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { spawnChild } from "../../support/subprocess.ts";
import { until } from "../../support/wait.ts";

const { nats, conn, teardown } = withNats();
const ns = "audit.test";
// Each event costs this much to handle, so the clean catch-up takes seconds (2,000 events, 16 at
// a time: about 8 s) and twice it is a bound that means something next to the 5 s ack wait.
const handlerMs = 64;

describe("durable event consumers after a crash", () => {
  it("bring an existing consumer's 30 s ack wait down to 5 s", async () => {
    const broker = await createJetStreamBroker(conn.nc, { namespace: "old.test", stream: "OLD_EVENTS" });
    const jsm = await jetstreamManager(conn.nc);
    await broker.subscribe("x.>", () => {}, { service: "old" }).then((s) => s.stop());
    const [name] = (await jsm.consumers.list("OLD_EVENTS").next()).map((c) => c.name);
    await jsm.consumers.update("OLD_EVENTS", name!, { ack_wait: 30_000_000_000 });
    const sub = await broker.subscribe("x.>", () => {}, { service: "old" });
    teardown(() => sub.stop());
    const info = await jsm.consumers.info("OLD_EVENTS", name!);
    expect([info.config.ack_wait, info.config.ack_policy]).toEqual([5_000_000_000, AckPolicy.Explicit]);
  });

  it("redeliver a SIGKILLed instance's events to a second one within seconds, each handled", async () => {
    const total = 2000;
    const broker = await createJetStreamBroker(conn.nc, { namespace: ns });
    await Promise.all(Array.from({ length: total }, (_, i) => broker.publish("order.created", new Uint8Array([1]), { id: `order-${i}` })));

    // The clean catch-up, for comparison: another service reads the same history.
    let started = Date.now();
    const clean = new Set<string>();
    const cleanSub = await broker.subscribe("order.>", async (e) => {
      await Bun.sleep(handlerMs);
      clean.add(e.id);
    }, { service: "clean", concurrency: 16 });
    await until(() => clean.size === total, { what: "the clean catch-up", timeoutMs: 30_000 });
    const cleanMs = Date.now() - started;
    await cleanSub.stop();

    const done = new Set<string>();
    const watch = conn.nc.subscribe("audit.done", { callback: (_e, m) => void done.add(m.string()) });
    teardown(() => watch.unsubscribe());
    started = Date.now();
    const child = spawnChild([process.execPath, repoPath("tests/support/audit-consumer.ts")], { NATS_URL: nats.url, HANDLER_MS: String(handlerMs) });
    try {
      await child.waitFor(/ready/, 20_000);
      await until(() => done.size >= total / 4, { what: "the first instance to be a quarter through", timeoutMs: 20_000 });
      child.process.kill("SIGKILL");
      await child.exited;
    } finally {
      child.process.kill("SIGKILL");
    }
    expect(done.size).toBeLessThan(total);
    const second = await broker.subscribe("order.>", async (e) => {
      await Bun.sleep(handlerMs);
      done.add(e.id);
    }, { service: "audit", concurrency: 16 });
    teardown(() => second.stop());
    await until(() => done.size === total, { what: "the second instance to finish the catch-up", timeoutMs: 40_000 });
    const recoveredMs = Date.now() - started;
    console.log(`clean catch-up ${cleanMs} ms, recovered after the crash in ${recoveredMs} ms`);
    // The events the dead instance held come back after one ack wait (5 s), not 30 s: the
    // history is exact again within twice the clean catch-up time.
    expect(cleanMs).toBeGreaterThan(5_000);
    expect(recoveredMs).toBeLessThan(2 * cleanMs);
    expect([...done].every((id) => /^order-\d+$/.test(id))).toBe(true);
  }, 60_000);
});
