import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import {
  createClient,
  createDiscovery,
  createNatsRegistry,
  createRoutingRules,
  createSelector,
  type Registry,
  type RoutingRules,
} from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";
import { makeServicesDir, repoPath } from "../../support/service-dirs.ts";
import { type Child, runMicro } from "../../support/subprocess.ts";

/** A service "routed" of `version` that answers with its version and node id. */
function routedModule(version: string): string {
  return `import { Greeter } from ${JSON.stringify(repoPath("gen/greeter/v1/greeter_pb.ts"))};
import { defineService } from ${JSON.stringify(repoPath("runtime/mod.ts"))};
export default defineService(Greeter, { name: "routed", version: "${version}" }, {
  sayHello: (req, ctx) => ({ message: ctx.service.version + " " + ctx.service.nodeId }),
});
`;
}

const ttlMs = 1500;
let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let registry: Registry;
let rules: RoutingRules;
const dirs = [makeServicesDir({ "routed.ts": routedModule("1.0.0") }), makeServicesDir({ "routed.ts": routedModule("2.0.0") })];
const children: Child[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  const start = (dir: string, zone: string) =>
    runMicro(["run", dir], { NATS_URL: nats.url, MICRO_REGISTRY_TTL_MS: String(ttlMs), MICRO_NODE_METADATA: `zone=${zone}` });
  children.push(start(dirs[0]!.dir, "a"), start(dirs[0]!.dir, "b"), start(dirs[1]!.dir, "a"));
  await Promise.all(children.map((c) => c.waitFor(/service routed/, 20_000)));
  conn = await openTestConnection(nats.url);
  registry = await createNatsRegistry(conn.nc);
  rules = await createRoutingRules(conn.nc);
});

afterAll(async () => {
  for (const child of children) child.process.kill("SIGKILL");
  await registry.close();
  await rules.close();
  await conn.close();
  await nats.stop();
  for (const dir of dirs) dir.remove();
});

async function tally(call: () => Promise<{ message: string }>, times: number, part: 0 | 1): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < times; i++) {
    const word = (await call()).message.split(" ")[part]!;
    out[word] = (out[word] ?? 0) + 1;
  }
  return out;
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const began = Date.now();
  while (!(await check())) {
    if (Date.now() - began > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
  return Date.now() - began;
}

describe("routing across real processes", () => {
  it("sees every instance in the registry, split by version, with node metadata", async () => {
    const services = await registry.getService("routed");
    expect(services.map((s) => [s.version, s.nodes.length])).toEqual([["1.0.0", 2], ["2.0.0", 1]]);
    expect(services[0]!.nodes.map((n) => n.metadata.zone).sort()).toEqual(["a", "b"]);
  });

  it("routes by round robin, version, label and key", async () => {
    const discovery = createDiscovery({ registry, selector: createSelector({ strategy: "round_robin" }) });
    const client = createClient(Greeter, conn.transport, { service: "routed", discovery });
    const nodes = await tally(() => client.sayHello({ name: "x" }), 6, 1);
    expect(Object.values(nodes)).toEqual([2, 2, 2]);
    expect(await tally(() => client.sayHello({ name: "x" }, { version: "2.0.0" }), 5, 0)).toEqual({ "2.0.0": 5 });
    const zoneB = await tally(() => client.sayHello({ name: "x" }, { labels: { zone: "b" } }), 4, 1);
    expect(Object.values(zoneB)).toEqual([4]);
    const keyed = await tally(() => client.sayHello({ name: "x" }, { key: "cart-7" }), 5, 1);
    expect(Object.values(keyed)).toEqual([5]);
    await discovery.close();
  });

  it("shifts traffic by version weights at runtime: canary, then blue-green", async () => {
    const discovery = createDiscovery({ registry, rules });
    const client = createClient(Greeter, conn.transport, { service: "routed", discovery });
    await rules.set("micro", "routed", { weights: { "1.0.0": 90, "2.0.0": 10 } });
    await eventually(() => rules.get("micro", "routed")?.weights["2.0.0"] === 10, 2000);
    const canary = await tally(() => client.sayHello({ name: "x" }), 1000, 0);
    expect(Math.abs((canary["1.0.0"] ?? 0) - 900)).toBeLessThan(50);
    await rules.set("micro", "routed", { weights: { "1.0.0": 0, "2.0.0": 100 } });
    await eventually(() => rules.get("micro", "routed")?.weights["2.0.0"] === 100, 2000);
    expect(await tally(() => client.sayHello({ name: "x" }), 200, 0)).toEqual({ "2.0.0": 200 });
    await rules.set("micro", "routed", undefined);
    await eventually(() => rules.get("micro", "routed") === undefined, 2000);
    await discovery.close();
  });

  it("refuses bad weights with a clear error", async () => {
    await expect(rules.set("micro", "routed", { weights: { "1.0.0": -5 } })).rejects.toThrow(/weight of version "1.0.0" must be a number >= 0/);
  });

  it("keeps calls working when a node is killed, and forgets it within the TTL", async () => {
    const discovery = createDiscovery({ registry, selector: createSelector({ strategy: "round_robin" }) });
    const client = createClient(Greeter, conn.transport, { service: "routed", discovery });
    await client.sayHello({ name: "warm" });
    const victim = children[0]!;
    victim.process.kill("SIGKILL");
    await victim.exited;
    // A request published in the instant before nats-server sees the dead socket is lost with
    // it (no "no responders" comes back), as with any crash; calls after that must all succeed.
    await Bun.sleep(300);
    const replies = await Promise.all(Array.from({ length: 30 }, () => client.sayHello({ name: "x" }, { timeoutMs: 3000 })));
    expect(replies).toHaveLength(30);
    const gone = await eventually(async () => (await registry.getService("routed")).flatMap((s) => s.nodes).length === 2, ttlMs + 3000);
    expect(gone).toBeLessThan(ttlMs + 2000);
    await discovery.close();
  });
});
