import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import {
  type CallRequest,
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
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";

/** Answers with the metadata it got, so a test sees what the client's interceptors sent. */
const echo = defineService(Greeter, { name: "echo-meta" }, {
  sayHello: (request, ctx) => ({ message: `${request.name}: ${JSON.stringify(ctx.metadata)}` }),
});

/** Calls echo-meta from its handler; its handlers' clients add the hop they came through. */
const hop: Interceptor = (next) => (request) => {
  request.metadata.hop = "front";
  return next(request);
};
const nestedSeen: CallRequest[] = [];
const front = defineService(Greeter, { name: "front", clientInterceptors: [hop] }, {
  async sayHello(request, ctx) {
    const watch: Interceptor = (next) => (call) => {
      nestedSeen.push(call);
      return next(call);
    };
    return await ctx.client(Greeter, { service: "echo-meta", interceptors: [watch] }).sayHello(request);
  },
});

const counter = defineService(Counter, { name: "echo-counter" }, {
  async *count(request, ctx) {
    for (let n = 1; n <= request.to; n++) yield { n, payload: new TextEncoder().encode(ctx.metadata.token ?? "") };
  },
});

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];
const memory = createMemoryTransport([echo, front, counter]);

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  const options = { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined };
  for (const definition of [echo, front, counter]) instances.push(await startService(definition, options));
});
afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await memory.close();
  await conn.close();
  await nats.stop();
});

/** Adds a bearer token as metadata, as an auth interceptor would. */
const auth: Interceptor = (next) => (request) => {
  request.metadata.token = "t0k3n";
  return next(request);
};

function tag(seen: string[], name: string): Interceptor {
  return (next) => async (request) => {
    seen.push(`>${name} ${request.kind} ${request.side} ${request.service}/${request.method}`);
    const response = await next(request);
    seen.push(`<${name}`);
    return response;
  };
}

const transports: Array<[string, () => Transport]> = [["over NATS", () => conn.transport], ["on the memory transport", () => memory]];

describe.each(transports)("client interceptors %s", (_name, transport) => {
  it("run around each call in the order given, the first one outermost", async () => {
    const seen: string[] = [];
    const client = createClient(Greeter, transport(), { service: "echo-meta", interceptors: [tag(seen, "x"), tag(seen, "y")] });
    await client.sayHello({ name: "ada" });
    expect(seen).toEqual([">x unary client echo-meta/Greeter.SayHello", ">y unary client echo-meta/Greeter.SayHello", "<y", "<x"]);
  });

  it("send metadata an interceptor added, with the call's own", async () => {
    const client = createClient(Greeter, transport(), { service: "echo-meta", interceptors: [auth], metadata: { app: "tests" } });
    const reply = await client.sayHello({ name: "ada" }, { metadata: { user: "ann" } });
    expect(JSON.parse(reply.message.slice("ada: ".length))).toEqual({ app: "tests", user: "ann", token: "t0k3n" });
  });

  it("may change the request and the response", async () => {
    const rename: Interceptor = (next) => async (request) => {
      const response = await next({ ...request, message: { name: "bo" } });
      return { message: { ...(response.message as object), message: `${(response.message as { message: string }).message}!` } };
    };
    const client = createClient(Greeter, transport(), { service: "echo-meta", interceptors: [rename] });
    expect((await client.sayHello({ name: "ada" })).message).toBe("bo: {}!");
  });

  it("may refuse a call without sending it; the caller gets a MicroError", async () => {
    let sent = false;
    const refuse: Interceptor = () => () => Promise.reject(new MicroError("permission_denied", "no token for this call"));
    const bug: Interceptor = () => () => {
      throw new TypeError("interceptor bug");
    };
    const spy: Interceptor = (next) => (request) => {
      sent = true;
      return next(request);
    };
    const refused = await rejection(createClient(Greeter, transport(), { service: "echo-meta", interceptors: [refuse, spy] }).sayHello({ name: "ada" }));
    expect([refused.code, refused.message, sent]).toEqual(["permission_denied", "no token for this call", false]);
    const broken = await rejection(createClient(Greeter, transport(), { service: "echo-meta", interceptors: [bug] }).sayHello({ name: "ada" }));
    expect(broken).toBeInstanceOf(MicroError);
    expect([broken.code, broken.message]).toEqual(["internal", "interceptor bug"]);
  });

  it("run around stream opens, adding metadata and seeing the responses", async () => {
    const seen: string[] = [];
    const decoder = new TextDecoder();
    let counted = 0;
    const countResponses: Interceptor = (next) => async (request) => {
      const response = await next(request);
      async function* counting(source: AsyncIterable<unknown>) {
        for await (const item of source) {
          counted++;
          yield item;
        }
      }
      return { message: counting(response.message as AsyncIterable<unknown>) };
    };
    const client = createClient(Counter, transport(), { service: "echo-counter", interceptors: [tag(seen, "s"), auth, countResponses] });
    const tokens: string[] = [];
    for await (const item of client.count({ to: 2 })) tokens.push(decoder.decode(item.payload));
    expect(tokens).toEqual(["t0k3n", "t0k3n"]);
    expect(counted).toBe(2);
    expect(seen).toEqual([">s stream client echo-counter/Counter.Count", "<s"]);
  });

  it("of a service wrap its handlers' nested calls, which keep the caller's metadata and deadline", async () => {
    nestedSeen.length = 0;
    const client = createClient(Greeter, transport(), { service: "front" });
    const deadline = Date.now() + 5000;
    const reply = await client.sayHello({ name: "ada" }, { metadata: { user: "ann" }, deadline });
    expect(JSON.parse(reply.message.slice("ada: ".length))).toEqual({ user: "ann", hop: "front" });
    expect(nestedSeen).toHaveLength(1);
    expect(nestedSeen[0]!.side).toBe("client");
    // The deadline crosses the wire as whole ms left, so the server's copy may be a ms or two
    // later; without propagation it would be the client default, 10 s away.
    expect(nestedSeen[0]!.deadline).toBeLessThanOrEqual(deadline + 5);
  });
});
