/**
 * What the standard `OTEL_*` variables say about trace export, read from the environment the
 * caller passes (never from `process.env` behind its back: a runner, a test or the benchmark
 * may start tracing with an environment of its own). Every value is checked here, once, at
 * start: a bad one is `invalid_argument` naming the variable, never a silent default.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { type Env, otlpTarget, wholeSetting as whole } from "./otlp-env.ts";

/** The samplers of the OpenTelemetry specification that need no remote service. */
export const samplerNames = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"] as const;
/** One of {@link samplerNames}. */
export type SamplerName = (typeof samplerNames)[number];

/** The trace export of a process, as `OTEL_*` configures it. */
export interface TraceExportConfig {
  /** `http/protobuf` (default) or `http/json`. */
  readonly protocol: "http/protobuf" | "http/json";
  /** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`. */
  readonly url: string;
  /** `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (the latter wins). */
  readonly headers: Record<string, string>;
  /** `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` (10000 ms). */
  readonly timeoutMs: number;
  /** `OTEL_TRACES_SAMPLER` (`parentbased_always_on`). */
  readonly sampler: SamplerName;
  /** `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers, 0 to 1 (1). */
  readonly ratio: number;
  /**
   * `MICRO_TRACE_CONTEXT`: how the current span reaches nested calls. `explicit` (default):
   * through the handler's context (`ctx.client`, `ctx.publish`, `ctx.trace`, an event's or
   * actor command's `context.trace`) and the `trace` call option; `async`: also through
   * OpenTelemetry's context on AsyncLocalStorage, so clients made outside a handler and the
   * user's own OpenTelemetry spans continue the trace by themselves, at a cost on every promise.
   */
  readonly context: "explicit" | "async";
  /** The batch span processor: `OTEL_BSP_SCHEDULE_DELAY` (1000), `OTEL_BSP_MAX_QUEUE_SIZE` (2048), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512), `OTEL_BSP_EXPORT_TIMEOUT` (30000). */
  readonly batch: { readonly scheduledDelayMillis: number; readonly maxQueueSize: number; readonly maxExportBatchSize: number; readonly exportTimeoutMillis: number };
  /**
   * The batching of jetmicro's own spans: the same variables, with larger defaults (queue
   * 16384, batches of 4096, about 1 MB a request). jetmicro records a span per call on both
   * sides, and at tens of thousands of calls a second an OTLP request per 512 spans is a few
   * hundred requests a second per process (each 0.3-0.7 ms of CPU with the collector's side; in
   * paired benchmark runs the larger batches saved up to ~2 µs per call, in others nothing
   * measurable); set `OTEL_BSP_*` to have the standard sizes.
   */
  readonly ownBatch: { readonly scheduledDelayMillis: number; readonly maxQueueSize: number; readonly maxExportBatchSize: number };
}

/** Reads and checks the trace export settings of `env`. */
export function traceExportConfig(env: Env): TraceExportConfig {
  const { protocol, url, headers } = otlpTarget(env, "traces");
  const sampler = (env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || "parentbased_always_on") as SamplerName;
  if (!samplerNames.includes(sampler)) {
    throw new MicroError("invalid_argument", `OTEL_TRACES_SAMPLER must be one of ${samplerNames.join(", ")}, got "${String(env.OTEL_TRACES_SAMPLER).slice(0, 40)}"`);
  }
  const rawRatio = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = rawRatio ? Number(rawRatio) : 1;
  if (sampler.endsWith("traceidratio") && (rawRatio === "" || !Number.isFinite(ratio) || ratio < 0 || ratio > 1)) {
    throw new MicroError("invalid_argument", `OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (the share of traces kept), got "${String(rawRatio).slice(0, 40)}"`);
  }
  const timeoutMs = whole(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", whole(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 10_000, 1, 600_000), 1, 600_000);
  const maxQueueSize = whole(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1_000_000);
  const maxExportBatchSize = Math.min(whole(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1_000_000), maxQueueSize);
  const ownQueueSize = whole(env, "OTEL_BSP_MAX_QUEUE_SIZE", 16_384, 1, 1_000_000);
  const ownBatchSize = Math.min(whole(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 4096, 1, 1_000_000), ownQueueSize);
  const context = (env.MICRO_TRACE_CONTEXT?.trim().toLowerCase() || "explicit");
  if (context !== "explicit" && context !== "async") {
    throw new MicroError("invalid_argument", `MICRO_TRACE_CONTEXT must be explicit or async, got "${String(env.MICRO_TRACE_CONTEXT).slice(0, 40)}"`);
  }
  return {
    protocol,
    context,
    url,
    headers,
    timeoutMs,
    sampler,
    ratio: sampler.endsWith("traceidratio") ? ratio : 1,
    batch: {
      scheduledDelayMillis: whole(env, "OTEL_BSP_SCHEDULE_DELAY", 1000, 1, 86_400_000),
      maxQueueSize,
      maxExportBatchSize,
      exportTimeoutMillis: whole(env, "OTEL_BSP_EXPORT_TIMEOUT", 30_000, 1, 600_000),
    },
    ownBatch: {
      scheduledDelayMillis: whole(env, "OTEL_BSP_SCHEDULE_DELAY", 1000, 1, 86_400_000),
      maxQueueSize: ownQueueSize,
      maxExportBatchSize: ownBatchSize,
    },
  };
}
