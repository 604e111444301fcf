import { describe, expect, it } from "bun:test";
import type { Service } from "../../../runtime/registry/types.ts";
import { createSelector } from "../../../runtime/selector/mod.ts";

function service(version: string, nodes: Array<[string, Record<string, string>?]>): Service {
  return {
    namespace: "micro",
    type: "srv",
    name: "greeter",
    version,
    metadata: { tier: "web" },
    endpoints: [],
    nodes: nodes.map(([id, metadata]) => ({ id, address: `micro.node.${id}`, metadata: metadata ?? {} })),
  };
}

const services = [service("1.0.0", [["a1", { zone: "a" }], ["a2", { zone: "b" }]]), service("2.0.0", [["b1", { zone: "a" }]])];

function counts(run: () => string | undefined, times: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < times; i++) {
    const id = run() ?? "none";
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

describe("selector", () => {
  it("round robin really cycles across calls", () => {
    const selector = createSelector({ strategy: "round_robin" });
    const order = Array.from({ length: 6 }, () => selector.select(services)?.node.id);
    expect(order).toEqual(["a1", "a2", "b1", "a1", "a2", "b1"]);
  });

  it("follows each new registry snapshot at once, in node-id order whatever the registry order", () => {
    const selector = createSelector({ strategy: "round_robin" });
    const shuffled = [service("1.0.0", [["c3"], ["c1"]]), service("2.0.0", [["c2"]])];
    expect(Array.from({ length: 3 }, () => selector.select(shuffled)?.node.id)).toEqual(["c1", "c2", "c3"]);
    // The registry changed: a node left and one joined (a new snapshot, as discovery makes).
    const next = [service("1.0.0", [["c1"], ["c4"]]), service("2.0.0", [["c2"]])];
    const seen = new Set(Array.from({ length: 6 }, () => selector.select(next)?.node.id));
    expect([...seen].sort()).toEqual(["c1", "c2", "c4"]);
    // The older snapshot still answers with its own nodes.
    expect(new Set(Array.from({ length: 3 }, () => selector.select(shuffled)?.node.id))).toEqual(new Set(["c1", "c2", "c3"]));
  });

  it("random spreads calls over every node", () => {
    const selector = createSelector();
    const seen = counts(() => selector.select(services)?.node.id, 3000);
    for (const id of ["a1", "a2", "b1"]) expect(seen[id]!).toBeGreaterThan(800);
  });

  it("filters by version and by labels from node and service metadata", () => {
    const selector = createSelector({ strategy: "round_robin" });
    expect(counts(() => selector.select(services, { version: "1.0.0" })?.node.id, 4)).toEqual({ a1: 2, a2: 2 });
    expect(counts(() => selector.select(services, { labels: { zone: "a" } })?.node.id, 4)).toEqual({ a1: 2, b1: 2 });
    expect(selector.select(services, { labels: { tier: "web", zone: "b" } })?.node.id).toBe("a2");
    expect(selector.select(services, { labels: { zone: "c" } })).toBeUndefined();
    expect(selector.select(services, { version: "3.0.0" })).toBeUndefined();
  });

  it("splits traffic by version weights within a few percent", () => {
    const selector = createSelector();
    const seen = counts(() => selector.select(services, { weights: { "1.0.0": 90, "2.0.0": 10 } })?.version, 1000);
    expect(Math.abs(seen["1.0.0"]! - 900)).toBeLessThan(40);
    expect(counts(() => selector.select(services, { weights: { "1.0.0": 0, "2.0.0": 100 } })?.version, 200)).toEqual({ "2.0.0": 200 });
    // A retry that already tried the canary's only node goes to the other version.
    for (let i = 0; i < 200; i++) {
      expect(selector.select(services, { weights: { "1.0.0": 90, "2.0.0": 10 }, exclude: new Set(["micro.greeter.b1"]) })?.version).toBe("1.0.0");
    }
    // Weights naming no running version never make the service unreachable.
    expect(selector.select(services, { weights: { "9.9.9": 100 } })).toBeDefined();
  });

  it("sends the same key to the same node while the node set is stable, and moves only a lost node's keys", () => {
    const selector = createSelector();
    const keys = Array.from({ length: 200 }, (_, i) => `cart-${i}`);
    const before = new Map(keys.map((k) => [k, selector.select(services, { key: k })!.node.id]));
    for (const k of keys) expect(selector.select(services, { key: k })!.node.id).toBe(before.get(k)!);
    expect(new Set(before.values()).size).toBe(3);
    const withoutA2 = [service("1.0.0", [["a1", { zone: "a" }]]), services[1]!];
    for (const k of keys) {
      if (before.get(k) !== "a2") expect(selector.select(withoutA2, { key: k })!.node.id).toBe(before.get(k)!);
    }
  });

  it("avoids a failed node for the cool-down, unless nothing else is left", () => {
    let clock = 0;
    const selector = createSelector({ strategy: "round_robin", cooldownMs: 1000, now: () => clock });
    selector.report("micro.greeter.a1", { ok: false });
    expect(counts(() => selector.select(services)?.node.id, 4)).toEqual({ a2: 2, b1: 2 });
    expect(selector.select(services, { version: "1.0.0", exclude: new Set(["micro.greeter.a2"]) })?.node.id).toBe("a1");
    clock = 1001;
    expect(counts(() => selector.select(services)?.node.id, 3)).toEqual({ a1: 1, a2: 1, b1: 1 });
    expect(selector.select(services, { exclude: new Set(["micro.greeter.a1", "micro.greeter.a2", "micro.greeter.b1"]) })).toBeUndefined();
  });

  it("keeps a node's cool-down apart from a node of the same id in another namespace or service", () => {
    const selector = createSelector({ strategy: "round_robin", cooldownMs: 60_000 });
    selector.report("staging.greeter.a1", { ok: false });
    selector.report("micro.orders.a1", { ok: false });
    expect(counts(() => selector.select(services)?.node.id, 3)).toEqual({ a1: 1, a2: 1, b1: 1 });
    expect(selector.select(services)?.key).toBe("micro.greeter.a1");
  });

  it("prefers the fastest node by observed latency but still probes the others", () => {
    const selector = createSelector({ strategy: "latency", probeRate: 0.1 });
    const first = counts(() => selector.select(services)?.node.id, 3);
    expect(Object.keys(first).length).toBeGreaterThan(0);
    selector.report("micro.greeter.a1", { ok: true, latencyMs: 9 });
    selector.report("micro.greeter.a2", { ok: true, latencyMs: 1 });
    selector.report("micro.greeter.b1", { ok: true, latencyMs: 5 });
    const seen = counts(() => selector.select(services)?.node.id, 2000);
    expect(seen.a2!).toBeGreaterThan(1700);
    expect((seen.a1 ?? 0) + (seen.b1 ?? 0)).toBeGreaterThan(50);
  });
});
