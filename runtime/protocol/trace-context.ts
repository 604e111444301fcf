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

/** Returns the trace context of the current span, if any. */
export type TraceContextSource = () => TraceContext | undefined;

/** Longest `tracestate` kept: the W3C limit of 32 members fits in 512 characters as most vendors write them. */
const maxTracestate = 512;
const traceparentPattern = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const zeroTrace = "0".repeat(32);
const zeroSpan = "0".repeat(16);

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
 * A checked trace context from received header values: undefined when `traceparent` is
 * missing or malformed (version `ff`, an all-zero id); an oversized `tracestate` is dropped.
 */
export function traceContextOf(traceparent: string | null | undefined, tracestate?: string | null): TraceContext | undefined {
  if (!traceparent || traceparent.length !== 55) return undefined;
  const value = traceparent.toLowerCase();
  const match = traceparentPattern.exec(value);
  if (match === null || value.startsWith("ff") || match[1] === zeroTrace || match[2] === zeroSpan) return undefined;
  if (tracestate && tracestate.length <= maxTracestate && !/[\r\n]/.test(tracestate)) return { traceparent: value, tracestate };
  return { traceparent: value };
}

/** The trace id of a checked `traceparent` (for log lines), or undefined. */
export function traceIdOf(trace: TraceContext | undefined): string | undefined {
  return trace === undefined ? undefined : trace.traceparent.slice(3, 35);
}
