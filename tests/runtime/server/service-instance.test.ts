import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { headers } from "@nats-io/nats-core";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, defineService, MicroError, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import greeter from "../../../services/greeter.ts";
import { startTestNats } from "../../support/nats.ts";
import { gate, openTestConnection, rejection } from "../../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let instance: ServiceInstance;
const handlerErrors: unknown[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
});

afterAll(async () => {
  await instance.stop();
  await conn.close();
  await nats.stop();
});

describe("calling a service", () => {
  it("answers a typed client", async () => {
    const client = createClient(Greeter, conn.transport);
    const reply = await client.sayHello({ name: "Ada" });
    expect(reply.message).toBe("Hello Ada");
    expect(instance.stats().requests).toBeGreaterThan(0);
  });

  it("answers plain JSON from any NATS client on the documented subject", async () => {
    const reply = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", '{"name":"Ada"}');
    expect(reply.headers).toBeUndefined();
    expect(reply.json()).toEqual({ message: "Hello Ada" });
    const full = await conn.nc.request("micro.srv.greeter.greeter.v1.Greeter/SayHello", '{"name":"Bo"}');
    expect(full.json()).toEqual({ message: "Hello Bo" });
  });

  it("reaches one node on its node subject", async () => {
    const client = createClient(Greeter, conn.transport);
    expect((await client.sayHello({ name: "N" }, { node: instance.nodeId })).message).toBe("Hello N");
    const missing = await rejection(client.sayHello({ name: "N" }, { node: "greeter-gone" }));
    expect(missing.code).toBe("unavailable");
  });

  it("answers unimplemented for a method the module left out", async () => {
    const client = createClient(Greeter, conn.transport);
    const error = await rejection(client.sayGoodbye({ name: "Ada" }));
    expect(error).toBeInstanceOf(MicroError);
    expect(error.code).toBe("unimplemented");
    expect(error.message).toContain("Greeter.SayGoodbye is not implemented by greeter 1.0.0");
    expect(error.serviceId).toBe(instance.nodeId);
  });

  it("answers unimplemented, listing the endpoints, for an unknown endpoint", async () => {
    const reply = await conn.nc.request("micro.srv.greeter.Greeter.Nope", "{}");
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("501");
    expect(reply.headers?.get("Micro-Error-Code")).toBe("unimplemented");
    expect(reply.headers?.get("Nats-Service-Error")).toContain("Greeter.SayHello, Greeter.SayGoodbye");
  });

  it("carries handler errors with their code in NATS service headers", async () => {
    const reply = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", '{"name":" "}');
    expect(reply.headers?.get("Nats-Service-Error")).toBe("name must not be empty");
    expect(reply.headers?.get("Nats-Service-Error-Code")).toBe("400");
    expect(reply.json()).toMatchObject({ code: "invalid_argument", detail: "name", serviceId: instance.nodeId });
  });

  it("answers invalid_argument naming what failed to decode", async () => {
    const reply = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", '{"nam":"Ada"}');
    expect(reply.headers?.get("Micro-Error-Code")).toBe("invalid_argument");
    expect(reply.headers?.get("Nats-Service-Error")).toMatch(/greeter\.v1\.SayHelloRequest.*"nam"/);
    const h = headers();
    h.set("Content-Type", "text/plain");
    const wrongType = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", "hi", { headers: h, timeout: 2000 });
    expect(wrongType.headers?.get("Nats-Service-Error")).toContain('unsupported content type "text/plain"');
    const badTimeout = headers();
    badTimeout.set("Micro-Timeout", "soon");
    const late = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", "{}", { headers: badTimeout, timeout: 2000 });
    expect(late.headers?.get("Nats-Service-Error")).toContain("Micro-Timeout");
  });

  it("refuses timeouts timers cannot wait for, and caps what raw callers ask", async () => {
    const client = createClient(Greeter, conn.transport);
    for (const timeoutMs of [Infinity, 30 * 24 * 3600 * 1000, -1]) {
      const error = await rejection(client.sayHello({ name: "x" }, { timeoutMs }));
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toContain("timeoutMs must be a number of ms above 0 and at most 2147483647");
    }
    expect(() => defineService(Greeter, { defaultTimeoutMs: 30 * 24 * 3600 * 1000 }, {})).toThrow(/defaultTimeoutMs must be an integer >= 1 and <= 2147483647/);
    const h = headers();
    h.set("Micro-Timeout", "3000000000");
    const reply = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", '{"name":"Ada"}', { headers: h, timeout: 2000 });
    expect(reply.json()).toEqual({ message: "Hello Ada" });
    const zero = headers();
    zero.set("Micro-Timeout", "0");
    const late = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", "{}", { headers: zero, timeout: 2000 });
    expect(late.headers?.get("Nats-Service-Error")).toContain("arrived with no time left");
  });

  it("reads header names in any case, as other NATS clients may send them", async () => {
    const h = headers();
    h.set("content-type", "application/json");
    const reply = await conn.nc.request("micro.srv.greeter.Greeter.SayHello", '{"name":"Lower"}', { headers: h, timeout: 2000 });
    expect(reply.json()).toEqual({ message: "Hello Lower" });
  });

  it("refuses a bad request on the client before sending it", async () => {
    const client = createClient(Greeter, conn.transport);
    const wrongType = await rejection(client.sayHello({ name: 42 as unknown as string }));
    expect([wrongType.code, wrongType.message]).toEqual(["invalid_argument", "invalid greeter.v1.SayHelloRequest: name must be a string, got 42"]);
    const typo = await rejection(client.sayHello({ nam: "Ada" } as never));
    expect(typo.message).toContain("nam is not a field of greeter.v1.SayHelloRequest (fields: name)");
    const notObject = await rejection(client.sayHello("Ada" as never));
    expect(notObject.code).toBe("invalid_argument");
    expect(notObject.message).toContain("request for greeter.v1.SayHelloRequest must be an object");
    const badMeta = await rejection(client.sayHello({ name: "x" }, { metadata: { "bad key": "v" } }));
    expect(badMeta.code).toBe("invalid_argument");
    expect(badMeta.message).toContain('metadata key "bad key"');
  });

  it("fails fast with unavailable when nobody serves the service", async () => {
    const client = createClient(Greeter, conn.transport, { service: "nobody" });
    const began = Date.now();
    const error = await rejection(client.sayHello({ name: "x" }, { timeoutMs: 5000 }));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("micro.srv.nobody.Greeter.SayHello");
    expect(Date.now() - began).toBeLessThan(1000);
  });
});

