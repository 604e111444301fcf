/**
 * Types of a service definition: what a handler author writes and what the server runs.
 * @module
 */
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallObserver, Interceptor, ServiceType, TraceContext } from "../protocol/mod.ts";
import type { Client, HandlerClientOptions } from "./typed-client.ts";
import type { EventSubscriptionDefinition } from "../broker/typed-events.ts";
import type { PublishOptions, PublishResult } from "../broker/types.ts";
import type { JetStreamBroker } from "../broker/nats-jetstream.ts";

/** What a handler knows about the call it is answering. */
export interface HandlerContext {
  /** The service instance answering: name, version and node id. */
  readonly service: { readonly name: string; readonly version: string; readonly nodeId: string };
  /** The endpoint called, go-micro style: `Greeter.SayHello`. */
  readonly endpoint: string;
  /** Metadata sent by the caller (and by its callers before it). */
  readonly metadata: Readonly<Record<string, string>>;
  /** When the caller stops waiting, in epoch milliseconds. */
  readonly deadline: number;
  /** Aborted when the deadline passes or the service is stopped hard; pass it to I/O. */
  readonly signal: AbortSignal;
  /**
   * A client for another service whose calls carry this call's metadata and never outlive
   * its deadline.
   */
  client<S extends DescService>(service: S, options?: HandlerClientOptions): Client<S>;
  /**
   * Publishes a protobuf event, stored in JetStream before this resolves, with this service
   * as its source. Rejects with `failed_precondition` where no broker runs.
   */
  publish<D extends DescMessage>(topic: string, schema: D, message: MessageInitShape<D>, options?: PublishOptions): Promise<PublishResult>;
  /** The event broker, for replay and raw events; undefined where none runs. */
  readonly broker: JetStreamBroker | undefined;
  /**
   * The span this call runs in (W3C Trace Context): the service's own when it traces, else the
   * caller's as it arrived (undefined when the call is not traced). `ctx.client` calls and
   * `ctx.publish` events continue it by themselves; pass it on to what does not (another
   * client's `{ trace }` option, an outgoing HTTP request's `traceparent`).
   */
  readonly trace?: TraceContext | undefined;
  /**
   * The NATS subject the caller waits on for this call's reply, when it came over NATS and reads proto binary replies. The
   * actor router stores it with a command, so the key's owner can answer the caller directly.
   */
  readonly replySubject?: string;
  /**
   * Tells the server this call's reply already reached {@link replySubject} (the same reply
   * the handler returns, sent by someone else, such as an actor's owner): it sends none of
   * its own, so the caller does not get it twice. Absent where a reply cannot go straight.
   */
  readonly markAnswered?: () => void;
}

/** A unary handler: a plain async function from request message to response (init) message. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/**
 * A server-streaming handler: one request in, messages out, written as `async function*`
 * (or returning any `AsyncIterable`). Returning ends the stream; throwing ends it with that
 * error after the messages already yielded. `context.signal` aborts when the client cancels
 * or vanishes; a `yield` then never resumes.
 */
export type ServerStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/**
 * A client-streaming handler: reads the requests with `for await` (the loop ends when the
 * client ends its side) and answers once.
 */
export type ClientStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** A bidirectional handler: reads requests and yields responses, independently of each other. */
export type BidiStreamingHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: HandlerContext,
) => AsyncIterable<MessageInitShape<O>>;

/** Any streaming handler, as the server holds it. */
export type StreamingHandler =
  | ServerStreamingHandler<DescMessage, DescMessage>
  | ClientStreamingHandler<DescMessage, DescMessage>
  | BidiStreamingHandler<DescMessage, DescMessage>;

/** The handler type of one method, by its kind (connect-es's `MethodImpl`). */
export type MethodImpl<M> = M extends { input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? M extends { methodKind: "unary" } ? UnaryHandler<I, O>
  : M extends { methodKind: "server_streaming" } ? ServerStreamingHandler<I, O>
  : M extends { methodKind: "client_streaming" } ? ClientStreamingHandler<I, O>
  : M extends { methodKind: "bidi_streaming" } ? BidiStreamingHandler<I, O>
  : never
  : never;

/**
 * The implementation of a protobuf service: one handler per method, keyed by the method's
 * local name (`sayHello`), typed from the generated descriptor (connect-es's `ServiceImpl`).
 */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: MethodImpl<S["method"][K]>;
};

