/**
 * jetmicro's own spans as they are kept until exported: plain records, not OpenTelemetry SDK
 * span objects. A call's span is known in full when it ends (ids, parent, times, outcome), and
 * its name, kind and attributes are the same for every call of an endpoint, so they live in
 * one {@link SpanShape} per endpoint, encoded for OTLP once. This is what makes a traced call
 * cost a few microseconds instead of the SDK's tens.
 * @module
 */
import type { TraceContext } from "../protocol/mod.ts";

/** OTLP's span kinds. */
export const spanKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/** An attribute value: strings, whole numbers (OTLP `int_value`), other numbers (`double_value`), booleans. */
export type AttributeValue = string | number | boolean;

/** Attributes by key. */
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** What the spans of one endpoint (or one gateway route) share. */
export interface SpanShape {
  readonly name: string;
  /** One of {@link spanKind}. */
  readonly kind: number;
  readonly attributes: Attributes;
  /** The name, kind and attributes in OTLP protobuf, made on the first export. */
  encoded?: Uint8Array;
}

/** One ended span. */
export interface SpanRecord {
  readonly shape: SpanShape;
  /** This span's context (checked: made by the tracer), whose ids and `tracestate` the span is exported with. */
  readonly trace: TraceContext;
  /** The parent span's context (checked), or undefined for a root span. */
  readonly parent: TraceContext | undefined;
  /** `performance.now()` when the span started and ended. */
  readonly start: number;
  readonly end: number;
  /** Set when the span failed: its status is ERROR with this message. */
  readonly error: string | undefined;
  /** Attributes of this span alone, beside its shape's (an error code, an HTTP status). */
  readonly extra: Attributes | undefined;
}
