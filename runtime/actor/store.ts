/**
 * Where actors live in NATS: the mailbox stream and the KV buckets for state, shard leases,
 * members and reminders. Everything works on nats-server 2.9 (bucket-wide TTL only).
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { MicroError } from "../errors/micro-error.ts";
import { ensureReplicas, replicasFromEnv } from "../nats/replicas.ts";
import { actorStreamSubjects, kvStream } from "../protocol/mod.ts";

/** The KV buckets of actors (shared by every namespace; keys start with it). */
export const actorBucket = { state: "micro_actor_state", leases: "micro_actor_leases", members: "micro_actor_members", reminders: "micro_actor_reminders" } as const;
/** {@link actorBucket}'s names. */
export const actorBuckets = Object.values(actorBucket);

/** The NATS objects of one namespace's actors. */
export interface ActorStore {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The mailbox stream, holding `{ns}.actor.{service}.{shard}.{key}`. */
  readonly stream: string;
  /** Per key: `{ns}.{service}.{key}` → {@link StateEntry}, updated with revision checks. */
  readonly state: KV;
  /** Per shard: `{ns}.{service}.{shard}` → {@link Lease}. */
  readonly leases: KV;
  /** Per live node: `{ns}.{service}.{nodeId}`, aged out by the bucket TTL. */
  readonly members: KV;
  /** Per reminder: `{ns}.{service}.{shard}.{key}.{name}` → {@link StoredReminder}. */
  readonly reminders: KV;
}

/** The committed state of one key. */
export interface StateEntry {
  /** The last mailbox sequence applied. */
  readonly seq: number;
  readonly state: unknown;
  /**
   * Replies to the commands that carried an idempotency key, kept for longer than the
   * mailbox's duplicate window: [id, base64 reply, error code ("" if none), error message,
   * applied at (epoch ms), mailbox sequence]. Entries written before the time was kept have
   * only the first four.
   */
  readonly recent?: ReadonlyArray<readonly [string, string, string?, string?, number?, number?]>;
}

/** The lease of one shard; `owner` "" means free (handed off cleanly). */
export interface Lease {
  readonly owner: string;
  /** Mailbox sequence from which the next owner must read. */
  readonly checkpoint: number;
}

/** A persisted reminder. */
export interface StoredReminder {
  readonly dueAt: number;
  readonly everyMs: number;
  readonly data: string;
}

/**
 * How long one JetStream API request of the actor runtime waits for its answer: nats.js's 5 s.
 * Shorter (2 s) made a shard start retry sooner on a cluster with a node down, but a state
 * commit on a loaded machine can take longer than that, and a failed commit fails its command.
 */
const apiTimeoutMs = 5000;

/** The mailbox stream name of a namespace: `MICRO_ACTORS` for `micro`. */
export function mailboxStreamName(namespace: string): string {
  return namespace === "micro" ? "MICRO_ACTORS" : `MICRO_ACTORS_${namespace.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * Opens (creating when missing) the stream and buckets; `leaseMs` is the members' TTL, and
 * each keeps `replicas` copies (scaled up when it has fewer; see `nats/replicas.ts`).
 */
export async function openActorStore(nc: NatsConnection, namespace: string, leaseMs: number, replicas = replicasFromEnv()): Promise<ActorStore> {
  const stream = mailboxStreamName(namespace);
  try {
    const jsm = await jetstreamManager(nc);
    const existing = await jsm.streams.info(stream).catch(() => undefined);
    // Commands stay until the owner's checkpoint passes them (then they are purged); the
    // duplicate window is what makes a retried command with the same id count once.
    if (existing === undefined) {
      await jsm.streams.add({ name: stream, subjects: [actorStreamSubjects(namespace)], duplicate_window: 120_000_000_000, num_replicas: replicas }).catch(async (error) => {
        if ((await jsm.streams.info(stream).catch(() => undefined)) === undefined) throw error;
      });
    }
    // On a cluster with a node down, nats-server 2.9 can place a new ordered consumer (a key
    // listing, a shard's reader) on the dead node, and that request then only times out; the
    // placement beat and the shard start retry it (see apiTimeoutMs).
    const js = jetstream(nc, { timeout: apiTimeoutMs });
    const kvm = new Kvm(js);
    const [state, leases, members, reminders] = await Promise.all([
      kvm.create(actorBucket.state, { history: 1, replicas }),
      kvm.create(actorBucket.leases, { history: 1, replicas }),
      kvm.create(actorBucket.members, { history: 1, ttl: leaseMs, replicas }),
      kvm.create(actorBucket.reminders, { history: 1, replicas }),
    ]);
    await Promise.all([stream, ...actorBuckets.map(kvStream)].map((name) => ensureReplicas(jsm, name, replicas)));
    return { js, jsm, stream, state, leases, members, reminders };
  } catch (cause) {
    if (cause instanceof MicroError) throw cause;
    throw new MicroError("unavailable", `cannot open the actor stream and buckets (is JetStream enabled?): ${(cause as Error).message}`, { cause });
  }
}

/**
 * How long a state, lease or member write keeps retrying through a stream leader election or
 * a reconnect before it fails: a failed state commit restarts its shard, a failed lease write
 * waits for the next beat. An R3 stream elects a new leader within a few seconds.
 */
export const writeRetryMs = 10_000;
