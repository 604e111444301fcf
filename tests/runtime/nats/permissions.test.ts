import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import {
  connectNats,
  createJetStreamBroker,
  defineService,
  NatsTransport,
  type ServiceInstance,
  startService,
} from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { callSubject, nodeAliveSubject, servicesApiSubject } from "../../../runtime/protocol/mod.ts";
import { asUser, collectViolations, secretsDir, startSecuredNats } from "../../support/secured-nats.ts";

/**
 * The least-privilege set-up the README shows, verbatim: an operator user that creates the
 * streams, a gateway that may only call services and publish events (plus the JetStream reads
 * and consumers replay and SSE need), and a service that may only serve its own subjects
 * (its queue and node subjects, its NATS services protocol subjects) and publish its replies
 * and its own liveness heartbeat.
 */
const leastPrivilegeConfig = `
authorization {
  users: [
    { user: "ops", password: "ops-pw" }
    {
      user: "gateway", password: "gateway-pw"
      permissions: {
        publish: {
          allow: [
            "micro.srv.>", "micro.events.>",
            "$JS.API.INFO", "$JS.API.STREAM.INFO.MICRO_EVENTS", "$JS.API.STREAM.INFO.MICRO_EVENTS_DLQ",
            "$JS.API.CONSUMER.CREATE.MICRO_EVENTS.>", "$JS.API.CONSUMER.DELETE.MICRO_EVENTS.>",
            "$JS.API.CONSUMER.INFO.MICRO_EVENTS.>", "$JS.API.CONSUMER.MSG.NEXT.MICRO_EVENTS.>",
            "$JS.ACK.MICRO_EVENTS.>", "$JS.FC.>"
          ]
        }
        subscribe: { allow: ["_INBOX.>"] }
      }
    }
    {
      user: "greeter", password: "greeter-pw"
      permissions: {
        publish: { allow: ["_INBOX.>", "micro.alive.greeter.>"] }
        subscribe: {
          allow: [
            "micro.srv.greeter.>", "micro.node.greeter.>",
            "$SRV.PING", "$SRV.INFO", "$SRV.STATS", "$SRV.*.greeter", "$SRV.*.greeter.>", "_INBOX.>"
          ]
        }
      }
    }
  ]
}
`;

const secrets = secretsDir();
let server: NatsServerProcess;
let gatewayNc: NatsConnection;
let serviceNc: NatsConnection;
let instance: ServiceInstance;
let gateway: ReturnType<typeof createGateway>;
const violations: string[] = [];
const serviceViolations: string[] = [];
const closers: Array<() => Promise<unknown>> = [];

const as = (user: string) => asUser(server, user);

const greeter = defineService(Greeter, { name: "greeter" }, {
  sayHello: (req) => ({ message: `hello ${req.name}` }),
});

beforeAll(async () => {
  server = await startSecuredNats(leastPrivilegeConfig, secrets.dir);
  // Operations creates the streams once; the gateway only reads them from then on.
  const ops = await connectNats(as("ops"));
  await createJetStreamBroker(ops);
  await ops.close();

  serviceNc = await connectNats(as("greeter"));
  collectViolations(serviceNc, serviceViolations);
  const serviceTransport = new NatsTransport(serviceNc);
  instance = await startService(greeter, { connection: serviceNc, transport: serviceTransport });
  closers.push(() => instance.stop(), () => serviceTransport.close(), () => serviceNc.close());

  gatewayNc = await connectNats(as("gateway"));
  collectViolations(gatewayNc, violations);
  const transport = new NatsTransport(gatewayNc);
  const broker = await createJetStreamBroker(gatewayNc);
  gateway = createGateway({ transport, broker });
  closers.push(() => transport.close(), () => gatewayNc.close());
}, 30_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await server?.stop();
  secrets.remove();
});

const send = (path: string, body: unknown) =>
  gateway.fetch(new Request(`http://gateway${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }));

describe("a least-privilege NATS set-up", () => {
  it("lets the gateway call a service and publish and replay events", async () => {
    const call = await send("/rpc", { service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } });
    expect([call.status, await call.json()]).toEqual([200, { message: "hello Ada" }]);
    const published = await send("/events/perm.checked", { ok: true });
    expect(published.status).toBe(201);
    const replay = await gateway.fetch(new Request("http://gateway/events/perm.>/replay"));
    const { events } = await replay.json() as { events: Array<{ topic: string; data: unknown }> };
    expect([replay.status, events.map((e) => [e.topic, e.data])]).toEqual([200, [["perm.checked", { ok: true }]]]);
    expect(violations).toEqual([]);
  }, 30_000);

  it("lets a confined service user serve its queue subject, its node subject, $SRV and its heartbeat", async () => {
    const ops = await connectNats(as("ops"));
    try {
      const beat = ops.subscribe(nodeAliveSubject("micro", "greeter", instance.nodeId), { max: 1 });
      const viaNode = await ops.request(callSubject({ namespace: "micro", service: "greeter", endpoint: "Greeter.SayHello", node: instance.nodeId }), '{"name":"Bo"}', { timeout: 5000 });
      expect(viaNode.json()).toEqual({ message: "hello Bo" });
      const ping = await ops.request(servicesApiSubject("PING", "greeter"), "", { timeout: 5000 });
      expect((ping.json() as { name: string }).name).toBe("greeter");
      for await (const _ of beat) break;
    } finally {
      await ops.close();
    }
    expect(serviceViolations).toEqual([]);
  }, 30_000);

  it("keeps the gateway user from a service's node subject", async () => {
    const error = await gatewayNc.request(`${instance.nodeSubject}.Greeter.SayHello`, "{}", { timeout: 2000 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message) + String((error as Error & { cause?: Error }).cause?.message)).toMatch(/permission/i);
  });

  it("keeps the gateway user from deleting a stream", async () => {
    const error = await gatewayNc.request("$JS.API.STREAM.DELETE.MICRO_EVENTS", "", { timeout: 2000 }).catch((e: Error) => e);
    expect(String((error as Error).message) + String((error as Error & { cause?: Error }).cause?.message)).toMatch(/permission/i);
    const ops = await connectNats(as("ops"));
    try {
      expect((await (await jetstreamManager(ops)).streams.info("MICRO_EVENTS")).config.name).toBe("MICRO_EVENTS");
    } finally {
      await ops.close();
    }
  });

  it("keeps a service user from another service's node subjects", async () => {
    const sub = serviceNc.subscribe("micro.node.billing.>");
    // The server refuses the subscription; nats.js ends it with the permission error.
    const ended = await sub.closed.then((e) => String(e), (e: Error) => String(e));
    expect(ended).toMatch(/permission/i);
  }, 10_000);

  it("keeps a service user from another service's subjects", async () => {
    const error = await serviceNc.request("micro.srv.billing.Billing.Charge", "{}", { timeout: 2000 }).catch((e: Error) => e);
    expect(String((error as Error).message) + String((error as Error & { cause?: Error }).cause?.message)).toMatch(/permission/i);
  });
});
