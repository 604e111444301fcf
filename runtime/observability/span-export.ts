/**
 * The export of jetmicro's own spans: ended {@link SpanRecord}s wait in a bounded queue and go
 * to the collector over OTLP/HTTP in batches, as the OpenTelemetry SDK's batch span processor
 * does and with its settings (`OTEL_BSP_*`, larger by default: see `ownBatch` in
 * `tracing-config.ts`): a full batch is sent at once, the rest every
 * schedule delay; a full queue drops spans instead of slowing calls. One request at a time: a
 * slow collector makes the queue fill, never requests pile up. A collector that is down loses
 * those spans and is reported once (and once more when it is back), not per batch.
 * @module
 */
import { type HttpPost, httpPoster } from "../platform/http-post.ts";
import { JsonSpanBatch, ProtobufSpanBatch, type SpanBatch } from "./otlp-trace-encode.ts";
import type { Attributes, SpanRecord } from "./span-record.ts";
import type { TraceExportConfig } from "./tracing-config.ts";

/** A running span export. */
export interface SpanExport {
  /** Queues an ended span (dropped when the queue is full). */
  record(span: SpanRecord): void;
  /** Exports every queued span now. */
  flush(): Promise<void>;
  /** Exports what is queued and stops. */
  shutdown(): Promise<void>;
}

/** Starts exporting to the collector `config` names, as a process with `resource` attributes. */
export function startSpanExport(config: TraceExportConfig, resource: Attributes, onError: (message: string) => void): SpanExport {
  const { maxQueueSize, maxExportBatchSize, scheduledDelayMillis } = config.ownBatch;
  const json = config.protocol === "http/json";
  const headers = { ...config.headers, "content-type": json ? "application/json" : "application/x-protobuf" };
  // The span being filled, and full ones waiting for their request (encoded: a waiting span is bytes).
  const batch: SpanBatch = json ? new JsonSpanBatch(resource) : new ProtobufSpanBatch(resource);
  const full: Array<{ body: Uint8Array | string; spans: number }> = [];
  let waiting = 0;
  let dropped = 0;
  let failing = false;
  let dropping = false;
  let stopped = false;
  let running: Promise<void> | undefined;
  let poster: Promise<HttpPost> | undefined;

  const post = async (body: Uint8Array | string) => {
    try {
      const status = await (await (poster ??= httpPoster()))(config.url, headers, body, config.timeoutMs);
      if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
      // Sent and answered: the request's memory takes the next batches.
      batch.recycle?.(body);
      if (failing) onError(`tracing: exporting spans to ${config.url} works again`);
      failing = false;
    } catch (error) {
      if (!failing) onError(`tracing: spans not exported to ${config.url}: ${(error as Error)?.message ?? String(error)} (those spans are lost; retrying with the next batch)`);
      failing = true;
    }
  };
  const close = () => {
    if (batch.count === 0) return;
    full.push({ spans: batch.count, body: batch.take() });
  };
  /**
   * Sends the full batches, and with `all` the partial one too. A partial batch otherwise waits
   * for the schedule delay: sending whatever came during each request would turn a busy
   * process's export into a stream of small requests.
   */
  const drain = async (all: boolean) => {
    if (all) close();
    for (let next = full.shift(); next !== undefined; next = full.shift()) {
      waiting -= next.spans;
      await post(next.body);
    }
    // Said once per overload, not once per schedule delay while it lasts.
    if (dropped > 0 && !dropping) onError(`tracing: ${dropped} spans dropped: the export queue (OTEL_BSP_MAX_QUEUE_SIZE ${maxQueueSize}) was full`);
    dropping = dropped > 0;
    dropped = 0;
  };
  /** One export run at a time; a run asked for while one is going starts when it ends. */
  const run = (all: boolean): Promise<void> => {
    if (running !== undefined) return running.then(() => run(all));
    running = drain(all).finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void run(true), scheduledDelayMillis);
  (timer as { unref?: () => void }).unref?.();

  return {
    record(span) {
      if (waiting >= maxQueueSize || stopped) {
        dropped++;
        return;
      }
      batch.add(span);
      waiting++;
      if (batch.count >= maxExportBatchSize) {
        close();
        if (running === undefined) void run(false);
      }
    },
    flush: () => run(true),
    async shutdown() {
      stopped = true;
      clearInterval(timer);
      await run(true);
    },
  };
}
