import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startSpanExport } from "../../../runtime/observability/span-export.ts";
import { type SpanRecord, spanKind } from "../../../runtime/observability/span-record.ts";
import { traceExportConfig } from "../../../runtime/observability/tracing-config.ts";
import { traceContextOf } from "../../../runtime/protocol/mod.ts";
import { bytesOf, readFields } from "../../support/protobuf-fields.ts";
import { until } from "../../support/wait.ts";

/** Span counts of the requests the receiver got, in order. */
const received: number[] = [];
/** The status the receiver answers with; `hold` keeps requests waiting until released. */
let status = 200;
let held: Array<() => void> = [];
let hold = false;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = () => {
        const body = new Uint8Array(Buffer.concat(chunks));
        const scopeSpans = readFields(bytesOf(readFields(bytesOf(readFields(body), 1)), 2));
        received.push(scopeSpans.get(2)?.length ?? 0);
        res.writeHead(status).end();
      };
      if (hold) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => server.close(r)));

const span = (i: number): SpanRecord => ({
  shape: { name: "s", kind: spanKind.internal, attributes: {} },
  trace: traceContextOf(`00-4bf92f3577b34da6a3ce929d0e0e4736-${(i + 1).toString(16).padStart(16, "0")}-01`)!,
  parent: undefined,
  start: 1,
  end: 2,
  error: undefined,
  extra: undefined,
});

/** An export with batches of 4, a queue of 8 and a schedule delay no test waits for. */
function exportTo(onError: (m: string) => void) {
  return startSpanExport(
    traceExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "4", OTEL_BSP_MAX_QUEUE_SIZE: "8", OTEL_BSP_SCHEDULE_DELAY: "600000" }),
    { "service.name": "export-test" },
    onError,
  );
}

describe("span export", () => {
  it("sends a full batch at once and a partial one only when flushed or at the schedule delay", async () => {
    received.length = 0;
    const errors: string[] = [];
    const spans = exportTo((m) => errors.push(m));
    for (let i = 0; i < 6; i++) spans.record(span(i));
    await until(() => received.length === 1);
    expect(received).toEqual([4]);
    await Bun.sleep(50); // the two left wait for the schedule delay, however long a test looks
    expect(received).toEqual([4]);
    await spans.flush();
    expect(received).toEqual([4, 2]);
    await spans.shutdown();
    expect(errors).toEqual([]);
  });

  it("drops spans past the queue while the collector is slow, says so once, and sends the rest", async () => {
    received.length = 0;
    hold = true;
    const errors: string[] = [];
    const spans = exportTo((m) => errors.push(m));
    for (let i = 0; i < 4; i++) spans.record(span(i)); // a batch, held by the collector
    await until(() => held.length === 1);
    for (let i = 4; i < 20; i++) spans.record(span(i)); // 8 fit in the queue, 8 are dropped
    hold = false;
    for (const answer of held.splice(0)) answer();
    await spans.flush();
    expect(received).toEqual([4, 4, 4]);
    expect(errors).toEqual(["tracing: 8 spans dropped: the export queue (OTEL_BSP_MAX_QUEUE_SIZE 8) was full"]);
    await spans.shutdown();
  });

  it("reports a collector that fails once, not per batch, and once more when it works again", async () => {
    received.length = 0;
    status = 503;
    const errors: string[] = [];
    const spans = exportTo((m) => errors.push(m));
    for (let round = 0; round < 3; round++) {
      spans.record(span(round));
      await spans.flush();
    }
    expect(errors.length).toBe(1);
    expect(errors[0]).toContain("HTTP 503");
    status = 200;
    spans.record(span(9));
    await spans.flush();
    expect(errors.length).toBe(2);
    expect(errors[1]).toContain("works again");
    expect(received).toEqual([1, 1, 1, 1]);
    await spans.shutdown();
  });
});
