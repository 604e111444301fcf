import { describe, expect, it } from "bun:test";
import { newSpanId, newTraceId } from "../../../runtime/observability/span-ids.ts";

describe("span and trace ids", () => {
  it("are lowercase hex of W3C's lengths, never all zeros, and do not repeat across many refills of the random pool", () => {
    const spans = new Set<string>();
    const traces = new Set<string>();
    // 4 KiB of random bytes per refill: 20,000 of each kind take about 117 refills.
    for (let i = 0; i < 20_000; i++) {
      const span = newSpanId();
      const trace = newTraceId();
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(trace).toMatch(/^[0-9a-f]{32}$/);
      expect(span).not.toBe("0".repeat(16));
      expect(trace).not.toBe("0".repeat(32));
      spans.add(span);
      traces.add(trace);
    }
    expect(spans.size).toBe(20_000);
    expect(traces.size).toBe(20_000);
  });
});
