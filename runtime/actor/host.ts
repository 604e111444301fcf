/**
 * Serving a keyed actor type: the router on the service subject (registered, `$SRV`, stats,
 * gateway: all as for a plain service), and the host side: placement of shards on live nodes,
 * one {@link ShardWorker} per owned shard, and a status subject for tools.
 * @module
 */
import type { DescMethod } from "@bufbuild/protobuf";
import type { Subscription } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { env } from "../platform/signals.ts";
import { type ServiceInstance, startService, type StartServiceOptions } from "../server/service-instance.ts";
import { actorStatusSubject, assertNamespace, defaultNamespace, runtimeMetrics } from "../protocol/mod.ts";
import type { ActorHostContext } from "./command.ts";
import { listingBoundMs } from "./key-listing.ts";
import { Placement } from "./placement.ts";
import { createRouter } from "./router.ts";
import { type ActiveKey, ShardWorker } from "./shard.ts";
import { actorBucket, openActorStore } from "./store.ts";
import { committingStateBucket } from "./state-writes.ts";
import { AckPublisher } from "../nats/ack-publisher.ts";
import { Outbox } from "../nats/outbox.ts";
import type { ActorNodeStatus } from "./status.ts";
import type { ActorDefinition } from "./types.ts";

/** Options of {@link startActor}: those of a service, and the actor runtime's. */
export interface StartActorOptions extends StartServiceOptions {
  /**
   * How long a shard's lease lives without renewal: a dead node's shards move after this.
   * Default `MICRO_ACTOR_LEASE_MS` or 3000; leases are renewed every third of it.
   */
  readonly leaseMs?: number;
  /** Idle time before passivation, overriding the definition's; default `MICRO_ACTOR_IDLE_MS` or 60000. */
  readonly passivateAfterMs?: number;
  /** Replicas of the actor stream and buckets; default `MICRO_REPLICAS` or 1. */
  readonly replicas?: number;
}

/** A running actor node: a service instance that also hosts the actors of the shards it owns. */
export interface ActorInstance extends ServiceInstance {
  /** Shards, members and active keys of this node now. */
  actorStatus(): ActorNodeStatus;
}

/**
 * Starts one node of an actor type: its router answers the service subject, and it takes its
 * share of the shards (rebalanced as nodes join and leave). `stop()` stops routing, then hands
 * its shards off drained.
 */
export async function startActor(definition: ActorDefinition, options: StartActorOptions): Promise<ActorInstance> {
  const namespace = definition.namespace ?? options.namespace ?? defaultNamespace;
  assertNamespace(namespace);
  const leaseMs = options.leaseMs ?? whole("MICRO_ACTOR_LEASE_MS", 3000, 300);
  const passivateAfterMs = options.passivateAfterMs ?? definition.actor.passivateAfterMs ?? whole("MICRO_ACTOR_IDLE_MS", 60_000, 1);
  const nc = options.connection;
  const store = await openActorStore(nc, namespace, leaseMs, options.replicas);
  // Mailbox publishes and state commits: acknowledged on one inbox (see nats/ack-publisher.ts).
  // Replies and JetStream publishes of one event-loop turn go out in one socket write.
  const outbox = new Outbox(nc);
  const publisher = new AckPublisher(nc, outbox);
  const router = createRouter(definition, nc, store, namespace, publisher);
  // Filled in once the host runs; until then STATS shows no actor data.
  let statsData: () => Readonly<Record<string, unknown>> = () => ({});
  const instance = await startService(router.definition, { ...options, namespace, statsData: () => statsData() }).catch((error) => {
    router.close();
    publisher.close();
    throw error;
  });
  const onError = options.onHandlerError ?? ((error: unknown, what: string) => console.error(`[${definition.name}] ${what} failed:`, error));
  const methods = new Map<string, { method: DescMethod; handler: string }>();
  for (const endpoint of definition.endpoints) {
    if (endpoint.handler !== undefined) methods.set(endpoint.name, { method: endpoint.method, handler: endpoint.method.localName });
  }
  const context: ActorHostContext = {
    nc,
    store,
    namespace,
    service: definition.name,
    nodeId: instance.nodeId,
    spec: definition.actor,
    methods,
    state: committingStateBucket(store.state, actorBucket.state, publisher),
    reply: (to, data, headers) => {
      // The router of this process waits for it: no trip through NATS.
      if (!router.deliverLocally(to, data, headers)) outbox.publish(to, data, undefined, headers, (error) => onError(error, `the reply to ${to}`));
    },
    passivateAfterMs,
    purgeEveryMs: Math.max(1000, leaseMs),
    listingBoundMs: listingBoundMs(leaseMs),
    transport: options.transport,
    onError,
  };
  const workers = new Map<number, ShardWorker>();
  const placement: Placement = new Placement({
    store,
    namespace,
    service: definition.name,
    nodeId: instance.nodeId,
    shards: definition.actor.shards,
    leaseMs,
    onError,
    control: {
      async start(shard, checkpoint) {
        const worker = new ShardWorker(context, shard, checkpoint, () => void placement.tick());
        workers.set(shard, worker);
        runtimeMetrics()?.shardMoved(definition.name, "acquired");
        await worker.start();
      },
      async drain(shard) {
        const worker = workers.get(shard);
        workers.delete(shard);
        if (worker !== undefined) runtimeMetrics()?.shardMoved(definition.name, "released");
        return worker === undefined ? 0 : await worker.drain(options.drainTimeoutMs ?? 10_000);
      },
      kill(shard) {
        const worker = workers.get(shard);
        workers.delete(shard);
        if (worker !== undefined) runtimeMetrics()?.shardMoved(definition.name, "released");
        return worker?.kill(options.drainTimeoutMs ?? 10_000) ?? Promise.resolve();
      },
      checkpoint(shard) {
        const worker = workers.get(shard);
        return worker === undefined || worker.failed !== undefined ? undefined : worker.checkpoint;
      },
      purge: (shard) => workers.get(shard)?.purge() ?? Promise.resolve(),
    },
  });

  function actorStatus(): ActorNodeStatus {
    const active: ActiveKey[] = [];
    for (const worker of workers.values()) active.push(...worker.activeKeys());
    return { service: definition.name, nodeId: instance.nodeId, shards: placement.owned, members: [...placement.members], active };
  }

  statsData = () => {
    const now = actorStatus();
    return { actor_shards: now.shards, actor_active_keys: now.active.length, actor_keys: now.active.slice(0, 100).map((a) => ({ key: a.key, depth: a.depth })) };
  };
  let status: Subscription | undefined;
  try {
    await placement.start();
    status = nc.subscribe(actorStatusSubject(namespace, definition.name), {
      callback: (_error, msg) => {
        try {
          msg.respond(JSON.stringify(actorStatus()));
        } catch (error) {
          onError(error, "actor status");
        }
      },
    });
  } catch (error) {
    await instance.stop();
    router.close();
    publisher.close();
    throw MicroError.from(error);
  }

  let stopping: Promise<void> | undefined;
  return {
    ...instance,
    actorStatus,
    stop() {
      stopping ??= (async () => {
        // Routing stops first: calls in flight get their replies from the owners, which still run.
        await instance.stop();
        router.close();
        status?.unsubscribe();
        await placement.stop();
        outbox.flush();
        publisher.close();
      })();
      return stopping;
    },
  };
}

function whole(name: string, fallback: number, min: number): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new MicroError("invalid_argument", `${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}
