import { describe, expect, it } from "bun:test";
import { traceExportConfig } from "../../../runtime/observability/tracing-config.ts";

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
};

describe("trace export settings", () => {
  it("reads the endpoint from the given environment: the signal's own URL as is, else the base + /v1/traces", () => {
    expect(traceExportConfig({}).url).toBe("http://localhost:4318/v1/traces");
    expect(traceExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).url).toBe("http://collector:4318/v1/traces");
    expect(traceExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:1", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b/traces" }).url).toBe("https://b/traces");
    expect(codeOf(() => traceExportConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://x" }))).toStartWith("invalid_argument: the OTLP traces endpoint");
  });

  it("reads headers, with the traces' own winning", () => {
    expect(traceExportConfig({ OTEL_EXPORTER_OTLP_HEADERS: "a=1,b=2", OTEL_EXPORTER_OTLP_TRACES_HEADERS: "b=3" }).headers).toEqual({ a: "1", b: "3" });
  });

  it("defaults to parentbased_always_on and takes the standard samplers with their ratio", () => {
    expect(traceExportConfig({})).toMatchObject({ sampler: "parentbased_always_on", ratio: 1 });
    expect(traceExportConfig({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" })).toMatchObject({ sampler: "parentbased_traceidratio", ratio: 0.1 });
    expect(traceExportConfig({ OTEL_TRACES_SAMPLER: "TraceIdRatio", OTEL_TRACES_SAMPLER_ARG: "0" })).toMatchObject({ sampler: "traceidratio", ratio: 0 });
    expect(traceExportConfig({ OTEL_TRACES_SAMPLER: "always_off" }).sampler).toBe("always_off");
  });

  it("refuses an unknown sampler or a ratio outside 0..1, naming the variable", () => {
    expect(codeOf(() => traceExportConfig({ OTEL_TRACES_SAMPLER: "jaeger_remote" }))).toStartWith("invalid_argument: OTEL_TRACES_SAMPLER must be one of");
    for (const arg of ["1.5", "-0.1", "half", "NaN"]) {
      expect(codeOf(() => traceExportConfig({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: arg }))).toStartWith("invalid_argument: OTEL_TRACES_SAMPLER_ARG");
    }
  });

  it("reads the batch processor's sizes, the batch never above the queue", () => {
    expect(traceExportConfig({}).batch).toEqual({ scheduledDelayMillis: 1000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMillis: 30_000 });
    expect(traceExportConfig({ OTEL_BSP_MAX_QUEUE_SIZE: "100", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "500" }).batch).toMatchObject({ maxQueueSize: 100, maxExportBatchSize: 100 });
    // jetmicro's own spans: larger batches unless the variables say otherwise.
    expect(traceExportConfig({}).ownBatch).toEqual({ scheduledDelayMillis: 1000, maxQueueSize: 16_384, maxExportBatchSize: 4096 });
    expect(traceExportConfig({ OTEL_BSP_MAX_QUEUE_SIZE: "2048", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "512" }).ownBatch).toMatchObject({ maxQueueSize: 2048, maxExportBatchSize: 512 });
    expect(codeOf(() => traceExportConfig({ OTEL_BSP_SCHEDULE_DELAY: "soon" }))).toStartWith("invalid_argument: OTEL_BSP_SCHEDULE_DELAY");
  });
});
