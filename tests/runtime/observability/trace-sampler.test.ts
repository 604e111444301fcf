import { describe, expect, it } from "bun:test";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { SamplingDecision, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import { randomIds } from "../../../runtime/observability/span-ids.ts";
import { spanSampler } from "../../../runtime/observability/trace-sampler.ts";
import { childTraceContext, isSampled, traceContextOf, traceIdOf } from "../../../runtime/protocol/mod.ts";

describe("trace sampling", () => {
  it("keeps and drops new traces by ratio exactly as OpenTelemetry's SDK does for the same trace id", () => {
    const ratio = 0.3;
    const ours = spanSampler("traceidratio", ratio);
    const sdk = new TraceIdRatioBasedSampler(ratio);
    let kept = 0;
    for (let i = 0; i < 2000; i++) {
      const trace = childTraceContext(undefined, randomIds, ours);
      const theirs = sdk.shouldSample(ROOT_CONTEXT, traceIdOf(trace)!).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect(isSampled(trace)).toBe(theirs);
      if (theirs) kept++;
    }
    // About the ratio: the decision really depends on the id.
    expect(kept).toBeGreaterThan(400);
    expect(kept).toBeLessThan(800);
  });

  it("follows the parent under a parent-based sampler, and uses the ratio only for new traces", () => {
    const sample = spanSampler("parentbased_traceidratio", 0);
    const sampledParent = traceContextOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")!;
    const unsampledParent = traceContextOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")!;
    expect(isSampled(childTraceContext(sampledParent, randomIds, sample))).toBe(true);
    expect(isSampled(childTraceContext(unsampledParent, randomIds, sample))).toBe(false);
    expect(isSampled(childTraceContext(undefined, randomIds, sample))).toBe(false);
    expect(isSampled(childTraceContext(undefined, randomIds, spanSampler("parentbased_always_on", 0)))).toBe(true);
  });
});
