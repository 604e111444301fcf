import { describe, expect, it } from "bun:test";
import { encodeTraceRequestJson, ProtobufSpanBatch } from "../../../runtime/observability/otlp-trace-encode.ts";
import { type Attributes, type SpanRecord, spanKind } from "../../../runtime/observability/span-record.ts";
import { traceContextOf } from "../../../runtime/protocol/mod.ts";

/** `records` encoded as the exporter encodes a batch. */
function encodeTraceRequest(records: readonly SpanRecord[], attributes: Attributes): Uint8Array {
  const batch = new ProtobufSpanBatch(attributes);
  for (const r of records) batch.add(r);
  return batch.take();
}
import { bytesOf, hexOf, numberOf, readFields, textOf } from "../../support/protobuf-fields.ts";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentSpanId = "00f067aa0ba902b7";
const shape = { name: "greeter/Greeter.SayHello", kind: spanKind.server, attributes: { "rpc.system": "jetmicro", "rpc.service": "greeter" } };
const resource = { "service.name": "encode-test" };

/** What a test sets of a span: its ids as text (the encoder writes them from the contexts' words). */
interface SpanOf {
  readonly spanId?: string;
  /** Undefined for a root span. */
  readonly parentSpanId?: string | undefined;
  readonly traceState?: string;
  readonly error?: string;
  readonly extra?: Attributes;
}

function record(of: SpanOf = {}): SpanRecord {
  const parent = "parentSpanId" in of ? of.parentSpanId : parentSpanId;
  return {
    shape,
    trace: traceContextOf(`00-${traceId}-${of.spanId ?? "b7ad6b7169203331"}-01`, of.traceState)!,
    parent: parent === undefined ? undefined : traceContextOf(`00-${traceId}-${parent}-01`)!,
    start: 1000.25,
    end: 1002.75,
    error: of.error,
    extra: of.extra,
  };
}

/** The spans of an encoded request, each as its fields (resource_spans → scope_spans → spans). */
function spansOf(body: Uint8Array) {
  const request = readFields(body);
  expect(request.get(1)?.length).toBe(1);
  const resourceSpans = readFields(bytesOf(request, 1));
  const resourceAttributes = readFields(bytesOf(resourceSpans, 1)).get(1)!.map((kv) => readFields(kv as Uint8Array));
  const scopeSpans = readFields(bytesOf(resourceSpans, 2));
  return {
    resource: Object.fromEntries(resourceAttributes.map((kv) => [textOf(kv, 1), textOf(readFields(bytesOf(kv, 2)), 1)])),
    scope: textOf(readFields(bytesOf(scopeSpans, 1)), 1),
    spans: (scopeSpans.get(2) ?? []).map((s) => readFields(s as Uint8Array)),
  };
}

/** A fixed64 field's bits as the double they hold. */
function doubleOf(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits, true);
  return view.getFloat64(0, true);
}

/** A span's attributes as key → string, int or double. */
function attributesOf(span: ReturnType<typeof readFields>): Record<string, unknown> {
  return Object.fromEntries((span.get(9) ?? []).map((kv) => {
    const f = readFields(kv as Uint8Array);
    const any = readFields(bytesOf(f, 2));
    return [textOf(f, 1), any.has(1) ? textOf(any, 1) : any.has(3) ? Number(numberOf(any, 3)) : doubleOf(numberOf(any, 4)!)];
  }));
}

