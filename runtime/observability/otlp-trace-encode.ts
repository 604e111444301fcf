/**
 * {@link SpanRecord}s as an OTLP `ExportTraceServiceRequest`, in protobuf (written field by
 * field: a span is a few fixed-size fields and its shape's bytes, encoded once per endpoint) or
 * in OTLP/JSON. One resource and one instrumentation scope (`jetmicro`) per request.
 *
 * Field numbers are those of `opentelemetry/proto/trace/v1/trace.proto` and
 * `common/v1/common.proto`; `tests/runtime/observability/otlp-trace-encode.test.ts` decodes the
 * output with a generic protobuf reader and checks every field.
 * @module
 */
import { spanIdOf, type TraceContext, traceIdOf, writeSpanIdBytes, writeTraceIdBytes } from "../protocol/mod.ts";
import type { Attributes, AttributeValue, SpanRecord, SpanShape } from "./span-record.ts";

/** Epoch nanoseconds of `performance.now()`'s zero, split into 32-bit halves. */
const origin = (() => {
  const ns = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;
  return { hi: Number(ns >> 32n), lo: Number(ns & 0xffffffffn), ns };
})();
const two32 = 0x100000000;
const utf8 = new TextEncoder();
const scopeName = "jetmicro";

/** A growable byte buffer with the protobuf writes a span needs. */
class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  varint(n: number): void {
    this.ensure(10);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A length-delimited field of already encoded bytes. */
  field(tag: number, b: Uint8Array): void {
    this.varint(tag);
    this.varint(b.length);
    this.bytes(b);
  }

  /** A checked trace context's trace id (16 bytes), written from its words. */
  traceId(tag: number, trace: TraceContext): void {
    this.ensure(18);
    this.buf[this.pos] = tag;
    this.buf[this.pos + 1] = 16;
    this.pos = writeTraceIdBytes(trace, this.buf, this.pos + 2);
  }

  /** A checked trace context's span id (8 bytes), written from its words. */
  spanId(tag: number, trace: TraceContext): void {
    this.ensure(10);
    this.buf[this.pos] = tag;
    this.buf[this.pos + 1] = 8;
    this.pos = writeSpanIdBytes(trace, this.buf, this.pos + 2);
  }

