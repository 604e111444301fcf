/**
 * The observability the benchmark's `jetmicro-on` system runs with: tracing exported over
 * OTLP/HTTP to the sink `run.ts` keeps outside the measured processes (`BENCH_OTLP_ENDPOINT`;
 * the whole export path runs, without a collector's cost), sampled as `OTEL_TRACES_SAMPLER` and
 * `OTEL_TRACES_SAMPLER_ARG` say, and a metrics registry with its client interceptor and server
 * observer, as `micro run`
 * builds them when `OTEL_EXPORTER_OTLP_ENDPOINT` and `MICRO_METRICS_PORT` are set.
 * @module
 */
import type { CallObserver, Interceptor } from "../runtime/protocol/mod.ts";
import { metricsObserver } from "../runtime/observability/call-metrics.ts";
import { MetricsRegistry } from "../runtime/observability/metrics.ts";
import { startTracing } from "../runtime/observability/tracing.ts";

/** The interceptors of one side, the server's observers, and how to stop the sink and the tracer. */
export interface Observed {
  readonly server: Interceptor[];
  readonly serverObservers: CallObserver[];
  readonly client: Interceptor[];
  readonly clientObservers: CallObserver[];
  readonly metrics: MetricsRegistry;
  stop(): Promise<void>;
}

/**
 * Starts the tracer (process-wide, as in `micro run`). `BENCH_OBSERVED` picks the
 * parts (`tracing,metrics`, the default), to see what each costs; `sampler` the sampling
 * (`OTEL_TRACES_SAMPLER`/`_ARG` of the environment unless given: `jetmicro-sampled` has its own).
 */
export async function startObserved(serviceName: string, sampler: Readonly<Record<string, string | undefined>> = process.env): Promise<Observed> {
  const parts = (process.env.BENCH_OBSERVED ?? "tracing,metrics").split(",").map((p) => p.trim());
  const endpoint = process.env.BENCH_OTLP_ENDPOINT;
  if (!endpoint) throw new Error("observed: BENCH_OTLP_ENDPOINT is not set (run.ts starts the sink)");
  const tracing = await startTracing(serviceName, {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_SERVICE_NAME: serviceName,
    OTEL_TRACES_SAMPLER: sampler.OTEL_TRACES_SAMPLER,
    MICRO_TRACE_CONTEXT: process.env.MICRO_TRACE_CONTEXT,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_QUEUE_SIZE: process.env.OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_TRACES_SAMPLER_ARG: sampler.OTEL_TRACES_SAMPLER_ARG,
  });
  const metrics = new MetricsRegistry();
  // Scraped every second as Prometheus would, so the exposition's cost is in the numbers too.
  const scrape = setInterval(() => void metrics.scrape(), 1000);
  return {
    // As the runner puts them: tracing's server side an observer (an interceptor in async context mode).
    server: parts.includes("tracing") && tracing.asyncContext ? [tracing.serverInterceptor] : [],
    serverObservers: [...(parts.includes("tracing") && !tracing.asyncContext ? [tracing.serverObserver] : []), ...(parts.includes("metrics") ? [metricsObserver(metrics)] : [])],
    // As the runner puts them: observers on both sides (interceptors in async context mode).
    client: parts.includes("tracing") && tracing.asyncContext ? [tracing.clientInterceptor] : [],
    clientObservers: [...(parts.includes("tracing") && !tracing.asyncContext ? [tracing.clientObserver] : []), ...(parts.includes("metrics") ? [metricsObserver(metrics)] : [])],
    metrics,
    async stop() {
      clearInterval(scrape);
      await tracing.shutdown();
    },
  };
}
