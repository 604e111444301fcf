import { createSidecar, type Sidecar } from "../../gateway/sidecar/mod.ts";
import { createJetStreamBroker, createNatsRegistry, type JetStreamBroker, type Registry } from "../../runtime/mod.ts";
import type { TestConnection } from "./rpc.ts";

/** A sidecar with the NATS registry and JetStream broker it works with. */
export interface SidecarStack {
  readonly registry: Registry;
  readonly broker: JetStreamBroker;
  readonly sidecar: Sidecar;
  /** Closes the sidecar (deregistering its apps), then the registry. */
  close(): Promise<void>;
}

/**
 * Starts a sidecar on `conn` as the sidecar process does (NATS registry, JetStream broker),
 * without logs. Pair with {@link withNats}'s `teardown(() => stack.close())`.
 */
export async function startSidecarStack(conn: TestConnection): Promise<SidecarStack> {
  const registry = await createNatsRegistry(conn.nc);
  const broker = await createJetStreamBroker(conn.nc);
  const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
  return {
    registry,
    broker,
    sidecar,
    async close() {
      await sidecar.close();
      await registry.close();
    },
  };
}
