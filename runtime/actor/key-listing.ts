/**
 * Bounded key listings of the actor buckets. nats-server can stall a KV key listing while
 * entries of the bucket expire under it (seen on 2.9); an unbounded `for await` over
 * `kv.keys()` then holds whatever waits for it (a placement beat, a shard's start, and with
 * them a node's start) for good. Every listing here gives up after a bound and says so, so
 * its caller retries later instead of acting on a partial list.
 * @module
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { kvStream, kvSubjectPrefix } from "../protocol/mod.ts";

/**
 * How long a key listing may take before it counts as stalled: 4 lease times, 5 s at least.
 * Generous on purpose: a listing that is merely slow (a loaded server, hundreds of keys)
 * must complete, as giving up on it delays what waits for it by a whole retry.
 */
export function listingBoundMs(leaseMs: number): number {
  return Math.max(5000, 4 * leaseMs);
}

/**
 * Lists the keys of `kv` matching `filter`, or resolves `undefined` when the listing took
 * longer than `boundMs` (it is stopped then, and the keys seen so far are dropped: a partial
 * list must not be mistaken for the whole).
 */
export async function listKeysWithin(kv: Pick<KV, "keys">, filter: string, boundMs: number): Promise<string[] | undefined> {
  const listing = await kv.keys(filter);
  const keys: string[] = [];
  let stalled = false;
  const bound = setTimeout(() => {
    stalled = true;
    listing.stop();
  }, boundMs);
  try {
    for await (const key of listing) keys.push(key);
  } finally {
    clearTimeout(bound);
  }
  return stalled ? undefined : keys;
}

/**
 * Lists the live keys of the KV bucket `bucket` matching `filter` without a consumer: the
 * stream's leader names the subjects it holds (stream info with a subjects filter), and each
 * key's last entry is read to drop deleted ones. On a cluster with a node down, nats-server
 * 2.9 may place the ordered consumer of `kv.keys()` on the dead node, and every such listing
 * then times out; this one needs only the stream's leader, so placement goes on through a
 * NATS node's death. Meant for small listings (the members of one actor type).
 */
export async function listLiveKeys(jsm: JetStreamManager, kv: Pick<KV, "get">, bucket: string, filter: string): Promise<string[]> {
  const prefix = kvSubjectPrefix(bucket);
  const info = await jsm.streams.info(kvStream(bucket), { subjects_filter: `${prefix}${filter}` });
  const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  const entries = await Promise.all(keys.map((key) => kv.get(key)));
  return keys.filter((_, i) => entries[i]?.operation === "PUT");
}

/** `work`'s result, or `undefined` when it takes longer than `boundMs` (it is not cancelled). */
export async function withinMs<T>(work: Promise<T>, boundMs: number): Promise<T | undefined> {
  let bound: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (bound = setTimeout(resolve, boundMs, undefined)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(bound);
  }
}
