/**
 * The state bucket as owners commit to it: every write is one JetStream publish to the key's
 * KV subject with the revision it expects (`Nats-Expected-Last-Subject-Sequence`), sent through
 * the node's {@link AckPublisher} instead of nats.js's KV client, which builds several stack
 * traces per write. The check is the stream's, so a stale owner's commit fails exactly as
 * through nats.js (a revision conflict, "wrong last sequence ... (10071)"). Reads stay on
 * nats.js.
 * @module
 */
import type { KV } from "@nats-io/kv";
import type { AckPublisher } from "../nats/ack-publisher.ts";
import { isRevisionConflict } from "../nats/durable-kv.ts";
import { kvEntrySubject } from "../protocol/mod.ts";
import type { StateBucket } from "./command.ts";

/** How long one write waits for the stream's ack: as long as nats.js's KV client (`store.ts`). */
const writeTimeoutMs = 5000;
const encoder = new TextEncoder();

/** `kv` (the bucket named `bucket`) with writes through `publisher`; see the module doc. */
export function committingStateBucket(kv: KV, bucket: string, publisher: AckPublisher): StateBucket {
  const write = async (key: string, value: string, revision: number) =>
    (await publisher.publish(kvEntrySubject(bucket, key), encoder.encode(value), { expect: { lastSubjectSequence: revision }, timeout: writeTimeoutMs })).seq;
  return {
    get: (key) => kv.get(key),
    async create(key, value) {
      try {
        return await write(key, value, 0);
      } catch (error) {
        // The key has history (deleted or purged entries count too): nats.js's create writes
        // over a delete marker at its revision, and refuses a live entry, as a create must.
        if (isRevisionConflict(error)) return await kv.create(key, value);
        throw error;
      }
    },
    update: write,
  };
}
