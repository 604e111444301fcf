/**
 * The headers of a request, written in one place: content type, timeout, caller metadata and
 * the calling instance. Clients, the gateway, the sidecar, the CLI and the actor router all
 * build their request headers here.
 * @module
 */
import { type Match, type MsgHdrs, MsgHdrsImpl } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { contentTypeHeader, emitDefaultsHeader, fromHeader, metadataPrefix, timeoutHeader, traceparentHeader, tracestateHeader } from "./headers.ts";
import { checkedTraceContext, type TraceContext, traceparentLength, writeTraceparent } from "./trace-context.ts";
import { assertMetadata } from "./metadata.ts";
import { slabBytes } from "./byte-slab.ts";

/** What a request's headers say. */
export interface RequestHeaderInit {
  /** Left out means protobuf binary (or JSON when the payload starts with `{`). */
  readonly contentType?: string;
  /** Milliseconds the caller will still wait. */
  readonly timeoutMs?: number;
  /** Caller metadata, checked by {@link writeMetadata}. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** More metadata, applied after (and over) `metadata`. */
  readonly moreMetadata?: Readonly<Record<string, string>>;
  /** The calling instance, when the call is made from a handler. */
  readonly from?: string;
  /** The caller's span (W3C Trace Context), when the call is traced. */
  readonly trace?: TraceContext;
  /** Ask a JSON reply to carry default-valued fields too ({@link emitDefaultsHeader}). */
  readonly emitDefaults?: boolean;
}

/**
 * Request headers as nats.js sends them, written once: nats.js reads a request's headers only
 * to encode them when it publishes, so the encoding is kept for every later publish (a client
 * reuses one header set for most calls, and a retried call resends the same one). The values
 * the protocol checked are put straight in, without nats.js's per-header checks (a regular
 * expression and a key search per header, the larger part of a traced call's header cost).
 * Changing a header through the `MsgHdrs` methods drops the kept encoding.
 */
class WrittenHeaders extends MsgHdrsImpl {
  #encoded: Uint8Array | undefined = undefined;
  #tracedPrefix: Uint8Array | undefined = undefined;

  /** Adds a header whose name and value the protocol checked: no line breaks, a fresh name. */
  put(key: string, value: string): void {
    this.headers.set(key, [value]);
  }

  override encode(): Uint8Array {
    return (this.#encoded ??= super.encode());
  }

  /**
   * The encoding without its closing empty line, followed by `traceparent: `: what a traced
   * call's headers start with ({@link TracedHeaders}), kept as the encoding is.
   */
  tracedPrefix(): Uint8Array {
    if (this.#tracedPrefix === undefined) {
      const base = this.encode();
      const prefix = new Uint8Array(base.length - 2 + traceparentLine.length);
      prefix.set(base.subarray(0, base.length - 2));
      prefix.set(traceparentLine, base.length - 2);
      this.#tracedPrefix = prefix;
    }
    return this.#tracedPrefix;
  }

  /** A copy, for reading or changing without touching this set. */
  copy(): WrittenHeaders {
    const copy = new WrittenHeaders();
    for (const [key, values] of this.headers) copy.headers.set(key, [...values]);
    return copy;
  }

  override append(k: string, v: string, match?: Match): void {
    this.#encoded = this.#tracedPrefix = undefined;
    super.append(k, v, match);
  }

  override delete(k: string, match?: Match): void {
    this.#encoded = this.#tracedPrefix = undefined;
    super.delete(k, match);
  }
}

/**
 * `headers` (made by {@link requestHeaders}, without a trace) with `trace`'s headers added,
 * reusing their encoding; any other header set is copied and added to.
 */
export function withTraceHeaders(headers: MsgHdrs, trace: TraceContext): MsgHdrs {
  const checked = checkedTraceContext(trace);
  if (checked === undefined) return headers;
  if (headers instanceof WrittenHeaders && headers.headers.size > 0 && !headers.headers.has(traceparentHeader)) return new TracedHeaders(headers, checked);
  const copy = new WrittenHeaders();
  for (const [key, values] of headers) for (const value of values) copy.append(key, value);
  copy.set(traceparentHeader, checked.traceparent);
  if (checked.tracestate) copy.set(tracestateHeader, checked.tracestate);
  return copy;
}

const ascii = new TextEncoder();
const traceparentLine = ascii.encode(`${traceparentHeader}: `);

/**
 * A client's reused headers plus a span: the usual traced call. nats.js only encodes a request's
 * headers when it publishes, so this is two references until then, and the encoding is the
 * reused set's bytes with the trace lines written after them, not a new header set encoded
 * whole (a copy of the set, made on first read, serves the `MsgHdrs` methods).
 */
class TracedHeaders implements MsgHdrs {
  readonly #base: WrittenHeaders;
  readonly #trace: TraceContext;
  #encoded: Uint8Array | undefined = undefined;
  #full: WrittenHeaders | undefined = undefined;

