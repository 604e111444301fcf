/**
 * The failed-call log as the runner puts it on services (`observabilityFrom`'s observers, no
 * interceptor): every kind of call that fails (a unary call, a stream open, an event delivery,
 * an actor command) gives one warn line naming it, its code, error and time; successes give
 * none unless the level is debug; and it sees failures from the service's own interceptors.
 */
import { describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createJetStreamBroker } from "../../../runtime/broker/nats-jetstream.ts";
import { type CallObserver, createClient, defineActor, defineService, type Interceptor, MicroError, onEvent, startActor, startService } from "../../../runtime/mod.ts";
import { createLogger, type LogLevel } from "../../../runtime/observability/logger.ts";
import { observabilityFrom } from "../../../runtime/observability/setup.ts";
import { endpointSubject, requestHeaders } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { rejection } from "../../support/rpc.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();

type Line = Record<string, unknown>;

/** The runner's observers with tracing and metrics off, logging JSON lines into `lines`. */
async function runnerObservers(lines: Line[], level: LogLevel = "info"): Promise<readonly CallObserver[]> {
  const logger = createLogger({ level, format: "json", write: (l) => lines.push(JSON.parse(l) as Line) });
  const observability = await observabilityFrom({ logLevel: level }, { env: {}, metrics: false, logger });
  // Off means no interceptor at all: a service keeps its fused call path.
  expect(observability.serverInterceptors).toEqual([]);
  expect(observability.clientInterceptors).toEqual([]);
  return observability.serverObservers;
}

const failures = (lines: Line[]) => lines.filter((l) => l.msg === "call failed");

