import { describe, expect, it } from "bun:test";
import { callSubject, nodeAliveFilter, nodeAliveSubject, nodeIdOfAliveSubject, nodeSubject } from "../../../runtime/protocol/mod.ts";

describe("node subjects", () => {
  it("put the service in a token of its own, so permissions can name one service's nodes", () => {
    expect(nodeSubject("micro", "greeter", "greeter-abc")).toBe("micro.node.greeter.greeter-abc");
    expect(callSubject({ namespace: "micro", service: "greeter", endpoint: "Greeter.SayHello", node: "greeter-abc" })).toBe("micro.node.greeter.greeter-abc.Greeter.SayHello");
    expect(nodeAliveSubject("micro", "greeter", "greeter-abc")).toBe("micro.alive.greeter.greeter-abc");
  });

  it("read the node id back from a heartbeat heard on the namespace's filter", () => {
    expect(nodeAliveFilter("acme.prod")).toBe("acme.prod.alive.*.*");
    expect(nodeIdOfAliveSubject("acme.prod", nodeAliveSubject("acme.prod", "billing", "billing-x1"))).toBe("billing-x1");
    expect(nodeIdOfAliveSubject("micro", "micro.alive.greeter")).toBeUndefined();
    // A heartbeat names a node of its own service only.
    expect(nodeIdOfAliveSubject("micro", "micro.alive.orders.greeter-x1")).toBeUndefined();
    expect(nodeIdOfAliveSubject("micro", "micro.alive.greeter.greeter")).toBeUndefined();
    expect(nodeIdOfAliveSubject("micro", "micro.alive.greeter.greeter-")).toBeUndefined();
    expect(nodeIdOfAliveSubject("micro", "micro.alive.greet.greeter-x1")).toBeUndefined();
    // A node id names one service: a-b-x1 is a node of a-b, so a cannot keep it alive.
    expect(nodeIdOfAliveSubject("micro", "micro.alive.a.a-b-x1")).toBeUndefined();
    expect(nodeIdOfAliveSubject("micro", "micro.alive.a-b.a-b-x1")).toBe("a-b-x1");
  });

  it("refuse a node that is not one token", () => {
    expect(() => callSubject({ namespace: "micro", service: "greeter", endpoint: "Greeter.SayHello", node: "a.>" })).toThrow(/node/);
  });
});
