import { type MsgHdrs, headers as natsHeaders, type NatsConnection, nuid } from "@nats-io/nats-core";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { assertTimeInRange } from "../config/time.ts";
import { MicroError } from "../errors/micro-error.ts";
import { publishDurably, publishFailure } from "../nats/durable-publish.ts";
import { StreamReader } from "../nats/stream-reader.ts";
import { env } from "../platform/signals.ts";
import { checkReplicas, ensureReplicas, replicasFromEnv } from "../nats/replicas.ts";
import {
  assertNamespace,
  assertToken,
  assertTopic,
  currentTraceContext,
  deadLetterHeaders,
  deadLetterId,
  deadLetterSubject,
  eventHeaders,
  eventPrefix,
  eventStreamSubjects,
  eventSubject,
  limits,
  msgIdHeader,
  originalEventIdHeader,
  redriveFilter,
  redriveId,
  redriveSubject,
} from "../protocol/mod.ts";
import { defaultContentType, envelopeHeaders, readEnvelope } from "./envelope.ts";
import { JsEvent } from "./js-event.ts";
import type { Broker, DeadLetter, ReplayOptions, StoredEvent } from "./types.ts";

/** Stream settings; defaults in parentheses. */
export interface JetStreamBrokerOptions {
  /** Namespace of event subjects (`micro`): events live on `{namespace}.events.{topic}`. */
  readonly namespace?: string;
  /** Event stream name (`MICRO_EVENTS`); dead letters go to `{stream}_DLQ`. */
  readonly stream?: string;
  /** `file` (default) or `memory`. */
  readonly storage?: "file" | "memory";
  /** How long events are kept, in ms (0 = forever, the default: the audit trail needs history). */
  readonly maxAgeMs?: number;
  /** JetStream replicas (`MICRO_REPLICAS` or 1); 3 on a cluster. An existing stream is scaled up, never down. */
  readonly replicas?: number;
  /**
   * How long a publish keeps retrying through leader elections and reconnects, in ms (15 s);
   * well inside the duplicate window, so a retry never stores an event twice.
   */
  readonly publishTimeoutMs?: number;
  /** Window in which a repeated event id is stored once, in ms (2 minutes). */
  readonly duplicateWindowMs?: number;
}
/** The broker on JetStream: the {@link Broker} contract (the name callers have always used). */
export type JetStreamBroker = Broker;
export type { DeadLetter };

/**
 * How long JetStream waits for an ack before redelivering: short, so the events a crashed
 * consumer held come back to another instance within seconds. Handlers still at work extend
 * it with a progress heartbeat every third of it, so a slow handler is never redelivered.
 */
const ackWaitMs = 5_000;

/**
 * How long each pull of a subscription lasts (nats.js: 30 s). Its heartbeats come every half
 * of it and two missed make nats.js pull again, from the consumer's new leader when its NATS
 * node died: so a subscription resumes within about this long after a node's death, not 30 s.
 */
const consumeExpiresMs = 5_000;


/**
 * Creates (or updates) the event and dead-letter streams and returns the broker. A stream
 * that exists with settings jetmicro cannot change (storage, for example) is reported with
 * the setting and how to resolve it.
 */
