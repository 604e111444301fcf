/**
 * The broker in memory: the {@link Broker} contract in one process, for tests of handler
 * modules and event-driven services without a nats-server (pass it to `createMemoryTransport`
 * or `startService`).
 *
 * It keeps JetStream's semantics where a test can see them: an event is stored before
 * publish resolves and a repeated id within the duplicate window is stored once; each
 * durable subscription (per service and filter) gets every stored event once, from the
 * start of history, shared among that service's subscribers, at most `concurrency` in
 * flight; broadcast subscriptions get only new events; a handler that throws is retried
 * with the subscription's backoff and dead-lettered after `maxDeliveries`; re-driven dead
 * letters go back to the subscription that failed them only; replay reads what is stored
 * when it starts. Limits: one namespace, nothing survives the process, a re-driven event keeps
 * its first sequence, and there is no size limit on events.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { assertToken, assertTopic, currentTraceContext } from "../protocol/mod.ts";
import { defaultContentType, envelopeHeaders } from "./envelope.ts";
import { topicMatcher } from "./topic-filter.ts";
import type {
  Broker,
  DeadLetter,
  DeliveredEvent,
  EventEnvelope,
  EventHandler,
  EventSubscription,
  PublishOptions,
  PublishResult,
  ReplayOptions,
  StoredEvent,
  SubscribeOptions,
} from "./types.ts";

/** Options of {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Window in which a repeated event id is stored once, in ms (2 minutes, as the JetStream broker). */
  readonly duplicateWindowMs?: number;
  /** How long a manual-ack event may stay unsettled before it is delivered again, in ms (30000). */
  readonly ackWaitMs?: number;
}

/** A broker in memory; `close()` stops its timers and refuses further publishing. */
export interface MemoryBroker extends Broker {
  close(): void;
}

interface Entry extends EventEnvelope {
  readonly data: Uint8Array;
  readonly sequence: number;
  /** When it was stored (what replay's `since` and `until` compare). */
  readonly storedAt: number;
}

/** An event waiting for delivery, with the deliveries it had so far. */
interface Pending {
  readonly entry: Entry;
  readonly deliveries: number;
}

interface Subscriber {
  readonly handler: EventHandler;
  readonly options: SubscribeOptions;
  readonly running: Set<Promise<void>>;
}

/** A durable subscription: where it is in the log, what waits for redelivery, who takes it. */
interface Consumer {
  readonly name: string;
  readonly service: string;
  readonly matches: (topic: string) => boolean;
  cursor: number;
  readonly ready: Pending[];
  readonly subscribers: Subscriber[];
  inFlight: number;
  maxInFlight: number;
  turn: number;
}

interface Letter extends DeadLetter {
  readonly service: string;
  readonly consumer: string;
  readonly entry: Entry;
}

const defaultBackoff = (n: number) => Math.min(100 * 2 ** (n - 1), 30_000);

