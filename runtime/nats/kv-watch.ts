/**
 * Watches a KV bucket's changes from now on, through the death of a NATS node: a
 * {@link StreamReader} on the bucket's stream instead of `kv.watch()`. nats.js's KV watch is an
 * ordered push consumer; when the node holding it dies, it asks for a new one with a 5 s
 * timeout and a growing backoff, and on nats-server 2.9 (which may place new consumers on the
 * dead node for a while) a registry reading it was seen missing new nodes for over 30 s.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { kvOperationHeader, kvStream, kvSubjectPrefix } from "../protocol/mod.ts";
import { StreamReader } from "./stream-reader.ts";

/** One change of a watched key. */
export interface KvChange {
  readonly key: string;
  /** The bucket stream's sequence of the change: newer changes have higher revisions. */
  readonly revision: number;
  /** `PUT` for a value, `DEL` or `PURGE` for a removal. */
  readonly operation: "PUT" | "DEL" | "PURGE";
  readonly value: Uint8Array;
  /** Changes stored after this one when it was read: 0 once a watch has caught up. */
  readonly pending: number;
  /** The value parsed as JSON (throws when it is not). */
  json<T>(): T;
}

/** A running watch: iterate it once; {@link KvWatch.stop} ends it. */
export interface KvWatch extends AsyncIterable<KvChange> {
  stop(): void;
  /**
   * With `include: "last-values"`: resolves true once the iteration has gone past every key's
   * value stored when the watch began (at once for an empty bucket), or false after `withinMs`
   * (NATS slow or gone: the watch carries on, the caller need not wait for it).
   */
  caughtUp(withinMs: number): Promise<boolean>;
}

/** What {@link watchKv} watches. */
export interface KvWatchOptions {
  readonly bucket: string;
  /** Keys to watch, a subject filter (`>`, every key). */
  readonly keys?: string;
  /**
   * `updates` (the default): changes made from now on. `last-values`: each key's current value
   * first (a removed key's removal), then the changes.
   */
  readonly include?: "updates" | "last-values";
  /** A short name for debug lines. */
  readonly label?: string;
  readonly debug?: (line: string) => void;
}

/** Each JetStream request of a watch gives up after this long, and is tried again. */
const requestMs = 2_000;
const decoder = new TextDecoder();

/**
 * Starts watching the changes made to `bucket`: from now on (what is stored already is not
 * sent: read it after starting the watch, and nothing written in between is missed), or, with
 * `include: "last-values"`, from each key's current value.
 *
 * @example
 * const watch = await watchKv(nc, { bucket: "micro_registry" });
 * for await (const change of watch) console.log(change.operation, change.key);
 */
export async function watchKv(nc: NatsConnection, options: KvWatchOptions): Promise<KvWatch> {
  const stream = kvStream(options.bucket);
  const prefix = kvSubjectPrefix(options.bucket);
  const jsm = await jetstreamManager(nc, { timeout: requestMs, checkAPI: false });
  const start = options.include === "last-values" ? { lastPerSubject: true } : { fromSequence: (await jsm.streams.info(stream)).state.last_seq + 1 };
  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const reader = new StreamReader({
    js: jetstream(nc, { timeout: requestMs }),
    jsm,
    stream,
    filter: `${prefix}${options.keys ?? ">"}`,
    ...start,
    namePrefix: "micro_kv_watch",
    label: options.label ?? `watch of ${options.bucket}`,
    ...(options.debug ? { debug: options.debug } : {}),
    // Nothing left to read (what was pending when the watch began was removed meanwhile, as
    // records aging out are): caught up too.
    onIdle: () => markCaughtUp(),
  });
  await reader.open();
  if (reader.pendingAtOpen === 0) markCaughtUp();
  return {
    stop: () => reader.stop(),
    async caughtUp(withinMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, withinMs, false)));
      try {
        return await Promise.race([caughtUp.then(() => true), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async *[Symbol.asyncIterator]() {
      for await (const m of reader) {
        const op = m.headers?.get(kvOperationHeader);
        const value = m.data;
        yield {
          key: m.subject.slice(prefix.length),
          revision: m.seq,
          operation: op === "DEL" || op === "PURGE" ? op : "PUT",
          value,
          pending: m.info.pending,
          json: <T>() => JSON.parse(decoder.decode(value)) as T,
        };
        // Past the last stored change (the iteration asked for the next one): caught up.
        if (m.info.pending === 0) markCaughtUp();
      }
    },
  };
}
