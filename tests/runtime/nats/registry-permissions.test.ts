import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import { connectNats, createDiscovery, createNatsRegistry, createRoutingRules, defineService, NatsTransport, type Registry, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { keepRegistered } from "../../../runtime/registry/keep-registered.ts";
import { serviceRecord } from "../../../runtime/registry/records.ts";
import { asUser, collectViolations, secretsDir, startSecuredNats } from "../../support/secured-nats.ts";
import { eventually } from "../../support/wait.ts";

/**
 * The registry rights of the least-privilege set-up the README shows: a service that may write
 * only its own registry keys (and read the registry), and a gateway that reads the registry
 * and the routing rules and calls the chosen node's subject. An operator user creates the buckets.
 */
const registryConfig = `
authorization {
  users: [
    { user: "ops", password: "ops-pw" }
    {
      user: "gateway", password: "gateway-pw"
      permissions: {
        publish: {
          allow: [
            "micro.srv.>", "micro.node.>",
            "$JS.API.INFO", "$JS.API.STREAM.INFO.KV_micro_registry",
            "$JS.API.CONSUMER.CREATE.KV_micro_registry.>", "$JS.API.CONSUMER.INFO.KV_micro_registry.>",
            "$JS.API.CONSUMER.MSG.NEXT.KV_micro_registry.>", "$JS.API.CONSUMER.DELETE.KV_micro_registry.>",
            "$JS.API.STREAM.INFO.KV_micro_routes",
            "$JS.API.CONSUMER.CREATE.KV_micro_routes.>", "$JS.API.CONSUMER.INFO.KV_micro_routes.>",
            "$JS.API.CONSUMER.MSG.NEXT.KV_micro_routes.>", "$JS.API.CONSUMER.DELETE.KV_micro_routes.>"
          ]
        }
        subscribe: { allow: ["_INBOX.>", "micro.alive.*.*"] }
      }
    }
    {
      user: "greeter", password: "greeter-pw"
      permissions: {
        publish: {
          allow: [
            "_INBOX.>", "micro.alive.greeter.>", "$KV.micro_registry.micro.greeter.>",
            "$JS.API.INFO", "$JS.API.STREAM.INFO.KV_micro_registry",
            "$JS.API.CONSUMER.CREATE.KV_micro_registry.>", "$JS.API.CONSUMER.INFO.KV_micro_registry.>",
            "$JS.API.CONSUMER.MSG.NEXT.KV_micro_registry.>", "$JS.API.CONSUMER.DELETE.KV_micro_registry.>"
          ]
        }
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
let serviceNc: NatsConnection;
let gatewayNc: NatsConnection;
let serviceRegistry: Registry;
let instance: ServiceInstance;
const violations: string[] = [];
const closers: Array<() => Promise<unknown>> = [];

const as = (user: string) => asUser(server, user);
const greeter = defineService(Greeter, { name: "greeter" }, { sayHello: (req) => ({ message: `hello ${req.name}` }) });

beforeAll(async () => {
  server = await startSecuredNats(registryConfig, secrets.dir);
  // Operations creates the bucket once; the others only use it.
  const ops = await connectNats(as("ops"));
  await (await createNatsRegistry(ops)).close();
  const rules = await createRoutingRules(ops);
  await rules.set("micro", "greeter", { weights: { "1.0.0": 100 } });
  await rules.close();
  await ops.close();
  for (const user of ["greeter", "gateway"]) {
    const nc = await connectNats(as(user));
    collectViolations(nc, violations, `${user}: `);
    if (user === "greeter") serviceNc = nc;
    else gatewayNc = nc;
  }
  const serviceTransport = new NatsTransport(serviceNc);
  instance = await startService(greeter, { connection: serviceNc, transport: serviceTransport });
  serviceRegistry = await createNatsRegistry(serviceNc);
  const registration = await keepRegistered(serviceRegistry, serviceRecord(greeter, { id: instance.nodeId, address: instance.nodeSubject, namespace: "micro" }, 15_000));
  closers.push(() => instance.stop(), () => registration.stop(), () => serviceRegistry.close(), () => serviceTransport.close(), () => serviceNc.close());
}, 30_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await gatewayNc?.close();
  await server?.stop();
  secrets.remove();
});

describe("a least-privilege NATS set-up with a registry", () => {
  it("lets a confined service register, and a gateway find it, read the routing rules and call its node", async () => {
    const transport = new NatsTransport(gatewayNc);
    const registry = await createNatsRegistry(gatewayNc);
    closers.push(() => registry.close(), () => transport.close());
    expect((await registry.getService("greeter"))[0]?.nodes.map((n) => n.id)).toEqual([instance.nodeId]);
    // Routing rules (micro traffic) are read by the gateway too.
    const rules = await createRoutingRules(gatewayNc);
    closers.push(() => rules.close());
    expect(rules.get("micro", "greeter")).toEqual({ weights: { "1.0.0": 100 } });
    const gateway = createGateway({ transport, registry, discovery: createDiscovery({ registry, rules }) });
    const call = await eventually(
      () => gateway.fetch(new Request("http://gateway/rpc", { method: "POST", body: '{"service":"greeter","endpoint":"Greeter.SayHello","request":{"name":"Ada"}}', headers: { "content-type": "application/json" } })),
      (res) => res.status === 200,
      { what: "a routed call through the gateway" },
    );
    expect(await call.json()).toEqual({ message: "hello Ada" });
    expect(violations).toEqual([]);
  }, 30_000);

  it("keeps a service user from writing or deleting another service's records", async () => {
    const other = serviceRecord(defineService(Greeter, { name: "billing" }, { sayHello: () => ({ message: "" }) }), { id: "billing-x1", address: "", namespace: "micro" }, 15_000);
    await expect(serviceRegistry.register(other)).rejects.toThrow(/permission/i);
    await expect(serviceRegistry.deregister({ ...other, name: "orders", node: { ...other.node, id: "orders-x1" } })).rejects.toThrow(/permission/i);
  }, 30_000);
});
