/**
 * W3C Trace Context as jetmicro carries it: `traceparent` and `tracestate`, as NATS headers on
 * calls, streams and actor commands and in the envelope of events. Incoming values are hostile:
 * {@link traceContextOf} checks the format and bounds and drops what does not fit (a bad trace
 * header must never fail a call, only start a new trace).
 *
 * The protocol does not trace: a tracing module (`runtime/observability/`) sets the source of
 * the current span with {@link setTraceContextSource}, which places that send without a
 * request to intercept (an event published from a handler, a gateway call) read with
 * {@link currentTraceContext}. Nothing is set when tracing is off, so the cost is one
 * `undefined` check.
 * @module
 */

/** The trace context of one span, as it travels. */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
  readonly traceparent: string;
  /** Vendor state, `key=value` pairs separated by commas (at most 512 characters). */
  readonly tracestate?: string;
}

/**
 * Where a server interceptor puts the span the rest of a call runs in (a tracing one: its own
 * SERVER or CONSUMER span), on the request it was given: the handler step hands it to the
 * handler's context, so the handler's nested calls, events and actor commands are its
 * children without any async-context tracking. Copies made by spreading keep it.
 */
export const currentSpanKey: unique symbol = Symbol.for("jetmicro.currentSpan");

/** A server request with the span slot ({@link currentSpanKey}). */
export interface SpanSlot {
  [currentSpanKey]?: TraceContext;
}

/** Sets the span the rest of the call of `request` (a server request) runs in. */
export function enterSpan(request: object, span: TraceContext): void {
  (request as SpanSlot)[currentSpanKey] = span;
}

/** The span a server interceptor set on `request` with {@link enterSpan}, if any. */
export function spanOf(request: object): TraceContext | undefined {
  return (request as SpanSlot)[currentSpanKey];
}

/** Returns the trace context of the current span, if any. */
export type TraceContextSource = () => TraceContext | undefined;

/** Longest `tracestate` kept: the W3C limit of 32 members fits in 512 characters as most vendors write them. */
const maxTracestate = 512;

let source: TraceContextSource | undefined;

/**
 * Sets (or, with undefined, clears) where {@link currentTraceContext} reads the current span.
 * One per process, as OpenTelemetry's own context is: the tracing module sets it when tracing
 * starts.
 */
export function setTraceContextSource(next: TraceContextSource | undefined): void {
  source = next;
}

/** The current span's context for a send that has no intercepted request; undefined when tracing is off. */
export function currentTraceContext(): TraceContext | undefined {
  return source === undefined ? undefined : source();
}

/**
 * A trace context this module checked (or made from ids it can trust): checking one again is
 * an `instanceof`, not a pattern match, on every hop of a traced call.
 */
class CheckedTraceContext implements TraceContext {
  readonly tracestate?: string;
  constructor(readonly traceparent: string, tracestate: string | undefined) {
    if (tracestate !== undefined) this.tracestate = tracestate;
  }
}

/**
 * The trace context of a span from its ids, which the caller vouches for: 32 and 16 lowercase
 * hex characters, not all zeros (a tracer's own ids, or ones sliced from a checked context).
 */
export function traceContextFromIds(traceId: string, spanId: string, sampled: boolean, tracestate: string | undefined): TraceContext {
  return new CheckedTraceContext(`00-${traceId}-${spanId}-${sampled ? "01" : "00"}`, tracestate || undefined);
}

/**
 * A checked trace context from received header values: undefined when `traceparent` is
 * missing or malformed (version `ff`, an all-zero id); an oversized `tracestate` is dropped.
 */
export function traceContextOf(traceparent: string | null | undefined, tracestate?: string | null): TraceContext | undefined {
  if (!traceparent || traceparent.length !== 55) return undefined;
  let value = traceparent;
  if (!isTraceparent(value)) {
    value = traceparent.toLowerCase();
    if (value === traceparent || !isTraceparent(value)) return undefined;
  }
  return new CheckedTraceContext(value, tracestate && tracestate.length <= maxTracestate && !/[\r\n]/.test(tracestate) ? tracestate : undefined);
}

/**
 * True for a valid lowercase `traceparent`: `<2 hex>-<32 hex>-<16 hex>-<2 hex>`, version not
 * `ff`, neither id all zeros (for values an interceptor may have set: the protocol's own are
 * checked on arrival).
 */
export function isTraceparent(value: string): boolean {
  return value.length === 55 && traceparentPattern.test(value);
}

/**
 * W3C `traceparent`, lowercase, in one pattern (one compiled test, the fastest check on both
 * engines): a version other than `ff`, and ids that are not all zeros.
 */
const traceparentPattern = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;


/** A trace context given by code (a call option), checked as one that arrived would be: undefined when malformed. */
export function checkedTraceContext(trace: TraceContext | undefined): TraceContext | undefined {
  if (trace instanceof CheckedTraceContext) return trace;
  if (typeof trace !== "object" || trace === null || typeof trace.traceparent !== "string") return undefined;
  return traceContextOf(trace.traceparent, typeof trace.tracestate === "string" ? trace.tracestate : undefined);
}

/** The trace id of a checked `traceparent` (for log lines), or undefined. */
export function traceIdOf(trace: TraceContext | undefined): string | undefined {
  return trace === undefined ? undefined : trace.traceparent.slice(3, 35);
}
