import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { createClient, createDiscovery, createMemoryRegistry, defineService, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { serviceRecord } from "../../../runtime/registry/records.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const registry = createMemoryRegistry();
const instances: ServiceInstance[] = [];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A Counter of `version` whose messages carry "version node" as payload. */
const routed = (version: string) =>
  defineService(Counter, { name: "routed-stream", version }, {
    async *count(request, ctx) {
      for (let n = 1; n <= request.to; n++) yield { n, payload: encoder.encode(`${ctx.service.version} ${ctx.service.nodeId}`) };
    },
  });

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  for (const version of ["1.0.0", "2.0.0"]) {
    const instance = await startService(routed(version), { connection: conn.nc, transport: conn.transport });
    instances.push(instance);
    await registry.register(serviceRecord(instance.definition, { id: instance.nodeId, address: instance.nodeSubject, namespace: "micro" }, 60_000));
  }
  // A node that died without deregistering: its address reaches no one.
  await registry.register(serviceRecord(instances[0]!.definition, { id: "routed-stream-dead", address: "micro.node.routed-stream-dead", namespace: "micro" }, 60_000));
});
afterAll(async () => {
  for (const i of instances) await i.stop();
  await registry.close();
  await conn.close();
  await nats.stop();
});

async function servedBy(iterable: AsyncIterable<{ payload: Uint8Array }>): Promise<string[]> {
  const out: string[] = [];
  for await (const r of iterable) out.push(decoder.decode(r.payload));
  return out;
}

describe("streams routed through discovery", () => {
  it("a stream asking for a version reaches only nodes of that version, skipping a dead node", async () => {
    const discovery = createDiscovery({ registry });
    try {
      const c = createClient(Counter, conn.transport, { service: "routed-stream", discovery });
      for (let i = 0; i < 8; i++) {
        expect(await servedBy(c.count({ to: 2 }, { version: "1.0.0" }))).toEqual(Array(2).fill(`1.0.0 ${instances[0]!.nodeId}`));
        expect(await servedBy(c.count({ to: 1 }, { version: "2.0.0" }))).toEqual([`2.0.0 ${instances[1]!.nodeId}`]);
      }
    } finally {
      await discovery.close();
    }
  });

  it("a version nobody runs is refused with not_found naming what was asked", async () => {
    const discovery = createDiscovery({ registry });
    try {
      const c = createClient(Counter, conn.transport, { service: "routed-stream", discovery });
      const error = await rejection(servedBy(c.count({ to: 1 }, { version: "9.9.9" })));
      expect([error.code, error.message]).toEqual(["not_found", 'no node of routed-stream matches {"version":"9.9.9"}']);
    } finally {
      await discovery.close();
    }
  });

  it("client and bidi streams are routed too", async () => {
    const discovery = createDiscovery({ registry });
    try {
      const c = createClient(Counter, conn.transport, { service: "routed-stream", discovery });
      // Neither node implements Sum: the refusal names the node's version, proving where the open went.
      async function* one() {
        yield { value: 1 };
      }
      async function* hi() {
        yield { text: "hi" };
      }
      for (let i = 0; i < 6; i++) {
        for (const version of ["1.0.0", "2.0.0"]) {
          const sum = await rejection(c.sum(one(), { version }));
          expect([sum.code, sum.message]).toEqual(["unimplemented", `Counter.Sum is not implemented by routed-stream ${version}`]);
          const echo = await rejection((async () => {
            for await (const _ of c.echo(hi(), { version }));
          })());
          expect([echo.code, echo.message]).toEqual(["unimplemented", `Counter.Echo is not implemented by routed-stream ${version}`]);
        }
      }
    } finally {
      await discovery.close();
    }
  });
});