/**
 * A broker in this process.
 *
 * @example
 * ```ts
 * const broker = createMemoryBroker();
 * const transport = createMemoryTransport([audit], { broker });
 * await broker.publish("customer.login", data, { user: "42" });
 * ```
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const log: Entry[] = [];
  const ids = new Map<string, { sequence: number; at: number }>();
  const consumers = new Map<string, Consumer>();
  let letters: Letter[] = [];
  let letterSequence = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;

  function later(ms: number, run: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) run();
    }, ms);
    timers.add(timer);
    return timer;
  }

  function pump(consumer: Consumer): void {
    while (!closed && consumer.subscribers.length > 0 && consumer.inFlight < consumer.maxInFlight) {
      const next = consumer.ready.shift() ?? fromLog(consumer);
      if (next === undefined) return;
      const subscriber = consumer.subscribers[consumer.turn++ % consumer.subscribers.length]!;
      consumer.inFlight++;
      const job: Promise<void> = deliver(consumer, subscriber, next).finally(() => subscriber.running.delete(job));
      subscriber.running.add(job);
    }
  }

  function fromLog(consumer: Consumer): Pending | undefined {
    while (consumer.cursor < log.length) {
      const entry = log[consumer.cursor++]!;
      if (consumer.matches(entry.topic)) return { entry, deliveries: 0 };
    }
    return undefined;
  }

  async function deliver(consumer: Consumer, subscriber: Subscriber, pending: Pending): Promise<void> {
    const deliveries = pending.deliveries + 1;
    const { maxDeliveries = 5, backoffMs = defaultBackoff, manualAck = false } = subscriber.options;
    let settled = false;
    let ackWait: ReturnType<typeof setTimeout> | undefined;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (ackWait !== undefined) clearTimeout(ackWait);
      consumer.inFlight--;
      queueMicrotask(() => pump(consumer));
      return true;
    };
    const retry = (delayMs: number) => {
      if (settle()) later(delayMs, () => (consumer.ready.push({ entry: pending.entry, deliveries }), pump(consumer)));
    };
    const event: DeliveredEvent = {
      ...withoutStoredAt(pending.entry),
      deliveries,
      ack: () => void settle(),
      nak: (delayMs) => retry(delayMs ?? backoffMs(deliveries)),
    };
    try {
      await subscriber.handler(event);
      if (!manualAck) settle();
      // Unsettled by a manual-ack handler: delivered again after the ack wait, as JetStream does.
      else if (!settled) ackWait = later(ackWaitMs, () => retry(0));
    } catch (error) {
      if (deliveries < maxDeliveries) return retry(backoffMs(deliveries));
      if (!settle()) return;
      const text = MicroError.from(error).message.replace(/[\r\n]+/g, " ").slice(0, 1024);
      letters.push({
        ...withoutStoredAt(pending.entry),
        deliveries,
        error: text,
        deadLetterSequence: ++letterSequence,
        service: consumer.service,
        consumer: consumer.name,
        entry: pending.entry,
      });
    }
  }

  return {
    async publish(topic, data, publish: PublishOptions = {}): Promise<PublishResult> {
      assertTopic(topic, false);
      if (closed) throw new MicroError("unavailable", `event ${topic} was not stored: the memory broker is closed`);
      const id = publish.id ?? crypto.randomUUID();
      const envelope = {
        id,
        source: publish.source ?? "",
        sourceVersion: publish.sourceVersion ?? "",
        user: publish.user ?? "",
        contentType: publish.contentType ?? defaultContentType,
        traceparent: publish.traceparent ?? currentTraceContext()?.traceparent ?? "",
      };
      try {
        // The same checks as on JetStream: what could not travel in headers is refused here too.
        envelopeHeaders({ ...envelope, time: publish.time });
      } catch (error) {
        throw MicroError.from(error, "invalid_argument");
      }
      const now = Date.now();
      const seen = ids.get(id);
      if (seen !== undefined && now - seen.at < duplicateWindowMs) return { id, sequence: seen.sequence, duplicate: true };
      const entry: Entry = { ...envelope, topic, time: publish.time ?? now, data: data.slice(), sequence: log.length + 1, storedAt: now };
      log.push(entry);
      ids.set(id, { sequence: entry.sequence, at: now });
      for (const consumer of consumers.values()) pump(consumer);
      return { id, sequence: entry.sequence, duplicate: false };
    },

    async subscribe(filter, handler, subscribe): Promise<EventSubscription> {
      assertTopic(filter, true);
      assertToken("service", subscribe.service);
      const concurrency = subscribe.concurrency ?? 16;
      // Durable per service and filter (shared by its instances, from the start of history);
      // a broadcast subscription is its own consumer and starts at what is published next.
      const durable = JSON.stringify([subscribe.service, filter]);
      const name = subscribe.broadcast ? `${durable}#${crypto.randomUUID()}` : durable;
      let consumer = consumers.get(name);
      if (consumer === undefined) {
        consumer = {
          name,
          service: subscribe.service,
          matches: topicMatcher(filter),
          cursor: subscribe.broadcast ? log.length : 0,
          ready: [],
          subscribers: [],
          inFlight: 0,
          maxInFlight: concurrency,
          turn: 0,
        };
        consumers.set(name, consumer);
      }
      consumer.maxInFlight = concurrency;
      const subscriber: Subscriber = { handler, options: subscribe, running: new Set() };
      consumer.subscribers.push(subscriber);
      pump(consumer);
      const own = consumer;
      return {
        async stop() {
          const at = own.subscribers.indexOf(subscriber);
          if (at >= 0) own.subscribers.splice(at, 1);
          while (subscriber.running.size > 0) await Promise.all(subscriber.running);
          if (subscribe.broadcast) consumers.delete(name);
        },
      };
    },

    replay: (filter, replay = {}) => replayEvents(log, filter, replay),

    async replayInto(filter, handler, replay = {}) {
      let count = 0;
      for await (const event of replayEvents(log, filter, replay)) {
        await handler({ ...event, ack() {}, nak() {} });
        count++;
      }
      return count;
    },

    async *deadLetters(service) {
      assertToken("service", service);
      for (const letter of letters.filter((l) => l.service === service)) yield publicLetter(letter);
    },

    async redrive(service) {
      assertToken("service", service);
      let count = 0;
      const kept: Letter[] = [];
      for (const letter of letters) {
        const consumer = letter.service === service ? consumers.get(letter.consumer) : undefined;
        // A letter of a broadcast subscription that is gone stays listed (nobody could take it).
        if (consumer === undefined) {
          kept.push(letter);
          continue;
        }
        consumer.ready.push({ entry: letter.entry, deliveries: 0 });
        pump(consumer);
        count++;
      }
      letters = kept;
      return count;
    },

    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

async function* replayEvents(log: readonly Entry[], filter: string, replay: ReplayOptions): AsyncIterable<StoredEvent> {
  assertTopic(filter, true);
  if (replay.since !== undefined && Number.isNaN(new Date(replay.since).getTime())) {
    throw new MicroError("invalid_argument", `since must be a time in epoch ms, got ${replay.since}`);
  }
  const matches = topicMatcher(filter);
  // Ends at what is stored now, so a live topic does not make it endless.
  const end = log.length;
  for (let i = Math.max(0, (replay.fromSequence ?? 1) - 1); i < end; i++) {
    const entry = log[i]!;
    if (replay.until !== undefined && entry.storedAt >= replay.until) return;
    if (replay.since !== undefined && entry.storedAt < replay.since) continue;
    if (matches(entry.topic)) yield { ...withoutStoredAt(entry), deliveries: 1 };
  }
}

function withoutStoredAt(entry: Entry): Omit<StoredEvent, "deliveries"> {
  const { storedAt: _, ...event } = entry;
  return event;
}

function publicLetter(letter: Letter): DeadLetter {
  const { service: _s, consumer: _c, entry: _e, ...rest } = letter;
  return rest;
}
