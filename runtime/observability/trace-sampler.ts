/**
 * The sampling decision of jetmicro's own spans, for the standard samplers of
 * `OTEL_TRACES_SAMPLER` ({@link SamplerName}). The ratio samplers decide from the trace id
 * exactly as the OpenTelemetry SDK's `TraceIdRatioBasedSampler` does, so a trace started by
 * user code through the SDK and one started by jetmicro are kept or dropped alike.
 * @module
 */
import type { SampleDecision } from "../protocol/mod.ts";
import type { SamplerName } from "./tracing-config.ts";

/**
 * The sampler `name` (with `ratio` for the ratio ones) as the protocol's decision for a new
 * span: `parentSampled` is the caller's sampled flag, or undefined for a span without a (valid)
 * parent; `traceKey` is its trace id reduced to 32 bits as the SDK's `TraceIdRatioBasedSampler` reduces it (its four 32-bit words xor-ed).
 */
export function spanSampler(name: SamplerName, ratio: number): SampleDecision {
  const upperBound = ratio >= 1 ? 0x100000000 : Math.floor(ratio * 0xffffffff);
  const byRatio = (traceKey: number) => traceKey < upperBound;
  switch (name) {
    case "always_on":
      return () => true;
    case "always_off":
      return () => false;
    case "traceidratio":
      return (_, traceKey) => byRatio(traceKey);
    case "parentbased_always_on":
      return (parent) => parent ?? true;
    case "parentbased_always_off":
      return (parent) => parent ?? false;
    case "parentbased_traceidratio":
      return (parent, traceKey) => parent ?? byRatio(traceKey);
  }
}
