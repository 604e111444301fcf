import { describe, expect, it } from "bun:test";
import { randomIds } from "../../../runtime/observability/span-ids.ts";
import { childTraceContext, isTraceparent, spanIdOf, traceIdOf } from "../../../runtime/protocol/mod.ts";

describe("span and trace ids", () => {
  it("make valid traceparents whose ids do not repeat across many refills of the random pool", () => {
    const spans = new Set<string>();
    const traces = new Set<string>();
    const always = () => true;
    // 4 KiB of random bytes per refill: 20,000 roots and children take about 117 refills.
    for (let i = 0; i < 20_000; i++) {
      const root = childTraceContext(undefined, randomIds, always);
      const child = childTraceContext(root, randomIds, always);
      // The text (made on first read) is a valid W3C traceparent: lowercase hex, no all-zero id.
      expect(isTraceparent(root.traceparent)).toBe(true);
      expect(isTraceparent(child.traceparent)).toBe(true);
      expect(traceIdOf(child)).toBe(traceIdOf(root)!);
      traces.add(traceIdOf(root)!);
      spans.add(spanIdOf(root)).add(spanIdOf(child));
    }
    expect(traces.size).toBe(20_000);
    expect(spans.size).toBe(40_000);
  });
});
