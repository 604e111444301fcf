/**
 * A real OTLP/HTTP receiver for tracing tests: accepts `POST /v1/traces` in the JSON encoding
 * (what the tests configure with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and keeps every span.
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "bun:test";
import { until } from "./wait.ts";

/** A span as OTLP/JSON carries it (the fields the tests read). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
  status?: { code?: number; message?: string };
}

/** A started receiver. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the `OTEL_EXPORTER_OTLP_ENDPOINT` to give. */
  readonly url: string;
  /** Every span received, in order. */
  readonly spans: OtlpSpan[];
  /** `<method> <path> <content-type>` of each request. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Starts a receiver on a free port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The attribute `key` of a span (string or int). */
export function attributeOf(span: OtlpSpan, key: string): string | number | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue;
}

/** A span of one trace by its name and OTLP kind (1 internal, 2 server, 3 client, 5 consumer). */
export type SpanFinder = (name: string, kind: number) => OtlpSpan | undefined;

/**
 * Flushes the exporter (`flush`) until the spans `wanted` (name and kind) of trace `traceId`
 * have reached `receiver`, and returns a finder of that trace's spans.
 */
export async function exportedTrace(receiver: OtlpReceiver, traceId: string, flush: () => Promise<void>, wanted: ReadonlyArray<readonly [string, number]>): Promise<SpanFinder> {
  const find: SpanFinder = (name, kind) => receiver.spans.find((s) => s.traceId === traceId && s.name === name && s.kind === kind);
  await until(async () => {
    await flush();
    return wanted.every(([name, kind]) => find(name, kind) !== undefined);
  }, { what: `spans ${wanted.map(([name, kind]) => `${name} (kind ${kind})`).join(", ")} of trace ${traceId} exported` });
  return find;
}

/** Expects each span of `chain` to be the child of the one before it, the first one of the span `rootParent`. */
export function expectParentChain(rootParent: string, chain: ReadonlyArray<OtlpSpan | undefined>): void {
  expect(chain.map((span) => span?.parentSpanId)).toEqual([rootParent, ...chain.slice(0, -1).map((span) => span?.spanId)]);
}
