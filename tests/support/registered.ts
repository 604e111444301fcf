import type { NatsConnection } from "@nats-io/nats-core";
import { type Registry, type ServiceDefinition, type ServiceInstance, startService, type Transport } from "../../runtime/mod.ts";
import { serviceRecord } from "../../runtime/registry/records.ts";

/** Starts `definition` and registers its node, as the runner does; `stop()` deregisters first. */
export async function startRegistered(
  definition: ServiceDefinition,
  conn: { nc: NatsConnection; transport: Transport },
  registry: Registry,
): Promise<ServiceInstance> {
  const instance = await startService(definition, { connection: conn.nc, transport: conn.transport });
  const record = serviceRecord(definition, { id: instance.nodeId, address: instance.nodeSubject, namespace: instance.namespace }, 60_000);
  await registry.register(record);
  return {
    ...instance,
    stats: () => instance.stats(),
    async stop() {
      await registry.deregister(record);
      await instance.stop();
    },
  };
}
