import { describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import { type ActorDefinition, createClient, defineService, MicroError, onEvent, startActor, startService } from "../../../runtime/mod.ts";
import type { ActorInstance } from "../../../runtime/actor/host.ts";
import { collectActorMetrics } from "../../../runtime/observability/actor-metrics.ts";
import { metricsObserver } from "../../../runtime/observability/call-metrics.ts";
import { collectEventMetrics } from "../../../runtime/observability/event-metrics.ts";
import { MetricsRegistry } from "../../../runtime/observability/metrics.ts";
import { probeActor } from "../../fixtures/actors/probe.ts";
import { withNats } from "../../support/nats.ts";
import { rejection } from "../../support/rpc.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();

/** The value of one series in `text`, or undefined. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("stream metrics", () => {
  it("count open streams and how each ended, on both sides", async () => {
    const metrics = new MetricsRegistry();
    const counter = defineService(Counter, { name: "metered-counter", observers: [metricsObserver(metrics)] }, {
      async *count(request) {
        for (let n = 1; n <= request.to; n++) {
          if (n === 99) throw new MicroError("resource_exhausted", "too far");
          // A stand-in for slow work, so a reader that stops early stops a stream still running.
          if (request.intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, request.intervalMs));
          yield { n };
        }
      },
    });
    const instance = await startService(counter, { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined });
    teardown(() => instance.stop());
    const client = createClient(Counter, conn.transport, { service: "metered-counter", observers: [metricsObserver(metrics)] });

    for (let i = 0; i < 2; i++) {
      let seen = 0;
      for await (const _ of client.count({ to: 3 })) seen++;
      expect(seen).toBe(3);
    }
    for await (const m of client.count({ to: 1000, intervalMs: 20 })) if (m.n === 2) break;
    expect((await rejection((async () => { for await (const _ of client.count({ to: 200 })); })())).code).toBe("resource_exhausted");

    const client_ = (outcome: string) => `micro_streams_total{side="client",service="metered-counter",method="Counter.Count",outcome="${outcome}"}`;
    const server = (outcome: string) => `micro_streams_total{side="server",service="metered-counter",method="Counter.Count",outcome="${outcome}"}`;
    // The server side ends once the client's cancel arrives: wait for it, never sleep.
    await until(() => valueOf(metrics.exposition(), server("cancelled")) === 1, { what: "the server's cancelled stream" });
    const text = metrics.exposition();
    expect(valueOf(text, client_("ok"))).toBe(2);
    expect(valueOf(text, client_("cancelled"))).toBe(1);
    expect(valueOf(text, client_("resource_exhausted"))).toBe(1);
    expect(valueOf(text, server("ok"))).toBe(2);
    expect(valueOf(text, server("resource_exhausted"))).toBe(1);
    expect(valueOf(text, 'micro_streams_open{side="client",service="metered-counter",method="Counter.Count"}')).toBe(0);
    expect(valueOf(text, 'micro_streams_open{side="server",service="metered-counter",method="Counter.Count"}')).toBe(0);
    // Opens still count as requests, as before.
    expect(valueOf(text, 'micro_requests_total{side="server",kind="stream",service="metered-counter",method="Counter.Count",code="ok"}')).toBe(4);
  });

  it("shows a stream as open while it runs", async () => {
    const metrics = new MetricsRegistry();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const counter = defineService(Counter, { name: "held-counter", observers: [metricsObserver(metrics)] }, {
      async *count() {
        yield { n: 1 };
        await held;
        yield { n: 2 };
      },
    });
    const instance = await startService(counter, { connection: conn.nc, transport: conn.transport });
    teardown(() => instance.stop());
    const client = createClient(Counter, conn.transport, { service: "held-counter" });
    const iterator = client.count({ to: 2 })[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.n).toBe(1);
    const open = 'micro_streams_open{side="server",service="held-counter",method="Counter.Count"}';
    expect(valueOf(metrics.exposition(), open)).toBe(1);
    release();
    expect((await iterator.next()).value?.n).toBe(2);
    expect((await iterator.next()).done).toBe(true);
    await until(() => valueOf(metrics.exposition(), open) === 0, { what: "the stream closed" });
  });
});

describe("event delivery metrics", () => {
  it("label a wildcard subscription's deliveries by its filter, so publishers cannot make a series per topic", async () => {
    const namespace = "metrics.delivered";
    const broker = await createJetStreamBroker(conn.nc, { namespace, stream: "METRICS_DELIVERED" });
    const metrics = new MetricsRegistry();
    let handled = 0;
    const listener = defineService(Greeter, {
      name: "customer-listener",
      observers: [metricsObserver(metrics)],
      subscriptions: [onEvent("customer.>", null, () => void handled++)],
    }, {});
    const instance = await startService(listener, { connection: conn.nc, transport: conn.transport, broker, namespace });
    teardown(() => instance.stop());
    // Topics are chosen by whoever publishes (the gateway's /events route takes them from the URL).
    for (let i = 0; i < 12; i++) await broker.publish(`customer.made-up-${i}`, new Uint8Array([i]), { id: `c-${i}` });
    await until(() => handled === 12, { what: "12 deliveries" });
    const series = 'micro_requests_total{side="server",kind="event",service="customer-listener",method="customer.>",code="ok"}';
    await until(() => valueOf(metrics.exposition(), series) === 12, { what: "12 counted deliveries" });
    expect(metrics.exposition()).not.toContain("made-up");
  });
});

describe("event metrics from JetStream", () => {
  it("report each durable consumer's lag and redeliveries and each service's dead letters, read on scrape", async () => {
    const namespace = "metrics.events";
    const broker = await createJetStreamBroker(conn.nc, { namespace, stream: "METRICS_EVENTS" });
    const metrics = new MetricsRegistry();
    teardown(collectEventMetrics(metrics, conn.nc, { namespace, stream: "METRICS_EVENTS", cacheMs: 0 }));

    // A subscriber that is not running: its consumer exists and falls behind.
    await (await broker.subscribe("order.>", () => {}, { service: "shipping" })).stop();
    for (let i = 0; i < 4; i++) await broker.publish("order.created", new Uint8Array([i]), { id: `o-${i}` });
    // A subscriber whose handler always fails: each event is dead-lettered on its first failure.
    const failing = await broker.subscribe("order.>", () => {
      throw new MicroError("internal", "boom");
    }, { service: "billing", maxDeliveries: 1 });
    teardown(() => failing.stop());

    const deadLetters = 'micro_dead_letters{service="billing"}';
    let text = "";
    await until(async () => valueOf((text = await metrics.scrape()), deadLetters) === 4, { what: "4 dead letters for billing", timeoutMs: 20_000 });
    const shipping = text.split("\n").find((l) => l.startsWith("micro_event_consumer_pending{") && l.includes("shipping"));
    expect(shipping).toMatch(/filter="order\.>"\} 4$/);
    const billing = text.split("\n").find((l) => l.startsWith("micro_event_consumer_pending{") && l.includes("billing"));
    expect(billing).toMatch(/\} 0$/);
    expect(text).toMatch(/micro_event_consumer_redelivered\{consumer="[^"]*shipping[^"]*",filter="order\.>"\} 0/);
  });

  it("serves the last values at once when JetStream does not answer within the scrape bound", async () => {
    const metrics = new MetricsRegistry();
    metrics.counter("micro_probe_total", "probe").inc();
    teardown(metrics.collectAsync(() => new Promise<void>(() => {})));
    const began = performance.now();
    const text = await metrics.scrape(200);
    expect(performance.now() - began).toBeLessThan(1000);
    expect(text).toContain("micro_probe_total 1");
  });
});

describe("actor metrics", () => {
  it("count activations, passivations and shard moves", async () => {
    const metrics = new MetricsRegistry();
    teardown(collectActorMetrics(metrics));
    const definition = probeActor({ name: "metered-probe", passivateAfterMs: 300 }) as ActorDefinition;
    const shards = definition.actor.shards;
    const instance: ActorInstance = await startActor(definition, { connection: conn.nc, transport: conn.transport, leaseMs: 1000 });
    let stopped = false;
    teardown(() => (stopped ? undefined : instance.stop()));
    const client = createClient(Cart, conn.transport, { service: "metered-probe", timeoutMs: 10_000 });
    await until(() => valueOf(metrics.exposition(), 'micro_actor_shard_moves_total{service="metered-probe",direction="acquired"}') === shards, { what: "every shard acquired", timeoutMs: 20_000 });

    await client.addItem({ cartId: "a", sku: "x", quantity: 0 });
    await client.addItem({ cartId: "b", sku: "x", quantity: 0 });
    await client.addItem({ cartId: "a", sku: "y", quantity: 0 });
    let text = metrics.exposition();
    expect(valueOf(text, 'micro_actor_activations_total{service="metered-probe"}')).toBe(2);
    expect(valueOf(text, 'micro_actor_activations{service="metered-probe"}')).toBe(2);

    await until(() => valueOf(metrics.exposition(), 'micro_actor_passivations_total{service="metered-probe"}') === 2, { what: "both keys passivated" });
    expect(valueOf(metrics.exposition(), 'micro_actor_activations{service="metered-probe"}')).toBe(0);

    await client.addItem({ cartId: "a", sku: "z", quantity: 0 });
    await instance.stop();
    stopped = true;
    text = metrics.exposition();
    expect(valueOf(text, 'micro_actor_activations_total{service="metered-probe"}')).toBe(3);
    expect(valueOf(text, 'micro_actor_activations{service="metered-probe"}')).toBe(0);
    expect(valueOf(text, 'micro_actor_passivations_total{service="metered-probe"}')).toBe(2);
    expect(valueOf(text, 'micro_actor_shard_moves_total{service="metered-probe",direction="released"}')).toBe(shards);
  });
});
