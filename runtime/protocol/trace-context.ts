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

/**
 * The trace context of one span, as it travels. The contexts jetmicro makes and hands out
 * (`ctx.trace`, `request.trace`) make their `traceparent` text when it is first read: read the
 * fields (or `JSON.stringify` one) to copy a context; spreading one copies `tracestate` only.
 */
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
 * Random ids for new spans, as a tracer keeps them (a pool of random bytes): the protocol
 * makes span contexts from them ({@link childTraceContext}) without knowing where they come from.
 */
export interface RandomIds {
  /** Puts a new id of `bytes` random bytes (never all zeros) in {@link words}, as 32-bit words, most significant first. */
  next(bytes: 8 | 16): void;
  /** The id {@link next} made last: four words for a trace id, two for a span id. */
  readonly words: Uint32Array;
}

/**
 * Decides whether a new span is sampled: `parentSampled` is its parent's flag (undefined for a
 * new trace), `traceKey` the xor of its trace id's four 32-bit words (how OpenTelemetry's
 * ratio sampler reads a trace id).
 */
export type SampleDecision = (parentSampled: boolean | undefined, traceKey: number) => boolean;

/**
 * A trace context this module checked (or made from ids it can trust): checking one again is
 * an `instanceof`, not a pattern match, on every hop of a traced call. It holds the fields of a
 * `traceparent` as numbers (version, ids as 32-bit words, flags), privately: headers, span
 * records and sampling are written from them, and the `traceparent` text is made only when
 * something reads it (a handler, an event's envelope, a log line; a call's hot path never
 * does). It serialises (`toJSON`) and prints as the W3C fields.
 */
class CheckedTraceContext implements TraceContext {
  readonly tracestate?: string;
  #text: string | undefined;
  #version = 0;
  #flags = 0;
  #t0 = 0;
  #t1 = 0;
  #t2 = 0;
  #t3 = 0;
  #s0 = 0;
  #s1 = 0;

  private constructor(text: string | undefined, tracestate: string | undefined) {
    this.#text = text;
    if (tracestate !== undefined) this.tracestate = tracestate;
  }

