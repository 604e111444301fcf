/**
 * Call observers: told how each call, stream open, event delivery and actor command ended,
 * without standing in its path. An interceptor that only watches (a failure log, request
 * counts) costs every call a promise, a `then`, closures and a copy of the request; the server
 * already times every call for `$SRV.STATS` and already catches every failure, so it tells
 * observers there, from its fused unary path, and a service with observers and no
 * interceptors keeps that path. An observer without {@link CallObserver.succeeded} costs a
 * successful call nothing at all.
 *
 * Observers see a call from outside all of the service's interceptors: its time is from its
 * arrival (decode included) to its reply, and its error is the one its caller gets. Streams,
 * events and actor commands, whose paths compose interceptors anyway, run the observers as
 * one interceptor outside the others ({@link observersInterceptor}).
 *
 * @example
 * ```ts
 * const failures: CallObserver = {
 *   failed(request, error, ms) {
 *     console.warn(`${request.service}/${request.method} failed with ${error.code} after ${ms} ms`);
 *   },
 * };
 * defineService(Greeter, { observers: [failures] }, impl);
 * ```
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { type CallNext, type CallRequest, type CallResponse, callNext, type Interceptor } from "./interceptor.ts";

/** Watches calls end. Called synchronously; must not throw (what it throws is dropped). */
export interface CallObserver {
  /**
   * A call begins (its request decoded, before the service's interceptors): a tracing observer
   * puts the call's span on it here with `enterSpan`, for the handler's context. Leave it out
   * when only the end matters.
   */
  readonly started?: (request: CallRequest) => void;
  /** A call ended well after `ms` milliseconds. Leave it out to cost successful calls nothing. */
  readonly succeeded?: (request: CallRequest, ms: number) => void;
  /** A call failed after `ms` milliseconds with `error`, as its caller gets it. */
  readonly failed?: (request: CallRequest, error: MicroError, ms: number) => void;
  /**
   * Streams only: an interceptor around each stream open, for an observer that follows a
   * stream past its open (its messages, its end). The open itself is observed as a call.
   */
  readonly stream?: Interceptor;
}

/** What the server calls per call: the observers of a service merged, each list's members in order. */
export interface Observing {
  /** Undefined when no observer wants beginnings. */
  readonly started: ((request: CallRequest) => void) | undefined;
  /** Undefined when no observer wants successes. */
  readonly succeeded: ((request: CallRequest, ms: number) => void) | undefined;
  /** Undefined when no observer wants failures. */
  readonly failed: ((request: CallRequest, error: MicroError, ms: number) => void) | undefined;
}

const none: Observing = { started: undefined, succeeded: undefined, failed: undefined };

/**
 * `observers` merged into one call per outcome, built once per service. An observer that
 * throws is a bug of its own: it must not fail the call it watches, so it is dropped.
 */
export function observing(observers: readonly CallObserver[] | undefined): Observing {
  if (observers === undefined || observers.length === 0) return none;
  const started = observers.flatMap((o) => (o.started === undefined ? [] : [o.started]));
  const succeeded = observers.flatMap((o) => (o.succeeded === undefined ? [] : [o.succeeded]));
  const failed = observers.flatMap((o) => (o.failed === undefined ? [] : [o.failed]));
  return {
    started: started.length === 0 ? undefined : function startedAll(request) {
      for (const f of started) {
        try {
          f(request);
        } catch { /* an observer's bug must not change the call's outcome */ }
      }
    },
    succeeded: succeeded.length === 0 ? undefined : function succeededAll(request, ms) {
      for (const f of succeeded) {
        try {
          f(request, ms);
        } catch { /* an observer's bug must not change the call's outcome */ }
      }
    },
    failed: failed.length === 0 ? undefined : function failedAll(request, error, ms) {
      for (const f of failed) {
        try {
          f(request, error, ms);
        } catch { /* an observer's bug must not change the call's outcome */ }
      }
    },
  };
}

/**
 * `observers` as one interceptor, for the paths that compose interceptors per call anyway
 * (events, actor commands; stream opens, with each observer's `stream` inside it). Undefined
 * when there are none, so those paths keep their shortcut for services without interceptors.
 */
export function observersInterceptor(observers: readonly CallObserver[] | undefined, kind: "stream" | "other" = "other"): Interceptor | undefined {
  const { started, succeeded, failed } = observing(observers);
  const streams = kind === "stream" ? (observers ?? []).flatMap((o) => (o.stream === undefined ? [] : [o.stream])) : [];
  if (started === undefined && succeeded === undefined && failed === undefined && streams.length === 0) return undefined;
  return (last) => {
    let next: CallNext = last;
    for (let i = streams.length - 1; i >= 0; i--) next = streams[i]!(next);
    const inner = next;
    return function observeCall(request): Promise<CallResponse> {
      const began = performance.now();
      started?.(request);
      return callNext(inner, request).then(
        succeeded === undefined ? undefined : (response) => {
          succeeded(request, performance.now() - began);
          return response;
        },
        (error: unknown) => {
          failed?.(request, MicroError.from(error), performance.now() - began);
          throw error;
        },
      );
    };
  };
}

/** `interceptors` with `observers` outside them, as the stream, event and actor paths run them. */
export function withObservers(
  interceptors: readonly Interceptor[],
  observers: readonly CallObserver[] | undefined,
  kind: "stream" | "other" = "other",
): readonly Interceptor[] {
  const observe = observersInterceptor(observers, kind);
  return observe === undefined ? interceptors : [observe, ...interceptors];
}

/** Throws `invalid_argument` unless each of `observers` is an object whose hooks are functions. */
export function assertObservers(observers: readonly CallObserver[] | undefined): void {
  for (const observer of observers ?? []) {
    const o = observer as unknown as Record<string, unknown> | null;
    if (typeof o !== "object" || o === null || ["started", "succeeded", "failed", "stream"].some((k) => o[k] !== undefined && typeof o[k] !== "function")) {
      throw new MicroError("invalid_argument", "each observer must be an object { started?(request), succeeded?(request, ms), failed?(request, error, ms), stream?: interceptor }");
    }
  }
}
