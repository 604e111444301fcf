/**
 * What an operator asks of the event streams: how many events each topic holds, how far behind
 * each service's durable consumer is (its lag), how often it had to redeliver, and how many dead
 * letters each service has. Read from JetStream's own stream and consumer info, so the numbers
 * are the server's, not a process's guess. Shared by `micro events` and the dashboard.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { MicroError } from "../errors/micro-error.ts";
import { assertNamespace, eventPrefix, eventStreamSubjects } from "../protocol/mod.ts";

/** Events stored on one topic. */
export interface TopicCount {
  readonly topic: string;
  readonly messages: number;
}

/** One durable consumer of the event stream: a service's subscription. */
export interface ConsumerLag {
  /** The durable name (service, filter and a hash). */
  readonly name: string;
  /** The topic filter it follows, e.g. `customer.>`. */
  readonly filter: string;
  /** Stored events it has not been given yet: its lag. */
  readonly pending: number;
  /** Events given to it and not acknowledged yet. */
  readonly ackPending: number;
  /** Events it is handling a second time or more. */
  readonly redelivered: number;
  /** How long JetStream waits for an acknowledgement before redelivering, in ms. */
  readonly ackWaitMs: number;
  /** When it last got an event, epoch ms (undefined: never). */
  readonly lastDelivered?: number | undefined;
}

/** Dead letters waiting for one service. */
export interface DeadLetterCount {
  readonly service: string;
  readonly letters: number;
}

/** The event streams of a namespace as an operator sees them. */
export interface EventOverview {
  readonly namespace: string;
  readonly stream: string;
  readonly topics: readonly TopicCount[];
  readonly consumers: readonly ConsumerLag[];
  readonly deadLetters: readonly DeadLetterCount[];
  /** True when more topics or consumers exist than `limit` shows. */
  readonly truncated: boolean;
}

/** Options of {@link eventOverview}. */
export interface EventOverviewOptions {
  readonly namespace: string;
  /** Event stream (`MICRO_EVENTS`, the broker's default); dead letters in `{stream}_DLQ`. */
  readonly stream?: string;
  /** Most topics and consumers listed (1000): a stream may hold millions of subjects. */
  readonly limit?: number;
}

/**
 * Topics with their event counts, durable consumers with lag and redeliveries, dead letters per
 * service. A namespace whose streams do not exist yet (nothing published) has empty lists.
 */
export async function eventOverview(nc: NatsConnection, options: EventOverviewOptions): Promise<EventOverview> {
  assertNamespace(options.namespace);
  const stream = options.stream ?? "MICRO_EVENTS";
  const limit = options.limit ?? 1000;
  const jsm = await jetstreamManager(nc);
  const prefix = eventPrefix(options.namespace);
  const subjects = eventStreamSubjects(options.namespace);
  const info = await jsm.streams.info(stream, { subjects_filter: subjects.events }).catch(notFound);
  const empty = { namespace: options.namespace, stream, topics: [], consumers: [], deadLetters: [], truncated: false };
  if (info === undefined) return empty;
  const allTopics = Object.entries(info.state.subjects ?? {})
    .map(([subject, messages]) => ({ topic: subject.slice(prefix.length), messages }))
    .sort((a, b) => a.topic.localeCompare(b.topic));
  const consumers: ConsumerLag[] = [];
  let truncated = allTopics.length > limit;
  for await (const c of jsm.consumers.list(stream)) {
    // Only durable consumers are a service's subscriptions; replays' and live feeds' are not.
    const filter = c.config.filter_subject ?? "";
    if (c.config.durable_name === undefined || !filter.startsWith(prefix)) continue;
    if (consumers.length === limit) {
      truncated = true;
      break;
    }
    consumers.push({
      name: c.name,
      filter: filter.slice(prefix.length),
      pending: c.num_pending,
      ackPending: c.num_ack_pending,
      redelivered: c.num_redelivered,
      ackWaitMs: Math.round((c.config.ack_wait ?? 0) / 1e6),
      lastDelivered: lastActive(c.delivered.last_active),
    });
  }
  consumers.sort((a, b) => a.name.localeCompare(b.name));
  const dlqPrefix = subjects.dlq.slice(0, -1);
  const dlq = await jsm.streams.info(`${stream}_DLQ`, { subjects_filter: subjects.dlq }).catch(notFound);
  const deadLetters = Object.entries(dlq?.state.subjects ?? {})
    .map(([subject, letters]) => ({ service: subject.slice(dlqPrefix.length), letters }))
    .filter((d) => d.letters > 0)
    .sort((a, b) => a.service.localeCompare(b.service));
  return { ...empty, topics: allTopics.slice(0, limit), consumers, deadLetters, truncated };
}

/** A stream that does not exist yet reads as nothing; any other failure is the caller's to see. */
function notFound(error: unknown): undefined {
  const message = (error as Error).message ?? "";
  if (/stream not found/i.test(message)) return undefined;
  throw MicroError.from(error, "unavailable");
}

/** The server sends `last_active` as an RFC 3339 time (typed as nanos by the client): either reads. */
function lastActive(value: unknown): number | undefined {
  const ms = typeof value === "string" ? Date.parse(value) : typeof value === "number" ? value / 1e6 : Number.NaN;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}
