import { describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, createMemoryTransport, defineService } from "../../../runtime/mod.ts";
import greeter from "../../../services/greeter.ts";
import { rejection } from "../../support/rpc.ts";

describe("memory transport (testing handlers without NATS)", () => {
  it("calls a service module's handlers through the typed client", async () => {
    const client = createClient(Greeter, createMemoryTransport([greeter]));
    expect((await client.sayHello({ name: "Ada" })).message).toBe("Hello Ada");
    const empty = await rejection(client.sayHello({ name: "" }));
    expect(empty.code).toBe("invalid_argument");
    expect((await rejection(client.sayGoodbye({ name: "Ada" }))).code).toBe("unimplemented");
  });

  it("reports unknown services, deadlines and thrown errors as over NATS", async () => {
    const seen: unknown[] = [];
    const slow = defineService(Greeter, { name: "slow" }, {
      async sayHello(request, ctx) {
        if (request.name === "boom") throw new RangeError("index out of range");
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        return { message: "late" };
      },
    });
    const transport = createMemoryTransport([slow], { onHandlerError: (e) => seen.push(e) });
    expect((await rejection(createClient(Greeter, transport).sayHello({ name: "x" }))).code).toBe("unavailable");
    const client = createClient(Greeter, transport, { service: "slow" });
    expect((await rejection(client.sayHello({ name: "x" }, { timeoutMs: 50 }))).code).toBe("deadline_exceeded");
    const boom = await rejection(client.sayHello({ name: "boom" }));
    expect([boom.code, boom.message]).toEqual(["internal", "index out of range"]);
    expect(seen[0]).toBeInstanceOf(RangeError);
  });

  it("propagates metadata to nested calls", async () => {
    const front = defineService(Greeter, { name: "front" }, {
      async sayHello(request, ctx) {
        return { message: `front/${(await ctx.client(Greeter, { service: "back" }).sayHello(request)).message}` };
      },
    });
    const back = defineService(Greeter, { name: "back" }, { sayHello: (_r, ctx) => ({ message: `user ${ctx.metadata.user}` }) });
    const client = createClient(Greeter, createMemoryTransport([front, back]), { service: "front" });
    expect((await client.sayHello({ name: "x" }, { metadata: { user: "42" } })).message).toBe("front/user 42");
  });
});
