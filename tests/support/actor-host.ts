import type { ActorInstance } from "../../runtime/actor/host.ts";
import { type ActorDefinition, startActor, type StartActorOptions } from "../../runtime/mod.ts";
import type { NatsFixture } from "./nats.ts";

/**
 * Starts actors in this process on a {@link withNats} connection, each stopped (its shards
 * handed off) at the end of the file. `defaults` apply to every start; a start's own options
 * win.
 *
 * @example
 * const { conn, teardown } = withNats();
 * const startActorHere = actorHost({ conn, teardown }, { leaseMs: 1000 });
 * const node = await startActorHere(listActor("orders"));
 */
export function actorHost(
  fixture: Pick<NatsFixture, "conn" | "teardown">,
  defaults: Partial<StartActorOptions> = {},
): (definition: ActorDefinition, options?: Partial<StartActorOptions>) => Promise<ActorInstance> {
  const instances: ActorInstance[] = [];
  fixture.teardown(() => Promise.all(instances.map((i) => i.stop())));
  return async (definition, options = {}) => {
    const instance = await startActor(definition, { connection: fixture.conn.nc, transport: fixture.conn.transport, ...defaults, ...options });
    instances.push(instance);
    return instance;
  };
}