describe("OTLP trace encoding", () => {
  it("writes each span's ids, parent, name, kind, times and attributes as OTLP protobuf fields", () => {
    const { resource: res, scope, spans } = spansOf(encodeTraceRequest([record(), record({ parentSpanId: undefined, spanId: "1111111111111111" })], resource));
    expect(res).toEqual({ "service.name": "encode-test" });
    expect(scope).toBe("jetmicro");
    expect(spans.length).toBe(2);
    const [span, root] = spans as [ReturnType<typeof readFields>, ReturnType<typeof readFields>];
    expect(hexOf(bytesOf(span, 1))).toBe(traceId);
    expect(hexOf(bytesOf(span, 2))).toBe("b7ad6b7169203331");
    expect(hexOf(bytesOf(span, 4))).toBe("00f067aa0ba902b7");
    expect(root.has(4)).toBe(false); // a root span has no parent id
    expect(textOf(span, 5)).toBe("greeter/Greeter.SayHello");
    expect(numberOf(span, 6)).toBe(2n); // SPAN_KIND_SERVER
    // Epoch nanoseconds of performance.now() values: 2.5 ms apart, at the process's time origin + 1 s.
    const start = numberOf(span, 7)!;
    expect(numberOf(span, 8)! - start).toBe(2_500_000n);
    const expected = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n + 1_000_250_000n;
    expect(start > expected - 1000n && start < expected + 1000n).toBe(true);
    expect(attributesOf(span)).toEqual({ "rpc.system": "jetmicro", "rpc.service": "greeter" });
    expect(span.has(15)).toBe(false); // no status: unset
  });

  it("writes a failed span's status, its extra attributes and the trace state", () => {
    const { spans } = spansOf(encodeTraceRequest([record({ error: "boom: ünïcode", extra: { "error.type": "internal", "http.response.status_code": 503, ratio: 0.5 }, traceState: "congo=t61rcWkgMzE" })], resource));
    const span = spans[0]!;
    expect(textOf(span, 3)).toBe("congo=t61rcWkgMzE");
    expect(attributesOf(span)).toEqual({ "rpc.system": "jetmicro", "rpc.service": "greeter", "error.type": "internal", "http.response.status_code": 503, ratio: 0.5 });
    const status = readFields(bytesOf(span, 15));
    expect(textOf(status, 2)).toBe("boom: ünïcode");
    expect(numberOf(status, 3)).toBe(2n); // STATUS_CODE_ERROR
  });

  it("encodes many spans (a batch past the writer's first buffer) and the same spans as OTLP/JSON", () => {
    const many = Array.from({ length: 2000 }, (_, i) => record({ spanId: (i + 1).toString(16).padStart(16, "0") }));
    const { spans } = spansOf(encodeTraceRequest(many, resource));
    expect(spans.length).toBe(2000);
    expect(hexOf(bytesOf(spans[1999]!, 2))).toBe((2000).toString(16).padStart(16, "0"));
    const json = JSON.parse(encodeTraceRequestJson([record({ error: "x" })], resource));
    const span = json.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span).toMatchObject({ traceId, spanId: "b7ad6b7169203331", parentSpanId: "00f067aa0ba902b7", name: shape.name, kind: 2, status: { code: 2, message: "x" } });
    expect(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)).toBe(2_500_000n);
  });

  it("writes the next batches into a request's memory once it is given back, and never into one still held", () => {
    const batch = new ProtobufSpanBatch(resource);
    const idsOf = (body: Uint8Array) => spansOf(body).spans.map((span) => hexOf(bytesOf(span, 2)));
    const id = (i: number) => i.toString(16).padStart(16, "0");
    for (let i = 1; i <= 3; i++) batch.add(record({ spanId: id(i) }));
    const held = batch.take();
    for (let i = 4; i <= 5; i++) batch.add(record({ spanId: id(i) }));
    const sent = batch.take();
    // `held` was not given back: later batches leave it as it was.
    expect(idsOf(held)).toEqual([id(1), id(2), id(3)]);
    batch.recycle(sent);
    // The batch being filled when `sent` came back goes first; the one after is written into `sent`'s memory.
    const next = [6, 7].map((i) => {
      batch.add(record({ spanId: id(i) }));
      return batch.take();
    });
    expect(next.map((body) => body.buffer === sent.buffer)).toEqual([false, true]);
    expect(next.map(idsOf)).toEqual([[id(6)], [id(7)]]);
    expect(next.some((body) => body.buffer === held.buffer)).toBe(false);
    expect(idsOf(held)).toEqual([id(1), id(2), id(3)]);
  });
});
