import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { MicroError } from "../errors/micro-error.ts";
import { watchKv } from "../nats/kv-watch.ts";
import { ensureReplicas, replicasFromEnv } from "../nats/replicas.ts";
import { checkedRegistryKey, kvStream, registryKey } from "../protocol/mod.ts";
import { RecordTable } from "./record-table.ts";
import { parseServiceRecord } from "./records.ts";
import type { Registry } from "./types.ts";

/** Options for {@link createNatsRegistry}. */
export interface NatsRegistryOptions {
  /** KV bucket holding the records; default `micro_registry`. */
  readonly bucket?: string;
  /** Bucket TTL in ms: the server forgets records not refreshed within it; default 15000. */
  readonly ttlMs?: number;
  /** Replicas of the bucket; default `MICRO_REPLICAS` or 1 (see `nats/replicas.ts`). */
  readonly replicas?: number;
}

/** How long creating a registry waits for the bucket's current records, ms. */
const snapshotWaitMs = 10_000;

/**
 * A registry in a JetStream KV bucket: one key per node (`{namespace}.{service}.{nodeId}`),
 * refreshed by heartbeats. nats-server 2.9 only has a bucket-wide TTL and sends no event
 * when a key ages out, so every reader also expires nodes itself when their heartbeats stop
 * (the {@link RecordTable}). Reads come from a local copy kept current by a KV watch: no
 * round trip per lookup, and the last known nodes survive a registry outage.
 */
export async function createNatsRegistry(nc: NatsConnection, options: NatsRegistryOptions = {}): Promise<Registry> {
  const bucket = options.bucket ?? "micro_registry";
  const ttlMs = options.ttlMs ?? 15_000;
  let kv: KV;
  try {
    const replicas = options.replicas ?? replicasFromEnv();
    kv = await new Kvm(nc).create(bucket, { history: 1, ttl: ttlMs, replicas });
    // An existing bucket keeps the TTL it was made with; a longer one now must reach it, or
    // the server would forget live nodes between their heartbeats.
    const status = await kv.status();
    const jsm = await jetstreamManager(nc);
    if (status.ttl !== ttlMs) await jsm.streams.update(kvStream(bucket), { max_age: ttlMs * 1_000_000 });
    await ensureReplicas(jsm, kvStream(bucket), replicas);
  } catch (cause) {
    if (cause instanceof MicroError) throw cause;
    throw new MicroError("unavailable", `cannot open the registry bucket "${bucket}" (is JetStream enabled?): ${(cause as Error).message}`, { cause });
  }
  const table = new RecordTable();
  // Changes come once each, in stream order (one consumer reads the snapshot and what follows),
  // so the last one applied is each key's current value: nothing is kept per key beyond the table.
  const apply = (key: string, operation: string, value: Uint8Array) => {
    if (operation === "PUT") {
      try {
        // Checked and rebuilt (records.ts): the value is whatever the key's writer put there.
        const record = parseServiceRecord(value);
        // A record counts under its own key only: a service's NATS user may be allowed to write
        // {ns}.{service}.> alone, and must not register nodes of other services or namespaces.
        if (key !== registryKey(record.namespace, record.name, record.node.id)) return;
        table.put(record, value.length);
      } catch {
        // A record another tool wrote badly must not stop discovery of the others.
      }
    } else {
      table.delete(key);
    }
  };

  // Without a connection no heartbeat can arrive: keep the last known nodes until it is back.
  const statuses = nc.status();
  (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect") table.freeze(true);
      else if (status.type === "reconnect") table.freeze(false);
    }
  })().catch(() => undefined);

  // One consumer brings every key's current record, then the changes: a snapshot read key by
  // key made one request per key (a service may write any number of keys under its prefix:
  // 100,000 took 8 s to start). Not `kv.watch()`: its ordered consumer can stall for good when
  // its NATS node dies (kv-watch.ts).
  const watcher = await watchKv(nc, { bucket, include: "last-values", label: `registry ${bucket}` });
  (async () => {
    for await (const change of watcher) apply(change.key, change.operation, change.value);
  })().catch(() => undefined);
  // Slow or gone NATS: start with what has come, the rest follows as it arrives.
  await watcher.caughtUp(snapshotWaitMs);

  return {
    // Checked: a name too long for a subject would make nats-server drop the shared connection.
    async register(record) {
      await kv.put(checkedRegistryKey(record.namespace, record.name, record.node.id), JSON.stringify(record));
    },
    async deregister(record) {
      await kv.delete(checkedRegistryKey(record.namespace, record.name, record.node.id));
    },
    getService: async (name, namespace) => table.services((r) => r.name === name && (namespace === undefined || r.namespace === namespace)),
    listServices: async () => table.services(),
    watch: (signal) => table.watch(signal),
    async close() {
      watcher.stop();
      (statuses as { stop?: () => void }).stop?.(); // a QueuedIterator in nats.js
      table.close();
    },
  };
}
