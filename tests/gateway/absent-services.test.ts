/**
 * A service nobody serves is answered 404 from memory for a moment (`gateway/absent-services.ts`):
 * the gateway does not ask NATS again for every request to a route that does not exist, and
 * still reaches an unregistered service that starts a moment later.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { absentForMs, createAbsentServices, maxAbsent } from "../../gateway/absent-services.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import type { Registry } from "../../runtime/mod.ts";
import { callSubject } from "../../runtime/protocol/mod.ts";
import { startTestGateway } from "../support/gateway.ts";
import { withNats } from "../support/nats.ts";
import { eventually } from "../support/wait.ts";

describe("absent services", () => {
  it("remembers a subject for absentForMs, then forgets it", () => {
    let now = 1_000;
    const absent = createAbsentServices(() => now);
    expect(absent.has("micro.srv.ghost.Ghost.Say")).toBe(false);
    absent.add("micro.srv.ghost.Ghost.Say");
    now += absentForMs - 1;
    expect(absent.has("micro.srv.ghost.Ghost.Say")).toBe(true);
    now += 1;
    expect(absent.has("micro.srv.ghost.Ghost.Say")).toBe(false);
  });

  it("holds at most maxAbsent subjects however many names clients make up", () => {
    const absent = createAbsentServices(() => 0);
    for (let i = 0; i < maxAbsent; i++) absent.add(`s.${i}`);
    expect(absent.has("s.0")).toBe(true);
    absent.add("one.more");
    expect(absent.has("s.0")).toBe(false);
    expect(absent.has("one.more")).toBe(true);
  });
});

describe("gateway 404 for a service nobody serves", () => {
  const { conn, teardown } = withNats();
  let registry: Registry;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  beforeAll(async () => {
    registry = await createNatsRegistry(conn.nc);
    gateway = await startTestGateway({ transport: conn.transport, registry });
    teardown(() => registry.close());
    teardown(() => gateway.close());
  });

  it("answers the repeat without NATS, and reaches an unregistered service that starts later", async () => {
    const first = await fetch(`${gateway.url}/ghost/say`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(first.status).toBe(404);
    const firstBody = (await first.json()) as { code: string; detail: string };
    expect(firstBody.code).toBe("not_found");

    // A plain NATS instance (it does not register) starts serving the queue subject now.
    const subject = callSubject({ namespace: "micro", service: "ghost", endpoint: "Ghost.Say" });
    let received = 0;
    const sub = conn.nc.subscribe(subject, { queue: "ghost", callback: (_e, m) => {
      received++;
      m.respond(new TextEncoder().encode('{"said":true}'));
    } });
    teardown(() => sub.unsubscribe());
    await conn.nc.flush();

    // Within the moment the miss is remembered: the same 404, and nothing sent to the subject.
    const again = await fetch(`${gateway.url}/ghost/say`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { detail: string }).detail).toBe(firstBody.detail);
    expect(received).toBe(0);

    // Then the gateway asks NATS again and the new instance answers.
    const reached = await eventually(async () => {
      const res = await fetch(`${gateway.url}/ghost/say`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      return [res.status, await res.text()] as const;
    }, ([status]) => status === 200, { timeoutMs: absentForMs * 5, intervalMs: 100 });
    expect(reached[1]).toBe('{"said":true}');
    expect(received).toBe(1);
  });
});
