/**
 * The observability the benchmark's `jetmicro-on` system runs with: tracing exported over
 * OTLP/HTTP to a sink in this process that accepts and discards every request (so the whole
 * export path runs, without a collector's cost), and a metrics registry with its interceptor,
 * as `micro run` builds them when `OTEL_EXPORTER_OTLP_ENDPOINT` and `MICRO_METRICS_PORT` are set.
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Interceptor } from "../runtime/protocol/mod.ts";
import { metricsInterceptor } from "../runtime/observability/call-metrics.ts";
import { MetricsRegistry } from "../runtime/observability/metrics.ts";
import { startTracing } from "../runtime/observability/tracing.ts";

/** The interceptors of one side, and how to stop the sink and the tracer. */
export interface Observed {
  readonly server: Interceptor[];
  readonly client: Interceptor[];
  readonly metrics: MetricsRegistry;
  stop(): Promise<void>;
}

/** Starts the sink and the tracer (process-wide, as in `micro run`). */
export async function startObserved(serviceName: string): Promise<Observed> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const tracing = await startTracing(serviceName, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", OTEL_SERVICE_NAME: serviceName });
  const metrics = new MetricsRegistry();
  // Scraped every second as Prometheus would, so the exposition's cost is in the numbers too.
  const scrape = setInterval(() => void metrics.scrape(), 1000);
  return {
    server: [tracing.serverInterceptor, metricsInterceptor(metrics)],
    client: [tracing.clientInterceptor, metricsInterceptor(metrics)],
    metrics,
    async stop() {
      clearInterval(scrape);
      await tracing.shutdown().catch(() => undefined);
      await new Promise((resolve) => sink.close(resolve));
    },
  };
}
