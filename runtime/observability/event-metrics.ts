/**
 * Event consumer lag, redeliveries and dead letters as metrics, read at scrape time from
 * JetStream's own stream and consumer info (the numbers `micro events` shows), so they are the
 * server's and cover every node of every service, not one process's guess.
 *
 * Reading them is a few JetStream requests, so a result is kept for `cacheMs` (1500) and
 * scrapes in between reuse it; the scrape itself waits for a refresh at most its own bound
 * (see `MetricsRegistry.scrape`) and otherwise serves the last values. At most one refresh runs
 * at a time, so a slow JetStream never piles requests up.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { eventOverview } from "../broker/inspect.ts";
import type { MetricsRegistry } from "./metrics.ts";

/** Options of {@link collectEventMetrics}. */
export interface EventMetricsOptions {
  readonly namespace: string;
  /** Event stream (`MICRO_EVENTS`); dead letters are in `{stream}_DLQ`. */
  readonly stream?: string;
  /** How long a reading is reused, in ms (1500). */
  readonly cacheMs?: number;
  /** Most consumers and services reported (200): one series each. */
  readonly limit?: number;
}

/**
 * Adds `micro_event_consumer_pending{consumer,filter}`, `micro_event_consumer_ack_pending`,
 * `micro_event_consumer_redelivered` and `micro_dead_letters{service}` to `registry`, read from
 * JetStream on scrape. Returns a function that stops it.
 */
export function collectEventMetrics(registry: MetricsRegistry, nc: NatsConnection, options: EventMetricsOptions): () => void {
  const cacheMs = options.cacheMs ?? 1500;
  const limit = options.limit ?? 200;
  const pending = registry.gauge("micro_event_consumer_pending", "Stored events a durable event consumer has not been given yet: its lag (JetStream num_pending).", ["consumer", "filter"]);
  const ackPending = registry.gauge("micro_event_consumer_ack_pending", "Events given to a durable event consumer and not acknowledged yet.", ["consumer", "filter"]);
  const redelivered = registry.gauge("micro_event_consumer_redelivered", "Events a durable event consumer is being given a second time or more (JetStream num_redelivered).", ["consumer", "filter"]);
  const deadLetters = registry.gauge("micro_dead_letters", "Dead letters waiting for a service (in the DLQ stream).", ["service"]);
  const known = new Set<string>();
  let readAt = -Infinity;
  let running: Promise<void> | undefined;

  const refresh = async () => {
    const overview = await eventOverview(nc, { namespace: options.namespace, limit, ...(options.stream !== undefined ? { stream: options.stream } : {}) });
    const seen = new Set<string>();
    for (const c of overview.consumers) {
      const labels = { consumer: c.name, filter: c.filter };
      pending.set(labels, c.pending);
      ackPending.set(labels, c.ackPending);
      redelivered.set(labels, c.redelivered);
    }
    for (const d of overview.deadLetters.slice(0, limit)) {
      deadLetters.set({ service: d.service }, d.letters);
      seen.add(d.service);
    }
    // A service whose letters were all redriven reads 0, not its last count.
    for (const service of known) if (!seen.has(service)) deadLetters.set({ service }, 0);
    for (const service of seen) known.add(service);
    readAt = performance.now();
  };

  return registry.collectAsync(() => {
    if (performance.now() - readAt < cacheMs) return Promise.resolve();
    return (running ??= refresh().finally(() => (running = undefined)));
  });
}
