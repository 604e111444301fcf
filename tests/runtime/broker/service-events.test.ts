import { afterEach, describe, expect, it } from "bun:test";
import { Greeter, type SayHelloRequest, SayHelloRequestSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import {
  type CallRequest,
  createMemoryBroker,
  createMemoryTransport,
  defineService,
  type Interceptor,
  type MemoryBroker,
  MicroError,
  onEvent,
  publishMessage,
  type Transport,
} from "../../../runtime/mod.ts";
import { eventually, until } from "../../support/wait.ts";

let broker: MemoryBroker;
let transport: Transport;
afterEach(async () => {
  await transport?.close();
  broker?.close();
});

/** Records what it sees under `name`, in order, then calls next. */
function recording(name: string, seen: string[], requests: CallRequest[] = []): Interceptor {
  return (next) => async function record(request) {
    seen.push(`${name}:in`);
    requests.push(request);
    try {
      return await next(request);
    } finally {
      seen.push(`${name}:out`);
    }
  };
}

describe("interceptors around event handlers", () => {
  it("see each decoded event (kind event, the topic as method, envelope as metadata), first one outermost", async () => {
    broker = createMemoryBroker();
    const seen: string[] = [];
    const requests: CallRequest[] = [];
    const handled: string[] = [];
    const service = defineService(Greeter, {
      name: "listener",
      interceptors: [recording("outer", seen, requests), recording("inner", seen)],
      subscriptions: [onEvent("hello.>", SayHelloRequestSchema, (message) => {
        seen.push("handler");
        handled.push(message.name);
      })],
    }, {});
    transport = createMemoryTransport([service], { broker });
    await publishMessage(broker, "hello.said", SayHelloRequestSchema, { name: "Ada" }, { user: "42", source: "front" });
    await until(() => seen.includes("outer:out"));
    expect(seen).toEqual(["outer:in", "inner:in", "handler", "inner:out", "outer:out"]);
    const request = requests[0]!;
    expect([request.kind, request.side, request.namespace, request.service, request.method]).toEqual(["event", "server", "micro", "listener", "hello.said"]);
    expect(request.metadata).toEqual({ user: "42", source: "front" });
    expect((request.message as SayHelloRequest).name).toBe("Ada");
    expect(request.deadline).toBeUndefined();
  });

  it("may change the message the handler gets", async () => {
    broker = createMemoryBroker();
    const handled: string[] = [];
    const upper: Interceptor = (next) => (request) => next({ ...request, message: { ...(request.message as SayHelloRequest), name: (request.message as SayHelloRequest).name.toUpperCase() } });
    const service = defineService(Greeter, {
      name: "shouty",
      interceptors: [upper],
      subscriptions: [onEvent("hello.>", SayHelloRequestSchema, (message) => void handled.push(message.name))],
    }, {});
    transport = createMemoryTransport([service], { broker });
    await publishMessage(broker, "hello.said", SayHelloRequestSchema, { name: "ada" });
    await until(() => handled.length === 1);
    expect(handled).toEqual(["ADA"]);
  });

  it("can reject an event: retried, then dead-lettered with the interceptor's error, as a handler error", async () => {
    broker = createMemoryBroker();
    const handled: string[] = [];
    const attempts: number[] = [];
    const onlyKnownUsers: Interceptor = (next) => async function onlyKnownUsers(request) {
      attempts.push(1);
      if (request.metadata.user !== "42") throw new MicroError("permission_denied", `user ${request.metadata.user ?? "(none)"} may not send events`);
      return await next(request);
    };
    const service = defineService(Greeter, {
      name: "guarded",
      interceptors: [onlyKnownUsers],
      subscriptions: [onEvent("hello.>", SayHelloRequestSchema, (message) => void handled.push(message.name), { maxDeliveries: 3 })],
    }, {});
    transport = createMemoryTransport([service], { broker });
    await publishMessage(broker, "hello.said", SayHelloRequestSchema, { name: "intruder" }, { user: "7", id: "bad" });
    await publishMessage(broker, "hello.said", SayHelloRequestSchema, { name: "friend" }, { user: "42" });
    await until(() => handled.includes("friend"));
    const letters = await eventually(async () => {
      const out: Array<{ id: string; error: string; deliveries: number }> = [];
      for await (const letter of broker.deadLetters("guarded")) out.push(letter);
      return out;
    }, (found) => found.length > 0, { timeoutMs: 10_000, what: "the rejected event in guarded's dead letters" });
    expect(letters.map((l) => [l.id, l.error, l.deliveries])).toEqual([["bad", "user 7 may not send events", 3]]);
    expect(handled).toEqual(["friend"]);
    expect(attempts).toHaveLength(4);
  });
});
