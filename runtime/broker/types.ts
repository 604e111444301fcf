/**
 * The broker contract: durable events. Publishing resolves once the event is stored;
 * subscriptions are durable per service (each event handled once per service, however many
 * instances run) or per instance (broadcast); replay reads history in order; what a service
 * failed to handle `maxDeliveries` times waits in its dead letters until re-driven.
 *
 * Two implementations: JetStream (`nats-jetstream.ts`) and one in memory (`memory.ts`) for
 * tests of handler modules without a nats-server.
 * @module
 */

/** A broker: JetStream in production, in memory for tests. */
export interface Broker {
  /** Stores an event on `topic`; `invalid_argument` for a bad topic or envelope. */
  publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<PublishResult>;
  /** Delivers the events matching `filter` to `handler`, durably per service (see {@link SubscribeOptions}). */
  subscribe(filter: string, handler: EventHandler, options: SubscribeOptions): Promise<EventSubscription>;
  /** The stored events matching `filter`, oldest first, up to what is stored when it starts. */
  replay(filter: string, options?: ReplayOptions): AsyncIterable<StoredEvent>;
  /**
   * Replays history into a handler, one event at a time in order, to rebuild a read model
   * (a new service version can rebuild its state). Resolves with the number of events.
   */
  replayInto(filter: string, handler: EventHandler, options?: ReplayOptions): Promise<number>;
  /** Dead letters of a service, oldest first. */
  deadLetters(service: string): AsyncIterable<DeadLetter>;
  /**
   * Sends a service's dead letters back to that service only (other subscribers do not see
   * them again), removing them from the dead letters. Resolves with how many.
   */
  redrive(service: string): Promise<number>;
}

/** A dead-lettered event with the error of its last delivery. */
export interface DeadLetter extends StoredEvent {
  readonly error: string;
  /** Its sequence in the dead-letter stream. */
  readonly deadLetterSequence: number;
}

/** What travels with every event, in NATS headers (see the README's event envelope table). */
export interface EventEnvelope {
  /** Unique id; publishing the same id twice within the duplicate window stores it once. */
  readonly id: string;
  /** Topic, e.g. `customer.login`. */
  readonly topic: string;
  /** The publishing service and its version ("" for plain clients). */
  readonly source: string;
  readonly sourceVersion: string;
  /** When it was published, epoch ms. */
  readonly time: number;
  /** The user (or other subject entity) the event is about, "" if none. */
  readonly user: string;
  /** `application/proto`, `application/json`, ... */
  readonly contentType: string;
  /** W3C trace context, "" if none. */
  readonly traceparent: string;
}

/** A stored event: its envelope, its payload and its place in the stream. */
export interface StoredEvent extends EventEnvelope {
  readonly data: Uint8Array;
  /** Stream sequence, for replay cursors. */
  readonly sequence: number;
  /** How many times it has been delivered to this subscriber (1 on first delivery). */
  readonly deliveries: number;
}

/** Options of one publish. */
export interface PublishOptions {
  /** Event id; default a new unique id. */
  readonly id?: string;
  readonly user?: string;
  readonly contentType?: string;
  readonly traceparent?: string;
  readonly source?: string;
  readonly sourceVersion?: string;
  /** Publish time to record, epoch ms; default now (set it when re-publishing an event). */
  readonly time?: number;
}

/** What publish resolves with. */
export interface PublishResult {
  readonly id: string;
  readonly sequence: number;
  /** True when the id was already stored (nothing new was written). */
  readonly duplicate: boolean;
}

/** Options of a subscription. */
export interface SubscribeOptions {
  /** The subscribing service: one durable consumer per service and topic filter. */
  readonly service: string;
  /** Every instance gets every event (default false: each event once per service). */
  readonly broadcast?: boolean;
  /** Handlers running at once; also the most unacknowledged events in flight. Default 16. */
  readonly concurrency?: number;
  /** Deliveries before an event goes to the dead-letter stream. Default 5. */
  readonly maxDeliveries?: number;
  /**
   * The handler settles each event itself with `event.ack()` (or `event.nak(delayMs)`),
   * for example after handing it to its own queue. Default false: returning acknowledges,
   * throwing retries. An event left unsettled is redelivered after 30 s.
   */
  readonly manualAck?: boolean;
  /** Delay before redelivery after the n-th failure (n from 1), in ms. Default 100 · 2^(n-1), at most 30 s. */
  readonly backoffMs?: (failures: number) => number;
}

/** A delivered event, with manual settlement for `manualAck` subscriptions. */
export interface DeliveredEvent extends StoredEvent {
  /** Acknowledges: the event is done for this subscriber. */
  ack(): void;
  /** Asks for redelivery after `delayMs` (default: the subscription's backoff). */
  nak(delayMs?: number): void;
}

/** Handles one event; throwing means "retry later". */
export type EventHandler = (event: DeliveredEvent) => Promise<void> | void;

/** A running subscription. */
export interface EventSubscription {
  /** Stops taking events; events being handled finish and are acknowledged first. */
  stop(): Promise<void>;
}

/** Where replay starts. */
export interface ReplayOptions {
  /** From this stream sequence (inclusive). */
  readonly fromSequence?: number;
  /** From this time (epoch ms), by when JetStream stored the events. */
  readonly since?: number;
  /** Until this time (epoch ms, exclusive), by when JetStream stored them; default: what is stored when replay starts. */
  readonly until?: number;
}