describe("handlers that fail or hang", () => {
  let service: ServiceInstance;
  const release = gate();
  const aborts: string[] = [];

  beforeAll(async () => {
    const definition = defineService(Greeter, { name: "moody", mailbox: { capacity: 1, concurrency: 1 } }, {
      async sayHello(request, ctx) {
        if (request.name === "throw") throw new TypeError("cannot read properties of undefined");
        if (request.name === "huge-error") throw new Error("e".repeat(1_100_000));
        if (request.name === "big") return { message: "x".repeat(2_000_000) };
        if (request.name === "wait") await release.opened;
        if (request.name === "signal") {
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          aborts.push((ctx.signal.reason as Error).name);
          throw ctx.signal.reason;
        }
        return { message: `ok ${request.name}` };
      },
    });
    service = await startService(definition, {
      connection: conn.nc,
      transport: conn.transport,
      onHandlerError: (error) => handlerErrors.push(error),
    });
  });

  afterAll(() => service.stop());

  it("gives the caller internal with the message and no stack trace", async () => {
    const client = createClient(Greeter, conn.transport, { service: "moody" });
    const error = await rejection(client.sayHello({ name: "throw" }));
    expect(error.code).toBe("internal");
    expect(error.message).toBe("cannot read properties of undefined");
    expect(handlerErrors.at(-1)).toBeInstanceOf(TypeError);
    const raw = await conn.nc.request("micro.srv.moody.Greeter.SayHello", '{"name":"throw"}');
    expect(raw.string()).not.toContain("at ");
    expect(raw.string()).not.toContain(".ts");
  });

  it("survives errors and replies larger than a NATS message, answering with a clear error", async () => {
    const client = createClient(Greeter, conn.transport, { service: "moody" });
    const huge = await rejection(client.sayHello({ name: "huge-error" }, { timeoutMs: 2000 }));
    expect(huge.code).toBe("internal");
    expect(huge.message.length).toBeLessThanOrEqual(1024);
    expect(huge.message).toEndWith("(truncated)");
    const began = Date.now();
    const big = await rejection(client.sayHello({ name: "big" }, { timeoutMs: 5000 }));
    expect(big.code).toBe("resource_exhausted");
    expect(big.message).toMatch(/reply of Greeter.SayHello is \d+ bytes, over the NATS max payload of \d+/);
    expect(Date.now() - began).toBeLessThan(2000);
    // Stats (which carry the last error) still answer, and so does the service.
    const [stats] = await Array.fromAsync(await conn.nc.requestMany("$SRV.STATS.moody", "", { maxWait: 300 }));
    expect(stats!.json<{ endpoints: Array<{ last_error: string }> }>().endpoints[0]!.last_error.length).toBeLessThanOrEqual(1024);
    expect((await client.sayHello({ name: "fine" })).message).toBe("ok fine");
    const tooBig = await rejection(client.sayHello({ name: "y".repeat(2_000_000) }));
    expect(tooBig.code).toBe("invalid_argument");
    expect(tooBig.message).toContain("over the NATS max payload");
  });

  it("rejects with resource_exhausted at once when the mailbox is full, and serves the accepted calls", async () => {
    const client = createClient(Greeter, conn.transport, { service: "moody" });
    const running = client.sayHello({ name: "wait" }); // takes the only slot
    const queued = client.sayHello({ name: "queued" }); // fills the mailbox
    await Bun.sleep(50);
    const refused = await rejection(client.sayHello({ name: "refused" }));
    expect(refused.code).toBe("resource_exhausted");
    expect(refused.message).toContain("mailbox of moody is full");
    expect(service.stats().mailboxDepth).toBe(1);
    release.open();
    expect((await running).message).toBe("ok wait");
    expect((await queued).message).toBe("ok queued");
  });

  it("times out on the client at the deadline and aborts the handler's signal at its own", async () => {
    const client = createClient(Greeter, conn.transport, { service: "moody" });
    const began = Date.now();
    const error = await rejection(client.sayHello({ name: "signal" }, { timeoutMs: 200 }));
    const waited = Date.now() - began;
    expect(error.code).toBe("deadline_exceeded");
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(2000);
    await Bun.sleep(50);
    expect(aborts).toEqual(["TimeoutError"]); // the handler saw its own deadline pass
    expect(service.stats().running).toBe(0);
  });

  it("cancels a call when the caller aborts", async () => {
    const client = createClient(Greeter, conn.transport, { service: "moody" });
    const controller = new AbortController();
    const pending = client.sayHello({ name: "signal" }, { signal: controller.signal, timeoutMs: 300 });
    setTimeout(() => controller.abort(), 30);
    const error = await rejection(pending);
    expect(error.code).toBe("canceled");
    const already = await rejection(client.sayHello({ name: "x" }, { signal: AbortSignal.abort() }));
    expect(already.code).toBe("canceled");
    await Bun.sleep(350); // let the handler's own deadline free the slot
  });
});

