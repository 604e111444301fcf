/**
 * Typed (protobuf) events on top of the broker: what service modules and handlers use.
 * @module
 */
import { create, type DescMessage, fromBinary, fromJsonString, isMessage, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { validateInit } from "../codec/validate-init.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { TraceContext } from "../protocol/mod.ts";
import type { Broker } from "./types.ts";
import type { DeliveredEvent, PublishOptions, PublishResult, StoredEvent } from "./types.ts";

/** What an event handler may use besides the event. */
export interface EventContext {
  /** The broker the event came from: publish follow-up events, replay history. */
  readonly broker: Broker;
  readonly service: { readonly name: string; readonly version: string };
  /** Aborted when the service is stopped hard: give up, the event will be delivered again. */
  readonly signal: AbortSignal;
  /**
   * The span of this delivery (W3C Trace Context) when tracing is on: pass it on to continue
   * the trace (a client call's `{ trace }` option, a publish's `traceparent`).
   */
  readonly trace?: TraceContext;
}

/** A subscription declared by a service module. */
export interface EventSubscriptionDefinition {
  /** Topic or filter: `customer.login`, `customer.>`, `*.login`. */
  readonly filter: string;
  /** The payload's message type; null to take the payload as raw bytes (any content type). */
  readonly schema: DescMessage | null;
  readonly handler: (message: never, event: DeliveredEvent, context: EventContext) => Promise<void> | void;
  /** Every instance gets every event (default: once per service). */
  readonly broadcast?: boolean;
  /** Deliveries before dead-lettering; default 5. */
  readonly maxDeliveries?: number;
  /** The handler calls `event.ack()` itself (see `SubscribeOptions.manualAck`). */
  readonly manualAck?: boolean;
}

/**
 * Declares a subscription of a service to a topic filter, with events decoded as `schema`.
 * A handler that throws is retried with backoff, then the event is dead-lettered.
 *
 * @example
 * ```ts
 * defineService(Audit, { subscriptions: [onEvent("customer.>", CustomerEventSchema, async (e, meta) => {...})] }, {...})
 * ```
 */
export function onEvent<D extends DescMessage>(
  filter: string,
  schema: D,
  handler: (message: MessageShape<D>, event: DeliveredEvent, context: EventContext) => Promise<void> | void,
  options?: { broadcast?: boolean; maxDeliveries?: number; manualAck?: boolean },
): EventSubscriptionDefinition;
export function onEvent(
  filter: string,
  schema: null,
  handler: (payload: Uint8Array, event: DeliveredEvent, context: EventContext) => Promise<void> | void,
  options?: { broadcast?: boolean; maxDeliveries?: number; manualAck?: boolean },
): EventSubscriptionDefinition;
export function onEvent(
  filter: string,
  schema: DescMessage | null,
  handler: (message: never, event: DeliveredEvent, context: EventContext) => Promise<void> | void,
  options: { broadcast?: boolean; maxDeliveries?: number; manualAck?: boolean } = {},
): EventSubscriptionDefinition {
  return { filter, schema, handler: handler as EventSubscriptionDefinition["handler"], ...options };
}

/** Decodes an event's payload as `schema`, by its content type. */
export function decodeEvent<D extends DescMessage>(schema: D, event: StoredEvent): MessageShape<D> {
  try {
    return event.contentType.startsWith("application/json")
      ? fromJsonString(schema, new TextDecoder().decode(event.data), { ignoreUnknownFields: true })
      : fromBinary(schema, event.data);
  } catch (cause) {
    throw new MicroError("invalid_argument", `event ${event.id} on ${event.topic} is not a ${schema.typeName}: ${(cause as Error).message}`, { cause });
  }
}

/** Publishes a protobuf message as an event (binary, `application/proto`). */
export function publishMessage<D extends DescMessage>(
  broker: Broker,
  topic: string,
  schema: D,
  message: MessageInitShape<D> | MessageShape<D>,
  options: PublishOptions = {},
): Promise<PublishResult> {
  let data: Uint8Array;
  try {
    validateInit(schema, message);
  } catch (error) {
    return Promise.reject(new MicroError("invalid_argument", `event ${topic} is not a valid ${schema.typeName}: ${(error as Error).message}`, { detail: (error as MicroError).detail }));
  }
  try {
    data = toBinary(schema, isMessage(message, schema) ? message : create(schema, message as MessageInitShape<D>));
  } catch (cause) {
    return Promise.reject(new MicroError("invalid_argument", `invalid ${schema.typeName} for ${topic}: ${(cause as Error).message}`, { cause }));
  }
  return broker.publish(topic, data, { contentType: "application/proto", ...options });
}
