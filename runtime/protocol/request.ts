/**
 * The headers of a request, written in one place: content type, timeout, caller metadata and
 * the calling instance. Clients, the gateway, the sidecar, the CLI and the actor router all
 * build their request headers here.
 * @module
 */
import { type Match, type MsgHdrs, MsgHdrsImpl } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { contentTypeHeader, emitDefaultsHeader, fromHeader, metadataPrefix, timeoutHeader, traceparentHeader, tracestateHeader } from "./headers.ts";
import { checkedTraceContext, type TraceContext } from "./trace-context.ts";
import { assertMetadata } from "./metadata.ts";

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

  /** Adds a header whose name and value the protocol checked: no line breaks, a fresh name. */
  put(key: string, value: string): void {
    this.headers.set(key, [value]);
  }

  override encode(): Uint8Array {
    return (this.#encoded ??= super.encode());
  }

  /**
   * These headers and a trace context, encoded as this set's bytes with the trace lines added
   * (the usual traced call: the client's reused headers plus its span), not re-encoded whole.
   */
  withTrace(trace: TraceContext): WrittenHeaders {
    const traced = new WrittenHeaders();
    for (const [key, values] of this.headers) traced.headers.set(key, values);
    traced.put(traceparentHeader, trace.traceparent);
    let lines = `${traceparentHeader}: ${trace.traceparent}\r\n`;
    if (trace.tracestate) {
      traced.put(tracestateHeader, trace.tracestate);
      lines += `${tracestateHeader}: ${trace.tracestate}\r\n`;
    }
    const base = this.encode();
    // A trace context is checked ASCII: one byte per character.
    const bytes = new Uint8Array(base.length + lines.length);
    bytes.set(base.subarray(0, base.length - 2));
    ascii.encodeInto(lines, bytes.subarray(base.length - 2));
    bytes[bytes.length - 2] = 13;
    bytes[bytes.length - 1] = 10;
    traced.#encoded = bytes;
    return traced;
  }

  override append(k: string, v: string, match?: Match): void {
    this.#encoded = undefined;
    super.append(k, v, match);
  }

  override delete(k: string, match?: Match): void {
    this.#encoded = undefined;
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
  if (headers instanceof WrittenHeaders && headers.headers.size > 0 && !headers.headers.has(traceparentHeader)) return headers.withTrace(checked);
  const copy = new WrittenHeaders();
  for (const [key, values] of headers) for (const value of values) copy.append(key, value);
  copy.set(traceparentHeader, checked.traceparent);
  if (checked.tracestate) copy.set(tracestateHeader, checked.tracestate);
  return copy;
}

const ascii = new TextEncoder();

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
