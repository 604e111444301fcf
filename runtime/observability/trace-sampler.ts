/**
 * The sampling decision of jetmicro's own spans, for the standard samplers of
 * `OTEL_TRACES_SAMPLER` ({@link SamplerName}). The ratio samplers decide from the trace id
 * exactly as the OpenTelemetry SDK's `TraceIdRatioBasedSampler` does, so a trace started by
 * user code through the SDK and one started by jetmicro are kept or dropped alike.
 * @module
 */
import type { SamplerName } from "./tracing-config.ts";

/**
 * Decides whether a new span is recorded: `parentSampled` is the caller's sampled flag, or
 * undefined for a span without a (valid) parent; `traceId` is the span's trace id.
 */
export type SpanSampler = (parentSampled: boolean | undefined, traceId: string) => boolean;

/** The sampler `name` (with `ratio` for the ratio ones) as a {@link SpanSampler}. */
export function spanSampler(name: SamplerName, ratio: number): SpanSampler {
  const upperBound = ratio >= 1 ? 0x100000000 : Math.floor(ratio * 0xffffffff);
  const byRatio = (traceId: string) => accumulate(traceId) < upperBound;
  switch (name) {
    case "always_on":
      return () => true;
    case "always_off":
      return () => false;
    case "traceidratio":
      return (_, traceId) => byRatio(traceId);
    case "parentbased_always_on":
      return (parent) => parent ?? true;
    case "parentbased_always_off":
      return (parent) => parent ?? false;
    case "parentbased_traceidratio":
      return (parent, traceId) => parent ?? byRatio(traceId);
  }
}

/** The SDK's reduction of a trace id to 32 bits: its four 8-hex-digit parts xor-ed. */
function accumulate(traceId: string): number {
  let accumulation = 0;
  for (let pos = 0; pos < 32; pos += 8) accumulation = (accumulation ^ parseInt(traceId.slice(pos, pos + 8), 16)) >>> 0;
  return accumulation;
}
