import { beforeAll, describe, expect, it } from "bun:test";
import { createJetStreamBroker, NatsTransport, platformUpgradeWebSocket, type Registry } from "../../runtime/mod.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { createSidecar } from "../../gateway/sidecar/mod.ts";
import greeter from "../../services/greeter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { withNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { eventually } from "../support/wait.ts";
import { hostileCases, normalCall, plainNotFound, runMix } from "./hostile-mix.ts";
import { probeKeepAlive } from "./keep-alive-probe.ts";

// Issue 14's load goal, for correctness: with every tenth request hostile, every normal call
// still gets its exact reply and every hostile one its 4xx. Speed is `bench/gateway-hostile.ts`.
const { conn, teardown } = withNats();
let base: string;

beforeAll(async () => {
  const registry: Registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  const broker = await createJetStreamBroker(conn.nc);
  const instance = await startRegistered(greeter, conn, registry);
  teardown(() => instance.stop());
  const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
  teardown(() => sidecar.close());
  // The gateway's transport as `micro run` makes it: the NATS writes of one I/O turn batched.
  const transport = new NatsTransport(conn.nc, { batchWrites: true });
  teardown(() => transport.close());
  const gateway = await startTestGateway({ transport, registry, broker, sidecar, timeoutMs: 5000, upgradeWebSocket: await platformUpgradeWebSocket() });
  teardown(() => gateway.close());
  base = gateway.url;
  await eventually(() => normalCall(base, 0, AbortSignal.timeout(5000)).catch(String), (problem) => problem === undefined);
});

describe("hostile requests mixed into normal traffic", () => {
  it("each hostile request alone gets its 4xx", async () => {
    const got: Array<[string, number]> = [];
    for (const c of hostileCases) got.push([c.name, await c.send(base, AbortSignal.timeout(10_000))]);
    expect(got).toEqual(hostileCases.map((c) => [c.name, c.expected]));
  }, 60_000);

  it("keeps the connection open after a refusal, except for ambiguous framing and a body too large to read", async () => {
    // A refusal that closes costs the client a new connection for its next request.
    const got: Array<[string, string]> = [];
    for (const c of [plainNotFound, ...hostileCases]) {
      const probe = await probeKeepAlive(base, c.wire);
      got.push([c.name, `${probe.status} ${probe.connection}`]);
    }
    const closes = new Set(["two Content-Length headers (raw socket)"]);
    expect(got).toEqual([plainNotFound, ...hostileCases].map((c) => [c.name, `${c.expected} ${closes.has(c.name) ? "closed" : "open"}`]));
  }, 60_000);

  it("answers a body declared over the limit with 413 at once and closes, without reading the body", async () => {
    // 50 MB declared, a few bytes sent: the runtime would otherwise wait to drain 50 MB before the connection's next request.
    const head = new TextEncoder().encode('POST /greeter/say-hello HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n{"name":');
    expect(await probeKeepAlive(base, head)).toEqual({ status: 413, connection: "closed", announcedClose: true });
  });

  it("closes after refusing a chunked body it stopped reading (nested too deep), since its rest could be endless", async () => {
    const chunk = "[".repeat(1000);
    const head = `POST /greeter/say-hello HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    expect(await probeKeepAlive(base, new TextEncoder().encode(head))).toEqual({ status: 400, connection: "closed", announcedClose: true });
  });

  it("2,000 requests, 32 in flight, every tenth hostile: 0 failed normal calls, every hostile one its 4xx", async () => {
    const result = await runMix({ base, inFlight: 32, hostileEvery: 10, total: 2000 });
    expect(result.normalFailed).toEqual([]);
    expect(result.normalOk).toBe(1800);
    // Every case was sent (200 hostile requests cycle through all of them), each got its status.
    const seen = [...result.hostile.values()].reduce((n, statuses) => n + statuses.length, 0);
    expect(seen).toBe(200);
    const wrong = [...result.hostile].flatMap(([name, statuses]) => {
      const expected = hostileCases.find((c) => c.name === name)!.expected;
      return statuses.filter((s) => s !== expected).map((s) => `${name}: ${s} (wanted ${expected})`);
    });
    expect(wrong).toEqual([]);
    expect([...result.hostile.keys()].sort()).toEqual(hostileCases.map((c) => c.name).sort());
    expect(conn.nc.isClosed()).toBe(false);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await normalCall(base, 2000, AbortSignal.timeout(5000))).toBeUndefined();
  }, 120_000);
});