export async function createJetStreamBroker(nc: NatsConnection, options: JetStreamBrokerOptions = {}): Promise<JetStreamBroker> {
  const namespace = options.namespace ?? "micro";
  assertNamespace(namespace);
  const streamName = options.stream ?? "MICRO_EVENTS";
  const dlqName = `${streamName}_DLQ`;
  const prefix = eventPrefix(namespace);
  const streamSubjects = eventStreamSubjects(namespace);
  // Namespaces share the stream, so a service's durable consumer names its namespace (all but
  // the default one, whose names stay as they were): `audit` of `shop` is not `audit` of `micro`.
  const consumerPrefix = namespace === "micro" ? "" : `${namespace.replace(/\./g, "_")}_${hashText(namespace)}__`;
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const storage = options.storage === "memory" ? StorageType.Memory : StorageType.File;
  const common = {
    storage,
    retention: RetentionPolicy.Limits,
    num_replicas: checkReplicas(options.replicas ?? replicasFromEnv()),
    max_age: (options.maxAgeMs ?? 0) * 1_000_000,
  };
  await ensureStream(jsm, { name: streamName, subjects: [streamSubjects.events], duplicate_window: (options.duplicateWindowMs ?? 120_000) * 1_000_000, ...common });
  await ensureStream(jsm, { name: dlqName, subjects: [streamSubjects.dlq, streamSubjects.redrive], ...common });
  // A server outside a cluster stores one copy whatever it was asked: say so rather than pretend.
  const eventReplicas = await ensureReplicas(jsm, streamName, common.num_replicas);
  await ensureReplicas(jsm, dlqName, common.num_replicas);

  const toEvent = (m: JsMsg): JsEvent => new JsEvent(m, prefix.length);
  const reads: ReplayReads = {
    js: jetstream(nc, { timeout: replayRequestMs }),
    jsm: await jetstreamManager(nc, { timeout: replayRequestMs, checkAPI: false }),
    debug: env("MICRO_REPLAY_DEBUG") ? (line) => console.error(`[replay-debug ${new Date().toISOString()}] ${line}`) : undefined,
  };

  const broker: JetStreamBroker = {
    async publish(topic, data, publish = {}) {
      assertTopic(topic, false);
      const id = publish.id ?? nuid.next();
      let headers: MsgHdrs;
      try {
        headers = envelopeHeaders({
        id,
        source: publish.source ?? "",
        sourceVersion: publish.sourceVersion ?? "",
        time: publish.time,
        user: publish.user ?? "",
        contentType: publish.contentType ?? defaultContentType,
        traceparent: publish.traceparent ?? currentTraceContext()?.traceparent ?? "",
        });
      } catch (error) {
        throw MicroError.from(error, "invalid_argument");
      }
      try {
        // The id is already in the headers as Nats-Msg-Id, which JetStream deduplicates on, so
        // retries through an election or a reconnect store it once.
        const ack = await publishDurably(js, eventSubject(namespace, topic), data, { headers }, Date.now() + (options.publishTimeoutMs ?? 15_000));
        return { id, sequence: ack.seq, duplicate: ack.duplicate };
      } catch (cause) {
        const failure = MicroError.from(cause, "unavailable");
        throw new MicroError(failure.code, `event ${topic} was not stored: ${failure.message}`, { cause });
      }
    },

    async subscribe(filter, handler, subscribe) {
      assertTopic(filter, true);
      assertToken("service", subscribe.service);
      const concurrency = subscribe.concurrency ?? 16;
      const maxDeliveries = subscribe.maxDeliveries ?? 5;
      const backoff = subscribe.backoffMs ?? ((n: number) => Math.min(100 * 2 ** (n - 1), 30_000));
      // Readable, and unique per filter: the hash keeps `a.b` and `a_b` apart.
      const durable = `${consumerPrefix}${subscribe.service}_${filter.replace(/[.*>]/g, "_")}_${hashText(filter)}`;
      const name = subscribe.broadcast ? `${durable}_${nuid.next()}` : durable;
      try {
        await ensureConsumer(jsm, streamName, {
          // A broadcast consumer is not durable, so the server would keep one copy of it: as
          // many as the stream, so the NATS node holding it can die without ending the feed.
          ...(subscribe.broadcast ? { name, inactive_threshold: 60_000_000_000, num_replicas: eventReplicas } : { durable_name: name }),
          filter_subject: eventSubject(namespace, filter),
          ack_policy: AckPolicy.Explicit,
          deliver_policy: subscribe.broadcast ? DeliverPolicy.New : DeliverPolicy.All,
          // The server never has more unacknowledged events out than we handle at once.
          max_ack_pending: concurrency,
          ack_wait: ackWaitMs * 1_000_000,
        });
      } catch (cause) {
        throw new MicroError("failed_precondition", `cannot create the consumer "${name}" on ${streamName}: ${(cause as Error).message}`, { cause });
      }
      // Re-driven dead letters come back to this service alone, through a second consumer.
      if (!subscribe.broadcast) {
        try {
          await ensureConsumer(jsm, dlqName, {
            durable_name: `${name}_redrive`,
            // Dead letters are re-driven to the subscription that failed them, not its siblings.
            filter_subject: redriveFilter(namespace, subscribe.service, name),
            ack_policy: AckPolicy.Explicit,
            max_ack_pending: concurrency,
            ack_wait: ackWaitMs * 1_000_000,
          });
        } catch (cause) {
          throw new MicroError("failed_precondition", `cannot create the consumer "${name}_redrive" on ${dlqName}: ${(cause as Error).message}`, { cause });
        }
      }
      // Through the 2 s client: after missed heartbeats nats.js asks the consumer for its info
      // before pulling again, and while its NATS node's death is being settled each ask costs
      // that timeout (then a wait of one pull's length) before the next.
      const consumers: Consumer[] = [await reads.js.consumers.get(streamName, name)];
      if (!subscribe.broadcast) consumers.push(await reads.js.consumers.get(dlqName, `${name}_redrive`));
      const running = new Set<Promise<void>>();
      const streams = await Promise.all(consumers.map((c) => c.consume({ max_messages: concurrency, expires: consumeExpiresMs })));
      const loop = Promise.all(streams.map(async (messages) => {
        for await (const m of messages) {
          const job = handleOne(m).finally(() => running.delete(job));
          running.add(job);
        }
      }));

      async function handleOne(m: JsMsg): Promise<void> {
        const event = new JsEvent(m, m.info.stream === streamName ? prefix.length : undefined, (delayMs) => m.nak(delayMs ?? backoff(m.info.deliveryCount)));
        // Tell JetStream we are still on it, so a slow handler (or a wait in the mailbox) never
        // makes it deliver the same event a second time after the ack wait.
        const progress = setInterval(() => m.working(), ackWaitMs / 3);
        try {
          await handler(event);
          if (!subscribe.manualAck) m.ack();
        } catch (error) {
          const failure = MicroError.from(error);
          if (event.deliveries >= maxDeliveries) {
            await deadLetter(js, deadLetterSubject(namespace, subscribe.service), m, event, failure.message, name).then(
              // No reason text: `+TERM <reason>` needs nats-server 2.10.4, and an older server
              // (Debian's 2.9) ignores it, redelivering the dead letter after every ack wait.
              () => m.term(),
              () => m.nak(backoff(event.deliveries)), // keep it rather than lose it
            );
          } else {
            m.nak(backoff(event.deliveries));
          }
        } finally {
          clearInterval(progress);
        }
      }

      return {
        async stop() {
          for (const messages of streams) messages.stop();
          await loop;
          await Promise.all(running);
          if (subscribe.broadcast) await jsm.consumers.delete(streamName, name).catch(() => undefined);
        },
      };
    },

    replay: (filter, replay = {}) => replayEvents(reads, streamName, namespace, filter, replay, toEvent),

    async replayInto(filter, handler, replay = {}) {
      let count = 0;
      for await (const event of replayEvents(reads, streamName, namespace, filter, replay, toEvent)) {
        await handler(event);
        count++;
      }
      return count;
    },

    async redrive(service) {
      let count = 0;
      for await (const letter of broker.deadLetters(service)) {
        const h = natsHeaders();
        const original = await jsm.streams.getMessage(dlqName, { seq: letter.deadLetterSequence });
        const consumer = original?.header.get(deadLetterHeaders.consumer);
        if (!consumer) continue; // written before consumers were recorded: leave it listed
        for (const [k, values] of original?.header ?? []) {
          if (k.startsWith(deadLetterHeaders.prefix)) continue;
          for (const v of values) h.append(k, v);
        }
        try {
          await js.publish(redriveSubject(namespace, service, consumer, letter.topic), letter.data, { headers: h, msgID: redriveId(letter.deadLetterSequence) });
        } catch (error) {
          // An event of nearly the max payload cannot travel with the redrive's headers: leave it listed.
          if (tooLarge(error)) continue;
          throw error;
        }
        // A redrive running alongside (a second click, another operator) sent and removed it
        // first (the publish above was then a duplicate of its id): not this redrive's letter,
        // and no failure. The server says so only in words, so ask whether it is gone.
        const removed = await jsm.streams.deleteMessage(dlqName, letter.deadLetterSequence, false).catch(async (error: unknown) => {
          if ((await jsm.streams.getMessage(dlqName, { seq: letter.deadLetterSequence })) === null) return false;
          throw error;
        });
        if (removed) count++;
      }
      return count;
    },

    async *deadLetters(service) {
      assertToken("service", service);
      const consumer = await js.consumers.get(dlqName, { filter_subjects: deadLetterSubject(namespace, service) });
      const info = await jsm.streams.info(dlqName, { subjects_filter: deadLetterSubject(namespace, service) }).catch(() => undefined);
      let left = info?.state.subjects?.[deadLetterSubject(namespace, service)] ?? 0;
      if (left === 0) return;
      // Fetched in bounded pulls, not consumed: letters counted above may be gone by the time
      // they are read (a redrive running alongside deletes them), and a consume would then
      // wait for ever for the last ones. A pull ends when it expires, and the listing with it.
      while (left > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(left, deadLetterBatch), expires: deadLetterFetchMs });
        let got = 0;
        try {
          for await (const m of batch) {
            got++;
            const original = readEnvelope(m.headers, undefined, 0);
            const sequence = Number(m.headers?.get(deadLetterHeaders.sequence) ?? 0);
            const storedIn = m.headers?.get(deadLetterHeaders.storedIn);
            yield {
              ...original,
              // A letter too large to hold its event names where the event is: read it there.
              data: storedIn ? (await jsm.streams.getMessage(storedIn, { seq: sequence }).catch(() => null))?.data ?? new Uint8Array(0) : m.data,
              sequence,
              deliveries: Number(m.headers?.get(deadLetterHeaders.deliveries) ?? 0),
              error: m.headers?.get(deadLetterHeaders.error) ?? "",
              deadLetterSequence: m.seq,
            };
            if (--left === 0 || m.info.pending === 0) return;
          }
        } finally {
          batch.stop();
        }
        if (got === 0) return;
      }
    },
  };
  return broker;
}