describe("nested calls", () => {
  let relay: ServiceInstance;
  let echoInstance: ServiceInstance;

  beforeAll(async () => {
    const definition = defineService(Greeter, { name: "relay" }, {
      async sayHello(request, ctx) {
        const inner = ctx.client(Greeter, { service: request.name === "self" ? "relay" : "echo-meta" });
        const reply = await inner.sayHello({ name: request.name === "self" ? "stop" : request.name });
        return { message: `relay(${reply.message})` };
      },
    });
    const echo = defineService(Greeter, { name: "echo-meta" }, {
      sayHello: (request, ctx) => ({
        message: `${request.name} user=${ctx.metadata.user} left=${ctx.deadline - Date.now() <= 1000 ? "<=1s" : ">1s"}`,
      }),
    });
    relay = await startService(definition, { connection: conn.nc, transport: conn.transport });
    echoInstance = await startService(echo, { connection: conn.nc, transport: conn.transport });
  });

  afterAll(async () => {
    await relay.stop();
    await echoInstance.stop();
  });

  it("still work when a raw caller sent metadata keys jetmicro would not send", async () => {
    const h = headers();
    h.set("Micro-Meta-user.id", "42");
    h.set("Micro-Meta-user", "7");
    const reply = await conn.nc.request("micro.srv.relay.Greeter.SayHello", '{"name":"z"}', { headers: h, timeout: 2000 });
    expect(reply.json<{ message: string }>().message).toStartWith("relay(z user=7");
  });

  it("propagate the caller's metadata and deadline to the next service", async () => {
    const client = createClient(Greeter, conn.transport, { service: "relay" });
    const reply = await client.sayHello({ name: "x" }, { metadata: { user: "42" }, timeoutMs: 1000 });
    expect(reply.message).toBe("relay(x user=42 left=<=1s)");
    const roomy = await client.sayHello({ name: "y" }, { metadata: { user: "7" }, timeoutMs: 5000 });
    expect(roomy.message).toBe("relay(y user=7 left=>1s)");
  });
});