  get traceparent(): string {
    return (this.#text ??= CheckedTraceContext.#format(this));
  }

  toJSON(): TraceContext {
    return this.tracestate === undefined ? { traceparent: this.traceparent } : { traceparent: this.traceparent, tracestate: this.tracestate };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): TraceContext {
    return this.toJSON();
  }

  /** A child of `parent` (or the root of a new trace) with a new span id from `ids`, sampled as `sample` decides. */
  static child(parent: CheckedTraceContext | undefined, ids: RandomIds, sample: SampleDecision): CheckedTraceContext {
    const child = new CheckedTraceContext(undefined, parent?.tracestate);
    const w = ids.words;
    if (parent === undefined) {
      ids.next(16);
      child.#t0 = w[0]!, child.#t1 = w[1]!, child.#t2 = w[2]!, child.#t3 = w[3]!;
    } else {
      child.#t0 = parent.#t0, child.#t1 = parent.#t1, child.#t2 = parent.#t2, child.#t3 = parent.#t3;
    }
    ids.next(8);
    child.#s0 = w[0]!, child.#s1 = w[1]!;
    child.#flags = sample(parent === undefined ? undefined : (parent.#flags & 1) === 1, (child.#t0 ^ child.#t1 ^ child.#t2 ^ child.#t3) >>> 0) ? 1 : 0;
    return child;
  }

  /**
   * The context in `bytes` at `at` (a `traceparent` of {@link traceparentLength} characters
   * there), or undefined unless it is a valid lowercase one: hex fields, version not `ff`,
   * neither id all zeros. `text` is the same value as text, when the caller has it.
   */
  static parse(bytes: Uint8Array, at: number, text: string | undefined, tracestate: string | undefined): CheckedTraceContext | undefined {
    if (bytes[at + 2] !== 45 || bytes[at + 35] !== 45 || bytes[at + 52] !== 45) return undefined;
    const version = hexAt(bytes, at, 2);
    const flags = hexAt(bytes, at + 53, 2);
    const t0 = hexAt(bytes, at + 3, 8), t1 = hexAt(bytes, at + 11, 8), t2 = hexAt(bytes, at + 19, 8), t3 = hexAt(bytes, at + 27, 8);
    const s0 = hexAt(bytes, at + 36, 8), s1 = hexAt(bytes, at + 44, 8);
    // Each is -1 when not hex (a word of 8 digits is otherwise 0 to 2^32 - 1: compared, not or-ed as 32-bit integers).
    if (version < 0 || flags < 0 || t0 < 0 || t1 < 0 || t2 < 0 || t3 < 0 || s0 < 0 || s1 < 0 || version === 255) return undefined;
    if (t0 === 0 && t1 === 0 && t2 === 0 && t3 === 0) return undefined;
    if (s0 === 0 && s1 === 0) return undefined;
    const trace = new CheckedTraceContext(text, tracestate);
    trace.#version = version, trace.#flags = flags;
    trace.#t0 = t0, trace.#t1 = t1, trace.#t2 = t2, trace.#t3 = t3, trace.#s0 = s0, trace.#s1 = s1;
    return trace;
  }

  static sampled(trace: CheckedTraceContext): boolean {
    return (trace.#flags & 1) === 1;
  }

  /** Writes the trace id's 16 bytes at `at`. */
  static writeTraceId(trace: CheckedTraceContext, bytes: Uint8Array, at: number): number {
    at = writeWord(bytes, at, trace.#t0);
    at = writeWord(bytes, at, trace.#t1);
    at = writeWord(bytes, at, trace.#t2);
    return writeWord(bytes, at, trace.#t3);
  }

  /** Writes the span id's 8 bytes at `at`. */
  static writeSpanId(trace: CheckedTraceContext, bytes: Uint8Array, at: number): number {
    return writeWord(bytes, writeWord(bytes, at, trace.#s0), trace.#s1);
  }

  /** Writes the `traceparent` as ASCII at `at`, from its fields (a received one's version and flags as they came). */
  static write(trace: CheckedTraceContext, bytes: Uint8Array, at: number): number {
    at = writeHex(bytes, at, trace.#version, 2);
    bytes[at++] = 45;
    at = writeHex(bytes, at, trace.#t0, 8);
    at = writeHex(bytes, at, trace.#t1, 8);
    at = writeHex(bytes, at, trace.#t2, 8);
    at = writeHex(bytes, at, trace.#t3, 8);
    bytes[at++] = 45;
    at = writeHex(bytes, at, trace.#s0, 8);
    at = writeHex(bytes, at, trace.#s1, 8);
    bytes[at++] = 45;
    return writeHex(bytes, at, trace.#flags, 2);
  }

  static #format(trace: CheckedTraceContext): string {
    CheckedTraceContext.write(trace, scratch, 0);
    return latin1.decode(scratch);
  }
}

/** Where a context's text is written before it is made a string; the check reads string input from here too. */
const scratch = new Uint8Array(55);
const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();

/** Each byte's value as a lowercase hex digit, -1 for any other byte. */
const hexDigit = new Int8Array(256).fill(-1);
for (let v = 0; v < 16; v++) hexDigit[v.toString(16).charCodeAt(0)] = v;

/** The value of the `digits` lowercase hex digits at `at` (at most 8), or -1 when one is not. */
function hexAt(bytes: Uint8Array, at: number, digits: number): number {
  let value = 0;
  let bad = 0;
  for (let i = at; i < at + digits; i++) {
    const digit = hexDigit[bytes[i]!]!;
    bad |= digit;
    value = (value << 4) | (digit & 15);
  }
  return bad < 0 ? -1 : value >>> 0;
}

/** Each byte's two lowercase hex digits as ASCII, the first in the low byte. */
const hexPair = new Uint16Array(256);
for (let b = 0; b < 256; b++) {
  const pair = b.toString(16).padStart(2, "0");
  hexPair[b] = pair.charCodeAt(0) | (pair.charCodeAt(1) << 8);
}

/** Writes `value` as `digits` (2 or 8) lowercase hex digits at `at`. */
function writeHex(bytes: Uint8Array, at: number, value: number, digits: number): number {
  for (let shift = digits * 4 - 8; shift >= 0; shift -= 8) {
    const pair = hexPair[(value >>> shift) & 255]!;
    bytes[at++] = pair & 255;
    bytes[at++] = pair >> 8;
  }
  return at;
}

function writeWord(bytes: Uint8Array, at: number, word: number): number {
  bytes[at] = word >>> 24;
  bytes[at + 1] = word >>> 16;
  bytes[at + 2] = word >>> 8;
  bytes[at + 3] = word;
  return at + 4;
}

/** The length of every valid `traceparent` (version 00's; later versions keep these fields first). */
export const traceparentLength = 55;

/**
 * Writes a checked trace context's `traceparent` into `bytes` at `at` as ASCII (a checked
 * value is ASCII), and returns where it ends: {@link traceparentLength} bytes on.
 */
export function writeTraceparent(bytes: Uint8Array, at: number, trace: TraceContext): number {
  return CheckedTraceContext.write(checked(trace), bytes, at);
}

/**
 * The trace context of a span from its ids, which the caller vouches for: 32 and 16 lowercase
 * hex characters, not all zeros (a tracer's own ids, or ones sliced from a checked context).
 */
export function traceContextFromIds(traceId: string, spanId: string, sampled: boolean, tracestate: string | undefined): TraceContext {
  const trace = traceContextOf(`00-${traceId}-${spanId}-${sampled ? "01" : "00"}`, tracestate);
  if (trace === undefined) throw new TypeError(`not a trace id and span id: ${JSON.stringify(traceId)}, ${JSON.stringify(spanId)}`);
  return trace;
}

/**
 * A new span's context: a child of `parent` (a checked context: made here, or one
 * {@link checkedTraceContext} returned), or the root of a new trace; its ids from `ids`,
 * sampled as `sample` decides.
 */
export function childTraceContext(parent: TraceContext | undefined, ids: RandomIds, sample: SampleDecision): TraceContext {
  return CheckedTraceContext.child(parent instanceof CheckedTraceContext ? parent : undefined, ids, sample);
}

/** Writes the 16 bytes of a checked trace context's trace id into `bytes` at `at`; returns where they end. */
export function writeTraceIdBytes(trace: TraceContext, bytes: Uint8Array, at: number): number {
  return CheckedTraceContext.writeTraceId(checked(trace), bytes, at);
}

/** Writes the 8 bytes of a checked trace context's span id into `bytes` at `at`; returns where they end. */
export function writeSpanIdBytes(trace: TraceContext, bytes: Uint8Array, at: number): number {
  return CheckedTraceContext.writeSpanId(checked(trace), bytes, at);
}

/** `trace` as a checked context; a `TypeError` when it is not a valid one (callers pass contexts checked on arrival). */
function checked(trace: TraceContext): CheckedTraceContext {
  if (trace instanceof CheckedTraceContext) return trace;
  const made = checkedTraceContext(trace);
  if (made === undefined) throw new TypeError(`not a valid traceparent: ${JSON.stringify(trace?.traceparent)}`);
  return made as CheckedTraceContext;
}

/**
 * A checked trace context from received header values: undefined when `traceparent` is
 * missing or malformed (version `ff`, an all-zero id); an oversized `tracestate` is dropped.
 */
export function traceContextOf(traceparent: string | null | undefined, tracestate?: string | null): TraceContext | undefined {
  if (!traceparent || traceparent.length !== traceparentLength) return undefined;
  // Checked as bytes, as one that arrived in a NATS header is: a character past ASCII takes more
  // than one byte (and no byte of it is a hex digit or a dash), so it fails either way.
  const { read, written } = ascii.encodeInto(traceparent, scratch);
  if (read !== traceparentLength || written !== traceparentLength) return undefined;
  const state = boundedTracestate(tracestate);
  const trace = CheckedTraceContext.parse(scratch, 0, traceparent, state);
  if (trace !== undefined) return trace;
  const lower = traceparent.toLowerCase();
  if (lower === traceparent) return undefined;
  ascii.encodeInto(lower, scratch);
  return CheckedTraceContext.parse(scratch, 0, lower, state);
}

/**
 * The context of a `traceparent` header's value in received bytes (`bytes` from `at`, `length`
 * bytes, spaces around it allowed) as {@link traceContextOf} checks it, read from the bytes
 * without making the value a string; `tracestate` is read only when the value is valid.
 */
export function traceContextInBytes(bytes: Uint8Array, at: number, length: number, tracestate: () => string | undefined): TraceContext | undefined {
  let end = at + length;
  while (at < end && bytes[at] === 32) at++;
  while (end > at && bytes[end - 1] === 32) end--;
  if (end - at !== traceparentLength) return undefined;
  const state = tracestate();
  return CheckedTraceContext.parse(bytes, at, undefined, boundedTracestate(state)) ??
    traceContextOf(latin1.decode(bytes.subarray(at, end)), state); // upper case: lowered there
}

/** A received `tracestate`, or undefined when it is too long or has a line break (dropped: it must never fail a call). */
function boundedTracestate(tracestate: string | null | undefined): string | undefined {
  return tracestate && tracestate.length <= maxTracestate && !/[\r\n]/.test(tracestate) ? tracestate : undefined;
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
  return trace === undefined ? undefined : trace.traceparent.slice(3, 35);
}

/** The span id (16 hex characters) of a checked trace context. */
export function spanIdOf(trace: TraceContext): string {
  return trace.traceparent.slice(36, 52);
}

/** True when a checked trace context's flags say sampled. */
export function isSampled(trace: TraceContext): boolean {
  if (trace instanceof CheckedTraceContext) return CheckedTraceContext.sampled(trace);
  const checked = checkedTraceContext(trace);
  return checked !== undefined && CheckedTraceContext.sampled(checked as CheckedTraceContext);
}
