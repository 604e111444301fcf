/**
 * The metrics of a {@link MetricsRegistry} exported over OTLP/HTTP every
 * `OTEL_METRIC_EXPORT_INTERVAL` ms, configured by the standard `OTEL_*` variables: the same
 * series `/metrics` serves, as cumulative sums, gauges and explicit-bucket histograms, so a
 * collector without a Prometheus scrape gets them too.
 *
 * The registry stays the one source of values: each export reads a snapshot of it (after its
 * collectors ran, as a scrape does) and OpenTelemetry's serializers turn it into an OTLP
 * request. Off unless configured ({@link metricsExportEnabled}); off, nothing of it is loaded.
 * @module
 */
import type { MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { MicroError } from "../errors/micro-error.ts";
import type { MetricsRegistry } from "./metrics.ts";
import { type Env, otlpTarget, wholeSetting } from "./otlp-env.ts";


/** A running export. */
export interface MetricsExport {
  /** Where it posts. */
  readonly url: string;
  /** Exports now (resolves when the collector answered or the export timed out). */
  flush(): Promise<void>;
  /** Stops the timer after a last export. */
  shutdown(): Promise<void>;
}

/**
 * True when the environment asks for OTLP metrics: `OTEL_METRICS_EXPORTER=otlp`, or an OTLP
 * endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) with no
 * exporter named; never with `OTEL_SDK_DISABLED=true` or `OTEL_METRICS_EXPORTER=none`
 * (`prometheus` means the `/metrics` endpoint alone, served with `MICRO_METRICS_PORT`).
 */
export function metricsExportEnabled(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_METRICS_EXPORTER ?? "").split(",").map((e) => e.trim().toLowerCase()).filter((e) => e !== "");
  if (exporters.length > 0) {
    if (exporters.includes("none")) return false;
    const unknown = exporters.filter((e) => e !== "otlp" && e !== "prometheus");
    if (unknown.length > 0) throw new MicroError("invalid_argument", `OTEL_METRICS_EXPORTER must be otlp, prometheus or none, got "${unknown.join(",").slice(0, 80)}"`);
    return exporters.includes("otlp");
  }
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
}

/**
 * Starts exporting `registry` as `OTEL_*` in `env` says: endpoint
 * (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`, else
 * `http://localhost:4318/v1/metrics`), protocol (`http/protobuf` or `http/json`), headers,
 * interval (`OTEL_METRIC_EXPORT_INTERVAL`, 60000) and timeout (`OTEL_METRIC_EXPORT_TIMEOUT`, 30000).
 * A collector that is down loses that export (the next one carries the cumulative totals) and
 * is said so once on `onError`, not per export.
 */
export async function startMetricsExport(
  registry: MetricsRegistry,
  serviceName: string,
  env: Env = process.env,
  onError: (message: string) => void = (message) => console.error(message),
): Promise<MetricsExport> {
  const { protocol, url, headers: configured } = otlpTarget(env, "metrics");
  const intervalMs = wholeSetting(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000, 1, 86_400_000);
  const timeoutMs = wholeSetting(env, "OTEL_METRIC_EXPORT_TIMEOUT", 30_000, 1, 86_400_000);
  const headers = {
    ...configured,
    "content-type": protocol === "http/json" ? "application/json" : "application/x-protobuf",
  };

  const { AggregationTemporality, DataPointType } = await import("@opentelemetry/sdk-metrics");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { JsonMetricsSerializer, ProtobufMetricsSerializer } = await import("@opentelemetry/otlp-transformer");
  const serializer = protocol === "http/json" ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  const resource = resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME || serviceName, "telemetry.sdk.name": "opentelemetry" });
  const hr = (epochMs: number): [number, number] => [Math.floor(epochMs / 1000), Math.round((epochMs % 1000) * 1e6)];
  const startTime = hr(Date.now());

  const request = (): ResourceMetrics => {
    const endTime = hr(Date.now());
    const metrics: MetricData[] = registry.snapshot().filter((m) => m.points.length > 0).map((m): MetricData => {
      const descriptor = { name: m.name, description: m.help, unit: m.name.endsWith("_seconds") ? "s" : "", valueType: 1 /* DOUBLE */ };
      const base = { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE };
      if (m.type === "histogram") {
        return {
          ...base,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: m.points.map((p) => ({
            attributes: p.labels,
            startTime,
            endTime,
            value: { buckets: { boundaries: [...m.boundaries!], counts: [...p.buckets!] }, sum: p.sum!, count: p.count! },
          })),
        };
      }
      const dataPoints = m.points.map((p) => ({ attributes: p.labels, startTime, endTime, value: p.value! }));
      return m.type === "counter" ? { ...base, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints } : { ...base, dataPointType: DataPointType.GAUGE, dataPoints };
    });
    return { resource, scopeMetrics: [{ scope: { name: "jetmicro" }, metrics }] };
  };

  let failing = false;
  let running: Promise<void> | undefined;
  const exportOnce = async () => {
    await registry.collectNow(Math.min(1000, timeoutMs));
    const body = serializer.serializeRequest(request());
    if (body === undefined) return;
    try {
      const response = await fetch(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer>, signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (failing) onError(`metrics: exporting to ${url} works again`);
      failing = false;
    } catch (error) {
      if (!failing) onError(`metrics: cannot export to ${url}: ${(error as Error)?.message ?? String(error)} (retrying every ${intervalMs} ms)`);
      failing = true;
    }
  };
  // One export at a time: a slow collector delays the next instead of piling requests up.
  const flush = () => (running ??= exportOnce().finally(() => (running = undefined)));
  const timer = setInterval(() => void flush(), intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    url,
    flush,
    async shutdown() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
