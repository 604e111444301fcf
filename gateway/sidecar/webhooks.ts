/**
 * Event subscriptions delivered to an app by webhook: a durable JetStream subscription whose
 * handler POSTs each event (as JSON) to the app. A 2xx answer acknowledges the event;
 * anything else, or no answer, retries it with backoff, and after `maxDeliveries` it goes to
 * the dead letters of the subscribing service (`broker.deadLetters(service)`).
 * @module
 */
import { nuid } from "@nats-io/nats-core";
import type { DeliveredEvent, EventSubscription, JetStreamBroker } from "../../runtime/mod.ts";
import { MicroError } from "../../runtime/mod.ts";
import { eventJson } from "../event-json.ts";
import { webhookDeliveriesHeader, webhookEventIdHeader, webhookEventTopicHeader } from "../http-headers.ts";
import { fetchFailure } from "./forward.ts";

/** A webhook subscription. */
export interface WebhookSpec {
  /** Topic filter: `orders.created`, `orders.>`, `*.created`. */
  readonly topic: string;
  /** Where each event is POSTed. */
  readonly url: string;
  /**
   * The subscribing service: each event reaches it once however many subscriptions it has
   * on the same topic (they share one durable consumer), and what it missed while away is
   * delivered when it subscribes again.
   */
  readonly service: string;
  /** Deliveries before an event is dead-lettered (5). */
  readonly maxDeliveries: number;
  /** Events POSTed at once (16). */
  readonly concurrency: number;
  /** How long the app may take to answer one POST, in ms (10000). */
  readonly timeoutMs: number;
}

/** A running webhook subscription. */
export interface Webhook {
  readonly id: string;
  readonly spec: WebhookSpec;
  stop(): Promise<void>;
}

/**
 * Starts delivering `spec.topic` to `spec.url`. The POST body is the event as JSON (`id`,
 * `topic`, `source`, `time`, `user`, `sequence`, `deliveries`, and `data` for JSON events or
 * `dataBase64` for others); headers `X-Micro-Event-Id`, `X-Micro-Event-Topic` and
 * `X-Micro-Event-Deliveries` say the same for apps that route on headers.
 */
export async function startWebhook(broker: JetStreamBroker, spec: WebhookSpec): Promise<Webhook> {
  const deliver = async (event: DeliveredEvent) => {
    let response: Response;
    try {
      response = await fetch(spec.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [webhookEventIdHeader]: event.id,
          [webhookEventTopicHeader]: event.topic,
          [webhookDeliveriesHeader]: String(event.deliveries),
        },
        body: JSON.stringify({ ...eventJson(event), deliveries: event.deliveries }),
        signal: AbortSignal.timeout(spec.timeoutMs),
      });
    } catch (cause) {
      throw new MicroError("unavailable", `webhook ${spec.url} not reached for event ${event.id}: ${fetchFailure(cause)}`, { cause });
    }
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new MicroError("unavailable", `webhook ${spec.url} answered ${response.status} for event ${event.id}`);
  };
  const subscription: EventSubscription = await broker.subscribe(spec.topic, deliver, {
    service: spec.service,
    concurrency: spec.concurrency,
    maxDeliveries: spec.maxDeliveries,
  });
  return { id: nuid.next(), spec, stop: () => subscription.stop() };
}
