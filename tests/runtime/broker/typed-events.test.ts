import { beforeAll, describe, expect, it } from "bun:test";
import { Greeter, type SayHelloRequest, SayHelloRequestSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import {
  createClient,
  createJetStreamBroker,
  defineService,
  type Interceptor,
  type JetStreamBroker,
  MicroError,
  onEvent,
  publishMessage,
  startService,
  type StoredEvent,
} from "../../../runtime/mod.ts";
import { withNats } from "../../support/nats.ts";
import { eventually, until } from "../../support/wait.ts";
import { rejection } from "../../support/rpc.ts";

const { conn } = withNats();
let broker: JetStreamBroker;

beforeAll(async () => {
  broker = await createJetStreamBroker(conn.nc);
});

/** The dead letters of `service` now. */
async function deadLetters(service: string): Promise<Array<StoredEvent & { error: string }>> {
  const out: Array<StoredEvent & { error: string }> = [];
  for await (const d of broker.deadLetters(service)) out.push(d);
  return out;
}

describe("typed events in services", () => {
  it("publishes from a handler and delivers decoded messages to a subscribing service", async () => {
    const greeted: Array<[string, StoredEvent]> = [];
    const publisher = defineService(Greeter, { name: "front", version: "3.1.0" }, {
      async sayHello(request, ctx) {
        const { id } = await ctx.publish("greeting.sent", SayHelloRequestSchema, { name: request.name }, { user: ctx.metadata.user ?? "" });
        return { message: id };
      },
    });
    const listener = defineService(Greeter, {
      name: "listener",
      subscriptions: [onEvent("greeting.>", SayHelloRequestSchema, (message: SayHelloRequest, event) => void greeted.push([message.name, event]))],
    }, {});
    const front = await startService(publisher, { connection: conn.nc, transport: conn.transport, broker });
    const back = await startService(listener, { connection: conn.nc, transport: conn.transport, broker });
    const { message: id } = await createClient(Greeter, conn.transport, { service: "front" }).sayHello({ name: "Ada" }, { metadata: { user: "42" } });
    await until(() => greeted.length === 1);
    const [name, event] = greeted[0]!;
    expect(name).toBe("Ada");
    expect([event.id, event.topic, event.source, event.sourceVersion, event.user, event.contentType]).toEqual([id, "greeting.sent", "front", "3.1.0", "42", "application/proto"]);
    await front.stop();
    await back.stop();
  });

  it("runs event handlers through the service's mailbox, sharing its concurrency limit with calls", async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const single = defineService(Greeter, {
      name: "single",
      mailbox: { concurrency: 1 },
      subscriptions: [onEvent("single.ping", SayHelloRequestSchema, (m) => void order.push(`event ${m.name}`))],
    }, {
      async sayHello() {
        order.push("call start");
        await held;
        order.push("call end");
        return { message: "done" };
      },
    });
    const instance = await startService(single, { connection: conn.nc, transport: conn.transport, broker });
    const call = createClient(Greeter, conn.transport, { service: "single" }).sayHello({});
    await until(() => order.length === 1);
    await publishMessage(broker, "single.ping", SayHelloRequestSchema, { name: "p" });
    await Bun.sleep(200); // a window in which the event must not run: the only slot is taken
    expect(order).toEqual(["call start"]); // the only slot is taken by the call
    release();
    await call;
    await until(() => order.length === 3);
    expect(order).toEqual(["call start", "call end", "event p"]);
    await instance.stop();
  });

  it("stops within the drain grace even when an event handler never finishes, and signals it", async () => {
    let signalled = false;
    let running = false;
    const stuck = defineService(Greeter, {
      name: "stuck-events",
      subscriptions: [onEvent("stuck.work", SayHelloRequestSchema, (_m, _e, ctx) => new Promise<void>(() => {
        running = true;
        ctx.signal.addEventListener("abort", () => (signalled = true));
      }))],
    }, {});
    const instance = await startService(stuck, { connection: conn.nc, transport: conn.transport, broker, drainTimeoutMs: 300 });
    await publishMessage(broker, "stuck.work", SayHelloRequestSchema, { name: "x" });
    await until(() => running, { what: "the stuck event handler running" });
    const began = Date.now();
    await instance.stop();
    expect(Date.now() - began).toBeLessThan(2000);
    expect(signalled).toBe(true);
  });

  it("retries then dead-letters events that do not decode as the declared message", async () => {
    const handled: string[] = [];
    const strict = defineService(Greeter, {
      name: "strict",
      subscriptions: [onEvent("strict.in", SayHelloRequestSchema, (m) => void handled.push(m.name), { maxDeliveries: 2 })],
    }, {});
    const instance = await startService(strict, { connection: conn.nc, transport: conn.transport, broker, onHandlerError: () => {} });
    await broker.publish("strict.in", new Uint8Array([0x0a, 0x09, 0x41]), { id: "garbled" });
    const dead = await eventually(() => deadLetters("strict"), (found) => found.length > 0, { timeoutMs: 8000, what: "the event in strict's dead letters" });
    expect(dead.map((d) => d.id)).toEqual(["garbled"]);
    expect(dead[0]!.error).toContain("is not a greeter.v1.SayHelloRequest");
    expect(handled).toEqual([]);
    await instance.stop();
  });

  it("dead-letters an event an interceptor rejects, after the retries a handler error gets", async () => {
    const handled: string[] = [];
    const seen: Array<[string, string, string, string | undefined]> = [];
    const guard: Interceptor = (next) => async function guard(request) {
      seen.push([request.kind, request.service, request.method, request.metadata.user]);
      if (request.metadata.user !== "42") throw new MicroError("permission_denied", "only user 42 may say hello");
      return await next(request);
    };
    const guarded = defineService(Greeter, {
      name: "guarded-events",
      interceptors: [guard],
      subscriptions: [onEvent("guarded.in", SayHelloRequestSchema, (m) => void handled.push(m.name), { maxDeliveries: 2 })],
    }, {});
    const instance = await startService(guarded, { connection: conn.nc, transport: conn.transport, broker });
    await publishMessage(broker, "guarded.in", SayHelloRequestSchema, { name: "intruder" }, { id: "rejected", user: "7" });
    await publishMessage(broker, "guarded.in", SayHelloRequestSchema, { name: "friend" }, { user: "42" });
    const dead = await eventually(() => deadLetters("guarded-events"), (found) => found.length > 0, { timeoutMs: 8000, what: "the event in guarded-events's dead letters" });
    expect(dead.map((d) => [d.id, d.error, d.deliveries])).toEqual([["rejected", "only user 42 may say hello", 2]]);
    expect(handled).toEqual(["friend"]);
    expect(seen.filter(([, , , user]) => user === "7")).toEqual([["event", "guarded-events", "guarded.in", "7"], ["event", "guarded-events", "guarded.in", "7"]]);
    await instance.stop();
  });

  it("refuses a malformed event on the publisher side and stores nothing", async () => {
    const before = (await broker.replay("bad.>")[Symbol.asyncIterator]().next()).done;
    expect(before).toBe(true);
    const error = await rejection(publishMessage(broker, "bad.event", SayHelloRequestSchema, { name: 7 } as never));
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toBe("event bad.event is not a valid greeter.v1.SayHelloRequest: name must be a string, got 7");
    const badUser = await rejection(publishMessage(broker, "bad.event", SayHelloRequestSchema, { name: "x" }, { user: "a\nb" }));
    expect(badUser.message).toContain("event user must not contain line breaks");
    const stored: StoredEvent[] = [];
    for await (const e of broker.replay("bad.>")) stored.push(e);
    expect(stored).toEqual([]);
  });

  it("refuses to start subscriptions without a broker, and publish without one", async () => {
    const needy = defineService(Greeter, { name: "needy", subscriptions: [onEvent("x.y", SayHelloRequestSchema, () => {})] }, {});
    const error = await rejection(startService(needy, { connection: conn.nc, transport: conn.transport }));
    expect(error.message).toContain("needy subscribes to events but no event broker runs");
    const loner = defineService(Greeter, { name: "loner" }, {
      sayHello: async (_r, ctx) => ({ message: (await ctx.publish("a.b", SayHelloRequestSchema, {})).id }),
    });
    const instance = await startService(loner, { connection: conn.nc, transport: conn.transport });
    const failed = await rejection(createClient(Greeter, conn.transport, { service: "loner" }).sayHello({}));
    expect(failed.code).toBe("failed_precondition");
    await instance.stop();
    expect(() => defineService(Greeter, { subscriptions: [onEvent("bad topic", SayHelloRequestSchema, () => {})] }, {})).toThrow(/bad token "bad topic"/);
  });
});
