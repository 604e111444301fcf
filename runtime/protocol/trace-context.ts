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
 * an `instanceof`, not a pattern match, on every hop of a traced call. It keeps its ids and
 * sampled flag apart (private, so a copy or a comparison sees only the W3C fields): a
 * `traceparent` made from ids is a concatenation the engine keeps in pieces until something
 * reads it whole, and the hot path never has to (headers and span records are written from
 * the ids).
 */
class CheckedTraceContext implements TraceContext {
  readonly tracestate?: string;
  readonly #traceId: string | undefined;
  readonly #spanId: string | undefined;
  readonly #sampled: boolean;

  constructor(readonly traceparent: string, sampled: boolean, tracestate: string | undefined, traceId?: string, spanId?: string) {
    if (tracestate !== undefined) this.tracestate = tracestate;
    this.#sampled = sampled;
    this.#traceId = traceId;
    this.#spanId = spanId;
  }

  static traceId(trace: CheckedTraceContext): string {
    return trace.#traceId ?? trace.traceparent.slice(3, 35);
  }

  static spanId(trace: CheckedTraceContext): string {
    return trace.#spanId ?? trace.traceparent.slice(36, 52);
  }

  static sampled(trace: CheckedTraceContext): boolean {
    return trace.#sampled;
  }

  /** Writes the `traceparent` as ASCII at `at` (made from ids: from the ids, never joining it). */
  static write(trace: CheckedTraceContext, bytes: Uint8Array, at: number): number {
    if (trace.#traceId === undefined || trace.#spanId === undefined) return writeAscii(bytes, at, trace.traceparent);
    bytes[at++] = 48;
    bytes[at++] = 48;
    bytes[at++] = 45;
    at = writeAscii(bytes, at, trace.#traceId);
    bytes[at++] = 45;
    at = writeAscii(bytes, at, trace.#spanId);
    bytes[at++] = 45;
    bytes[at++] = 48;
    bytes[at++] = trace.#sampled ? 49 : 48;
    return at;
  }
}

/** The length of every valid `traceparent` (version 00's; later versions keep these fields first). */
export const traceparentLength = 55;

function writeAscii(bytes: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
  return at;
}

/**
 * Writes a checked trace context's `traceparent` into `bytes` at `at` as ASCII (a checked
 * value is ASCII), and returns where it ends: {@link traceparentLength} bytes on.
 */
export function writeTraceparent(bytes: Uint8Array, at: number, trace: TraceContext): number {
  return trace instanceof CheckedTraceContext ? CheckedTraceContext.write(trace, bytes, at) : writeAscii(bytes, at, trace.traceparent);
}

/**
 * The trace context of a span from its ids, which the caller vouches for: 32 and 16 lowercase
 * hex characters, not all zeros (a tracer's own ids, or ones sliced from a checked context).
 */
export function traceContextFromIds(traceId: string, spanId: string, sampled: boolean, tracestate: string | undefined): TraceContext {
  return new CheckedTraceContext(`00-${traceId}-${spanId}-${sampled ? "01" : "00"}`, sampled, tracestate || undefined, traceId, spanId);
}

/**
 * A checked trace context from received header values: undefined when `traceparent` is
 * missing or malformed (version `ff`, an all-zero id); an oversized `tracestate` is dropped.
 */
export function traceContextOf(traceparent: string | null | undefined, tracestate?: string | null): TraceContext | undefined {
  if (!traceparent || traceparent.length !== traceparentLength) return undefined;
  let value = traceparent;
  if (!isTraceparent(value)) {
    value = traceparent.toLowerCase();
    if (value === traceparent || !isTraceparent(value)) return undefined;
  }
  return new CheckedTraceContext(value, flagsSampled(value), tracestate && tracestate.length <= maxTracestate && !/[\r\n]/.test(tracestate) ? tracestate : undefined);
}

/**
 * True for a valid lowercase `traceparent`: `<2 hex>-<32 hex>-<16 hex>-<2 hex>`, version not
 * `ff`, neither id all zeros (for values an interceptor may have set: the protocol's own are
 * checked on arrival).
 */
export function isTraceparent(value: string): boolean {
  return value.length === traceparentLength && traceparentPattern.test(value);
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

/** The trace id (32 hex characters) of a trace context, or undefined. */
export function traceIdOf(trace: TraceContext | undefined): string | undefined {
  if (trace instanceof CheckedTraceContext) return CheckedTraceContext.traceId(trace);
  return trace === undefined ? undefined : trace.traceparent.slice(3, 35);
}

/** The span id (16 hex characters) of a checked trace context. */
export function spanIdOf(trace: TraceContext): string {
  return trace instanceof CheckedTraceContext ? CheckedTraceContext.spanId(trace) : trace.traceparent.slice(36, 52);
}

/** True when a checked trace context's flags say sampled. */
export function isSampled(trace: TraceContext): boolean {
  return trace instanceof CheckedTraceContext ? CheckedTraceContext.sampled(trace) : flagsSampled(trace.traceparent);
}

/**
 * The sampled flag of a checked `traceparent`: the low bit of its flags, which is the low bit
 * of the last hex digit (`0`-`9` have it as their character code does, `a`-`f` the opposite).
 */
function flagsSampled(traceparent: string): boolean {
  const c = traceparent.charCodeAt(54);
  return ((c <= 57 ? c : c + 1) & 1) === 1;
}