describe("the failed-call log (observers, tracing and metrics off)", () => {
  it("logs a failed unary call with kind, service, method, code, error, ms and the caller's trace id; successes not at info", async () => {
    const lines: Line[] = [];
    const greeter = defineService(Greeter, { name: "logged-greeter", observers: await runnerObservers(lines) }, {
      sayHello(request) {
        if (request.name === "") throw new MicroError("invalid_argument", "name is empty");
        return { message: `Hello ${request.name}` };
      },
    });
    const instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
    teardown(() => instance.stop());
    const client = createClient(Greeter, conn.transport, { service: "logged-greeter" });
    for (let i = 0; i < 5; i++) expect((await client.sayHello({ name: "Ada" })).message).toBe("Hello Ada");
    expect(lines).toEqual([]);
    expect((await rejection(client.sayHello({ name: "" }))).code).toBe("invalid_argument");
    const [line] = failures(lines);
    expect(lines.length).toBe(1);
    expect([line!.level, line!.kind, line!.service, line!.method, line!.code, line!.error]).toEqual(["warn", "unary", "logged-greeter", "Greeter.SayHello", "invalid_argument", "name is empty"]);
    expect(typeof line!.ms).toBe("number");

    // A raw NATS caller that sends a traceparent: the line carries its trace id.
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const headers = requestHeaders({ timeoutMs: 5000, contentType: "application/json", trace: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    const subject = endpointSubject(instance.nodeSubject, "Greeter.SayHello");
    await conn.nc.request(subject, new TextEncoder().encode(JSON.stringify({ name: "" })), { headers, timeout: 5000 });
    await until(() => failures(lines).length === 2, { what: "the raw caller's failure logged" });
    expect(failures(lines)[1]!.trace_id).toBe(traceId);
  });

  it("logs failures of the service's own interceptors, and samples successes at debug", async () => {
    const lines: Line[] = [];
    const refuseBob: Interceptor = (next) => function refuseBob(request) {
      if ((request.message as { name: string }).name === "Bob") throw new MicroError("permission_denied", "not Bob");
      return next(request);
    };
    const greeter = defineService(Greeter, { name: "debug-greeter", interceptors: [refuseBob], observers: await runnerObservers(lines, "debug") }, {
      sayHello: (request) => ({ message: `Hello ${request.name}` }),
    });
    const instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
    teardown(() => instance.stop());
    const client = createClient(Greeter, conn.transport, { service: "debug-greeter" });
    await client.sayHello({ name: "Ada" });
    expect((await rejection(client.sayHello({ name: "Bob" }))).code).toBe("permission_denied");
    expect(lines.map((l) => [l.level, l.msg, l.code])).toEqual([["debug", "call", "ok"], ["warn", "call failed", "permission_denied"]]);
  });

  it("logs a refused stream open", async () => {
    const lines: Line[] = [];
    const closed: Interceptor = (next) => function closed(request) {
      if (request.kind === "stream") throw new MicroError("unavailable", "counting is closed");
      return next(request);
    };
    const counter = defineService(Counter, { name: "logged-counter", interceptors: [closed], observers: await runnerObservers(lines) }, {
      async *count(request) {
        for (let n = 1; n <= request.to; n++) yield { n };
      },
    });
    const instance = await startService(counter, { connection: conn.nc, transport: conn.transport });
    teardown(() => instance.stop());
    const client = createClient(Counter, conn.transport, { service: "logged-counter" });
    const error = await rejection((async () => {
      for await (const _ of client.count({ to: 3 }));
    })());
    expect(error.code).toBe("unavailable");
    await until(() => failures(lines).length === 1, { what: "the refused open logged" });
    const line = failures(lines)[0]!;
    expect([line.kind, line.service, line.method, line.code]).toEqual(["stream", "logged-counter", "Counter.Count", "unavailable"]);
  });

  it("logs a failed event delivery with its topic", async () => {
    const lines: Line[] = [];
    const namespace = "log.events";
    const broker = await createJetStreamBroker(conn.nc, { namespace, stream: "LOG_EVENTS" });
    const listener = defineService(Greeter, {
      name: "logged-listener",
      observers: await runnerObservers(lines),
      subscriptions: [onEvent("order.>", null, () => {
        throw new MicroError("failed_precondition", "no such order");
      }, { maxDeliveries: 1 })],
    }, {});
    const instance = await startService(listener, { connection: conn.nc, transport: conn.transport, broker, namespace });
    teardown(() => instance.stop());
    await broker.publish("order.created", new Uint8Array([1]), { id: "o-1" });
    await until(() => failures(lines).length === 1, { what: "the failed delivery logged" });
    const line = failures(lines)[0]!;
    expect([line.kind, line.service, line.method, line.code, line.error]).toEqual(["event", "logged-listener", "order.created", "failed_precondition", "no such order"]);
  });

  it("logs a failed actor command once, by its owner", async () => {
    const lines: Line[] = [];
    const cart = defineActor(Cart, { name: "logged-cart", key: "cart_id", initialState: () => ({ count: 0 }), observers: await runnerObservers(lines) }, {
      addItem: (state, request) => {
        if (request.quantity === 0) throw new MicroError("invalid_argument", "quantity is 0");
        return { reply: { cartId: request.cartId, version: BigInt(state.count + 1) }, state: { count: state.count + 1 } };
      },
    });
    const instance = await startActor(cart, { connection: conn.nc, transport: conn.transport, leaseMs: 1000 });
    teardown(() => instance.stop());
    const client = createClient(Cart, conn.transport, { service: "logged-cart", timeoutMs: 10_000 });
    await until(async () => (await client.addItem({ cartId: "a", quantity: 1 }).then(() => true, () => false)), { what: "the actor serving", timeoutMs: 20_000 });
    expect((await rejection(client.addItem({ cartId: "a", quantity: 0 }))).code).toBe("invalid_argument");
    await until(() => failures(lines).length >= 1, { what: "the failed command logged" });
    expect(failures(lines).map((l) => [l.kind, l.service, l.method, l.code])).toEqual([["actor", "logged-cart", "Cart.AddItem", "invalid_argument"]]);
  });
});
