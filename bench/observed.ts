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
  /** Export requests the sink received (0 would mean the spans went elsewhere). */
  exports(): number;
  stop(): Promise<void>;
}

/**
 * Starts the sink and the tracer (process-wide, as in `micro run`). `BENCH_OBSERVED` picks the
 * parts (`tracing,metrics`, the default), to see what each costs.
 */
export async function startObserved(serviceName: string): Promise<Observed> {
  const parts = (process.env.BENCH_OBSERVED ?? "tracing,metrics").split(",").map((p) => p.trim());
  let exports = 0;
  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  // The exporter reads its endpoint from the process environment itself (this is a bench process).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  const tracing = await startTracing(serviceName, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", OTEL_SERVICE_NAME: serviceName });
  const metrics = new MetricsRegistry();
  // Scraped every second as Prometheus would, so the exposition's cost is in the numbers too.
  const scrape = setInterval(() => void metrics.scrape(), 1000);
  return {
    server: [...(parts.includes("tracing") ? [tracing.serverInterceptor] : []), ...(parts.includes("metrics") ? [metricsInterceptor(metrics)] : [])],
    client: [...(parts.includes("tracing") ? [tracing.clientInterceptor] : []), ...(parts.includes("metrics") ? [metricsInterceptor(metrics)] : [])],
    metrics,
    exports: () => exports,
    async stop() {
      clearInterval(scrape);
      await tracing.shutdown().catch(() => undefined);
      await new Promise((resolve) => sink.close(resolve));
    },
  };
}
