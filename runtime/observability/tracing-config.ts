/**
 * What the standard `OTEL_*` variables say about trace export, read from the environment the
 * caller passes (never from `process.env` behind its back: a runner, a test or the benchmark
 * may start tracing with an environment of its own). Every value is checked here, once, at
 * start: a bad one is `invalid_argument` naming the variable, never a silent default.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { headersOf } from "./otlp-metrics.ts";

type Env = Readonly<Record<string, string | undefined>>;

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
  /** The batch span processor: `OTEL_BSP_SCHEDULE_DELAY` (1000), `OTEL_BSP_MAX_QUEUE_SIZE` (2048), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512), `OTEL_BSP_EXPORT_TIMEOUT` (30000). */
  readonly batch: { readonly scheduledDelayMillis: number; readonly maxQueueSize: number; readonly maxExportBatchSize: number; readonly exportTimeoutMillis: number };
}

/** A whole number from `variable` in `[min, max]`, or `fallback`; `invalid_argument` naming it otherwise. */
function whole(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new MicroError("invalid_argument", `${variable} must be a whole number from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  return n;
}

/** Reads and checks the trace export settings of `env`. */
export function traceExportConfig(env: Env): TraceExportConfig {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new MicroError("invalid_argument", `OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (jetmicro exports over OTLP/HTTP), got "${protocol.slice(0, 40)}"`);
  }
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || `${(base || "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http");
  } catch {
    throw new MicroError("invalid_argument", `the OTLP traces endpoint must be an http(s) URL, got "${url.slice(0, 200)}"`);
  }
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
  return {
    protocol,
    url,
    headers: { ...headersOf(env.OTEL_EXPORTER_OTLP_HEADERS), ...headersOf(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    timeoutMs,
    sampler,
    ratio: sampler.endsWith("traceidratio") ? ratio : 1,
    batch: {
      scheduledDelayMillis: whole(env, "OTEL_BSP_SCHEDULE_DELAY", 1000, 1, 86_400_000),
      maxQueueSize,
      maxExportBatchSize,
      exportTimeoutMillis: whole(env, "OTEL_BSP_EXPORT_TIMEOUT", 30_000, 1, 600_000),
    },
  };
}