/** Dead letters asked for per pull of a listing. */
const deadLetterBatch = 256;
/** How long one pull of a dead-letter listing waits for letters that may have been removed, ms. */
const deadLetterFetchMs = 1000;

/** A short stable hash (FNV-1a, base 36) for names. */
function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}


async function deadLetter(js: JetStreamClient, subject: string, m: JsMsg, event: StoredEvent, error: string, consumer: string): Promise<void> {
  const copy = natsHeaders();
  // The original id stays readable (Micro-Event-Id) but must not make the dead letter a "duplicate".
  for (const [k, values] of m.headers ?? []) {
    if (k.startsWith(deadLetterHeaders.prefix) || k === msgIdHeader || k === originalEventIdHeader) continue;
    for (const v of values) copy.append(k, v);
  }
  // The id, topic and time as the event read them (a Micro-Event-Id or -Topic its publisher
  // wrote on the event stream is no part of it): the letter lives on another subject, stored later.
  if (event.id) copy.set(originalEventIdHeader, event.id);
  copy.set(eventHeaders.topic, event.topic);
  copy.set(eventHeaders.time, String(event.time));
  copy.set(deadLetterHeaders.error, error.replace(/[\r\n]+/g, " ").slice(0, 1024));
  copy.set(deadLetterHeaders.consumer, consumer);
  copy.set(deadLetterHeaders.sequence, String(m.seq));
  copy.set(deadLetterHeaders.deliveries, String(m.info.deliveryCount));
  try {
    await js.publish(subject, m.data, { headers: copy, msgID: deadLetterId(m.info.stream, m.seq) });
  } catch (error) {
    if (!tooLarge(error)) throw error;
    // An event of nearly the NATS max payload (any publisher on the bus may store one) does not
    // fit with the letter's headers, and failing here kept it redelivered for good, holding one
    // of the subscription's slots (all of them at concurrency 1: nothing after it was delivered).
    // Such a letter holds the envelope (bounded values) and where the event is stored instead.
    const slim = natsHeaders();
    for (const [k, values] of copy) {
      const value = values[0] ?? "";
      if (k.startsWith(deadLetterHeaders.prefix) || (envelopeHeaderNames.has(k) && value.length <= limits.maxMetadataValueLength)) slim.set(k, value);
    }
    slim.set(deadLetterHeaders.storedIn, m.info.stream);
    await js.publish(subject, new Uint8Array(0), { headers: slim, msgID: deadLetterId(m.info.stream, m.seq) });
  }
}