  constructor(base: WrittenHeaders, trace: TraceContext) {
    this.#base = base;
    this.#trace = trace;
  }

  encode(): Uint8Array {
    if (this.#full !== undefined) return this.#full.encode();
    if (this.#encoded !== undefined) return this.#encoded;
    const prefix = this.#base.tracedPrefix();
    const trace = this.#trace;
    const tracestate = trace.tracestate;
    const state = tracestate ? ascii.encode(`${tracestateHeader}: ${tracestate}\r\n`) : undefined;
    const bytes = slabBytes(prefix.length + traceparentLength + 2 + (state?.length ?? 0) + 2);
    // The reused set without its closing empty line and `traceparent: `, then the trace lines, then the empty line.
    bytes.set(prefix);
    let at = writeTraceparent(bytes, prefix.length, trace);
    bytes[at++] = 13;
    bytes[at++] = 10;
    if (state !== undefined) {
      bytes.set(state, at);
      at += state.length;
    }
    bytes[at++] = 13;
    bytes[at] = 10;
    return (this.#encoded = bytes);
  }

  /** The whole set as a `MsgHdrs`, made on first read. */
  #headers(): WrittenHeaders {
    if (this.#full === undefined) {
      const full = this.#base.copy();
      full.put(traceparentHeader, this.#trace.traceparent);
      if (this.#trace.tracestate) full.put(tracestateHeader, this.#trace.tracestate);
      this.#full = full;
    }
    return this.#full;
  }

  get hasError(): boolean {
    return this.#headers().hasError;
  }
  get status(): string {
    return this.#headers().status;
  }
  get code(): number {
    return this.#headers().code;
  }
  get description(): string {
    return this.#headers().description;
  }
  get(k: string, match?: Match): string {
    return this.#headers().get(k, match as "exact");
  }
  set(k: string, v: string, match?: Match): void {
    this.#headers().set(k, v, match);
  }
  append(k: string, v: string, match?: Match): void {
    this.#headers().append(k, v, match);
  }
  has(k: string, match?: Match): boolean {
    return this.#headers().has(k, match);
  }
  keys(): string[] {
    return this.#headers().keys();
  }
  values(k: string, match?: Match): string[] {
    return this.#headers().values(k, match);
  }
  delete(k: string, match?: Match): void {
    this.#headers().delete(k, match);
  }
  last(k: string, match?: Match): string {
    return this.#headers().last(k, match as "exact");
  }
  [Symbol.iterator](): IterableIterator<[string, string[]]> {
    return this.#headers()[Symbol.iterator]();
  }
}

/** A line break in a value would end its header early and start another. */
const lineBreak = /[\r\n]/;

/**
 * New request headers; `invalid_argument` when the metadata cannot be sent. Every value is
 * checked here (metadata by {@link assertMetadata}, the trace context by its format, the
 * content type for line breaks), so the headers are written without nats.js's checks.
 */
export function requestHeaders(init: RequestHeaderInit): MsgHdrs {
  const h = new WrittenHeaders();
  if (init.contentType !== undefined) {
    if (lineBreak.test(init.contentType)) throw new MicroError("invalid_argument", "a content type cannot contain line breaks", { detail: "content-type" });
    h.put(contentTypeHeader, init.contentType.trim());
  }
  if (init.timeoutMs !== undefined) h.put(timeoutHeader, String(Math.max(1, Math.ceil(init.timeoutMs))));
  const metadata = init.moreMetadata === undefined
    ? init.metadata
    : init.metadata === undefined
    ? init.moreMetadata
    : { ...init.metadata, ...init.moreMetadata };
  if (metadata !== undefined) {
    assertMetadata(metadata);
    // Trimmed as nats.js trims every value it is given.
    for (const key in metadata) h.put(metadataPrefix + key, metadata[key]!.trim());
  }
  if (init.from !== undefined) {
    if (lineBreak.test(init.from)) throw new MicroError("invalid_argument", "the calling instance's id cannot contain line breaks", { detail: "from" });
    h.put(fromHeader, init.from);
  }
  // Any value an interceptor set is checked (an instanceof for the protocol's own); a bad one is dropped.
  const trace = checkedTraceContext(init.trace);
  if (trace !== undefined) {
    h.put(traceparentHeader, trace.traceparent);
    if (trace.tracestate) h.put(tracestateHeader, trace.tracestate);
  }
  if (init.emitDefaults === true) h.put(emitDefaultsHeader, "1");
  return h;
}
