/**
 * What the dashboard's operator tests run against a real nats-server: greeter serving (it
 * answers `$SRV.PING`/`$SRV.STATS`) and registered, a registered node that never answers,
 * billing failing `invoice.created` events (two deliveries, then a dead letter) until told to
 * heal, the routing rules in `micro_routes`, and the operator source over all of them.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { createNatsOperator } from "../../../gateway/dashboard/nats-operator.ts";
import type { OperatorSource } from "../../../gateway/dashboard/operator.ts";
import {
  createJetStreamBroker, createMemoryRegistry, createRoutingRules, type EventSubscription, type JetStreamBroker, type Registry, type RoutingRules,
  type ServiceInstance, type ServiceRecord, startService, type Transport,
} from "../../../runtime/mod.ts";
import greeter from "../../../services/greeter.ts";

/** The running pieces; `stop` ends them all. */
export interface OperatorFixture {
  readonly registry: Registry;
  readonly broker: JetStreamBroker;
  readonly rules: RoutingRules;
  readonly operator: OperatorSource;
  readonly greeter: ServiceInstance;
  /** Events billing handled (after it heals). */
  readonly handled: string[];
  /** billing handles events from now on. */
  heal(): void;
  /** Publishes `invoice.created` events for invoices `numbers`. */
  publishInvoices(...numbers: number[]): Promise<void>;
  stop(): Promise<void>;
}

/** The id of the registered greeter node that never answers a ping. */
export const ghostNode = "greeter-ghost";

function greeterRecord(nodeId: string): ServiceRecord {
  return {
    namespace: "micro", type: "srv", name: "greeter", version: "1.0.0", metadata: {}, endpoints: [],
    node: { id: nodeId, address: `micro.node.${nodeId}`, metadata: {} }, ttlMs: 600_000,
  };
}

/** Starts the fixture on `nc`. */
export async function startOperatorFixture(nc: NatsConnection, transport: Transport): Promise<OperatorFixture> {
  const registry = createMemoryRegistry();
  const broker = await createJetStreamBroker(nc);
  const rules = await createRoutingRules(nc);
  const instance = await startService(greeter, { connection: nc, transport });
  await registry.register(greeterRecord(instance.nodeId));
  await registry.register(greeterRecord(ghostNode));
  let failing = true;
  const handled: string[] = [];
  const billing: EventSubscription = await broker.subscribe("invoice.created", (e) => {
    if (failing) throw new Error("tax service down");
    handled.push(e.user);
  }, { service: "billing", maxDeliveries: 2, backoffMs: () => 10 });
  const operator = createNatsOperator({ nc, namespace: "micro", registry, broker, rules, waitMs: 200 });
  const json = new TextEncoder();
  return {
    registry, broker, rules, operator, greeter: instance, handled,
    heal: () => void (failing = false),
    async publishInvoices(...numbers) {
      for (const n of numbers) await broker.publish("invoice.created", json.encode(JSON.stringify({ invoice: n })), { contentType: "application/json", user: `u${n}` });
    },
    async stop() {
      await billing.stop();
      await instance.stop();
      await rules.close();
      await registry.close();
    },
  };
}
