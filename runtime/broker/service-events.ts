/**
 * A service's event subscriptions (`onEvent`), started on a broker. Each delivery is decoded,
 * then runs through the service's interceptors (kind `event`, side `server`, method = the
 * event's topic) into the handler. An interceptor that throws fails the delivery exactly as a
 * handler that throws: retried with backoff, then dead-lettered.
 *
 * The server (over NATS) and the memory transport (in tests) both start subscriptions here,
 * so handlers see the same thing either way.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { applyInterceptors, type CallObserver, type CallRequest, type Interceptor, spanOf, traceContextOf, withObservers } from "../protocol/mod.ts";
import { decodeEvent, type EventContext, type EventSubscriptionDefinition } from "./typed-events.ts";
import type { Broker, DeliveredEvent, EventSubscription } from "./types.ts";

/** The parts of a service definition its subscriptions need. */
export interface SubscribingService {
  readonly name: string;
  readonly version: string;
  readonly subscriptions: readonly EventSubscriptionDefinition[];
  /** Server-side interceptors, the first one outermost. */
  readonly interceptors: readonly Interceptor[];
  /** Told how each delivery ended, outside the interceptors. */
  readonly observers?: readonly CallObserver[];
  /** Handlers running at once (the service's mailbox concurrency). */
  readonly mailbox: { readonly concurrency: number };
}

/** Where and how the subscriptions run. */
export interface ServiceEventsOptions {
  /** The broker; undefined fails a service that subscribes with `failed_precondition`. */
  readonly broker: Broker | undefined;
  /** The namespace the service runs in (reported to interceptors). */
  readonly namespace: string;
  /** Runs one delivery; the server queues it in the service's mailbox beside calls. */
  readonly run: (work: () => Promise<void>) => Promise<void>;
  /** Where failures other than a `MicroError` are reported (with stack). */
  readonly onHandlerError: (error: unknown, what: string) => void;
  /** Aborted when the service is stopped hard. */
  readonly signal: AbortSignal;
}

/** Starts every subscription `service` declared; on a failure stops those already started. */
export async function subscribeServiceEvents(service: SubscribingService, options: ServiceEventsOptions): Promise<EventSubscription[]> {
  if (service.subscriptions.length === 0) return [];
  const broker = options.broker;
  if (broker === undefined) {
    throw new MicroError("failed_precondition", `${service.name} subscribes to events but no event broker runs (JetStream is needed)`);
  }
  const context: EventContext = { broker, service: { name: service.name, version: service.version }, signal: options.signal };
  const started: EventSubscription[] = [];
  try {
    for (const s of service.subscriptions) {
      const handle = eventHandler(service, s, context, options);
      started.push(await broker.subscribe(s.filter, (event) => options.run(() => handle(event)), {
        service: service.name,
        concurrency: service.mailbox.concurrency,
        ...(s.broadcast === undefined ? {} : { broadcast: s.broadcast }),
        ...(s.maxDeliveries === undefined ? {} : { maxDeliveries: s.maxDeliveries }),
        ...(s.manualAck === undefined ? {} : { manualAck: s.manualAck }),
      }));
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()));
    throw error;
  }
  return started;
}

/** One subscription's delivery: decode, interceptors, handler. */
function eventHandler(
  service: SubscribingService,
  s: EventSubscriptionDefinition,
  context: EventContext,
  options: ServiceEventsOptions,
): (event: DeliveredEvent) => Promise<void> {
  const interceptors = withObservers(service.interceptors, service.observers);
  return async function handleEvent(event) {
    try {
      const payload = s.schema === null ? event.data : decodeEvent(s.schema, event);
      if (interceptors.length === 0) return void await s.handler(payload as never, event, context);
      // Composed per delivery: the handler also takes the delivered event (ack, nak, sequence),
      // which a request cannot carry, and the few closures are nothing beside a JetStream ack.
      const next = applyInterceptors(async function runEventHandler(request) {
        // The delivery's span, set by a tracing interceptor, for the handler to continue.
        const span = spanOf(request);
        await s.handler(request.message as never, event, span === undefined ? context : { ...context, trace: span });
        return { message: undefined };
      }, interceptors);
      await next(eventRequest(service.name, options, event, payload, s.filter));
    } catch (error) {
      if (!MicroError.is(error)) options.onHandlerError(error, `event ${event.topic}`);
      throw error;
    }
  };
}

/** What interceptors see of a delivered event. */
function eventRequest(service: string, options: ServiceEventsOptions, event: DeliveredEvent, message: unknown, topicFilter: string): CallRequest {
  const metadata: Record<string, string> = {};
  if (event.user) metadata.user = event.user;
  if (event.source) metadata.source = event.source;
  if (event.traceparent) metadata.traceparent = event.traceparent;
  return {
    kind: "event",
    side: "server",
    namespace: options.namespace,
    service,
    method: event.topic,
    topicFilter,
    metadata,
    deadline: undefined,
    signal: options.signal,
    message,
    trace: traceContextOf(event.traceparent),
  };
}
