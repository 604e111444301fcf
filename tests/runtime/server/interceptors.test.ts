import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import {
  createClient,
  createMemoryTransport,
  defineService,
  type Interceptor,
  MicroError,
  type ServiceInstance,
  startService,
  type Transport,
} from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { servicesApiSubject } from "../../../runtime/protocol/mod.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";

/** What the server interceptors saw, in order: `>name kind side method` on the way in, `<name` on the way out. */
const seen: string[] = [];

function tag(name: string): Interceptor {
  return (next) => async (request) => {
    seen.push(`>${name} ${request.kind} ${request.side} ${request.method}`);
    const response = await next(request);
    seen.push(`<${name}`);
    return response;
  };
}

/** Refuses calls from the user "mallory", before any handler runs. */
const guard: Interceptor = (next) => async (request) => {
  if (request.metadata.user === "mallory") throw new MicroError("permission_denied", "mallory may not call this service");
  return next(request);
};

/** Passes on a copy with more metadata, as an auth interceptor that resolved the caller's role would. */
const role: Interceptor = (next) => (request) => next({ ...request, metadata: { ...request.metadata, role: request.metadata.user === "ann" ? "admin" : "guest" } });

/** Changes responses: greetings in capitals, counts ten times larger. */
const louder: Interceptor = (next) => async (request) => {
  const response = await next(request);
  const message = response.message as Record<string, unknown>;
  if (request.kind === "unary") return { message: { message: String(message.message).toUpperCase() } };
  if (request.method !== "Counter.Count") return response;
  async function* tenfold(source: AsyncIterable<{ n: number }>) {
    for await (const item of source) yield { n: item.n * 10 };
  }
  return { message: tenfold(response.message as AsyncIterable<{ n: number }>) };
};

const greeter = defineService(Greeter, { name: "guarded", interceptors: [tag("a"), tag("b"), guard, role, louder] }, {
  sayHello: (request, ctx) => ({ message: `hello ${request.name} from ${ctx.metadata.user ?? "anonymous"} as ${ctx.metadata.role}` }),
});

const counter = defineService(Counter, { name: "guarded-counter", interceptors: [tag("a"), guard, role, louder] }, {
  async *count(request, ctx) {
    for (let n = 1; n <= request.to; n++) yield { n, payload: new Uint8Array(0) };
    if (ctx.metadata.role !== "admin") throw new MicroError("permission_denied", "only admins count to the end");
  },
  async sum(requests, ctx) {
    let sum = 0;
    let count = 0;
    for await (const { value } of requests) {
      sum += value;
      count++;
    }
    // The role the interceptor added reaches the handler of a stream too.
    return { sum: ctx.metadata.role === "admin" ? sum : -1, count };
  },
});

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];
const memory = createMemoryTransport([greeter, counter]);

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  const options = { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined };
  instances.push(await startService(greeter, options), await startService(counter, options));
});
afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await memory.close();
  await conn.close();
  await nats.stop();
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const transports: Array<[string, () => Transport]> = [["over NATS", () => conn.transport], ["on the memory transport", () => memory]];

describe.each(transports)("server interceptors %s", (_name, transport) => {
  it("run around unary handlers in the order given, the first one outermost", async () => {
    seen.length = 0;
    const client = createClient(Greeter, transport(), { service: "guarded" });
    await client.sayHello({ name: "ada" }, { metadata: { user: "ann" } });
    expect(seen).toEqual([
      ">a unary server Greeter.SayHello",
      ">b unary server Greeter.SayHello",
      "<b",
      "<a",
    ]);
  });

  it("let the handler see metadata an interceptor added, and change its response", async () => {
    const client = createClient(Greeter, transport(), { service: "guarded" });
    expect((await client.sayHello({ name: "ada" }, { metadata: { user: "ann" } })).message).toBe("HELLO ADA FROM ANN AS ADMIN");
    expect((await client.sayHello({ name: "bo" })).message).toBe("HELLO BO FROM ANONYMOUS AS GUEST");
  });

  it("reject a call with the interceptor's code before the handler runs", async () => {
    const client = createClient(Greeter, transport(), { service: "guarded" });
    const refused = await rejection(client.sayHello({ name: "ada" }, { metadata: { user: "mallory" } }));
    expect([refused.code, refused.message]).toEqual(["permission_denied", "mallory may not call this service"]);
  });

  it("run around stream opens, and may change the stream's messages", async () => {
    seen.length = 0;
    const client = createClient(Counter, transport(), { service: "guarded-counter" });
    const counted = await collect(client.count({ to: 3 }, { metadata: { user: "ann" } }));
    expect(counted.map((r) => r.n)).toEqual([10, 20, 30]);
    expect(seen).toEqual([">a stream server Counter.Count", "<a"]);
    const summed = await client.sum(from([{ value: 1 }, { value: 2 }]), { metadata: { user: "ann" } });
    expect([summed.sum, summed.count]).toEqual([3, 2]);
    expect((await client.sum(from([{ value: 1 }]))).sum).toBe(-1);
  });

  it("refuse a stream with the interceptor's code", async () => {
    const client = createClient(Counter, transport(), { service: "guarded-counter" });
    const refused = await rejection(collect(client.count({ to: 3 }, { metadata: { user: "mallory" } })));
    expect([refused.code, refused.message]).toEqual(["permission_denied", "mallory may not call this service"]);
    const summed = await rejection(client.sum(from([{ value: 1 }]), { metadata: { user: "mallory" } }));
    expect(summed.code).toBe("permission_denied");
  });
});

describe("server stats with interceptors", () => {
  it("count calls refused by an interceptor as requests and errors, in the instance and in $SRV.STATS", async () => {
    const instance = instances[0]!;
    const before = instance.stats().endpoints["Greeter.SayHello"]!;
    const client = createClient(Greeter, conn.transport, { service: "guarded" });
    await client.sayHello({ name: "ada" }, { metadata: { user: "ann" } });
    await rejection(client.sayHello({ name: "ada" }, { metadata: { user: "mallory" } }));
    const after = instance.stats().endpoints["Greeter.SayHello"]!;
    expect([after.requests - before.requests, after.errors - before.errors]).toEqual([2, 1]);
    expect(after.lastError).toBe("permission_denied: mallory may not call this service");

    const reply = await conn.nc.request(servicesApiSubject("STATS", "guarded", instance.nodeId), undefined, { timeout: 5000 });
    const endpoint = reply.json<{ endpoints: Array<{ name: string; num_requests: number; num_errors: number; last_error: string; processing_time: number }> }>()
      .endpoints.find((e) => e.name === "Greeter.SayHello")!;
    expect([endpoint.num_requests, endpoint.num_errors, endpoint.last_error]).toEqual([after.requests, after.errors, after.lastError]);
    expect(endpoint.processing_time).toBeGreaterThan(0);
  });
});
