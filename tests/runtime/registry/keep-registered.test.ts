import { describe, expect, it } from "bun:test";
import { keepRegistered } from "../../../runtime/registry/keep-registered.ts";
import { createMemoryRegistry } from "../../../runtime/registry/memory.ts";
import type { Registry, ServiceRecord } from "../../../runtime/registry/types.ts";
import { registerWebService } from "../../../runtime/registry/web-service.ts";
import { until } from "../../support/wait.ts";

const record = (id: string): ServiceRecord => ({
  namespace: "keep", type: "srv", name: "greeter", version: "1.0.0", metadata: {}, endpoints: [],
  node: { id, address: `keep.node.${id}`, metadata: {} }, ttlMs: 300,
});

/** A memory registry counting the registrations (heartbeats) of each node. */
function countingRegistry(failFirst = false): { registry: Registry; beats: Map<string, number> } {
  const inner = createMemoryRegistry();
  const beats = new Map<string, number>();
  let failed = !failFirst;
  return {
    beats,
    registry: {
      ...inner,
      async register(r) {
        beats.set(r.node.id, (beats.get(r.node.id) ?? 0) + 1);
        if (!failed) {
          failed = true;
          throw new Error("registry unavailable");
        }
        return inner.register(r);
      },
    },
  };
}

describe("keepRegistered", () => {
  it("registers now, beats every third of the TTL, and deregisters once on stop, its heartbeat ended", async () => {
    const { registry, beats } = countingRegistry();
    const stopped = await keepRegistered(registry, record("a"));
    expect((await registry.getService("greeter", "keep")).flatMap((s) => s.nodes.map((n) => n.id))).toEqual(["a"]);
    await until(() => (beats.get("a") ?? 0) >= 3, { what: "two heartbeats", intervalMs: 10 });
    await stopped.stop();
    await stopped.stop();
    expect(await registry.getService("greeter", "keep")).toEqual([]);
    const after = beats.get("a");
    // Another node on the same beat: once it has beaten twice, a live timer of "a" would have too.
    const witness = await keepRegistered(registry, record("b"));
    await until(() => (beats.get("b") ?? 0) >= 3, { what: "the witness's heartbeats", intervalMs: 10 });
    await witness.stop();
    expect(beats.get("a")).toBe(after);
    expect(await registry.getService("greeter", "keep")).toEqual([]);
  });

  it("rejects when the first registration fails, keeping nothing alive", async () => {
    const { registry, beats } = countingRegistry(true);
    await expect(keepRegistered(registry, record("c"))).rejects.toThrow("registry unavailable");
    const witness = await keepRegistered(registry, record("d"));
    await until(() => (beats.get("d") ?? 0) >= 3, { what: "the witness's heartbeats", intervalMs: 10 });
    await witness.stop();
    expect(beats.get("c")).toBe(1);
  });

  it("is what keeps a web service registered", async () => {
    const { registry, beats } = countingRegistry();
    const web = await registerWebService(registry, { name: "shop", url: "http://127.0.0.1:5173/", ttlMs: 300 });
    await until(() => (beats.get(web.record.node.id) ?? 0) >= 2, { what: "a web service heartbeat", intervalMs: 10 });
    await web.stop();
    expect(await registry.listServices()).toEqual([]);
  });
});