  /** A fixed64 of the epoch nanoseconds of `performance.now()` value `ms`. */
  time(tag: number, ms: number): void {
    this.ensure(9);
    this.buf[this.pos++] = tag;
    const total = origin.lo + Math.round(ms * 1e6);
    const carry = Math.floor(total / two32);
    this.view.setUint32(this.pos, total - carry * two32, true);
    this.view.setUint32(this.pos + 4, origin.hi + carry, true);
    this.pos += 8;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** A `KeyValue` message. */
function keyValue(key: string, value: AttributeValue): Uint8Array {
  const w = new Writer();
  w.field(0x0a, utf8.encode(key));
  const any = new Writer();
  if (typeof value === "string") any.field(0x0a, utf8.encode(value));
  else if (typeof value === "boolean") any.varint(0x10), any.varint(value ? 1 : 0);
  else if (Number.isSafeInteger(value) && value >= 0) any.varint(0x18), any.varint(value);
  else {
    // Negative and fractional numbers as doubles: no attribute jetmicro sets is a negative integer.
    any.ensure(9);
    any.buf[any.pos++] = 0x21;
    any.view.setFloat64(any.pos, value, true);
    any.pos += 8;
  }
  w.field(0x12, any.take());
  return w.take();
}

/** Attributes as repeated fields `tag` of `KeyValue`. */
function attributeFields(w: Writer, tag: number, attributes: Attributes): void {
  for (const key in attributes) w.field(tag, keyValue(key, attributes[key]!));
}

/** A shape's name (5), kind (6) and attributes (9). */
function encodeShape(shape: SpanShape): Uint8Array {
  const w = new Writer();
  w.field(0x2a, utf8.encode(shape.name));
  w.varint(0x30);
  w.varint(shape.kind);
  attributeFields(w, 0x4a, shape.attributes);
  return w.take();
}

/** The fields of a span that are not of its shape and not fixed-size: trace state, extra attributes, status. */
function variableFields(record: SpanRecord): Uint8Array | undefined {
  const traceState = record.trace.tracestate;
  if (traceState === undefined && record.extra === undefined && record.error === undefined) return undefined;
  const w = new Writer();
  if (traceState !== undefined) w.field(0x1a, utf8.encode(traceState));
  if (record.extra !== undefined) attributeFields(w, 0x4a, record.extra);
  if (record.error !== undefined) {
    const status = new Writer();
    if (record.error !== "") status.field(0x12, utf8.encode(record.error));
    status.varint(0x18);
    status.varint(2); // STATUS_CODE_ERROR
    w.field(0x7a, status.take());
  }
  return w.take();
}

const varintLength = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** A batch of spans on its way to one export request. */
export interface SpanBatch {
  /** Spans added since the last {@link take}. */
  readonly count: number;
  /** Adds an ended span. */
  add(record: SpanRecord): void;
  /** The request body of the spans added, and a fresh start. */
  take(): Uint8Array | string;
  /** Gives back a body {@link take} made, once its request is done (its memory may be reused). */
  recycle?(body: Uint8Array | string): void;
}

/** Buffers kept for reuse once their request went: at most this many. */
const keptBuffers = 2;

/**
 * A batch in OTLP protobuf, each span encoded as it is added: a span is bytes from the moment
 * it ends, not an object kept alive (and moved by the garbage collector) until its batch goes.
 * The spans are written after room left for the request's framing, which {@link take} writes
 * in front of them: the request is a view of the batch's buffer, never a copy. Its buffer comes
 * back through {@link recycle} once the request went, and the next batch is written into it:
 * a new buffer of a batch's size (around a megabyte) is fresh memory, and the page faults of
 * filling it cost more than encoding the spans did.
 */
export class ProtobufSpanBatch implements SpanBatch {
  readonly #resourceBytes: Uint8Array;
  readonly #scopeBytes: Uint8Array;
  /** Room for the framing: the resource and scope and five tags and lengths. */
  readonly #head: number;
  #spans: Writer;
  readonly #free: Uint8Array[] = [];
  count = 0;

  constructor(resource: Attributes) {
    const resourceWriter = new Writer();
    attributeFields(resourceWriter, 0x0a, resource);
    this.#resourceBytes = resourceWriter.take();
    const scope = new Writer();
    scope.field(0x0a, utf8.encode(scopeName));
    this.#scopeBytes = scope.take();
    this.#head = this.#resourceBytes.length + this.#scopeBytes.length + 5 * 6;
    this.#spans = this.#writer(64 * 1024);
  }

  /** A writer on a kept buffer (or a new one of at least `size`), past the framing's room. */
  #writer(size: number): Writer {
    const kept = this.#free.pop();
    const w = new Writer(1);
    w.buf = kept ?? new Uint8Array(size);
    w.view = new DataView(w.buf.buffer, w.buf.byteOffset, w.buf.byteLength);
    w.pos = this.#head;
    return w;
  }

  add(record: SpanRecord): void {
    const spans = this.#spans;
    const shape = (record.shape.encoded ??= encodeShape(record.shape));
    const variable = variableFields(record);
    const parent = record.parent === undefined ? 0 : 10;
    const length = 18 + 10 + parent + shape.length + (variable?.length ?? 0) + 18;
    spans.varint(0x12); // ScopeSpans.spans
    spans.varint(length);
    spans.traceId(0x0a, record.trace);
    spans.spanId(0x12, record.trace);
    if (record.parent !== undefined) spans.spanId(0x22, record.parent);
    spans.bytes(shape);
    spans.time(0x39, record.start);
    spans.time(0x41, record.end);
    if (variable !== undefined) spans.bytes(variable);
    this.count++;
  }

  take(): Uint8Array {
    const spans = this.#spans;
    const resourceBytes = this.#resourceBytes;
    const scopeBytes = this.#scopeBytes;
    const spansLength = spans.pos - this.#head;
    const scopeSpansLength = 1 + varintLength(scopeBytes.length) + scopeBytes.length + spansLength;
    const resourceSpansLength = 1 + varintLength(resourceBytes.length) + resourceBytes.length + 1 + varintLength(scopeSpansLength) + scopeSpansLength;
    const start = this.#head - (1 + varintLength(resourceSpansLength) + resourceSpansLength - spansLength);
    // The framing, written in front of the spans.
    const end = spans.pos;
    spans.pos = start;
    spans.varint(0x0a); // ExportTraceServiceRequest.resource_spans
    spans.varint(resourceSpansLength);
    spans.field(0x0a, resourceBytes); // ResourceSpans.resource
    spans.varint(0x12); // ResourceSpans.scope_spans
    spans.varint(scopeSpansLength);
    spans.field(0x0a, scopeBytes); // ScopeSpans.scope
    this.count = 0;
    this.#spans = this.#writer(spans.buf.length);
    return spans.buf.subarray(start, end);
  }

  /** Gives back a request {@link take} made, once it was sent: its buffer takes the next batches. */
  recycle(body: Uint8Array | string): void {
    if (typeof body === "string" || this.#free.length >= keptBuffers) return;
    this.#free.push(new Uint8Array(body.buffer, 0, body.buffer.byteLength));
  }
}

/** A batch in OTLP/JSON, made into text when it is taken. */
export class JsonSpanBatch implements SpanBatch {
  #records: SpanRecord[] = [];

  constructor(readonly resource: Attributes) {}

  get count(): number {
    return this.#records.length;
  }

  add(record: SpanRecord): void {
    this.#records.push(record);
  }

  take(): string {
    const records = this.#records;
    this.#records = [];
    return encodeTraceRequestJson(records, this.resource);
  }
}

/** Epoch nanoseconds of a `performance.now()` value, as OTLP/JSON writes 64-bit integers. */
function nanos(ms: number): string {
  return (origin.ns + BigInt(Math.round(ms * 1e6))).toString();
}

function jsonAttributes(attributes: Attributes | undefined): Array<{ key: string; value: Record<string, unknown> }> {
  const out: Array<{ key: string; value: Record<string, unknown> }> = [];
  if (attributes === undefined) return out;
  for (const key in attributes) {
    const value = attributes[key]!;
    out.push({
      key,
      value: typeof value === "string"
        ? { stringValue: value }
        : typeof value === "boolean"
        ? { boolValue: value }
        : Number.isSafeInteger(value) && value >= 0
        ? { intValue: value }
        : { doubleValue: value },
    });
  }
  return out;
}

/** `records` as an OTLP/HTTP JSON request body (ids in hex, times as decimal strings). */
export function encodeTraceRequestJson(records: readonly SpanRecord[], resource: Attributes): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: jsonAttributes(resource) },
      scopeSpans: [{
        scope: { name: scopeName },
        spans: records.map((r) => ({
          traceId: traceIdOf(r.trace),
          spanId: spanIdOf(r.trace),
          ...(r.parent === undefined ? {} : { parentSpanId: spanIdOf(r.parent) }),
          ...(r.trace.tracestate === undefined ? {} : { traceState: r.trace.tracestate }),
          name: r.shape.name,
          kind: r.shape.kind,
          startTimeUnixNano: nanos(r.start),
          endTimeUnixNano: nanos(r.end),
          attributes: [...jsonAttributes(r.shape.attributes), ...jsonAttributes(r.extra)],
          status: r.error === undefined ? { code: 0 } : { code: 2, message: r.error },
        })),
      }],
    }],
  });
}
