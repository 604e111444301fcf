/**
 * Interceptors: cross-cutting behaviour around every call, stream, event handler and actor
 * command, in connect-es's shape. An interceptor takes the next step and returns a step that
 * may look at or change the request, call `next` (or not, or more than once), and look at or
 * change the response or the error.
 *
 * The same type serves both sides. On the client `next` ends in encoding and sending; on the
 * server it ends in the handler. The built-in behaviour (deadlines, metadata propagation,
 * stats, routing and retries) is made of interceptors too, so a user's interceptor sees what
 * the built-in ones see.
 *
 * @example
 * ```ts
 * const logging: Interceptor = (next) => async function logging(req) {
 *   const began = performance.now();
 *   try {
 *     return await next(req);
 *   } finally {
 *     console.log(`${req.side} ${req.kind} ${req.service}/${req.method} ${(performance.now() - began).toFixed(1)} ms`);
 *   }
 * };
 * defineService(Greeter, { interceptors: [logging] }, impl);
 * ```
 * @module
 */
import type { TraceContext } from "./trace-context.ts";

/** What is being intercepted. */
export type CallKind = "unary" | "stream" | "event" | "actor";

/** One intercepted request. */
export interface CallRequest<M = unknown> {
  /** `unary` call, `stream` open, `event` delivered to a handler, `actor` command. */
  readonly kind: CallKind;
  /** `client` when this process sends it, `server` when this process handles it. */
  readonly side: "client" | "server";
  readonly namespace: string;
  /** The service called (for events: the subscribing service). */
  readonly service: string;
  /** The endpoint (`Greeter.SayHello`); for events the topic. */
  readonly method: string;
  /**
   * Events: the subscription's topic filter the topic matched (`customer.>`). Written in the
   * service's code, unlike the topic, which publishers choose: metrics label by it.
   */
  readonly topicFilter?: string;
  /**
   * Caller metadata. On the client, interceptors may add entries before `next` (they travel as
   * `Micro-Meta-*` headers, checked by the protocol); on the server it is what arrived.
   */
  readonly metadata: Record<string, string>;
  /** Epoch ms after which the caller no longer waits; undefined when there is none. */
  readonly deadline: number | undefined;
  /** Aborted when the caller gives up. */
  readonly signal: AbortSignal | undefined;
  /**
   * The request message: as given by the caller on the client, decoded on the server. For
   * streams with client input it is the `AsyncIterable` of input messages.
   */
  readonly message: M;
  /**
   * The W3C trace context: on the server the caller's span as it arrived (checked; a bad one
   * is dropped, never an error); on the client the call's parent span: the one the caller gave
   * (`CallOptions.trace`; a handler's `ctx.client` gives its call's span). Undefined when the
   * call is not traced. Tracing puts its own span on the request with `enterSpan`: on the
   * server the span the rest of the call runs in, on the client its CLIENT span, which is what
   * the client sends (else `trace` as it is).
   */
  readonly trace?: TraceContext;
}

/** One intercepted response. */
export interface CallResponse<M = unknown> {
  /** The response message; for streams with server output the `AsyncIterable` of messages. */
  readonly message: M;
}

/** One step of a call: what an interceptor is given as `next` and returns. */
export type CallNext = (request: CallRequest) => Promise<CallResponse>;

/** Wraps the next step of a call. */
export type Interceptor = (next: CallNext) => CallNext;

/**
 * `last` wrapped in `interceptors`, the first one outermost (it sees the request first and
 * the response last). Built once per endpoint, not per call.
 */
export function applyInterceptors(last: CallNext, interceptors: readonly Interceptor[] | undefined): CallNext {
  if (interceptors === undefined || interceptors.length === 0) return last;
  let next = last;
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next);
  return next;
}

/**
 * `next(request)` as a promise even when `next` throws synchronously, so an interceptor that
 * observes the outcome (stats, metrics, logs) handles one rejection path and never an exception.
 */
export function callNext(next: CallNext, request: CallRequest): Promise<CallResponse> {
  try {
    return next(request);
  } catch (error) {
    return Promise.reject(error);
  }
}