/** The envelope's header names, which a dead letter too large to hold its event keeps. */
const envelopeHeaderNames = new Set<string>([...Object.values(eventHeaders), originalEventIdHeader].filter((k) => k !== msgIdHeader));

/** Whether a publish failed because the message passes the NATS max payload. */
function tooLarge(error: unknown): boolean {
  return /max_payload|maximum payload|message size exceeds/i.test(String((error as Error)?.message ?? error));
}

async function* replayEvents(
  reads: ReplayReads,
  stream: string,
  namespace: string,
  filter: string,
  replay: ReplayOptions,
  toEvent: (m: JsMsg) => JsEvent,
): AsyncIterable<JsEvent> {
  assertTopic(filter, true);
  const start = replay.fromSequence !== undefined ? { fromSequence: replay.fromSequence } : replay.since !== undefined ? { since: isoTime(replay.since) } : {};
  // The reader replaces its consumer when the NATS node holding it dies, so a replay during or
  // right after a failover neither stalls nor fails (see stream-reader.ts).
  const reader = new StreamReader({
    ...reads,
    stream,
    filter: eventSubject(namespace, filter),
    ...start,
    // Replay ends at what is stored now, so a live topic does not make it endless.
    toEnd: true,
    namePrefix: "micro_replay",
    label: `replay of ${stream} ${filter}`,
    debug: reads.debug,
  });
  try {
    await reader.open({ until: Date.now() + replayStartMs, when: (error) => publishFailure(error).retry });
  } catch (error) {
    throw new MicroError("unavailable", `replay of ${stream} could not start: ${publishFailure(error).reason}`, { cause: error });
  }
  try {
    for await (const m of reader) {
      // `until` is on the time JetStream stored the event, which only grows along the stream.
      if (replay.until !== undefined && Number(m.info.timestampNanos) / 1e6 >= replay.until) break;
      yield toEvent(m);
    }
  } finally {
    // Deletes the reader's consumer: one per replay would otherwise idle on the server.
    reader.stop();
  }
}

