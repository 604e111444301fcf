import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, defineService, listNatsMicroServices, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import greeter from "../../../services/greeter.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let hello: ServiceInstance;
let other: ServiceInstance;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  hello = await startService(greeter, { connection: conn.nc, transport: conn.transport });
  other = await startService(defineService(Greeter, { name: "other", version: "0.1.0" }, {}), { connection: conn.nc, transport: conn.transport });
});

afterAll(async () => {
  await other.stop();
  await conn.close();
  await nats.stop();
});

async function collect(subject: string): Promise<Array<Record<string, any>>> {
  const replies = await conn.nc.requestMany(subject, "", { maxWait: 300 });
  const out: Array<Record<string, any>> = [];
  for await (const msg of replies) out.push(msg.json());
  return out;
}

describe("NATS services protocol ($SRV)", () => {
  it("answers PING from every instance with the micro schema", async () => {
    const pings = await collect("$SRV.PING");
    expect(pings.map((p) => p.name).sort()).toEqual(["greeter", "other"]);
    const mine = pings.find((p) => p.name === "greeter")!;
    expect(mine).toEqual({ type: "io.nats.micro.v1.ping_response", name: "greeter", id: hello.nodeId, version: "1.0.0", metadata: { owner: "quick-start" } });
  });

  it("answers INFO by name with endpoints, subjects and queue groups", async () => {
    const [info] = await collect("$SRV.INFO.greeter");
    expect(info!.type).toBe("io.nats.micro.v1.info_response");
    expect(info!.endpoints[0]).toEqual({
      name: "Greeter.SayHello",
      subject: "micro.srv.greeter.Greeter.SayHello",
      queue_group: "micro.srv.greeter",
      metadata: {
        proto: "greeter.v1.Greeter/SayHello",
        request: "greeter.v1.SayHelloRequest",
        response: "greeter.v1.SayHelloResponse",
        kind: "unary",
        implemented: "true",
      },
    });
    expect(info!.endpoints[1].metadata.implemented).toBe("false");
  });

  it("answers STATS by name and id with per-endpoint counters", async () => {
    const client = createClient(Greeter, conn.transport);
    await client.sayHello({ name: "a" });
    await client.sayHello({ name: "b" });
    await rejection(client.sayHello({ name: "" }));
    await rejection(client.sayGoodbye({ name: "c" }));
    const replies = await collect(`$SRV.STATS.greeter.${hello.nodeId}`);
    expect(replies).toHaveLength(1);
    const stats = replies[0]!;
    expect(stats.type).toBe("io.nats.micro.v1.stats_response");
    expect(Date.parse(stats.started)).toBeLessThanOrEqual(Date.now());
    const [sayHello, sayGoodbye] = stats.endpoints;
    expect([sayHello.num_requests, sayHello.num_errors, sayHello.last_error]).toEqual([3, 1, "invalid_argument: name must not be empty"]);
    expect(sayHello.processing_time).toBeGreaterThan(0);
    expect(sayHello.average_processing_time).toBe(Math.round(sayHello.processing_time / 3));
    expect([sayGoodbye.num_requests, sayGoodbye.num_errors]).toEqual([1, 1]);
    expect(sayHello.data.p99_ms).toBeGreaterThanOrEqual(sayHello.data.p50_ms);
    expect(sayHello.data.p50_ms).toBeGreaterThan(0);
    expect(sayHello.data).toMatchObject({ mailbox_depth: 0, running: 0, mailbox_rejected: 0 });
    expect(sayHello.data.uptime_s).toBeGreaterThanOrEqual(0);
    const local = hello.stats().endpoints["Greeter.SayHello"]!;
    expect(local.requests).toBe(3);
    expect(local.p99Ms).toBeGreaterThanOrEqual(local.p50Ms);
  });

  it("lists services written with NATS service libraries in other languages beside jetmicro's", async () => {
    // What a Go `micro.AddService` instance answers on $SRV.INFO.
    const goInfo = {
      type: "io.nats.micro.v1.info_response",
      name: "inventory",
      id: "Xu2L9cD4",
      version: "0.3.1",
      metadata: { lang: "go" },
      description: "stock levels",
      endpoints: [{ name: "get", subject: "inventory.get", queue_group: "q", metadata: null }],
    };
    const go = conn.nc.subscribe("$SRV.INFO", { callback: (_e, msg) => void msg.respond(JSON.stringify(goInfo)) });
    const noise = conn.nc.subscribe("$SRV.INFO", { callback: (_e, msg) => void msg.respond("not json") });
    const listed = await listNatsMicroServices(conn.nc, { waitMs: 300 });
    go.unsubscribe();
    noise.unsubscribe();
    expect(listed.map((s) => s.name)).toEqual(["greeter", "inventory", "other"]);
    const inventory = listed.find((s) => s.name === "inventory")!;
    expect(inventory.endpoints).toEqual([{ name: "get", subject: "inventory.get", queueGroup: "q" }]);
    expect(inventory.metadata).toEqual({ lang: "go" });
    expect((await listNatsMicroServices(conn.nc, { name: "greeter", waitMs: 200 })).map((s) => s.id)).toEqual([hello.nodeId]);
  });

  it("stops answering when the instance stops", async () => {
    await hello.stop();
    const pings = await collect("$SRV.PING");
    expect(pings.map((p) => p.name)).toEqual(["other"]);
    await other.stop();
    expect(await listNatsMicroServices(conn.nc, { waitMs: 200 })).toEqual([]);
    await expect(listNatsMicroServices(conn.nc, { name: "two words" })).rejects.toThrow(/service "two words" must be one NATS subject token/);
  });
});
