import { describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { Hello } from "../../../gen/hello/v1/hello_pb.ts";
import { defineService, defaultServiceName, isServiceDefinition } from "../../../runtime/mod.ts";

describe("defineService", () => {
  it("derives name, endpoints and defaults from the descriptor", () => {
    const definition = defineService(Greeter, {}, { sayHello: () => ({ message: "hi" }) });
    expect(isServiceDefinition(definition)).toBe(true);
    expect(definition.name).toBe("greeter");
    expect(definition.version).toBe("latest");
    expect(definition.type).toBe("srv");
    expect(definition.mailbox).toEqual({ capacity: 1000, concurrency: 100, streams: 50 });
    expect(definition.endpoints.map((e) => [e.name, e.fullName, e.handler !== undefined])).toEqual([
      ["Greeter.SayHello", "greeter.v1.Greeter/SayHello", true],
      ["Greeter.SayGoodbye", "greeter.v1.Greeter/SayGoodbye", false],
    ]);
  });

  it("turns proto service names into kebab-case service names", () => {
    expect(defaultServiceName({ name: "UserProfile" } as never)).toBe("user-profile");
    expect(defaultServiceName({ name: "HTTPGateway" } as never)).toBe("http-gateway");
  });

  it("refuses bad options with a message naming the problem", () => {
    expect(() => defineService(Greeter, { name: "my.service" }, {})).toThrow(/service name "my\.service" must be one NATS subject token/);
    expect(() => defineService(Greeter, { name: "a*" }, {})).toThrow(/service name/);
    expect(() => defineService(Greeter, { type: "rpc" as never }, {})).toThrow(/service type "rpc" must be srv, api or web/);
    expect(() => defineService(Greeter, { namespace: "acme.>" }, {})).toThrow(/namespace ">"/);
    expect(() => defineService(Greeter, { mailbox: { concurrency: 0 } }, {})).toThrow(/mailbox.concurrency must be an integer >= 1/);
    expect(() => defineService(Greeter, { observers: [(() => {}) as never] }, {})).toThrow(/each observer must be an object/);
    expect(() => defineService(Greeter, { observers: [{ failed: "log" } as never] }, {})).toThrow(/each observer must be an object/);
    expect(() => defineService(Greeter, { mailbox: { capacity: 1.5 } }, {})).toThrow(/mailbox.capacity/);
  });

  it("refuses handlers for methods the proto does not have", () => {
    expect(() => defineService(Greeter, {}, { sayHi: async () => ({}) } as never)).toThrow(
      /greeter\.v1\.Greeter has no method "sayHi" \(methods: sayHello, sayGoodbye\)/,
    );
    expect(() => defineService(Greeter, {}, { sayHello: "nope" } as never)).toThrow(/handler "sayHello" .* must be a function/);
  });

  it("takes an api service only when every method maps micro.api.v1.Request to Response", () => {
    expect(() => defineService(Greeter, { type: "api" }, {})).toThrow(
      "greeter.v1.Greeter/SayHello of an api service must take micro.api.v1.Request and return micro.api.v1.Response (got greeter.v1.SayHelloRequest -> greeter.v1.SayHelloResponse)",
    );
    const api = defineService(Hello, { type: "api" }, {});
    expect([api.type, api.endpoints.map((e) => e.name)]).toEqual(["api", ["Hello.Call", "Hello.Echo"]]);
  });
});
