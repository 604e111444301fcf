/**
 * A process's observability from its settings: the tracer (when `OTEL_*` asks for one), the
 * metrics registry (when `MICRO_METRICS_PORT` is set or `OTEL_*` asks for OTLP metrics) and its
 * OTLP export, the logger, and the interceptors and observers that feed them. What is off adds
 * nothing per call: the failed-call log and the server's request metrics are observers the
 * server tells how a call ended (see `runtime/protocol/call-observer.ts`), so with tracing off
 * a service keeps its fused call path and a successful call pays for no log at all.
 * @module
 */
import type { Settings } from "../config/mod.ts";
import type { CallObserver, Interceptor } from "../protocol/mod.ts";
import { metricsObserver } from "./call-metrics.ts";
import { createLogger, type Logger } from "./logger.ts";
import { callLogObserver } from "./log-interceptor.ts";
import { MetricsRegistry } from "./metrics.ts";
import { type MetricsExport, metricsExportEnabled, startMetricsExport } from "./otlp-metrics.ts";
import { processTracing, type Tracing } from "./tracing.ts";

/** What a process observes itself with. */
export interface Observability {
  readonly logger: Logger;
  /** Undefined when tracing is off. */
  readonly tracing: Tracing | undefined;
  /** Undefined when metrics are off (no `MICRO_METRICS_PORT` and no OTLP metrics export). */
  readonly metrics: MetricsRegistry | undefined;
  /** The OTLP metrics export, when `OTEL_*` asks for one. */
  readonly metricsExport: MetricsExport | undefined;
  /** Put on every service, outermost first (tracing in async context mode; else empty). */
  readonly serverInterceptors: readonly Interceptor[];
  /**
   * Put on every service and actor type (`observers`): the failed-call log (and sampled
   * success lines at `debug`), and request metrics when metrics are on.
   */
  readonly serverObservers: readonly CallObserver[];
  /** Put on every client a service makes (nested calls) and on clients of the process (tracing in async context mode; else empty). */
  readonly clientInterceptors: readonly Interceptor[];
  /** The same, as observers: tracing (unless async context mode) and request metrics when on. */
  readonly clientObservers: readonly CallObserver[];
  /** Most success lines per second. */
  readonly samplePerSecond: number;
}

/** Builds the observability of a process from `settings` (tracing from `OTEL_*` in `env`). */
export async function observabilityFrom(
  settings: Pick<Settings, "metricsPort" | "logFormat" | "logLevel" | "logSamplePerSecond">,
  options: { readonly serviceName?: string; readonly env?: Readonly<Record<string, string | undefined>>; readonly logger?: Logger; readonly metrics?: boolean } = {},
): Promise<Observability> {
  const logger = options.logger ?? createLogger({ level: settings.logLevel ?? "info", format: settings.logFormat ?? "pretty" });
  const tracing = await processTracing(options.serviceName, options.env);
  const exporting = metricsExportEnabled(options.env);
  const metrics = (options.metrics ?? ((settings.metricsPort ?? 0) > 0 || exporting)) ? new MetricsRegistry() : undefined;
  const metricsExport = metrics !== undefined && exporting ? await startMetricsExport(metrics, options.serviceName ?? "jetmicro", options.env) : undefined;
  const samplePerSecond = settings.logSamplePerSecond ?? 100;
  const serverInterceptors: Interceptor[] = [];
  const clientInterceptors: Interceptor[] = [];
  const serverObservers: CallObserver[] = [];
  // Tracing first: the span covers the other observers' and the interceptors' work. As an
  // observer it is no step in the call's path; async context needs the interceptor, which
  // runs the rest of the call inside the span's OpenTelemetry context.
  const clientObservers: CallObserver[] = [];
  if (tracing !== undefined) {
    if (tracing.asyncContext) serverInterceptors.push(tracing.serverInterceptor), clientInterceptors.push(tracing.clientInterceptor);
    else serverObservers.push(tracing.serverObserver), clientObservers.push(tracing.clientObserver);
  }
  if (metrics !== undefined) {
    serverObservers.push(metricsObserver(metrics));
    clientObservers.push(metricsObserver(metrics));
  }
  serverObservers.push(callLogObserver(logger, samplePerSecond));
  return { logger, tracing, metrics, metricsExport, serverInterceptors, serverObservers, clientInterceptors, clientObservers, samplePerSecond };
}
