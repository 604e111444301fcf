import { describe, expect, it } from "bun:test";
import { type EndpointStats, percentile, recentSize } from "../../../runtime/server/endpoint-stats.ts";

function stats(times: number[]): EndpointStats {
  const s: EndpointStats = { requests: 0, errors: 0, processingNs: 0, lastError: "", recent: new Float64Array(recentSize) };
  for (const t of times) s.recent[s.requests++ % recentSize] = t;
  return s;
}

describe("handler time percentiles", () => {
  it("reads p50 and p99 of the recent calls", () => {
    const s = stats(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(percentile(s, 50)).toBe(51);
    expect(percentile(s, 99)).toBe(100);
    expect(percentile(stats([]), 99)).toBe(0);
  });

  it("forgets calls older than the ring", () => {
    const s = stats([...Array.from({ length: recentSize }, () => 1000), ...Array.from({ length: recentSize }, () => 2)]);
    expect(percentile(s, 99)).toBe(2);
  });
});
