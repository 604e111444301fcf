/**
 * The shape of a typed client, derived from a protobuf service descriptor as a service's
 * handlers are (connect-es's `Client`): one method per RPC with its options. It lives beside
 * the service types because handlers make clients too (`ctx.client(...)`); the client that
 * implements it is in `runtime/client/`.
 * @module
 */
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallObserver, Interceptor, ServiceType, TraceContext } from "../protocol/mod.ts";
import type { StreamTuning } from "../stream/protocol.ts";

/** Options for one call; each overrides the client's default. */
export interface CallOptions {
  /** Give up after this many ms (the client default is 10000). */
  readonly timeoutMs?: number;
  /** Give up at this epoch-ms time; the earlier of this and `timeoutMs` wins. */
  readonly deadline?: number;
  /** Aborting rejects the call at once with `canceled`. */
  readonly signal?: AbortSignal;
  /** Metadata for the handler; keys are letters, digits, `-` and `_`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Call this node only (a node id from the registry) instead of any instance. */
  readonly node?: string;
  /** With discovery: only nodes of this version (routing rules are then ignored). */
  readonly version?: string;
  /** With discovery: only nodes whose metadata has these values, e.g. `{zone: "a"}`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** With discovery: calls with the same key reach the same node while the node set is stable. */
  readonly key?: string;
  /**
   * Whether this call is safe to send again after a node may have run it (with discovery, or
   * with `attemptTimeoutMs`).
   * Default: what the proto says (`option idempotency_level = IDEMPOTENT` or `NO_SIDE_EFFECTS`
   * on the method). A safe call whose node crashes (or times out an attempt, or answers
   * `unavailable`) is retried on another node; any other call fails at once with
   * `unavailable` (reason `node-gone`) when its node crashes while holding it.
   */
  readonly idempotent?: boolean;
  /**
   * For safe calls (see `idempotent`): the most one send may wait before the call is sent
   * again, ms: with discovery to another node, without it to the queue subject (a request or
   * reply lost with a NATS server that died is then sent again). Default: no per-attempt
   * limit, only the deadline.
   */
  readonly attemptTimeoutMs?: number;
  /**
   * The span this call continues (W3C Trace Context, e.g. an event handler's `context.trace`):
   * with tracing on, the call's span is its child; without, it is sent on as it is. Calls made
   * with `ctx.client(...)` in a handler continue the handler's span without it. A malformed
   * one is ignored.
   */
  readonly trace?: TraceContext;
}

/**
 * Options of a client made in a handler (`ctx.client(...)`); a client made elsewhere takes
 * these and a `discovery` (see `ClientOptions` in `runtime/client/types.ts`).
 */
export interface HandlerClientOptions {
  /** Target service name. Default: the proto service name in kebab-case (`Greeter` → `greeter`). */
  readonly service?: string;
  /** Target namespace; default `micro`. */
  readonly namespace?: string;
  /** Target service type; default `srv`. */
  readonly type?: ServiceType;
  /** Default timeout of each call in ms; default 10000. */
  readonly timeoutMs?: number;
  /** Metadata sent with every call (per-call metadata is merged over it). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Interceptors around every call and stream open of this client (side `client`), the first
   * one outermost. See `runtime/protocol/interceptor.ts`.
   */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Told how each call and stream open of this client began and ended, outside its
   * interceptors and without standing in the call's path (see
   * `runtime/protocol/call-observer.ts`): what client metrics and tracing use. A client with
   * observers and no interceptors keeps its direct call path.
   */
  readonly observers?: readonly CallObserver[];
}

/** A unary call: request in, response out. */
export type UnaryCall<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: CallOptions,
) => Promise<MessageShape<O>>;

/**
 * Options of a streaming call. `timeoutMs` or `deadline`, when given, bound the whole stream;
 * without them a stream lasts as long as both sides want (heartbeats notice a vanished peer)
 * and the client's default timeout bounds only the open. `signal` cancels the stream.
 * With discovery, the open is routed like a unary call (`version`, `labels`, `key`, routing
 * rules; an open that reaches no one is retried on another node); otherwise it goes to the
 * queue subject, or to `node`.
 */
export interface StreamCallOptions extends CallOptions, StreamTuning {}

/** A server-streaming call: `for await (const r of client.method(req))`. Opens when iterated. */
export type ServerStreamingCall<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: StreamCallOptions,
) => AsyncIterable<MessageShape<O>>;

/** A client-streaming call: sends every message of `requests`, then resolves with the one response. */
export type ClientStreamingCall<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageInitShape<I>>,
  options?: StreamCallOptions,
) => Promise<MessageShape<O>>;

/** A bidirectional call: sends `requests` while the responses are iterated. Opens when iterated. */
export type BidiStreamingCall<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageInitShape<I>>,
  options?: StreamCallOptions,
) => AsyncIterable<MessageShape<O>>;

/** The client method for one protobuf method, by its kind. */
export type ClientMethod<M> = M extends { input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? M extends { methodKind: "unary" } ? UnaryCall<I, O>
  : M extends { methodKind: "server_streaming" } ? ServerStreamingCall<I, O>
  : M extends { methodKind: "client_streaming" } ? ClientStreamingCall<I, O>
  : M extends { methodKind: "bidi_streaming" } ? BidiStreamingCall<I, O>
  : never
  : never;

/** A typed client of a protobuf service: one async method per RPC, keyed by local name. */
export type Client<S extends DescService> = {
  [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
};
