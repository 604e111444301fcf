import { describe, expect, it } from "bun:test";
import { callJson, createMemoryTransport } from "../../../runtime/mod.ts";
import greeter from "../../../services/greeter.ts";
import { rejection } from "../../support/rpc.ts";

describe("callJson", () => {
  const transport = createMemoryTransport([greeter]);
  const call = { namespace: "micro", service: "greeter", request: { name: "Ada" } };

  it("calls an endpoint named go-micro style or by its proto full name", async () => {
    expect(await callJson(transport, { ...call, endpoint: "Greeter.SayHello" })).toEqual({ message: "Hello Ada" });
    expect(await callJson(transport, { ...call, endpoint: "greeter.v1.Greeter/SayHello" })).toEqual({ message: "Hello Ada" });
  });

  it("refuses endpoint names that are neither, before anything is sent", async () => {
    for (const endpoint of ["SayHello", "Greeter.Say.Hello", "Greeter.>", "greeter.v1.Greeter/Say Hello"]) {
      expect((await rejection(callJson(transport, { ...call, endpoint }))).code).toBe("invalid_argument");
    }
  });
});