/** The clients a replay reads with: their 2 s timeout is what one consumer placed on a dead NATS node costs. */
interface ReplayReads {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly debug?: (line: string) => void;
}

/** Each JetStream request of a replay gives up after this long, and is tried again (see stream-reader.ts). */
const replayRequestMs = 2_000;

/**
 * How long a replay keeps trying to create its first consumer while the cluster recovers
 * (an election, or nats-server 2.9 placing new consumers on a node that just died).
 */
const replayStartMs = 30_000;

function isoTime(ms: number): string {
  return new Date(assertTimeInRange("since", ms)).toISOString();
}

/**
 * Creates a consumer, or brings an existing durable one to this ack wait: consumers made by
 * an older jetmicro waited 30 s, which held a crashed instance's events that long. Other
 * differences are left for the server to judge (and reported by the caller).
 */
async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<void> {
  const name = config.durable_name;
  const existing = name === undefined ? undefined : await jsm.consumers.info(stream, name).catch(() => undefined);
  if (existing !== undefined && name !== undefined && existing.config.ack_wait !== config.ack_wait) {
    await jsm.consumers.update(stream, name, { ack_wait: config.ack_wait });
  }
  await jsm.consumers.add(stream, config);
}

/** Whether `wanted` asks for a subject or a setting the stream does not have yet. */
function differs(existing: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  const subjects = new Set(existing.subjects ?? []);
  if (!(wanted.subjects ?? []).every((s) => subjects.has(s))) return true;
  return Object.entries(wanted).some(([key, value]) => key !== "subjects" && JSON.stringify(existing[key as keyof StreamConfig]) !== JSON.stringify(value));
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  const existing = await jsm.streams.info(config.name).catch(() => undefined);
  try {
    if (existing === undefined) await jsm.streams.add(config);
    // Namespaces share the stream: keep the subjects of the others (`micro.events.>` beside
    // `shop.events.>`), or starting one namespace would stop storing another's events.
    // Replicas only grow here: a process without MICRO_REPLICAS must not scale a cluster's stream down.
    // And only when something differs: a least-privilege user (a gateway) may read streams but not change them.
    else {
      const wanted = {
        ...config,
        num_replicas: Math.max(existing.config.num_replicas ?? 1, config.num_replicas ?? 1),
        subjects: [...new Set([...(existing.config.subjects ?? []), ...(config.subjects ?? [])])],
      };
      if (differs(existing.config, wanted)) await jsm.streams.update(config.name, wanted);
    }
  } catch (cause) {
    throw new MicroError(
      "failed_precondition",
      `the stream ${config.name} exists with settings jetmicro cannot change (${(cause as Error).message}); ` +
        `set the broker options to match it, or delete it with \`nats stream rm ${config.name}\` if its events may go`,
      { cause },
    );
  }
}
