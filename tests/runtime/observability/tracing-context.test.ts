import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { Greeter, SayHelloRequestSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import { createClient, createJetStreamBroker, defineActor, defineService, MicroError, onEvent, type ServiceInstance, startActor, startService } from "../../../runtime/mod.ts";
import { startTracing, type Tracing } from "../../../runtime/observability/tracing.ts";
import type { TraceContext } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { attributeOf, expectParentChain, exportedTrace, type OtlpReceiver, type OtlpSpan, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { eventually, until } from "../../support/wait.ts";

// Tracing in its default context mode: no async-context tracking. The current span reaches
// nested work through the handler's context (`ctx.client`, `ctx.publish`, `ctx.trace`,
// `context.trace` of events and actor commands) and the `trace` call option.
const { conn, teardown } = withNats();
let receiver: OtlpReceiver;
let tracing: Tracing;
const instances: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing("context-test", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
  teardown(async () => {
    for (const i of instances) await i.stop();
  });
});

afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

describe("tracing without async context", () => {
  it("is the default, so the OpenTelemetry context carries nothing", () => {
    expect(tracing.asyncContext).toBe(false);
  });

  it("runs one trace from an event published over HTTP through its subscriber's call to an actor", async () => {
    const broker = await createJetStreamBroker(conn.nc);
    const seen: { delivery?: TraceContext; command?: TraceContext } = {};
    const cart = defineActor(Cart, { name: "traced-cart", key: "cart_id", initialState: () => ({ count: 0 }), observers: [tracing.serverObserver] }, {
      addItem: (state, request, ctx) => {
        seen.command = ctx.trace;
        return { reply: { cartId: request.cartId, version: BigInt(state.count + 1) }, state: { count: state.count + 1 } };
      },
    });
    instances.push(await startActor(cart, { connection: conn.nc, transport: conn.transport, leaseMs: 1000 }));
    // A client made at module level, as a subscriber would: the span travels as a call option.
    // Traced as the runner traces clients: an observer, so the client keeps its direct path.
    const carts = createClient(Cart, conn.transport, { service: "traced-cart", timeoutMs: 10_000, observers: [tracing.clientObserver] });
    await until(async () => (await carts.addItem({ cartId: "warm", quantity: 1 }).then(() => true, () => false)), { what: "the actor serving", timeoutMs: 20_000 });
    const relay = defineService(Greeter, {
      name: "relay",
      // The server side as the runner puts it: an observer, no step in the call's path.
      observers: [tracing.serverObserver],
      subscriptions: [onEvent("basket.filled", SayHelloRequestSchema, async (message, _event, context) => {
        seen.delivery = context.trace;
        await carts.addItem({ cartId: message.name, quantity: 1 }, { trace: context.trace });
      })],
    }, {});
    instances.push(await startService(relay, { connection: conn.nc, transport: conn.transport, broker }));
    const app = createGateway({ transport: conn.transport, broker, observability: { tracing } });
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
    const response = await app.fetch(new Request("http://gw/events/basket.filled", {
      method: "POST",
      body: JSON.stringify({ name: "c9" }),
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    }));
    expect(response.status).toBe(201);
    await until(() => seen.command !== undefined && seen.command.traceparent.includes(traceId), { what: "the actor command of the event", timeoutMs: 15_000 });

    const find = await exportedTrace(receiver, traceId, () => tracing.flush(), [["traced-cart/Cart.AddItem", 2], ["POST /events/:topic", 2]]);
    const http = find("POST /events/:topic", 2)!;
    const consumer = find("process basket.filled", 5)!;
    const client = find("traced-cart/Cart.AddItem", 3)!;
    const command = find("traced-cart/Cart.AddItem", 2)!;
    // The router in front of the actor does not trace: it passes the caller's span on, so the
    // actor command is the child of the client span.
    expectParentChain("00f067aa0ba902b7", [http, consumer, client, command]);
    // What the handlers were given is their own span.
    expect(seen.delivery?.traceparent).toBe(`00-${traceId}-${consumer.spanId}-01`);
    expect(seen.command?.traceparent).toBe(`00-${traceId}-${command.spanId}-01`);
  }, 40_000);

  it("gives a handler its own span as ctx.trace, and passes a caller's trace on where a service does not trace", async () => {
    const seen: Array<TraceContext | undefined> = [];
    const inner = defineService(Greeter, { name: "ctx-inner" }, {
      async sayHello(request, ctx) {
        seen.push(ctx.trace);
        return { message: request.name };
      },
    });
    // Not traced: the hop forwards its caller's traceparent to its own nested calls.
    const plain = defineService(Greeter, { name: "ctx-plain" }, {
      async sayHello(request, ctx) {
        seen.push(ctx.trace);
        return await ctx.client(Greeter, { service: "ctx-inner" }).sayHello(request);
      },
    });
    // Traced (as the runner traces: an observer): the handler's span is its own, a child of the caller's.
    const traced = defineService(Greeter, { name: "ctx-traced", observers: [tracing.serverObserver], clientObservers: [tracing.clientObserver] }, {
      async sayHello(request, ctx) {
        seen.push(ctx.trace);
        return await ctx.client(Greeter, { service: "ctx-inner" }).sayHello(request);
      },
    });
    for (const d of [inner, plain, traced]) instances.push(await startService(d, { connection: conn.nc, transport: conn.transport }) as ServiceInstance);
    const caller = "00-6bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    await createClient(Greeter, conn.transport, { service: "ctx-plain" }).sayHello({ name: "x" }, { trace: { traceparent: caller } });
    expect(seen.map((t) => t?.traceparent)).toEqual([caller, caller]);
    seen.length = 0;
    await createClient(Greeter, conn.transport, { service: "ctx-traced" }).sayHello({ name: "x" }, { trace: { traceparent: caller } });
    const [own, passed] = seen.map((t) => t?.traceparent);
    expect(own).toMatch(/^00-6bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(own).not.toBe(caller);
    // The nested call's CLIENT span (the service's client observer) is a child of the handler's
    // span, and it is what the untraced ctx-inner received.
    const clientSpan = await eventually(async () => {
      await tracing.flush();
      return receiver.spans.find((s) => s.name === "ctx-inner/Greeter.SayHello" && s.kind === 3 && s.traceId === caller.slice(3, 35));
    }, (s) => s !== undefined, { what: "the nested call's client span" }) as OtlpSpan;
    expect(clientSpan.parentSpanId).toBe(own!.slice(36, 52));
    expect(passed).toBe(`00-${clientSpan.traceId}-${clientSpan.spanId}-01`);
    // A failed call's span carries its error code and message.
    const failing = defineService(Greeter, { name: "ctx-failing", observers: [tracing.serverObserver] }, {
      sayHello() {
        throw new MicroError("failed_precondition", "not today");
      },
    });
    instances.push(await startService(failing, { connection: conn.nc, transport: conn.transport }));
    const failedTrace = "00-8bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    await createClient(Greeter, conn.transport, { service: "ctx-failing" }).sayHello({ name: "x" }, { trace: { traceparent: failedTrace } }).catch(() => undefined);
    await until(async () => {
      await tracing.flush();
      return receiver.spans.some((s) => s.traceId === failedTrace.slice(3, 35));
    }, { what: "the failed call's span" });
    const span = receiver.spans.find((s) => s.traceId === failedTrace.slice(3, 35))!;
    expect([span.name, span.parentSpanId, span.status, attributeOf(span, "rpc.response.status_code")]).toEqual(["ctx-failing/Greeter.SayHello", "00f067aa0ba902b7", { code: 2, message: "not today" }, "failed_precondition"]);
    // A malformed trace option is ignored, not sent and not an error.
    seen.length = 0;
    await createClient(Greeter, conn.transport, { service: "ctx-inner" }).sayHello({ name: "y" }, { trace: { traceparent: "00-nope\r\nx: y" } });
    expect(seen).toEqual([undefined]);
  });
});