describe("stopping", () => {
  it("drains: a call in flight finishes and gets its reply, new calls find nobody", async () => {
    const slow = gate();
    const definition = defineService(Greeter, { name: "draining" }, {
      async sayHello(request) {
        await slow.opened;
        return { message: `done ${request.name}` };
      },
    });
    const service = await startService(definition, { connection: conn.nc, transport: conn.transport });
    const client = createClient(Greeter, conn.transport, { service: "draining" });
    const inFlight = client.sayHello({ name: "in-flight" });
    await Bun.sleep(50);
    const stopped = service.stop();
    setTimeout(slow.open, 100);
    expect((await inFlight).message).toBe("done in-flight");
    await stopped;
    expect((await rejection(client.sayHello({ name: "late" }))).code).toBe("unavailable");
  });

  it("ends within the grace when handlers ignore their signal, and never starts queued calls", async () => {
    let started = 0;
    const definition = defineService(Greeter, { name: "deaf", mailbox: { concurrency: 1, capacity: 10 } }, {
      async sayHello() {
        started++;
        await Bun.sleep(1500);
        return { message: "too late" };
      },
    });
    const service = await startService(definition, { connection: conn.nc, transport: conn.transport, drainTimeoutMs: 200 });
    const client = createClient(Greeter, conn.transport, { service: "deaf" });
    const calls = [1, 2, 3].map(() => client.sayHello({ name: "x" }, { timeoutMs: 5000 }).catch((e) => e as MicroError));
    await Bun.sleep(50);
    const began = Date.now();
    await service.stop();
    expect(Date.now() - began).toBeLessThan(1500);
    expect(started).toBe(1);
    const queued = await Promise.all(calls.slice(1));
    expect(queued.map((e) => (e as MicroError).code)).toEqual(["unavailable", "unavailable"]);
    await calls[0];
  });

  it("aborts handlers that outlive the drain grace, and still replies", async () => {
    const definition = defineService(Greeter, { name: "stuck" }, {
      async sayHello(_request, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        throw ctx.signal.reason;
      },
    });
    const service = await startService(definition, { connection: conn.nc, transport: conn.transport, drainTimeoutMs: 100 });
    const client = createClient(Greeter, conn.transport, { service: "stuck" });
    const pending = client.sayHello({ name: "x" }, { timeoutMs: 5000 });
    await Bun.sleep(50);
    await service.stop();
    const error = await rejection(pending);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("stuck stopped before the call finished");
  });
});