/** Mailbox limits of each service instance. */
export interface MailboxOptions {
  /** Requests that may wait for a free handler slot; past that callers get `resource_exhausted`. Default 1000. */
  readonly capacity?: number;
  /** Handlers that may run at once. Default 100. */
  readonly concurrency?: number;
  /**
   * Streams that may be open at once, each holding one of the `concurrency` slots for its whole
   * life; past that a stream open gets `resource_exhausted` (429 on a gateway path route). Default half
   * of `concurrency` (at least 1), so clients that open streams and never read them cannot take
   * every slot from the service's calls and events.
   */
  readonly streams?: number;
}

/** How a service presents itself; every field has a default. */
export interface ServiceOptions {
  /** Service name, one subject token. Default: the proto service name in kebab-case (`Greeter` → `greeter`). */
  readonly name?: string;
  /** Version, free-form (semver recommended). Default `latest`, as go-micro. */
  readonly version?: string;
  /** Key/value metadata published with the service. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `srv` (default), `api` or `web`. */
  readonly type?: ServiceType;
  /** Namespace; default the runner's (`MICRO_NAMESPACE`, else `micro`). */
  readonly namespace?: string;
  /** Mailbox capacity and concurrency. */
  readonly mailbox?: MailboxOptions;
  /** Deadline for requests that carry none (raw NATS callers), in ms. Default 30000. */
  readonly defaultTimeoutMs?: number;
  /** Events this service handles (see `onEvent`); they run with the mailbox's concurrency. */
  readonly subscriptions?: readonly EventSubscriptionDefinition[];
  /**
   * Interceptors around this service's calls, streams, event handlers and actor commands
   * (server side), the first one outermost. See `runtime/protocol/interceptor.ts`.
   */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Interceptors of the clients this service's handlers make (`ctx.client(...)`, side
   * `client`), outside the ones given to `ctx.client` itself.
   */
  readonly clientInterceptors?: readonly Interceptor[];
  /** Observers of the clients this service's handlers make, outside the ones given to `ctx.client` itself. */
  readonly clientObservers?: readonly CallObserver[];
  /**
   * Told how each of this service's calls, stream opens, event deliveries and actor commands
   * ended, outside all of its interceptors, without standing in the call's path (see
   * `runtime/protocol/call-observer.ts`): what failure logs and request metrics use.
   */
  readonly observers?: readonly CallObserver[];
}

/** One endpoint of a defined service. */
export interface EndpointDefinition {
  /** go-micro style name: `Greeter.SayHello`. */
  readonly name: string;
  /** Proto full name: `greeter.v1.Greeter/SayHello`. */
  readonly fullName: string;
  /** The protobuf method. */
  readonly method: DescMethod;
  /** The handler of a unary method, or undefined when it is not implemented or streams. */
  readonly handler: UnaryHandler<DescMessage, DescMessage> | undefined;
  /** The handler of a streaming method, or undefined when it is not implemented or unary. */
  readonly stream?: StreamingHandler | undefined;
}

/** A service ready to run: what `services/*.ts` modules default-export. */
export interface ServiceDefinition<S extends DescService = DescService> {
  /** Marks a value as a service definition, so the runner can tell it from other exports. */
  readonly kind: "jetmicro.service";
  /** The protobuf service descriptor. */
  readonly descriptor: S;
  readonly name: string;
  readonly version: string;
  readonly type: ServiceType;
  readonly metadata: Readonly<Record<string, string>>;
  /** The namespace the service asked for, or undefined to take the runner's. */
  readonly namespace: string | undefined;
  readonly mailbox: Required<MailboxOptions>;
  readonly defaultTimeoutMs: number;
  readonly endpoints: readonly EndpointDefinition[];
  readonly subscriptions: readonly EventSubscriptionDefinition[];
  /** Server-side interceptors, the first one outermost (empty when none). */
  readonly interceptors: readonly Interceptor[];
  /** Interceptors of the clients its handlers make; none when undefined or empty. */
  readonly clientInterceptors?: readonly Interceptor[];
  /** Observers of the clients its handlers make; none when undefined or empty. */
  readonly clientObservers?: readonly CallObserver[];
  /** Observers of its calls, events and streams (empty or undefined when none). */
  readonly observers?: readonly CallObserver[];
}
