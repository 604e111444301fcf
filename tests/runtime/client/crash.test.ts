/**
 * Calls survive a crashed instance: three runner processes serve a greeter, a routed client
 * keeps 32 calls in flight, and one runner is SIGKILLed mid-run. `SayHello` is marked
 * `NO_SIDE_EFFECTS` in the proto, so its calls held by the dead node move to another node;
 * the same method called with `idempotent: false` fails fast with `unavailable` instead of
 * waiting out its 10 s deadline. The dead node stays in the registry (15 s TTL) the whole
 * time, as it would in production.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { type Client, createClient, createDiscovery, createNatsRegistry, type Discovery, MicroError, type Registry } from "../../../runtime/mod.ts";
import { nodeGoneReason } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { greeterModule, makeServicesDir } from "../../support/service-dirs.ts";
import { type Child, runMicro } from "../../support/subprocess.ts";
import { until } from "../../support/wait.ts";

const { nats, conn, teardown } = withNats();
const inFlight = 32;

interface Outcome {
  readonly started: number;
  readonly ended: number;
  readonly error?: MicroError;
}

/** Starts three runners of service `name` (answering after `delayMs`) and a routed client of it. */
async function threeRunners(name: string, delayMs: number): Promise<{ children: Child[]; client: Client<typeof Greeter>; nodeIds: string[] }> {
  const dir = makeServicesDir({ [`${name}.ts`]: greeterModule(name, delayMs) });
  teardown(() => dir.remove());
  const children = [0, 1, 2].map(() => runMicro(["run", dir.dir], { NATS_URL: nats.url }));
  teardown(async () => {
    for (const child of children) child.process.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
  });
  await Promise.all(children.map((c) => c.waitFor(new RegExp(`service ${name}`), 30_000)));
  const registry: Registry = await createNatsRegistry(conn.nc);
  const discovery: Discovery = createDiscovery({ registry });
  teardown(async () => {
    await discovery.close();
    await registry.close();
  });
  const client = createClient(Greeter, conn.transport, { service: name, discovery });
  let nodeIds: string[] = [];
  await until(async () => {
    nodeIds = (await registry.getService(name)).flatMap((s) => s.nodes.map((n) => n.id));
    return nodeIds.length === 3;
  }, { timeoutMs: 30_000, what: `3 ${name} nodes in the registry` });
  // The client must have heard each node's heartbeat, or it cannot tell when one stops.
  const liveness = conn.transport.liveness("micro");
  await until(() => nodeIds.every((id) => liveness.lastHeard(id) !== undefined), { what: "a heartbeat from each node" });
  return { children, client, nodeIds };
}

/** Runs `total` calls, `inFlight` at a time, SIGKILLing `victim` once `killAfter` have ended. */
async function runWithCrash(total: number, killAfter: number, victim: Child, call: (i: number) => Promise<unknown>): Promise<{ outcomes: Outcome[]; killedAt: number }> {
  const outcomes: Outcome[] = [];
  let next = 0;
  let killedAt = 0;
  async function worker() {
    while (next < total) {
      const i = next++;
      const started = Date.now();
      try {
        await call(i);
        outcomes.push({ started, ended: Date.now() });
      } catch (error) {
        outcomes.push({ started, ended: Date.now(), error: MicroError.from(error) });
      }
      if (killedAt === 0 && outcomes.length >= killAfter) {
        killedAt = Date.now();
        victim.process.kill("SIGKILL");
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { outcomes, killedAt };
}

/** How long past the crash each call waited at most: from the later of its start and the crash. */
function worstWaitPastCrash(outcomes: readonly Outcome[], killedAt: number): number {
  return Math.max(...outcomes.map((o) => o.ended - Math.max(o.started, killedAt)));
}

describe("a routed client when one of three runners is SIGKILLed under load", () => {
  const total = 3000;

  it("loses no call to an idempotent method: calls the dead node held are retried on another node", async () => {
    const { children, client } = await threeRunners("crash-safe", 2);
    const { outcomes, killedAt } = await runWithCrash(total, 1000, children[0]!, (i) => client.sayHello({ name: `n${i}` }));
    await children[0]!.exited;
    const failed = outcomes.filter((o) => o.error !== undefined);
    expect(failed.map((o) => `${o.error!.code}: ${o.error!.message}`)).toEqual([]);
    expect(outcomes.length).toBe(total);
    expect(killedAt).toBeGreaterThan(0);
    expect(worstWaitPastCrash(outcomes, killedAt)).toBeLessThan(2_500);
  }, 90_000);

  it("fails calls to a non-idempotent method held by the dead node fast with unavailable, and no others", async () => {
    // A slower handler, so calls are surely held by the victim when it dies.
    const { children, client } = await threeRunners("crash-unsafe", 20);
    const { outcomes, killedAt } = await runWithCrash(total / 3, 300, children[0]!, (i) => client.sayHello({ name: `n${i}` }, { idempotent: false }));
    await children[0]!.exited;
    const failed = outcomes.filter((o) => o.error !== undefined);
    expect(outcomes.length).toBe(total / 3);
    // Only the calls the victim held fail (at most all in flight), each with a definite unavailable.
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThanOrEqual(inFlight);
    expect(failed.map((o) => [o.error!.code, o.error!.metadata.reason])).toEqual(failed.map(() => ["unavailable", nodeGoneReason]));
    // None waited for its deadline (10 s): each knew within about a second and a half.
    expect(worstWaitPastCrash(outcomes, killedAt)).toBeLessThan(2_000);
  }, 90_000);
});
