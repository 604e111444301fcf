import { describe, expect, it } from "bun:test";
import { createCircuitBreaker } from "../../../runtime/client/circuit-breaker.ts";

describe("circuit breaker", () => {
  function clock() {
    let t = 1_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it("opens after threshold failures within the window and skips the node for the cool-down", () => {
    const c = clock();
    const breaker = createCircuitBreaker({ threshold: 3, windowMs: 1_000, cooldownMs: 5_000, now: c.now });
    breaker.failure("a");
    breaker.failure("a");
    expect(breaker.state("a")).toBe("closed");
    expect([...breaker.blocked()]).toEqual([]);
    breaker.failure("a");
    expect(breaker.state("a")).toBe("open");
    expect([...breaker.blocked()]).toEqual(["a"]);
    c.advance(4_999);
    expect(breaker.state("a")).toBe("open");
  });

  it("does not open on failures spread wider than the window", () => {
    const c = clock();
    const breaker = createCircuitBreaker({ threshold: 3, windowMs: 1_000, now: c.now });
    for (let i = 0; i < 10; i++) {
      breaker.failure("a");
      c.advance(600);
    }
    expect(breaker.state("a")).toBe("closed");
  });

  it("half-opens after the cool-down: one trial call, closed by a success", () => {
    const c = clock();
    const breaker = createCircuitBreaker({ threshold: 1, cooldownMs: 100, now: c.now });
    breaker.failure("a");
    c.advance(100);
    expect(breaker.state("a")).toBe("half_open");
    expect(breaker.blocked().has("a")).toBe(false);
    breaker.chosen("a");
    // While the trial is out, no other call goes there.
    expect(breaker.blocked().has("a")).toBe(true);
    breaker.success("a");
    expect(breaker.state("a")).toBe("closed");
    expect(breaker.blocked().size).toBe(0);
  });

  it("opens again for a full cool-down when the trial fails", () => {
    const c = clock();
    const breaker = createCircuitBreaker({ threshold: 1, cooldownMs: 100, now: c.now });
    breaker.failure("a");
    c.advance(100);
    breaker.chosen("a");
    breaker.failure("a");
    expect(breaker.state("a")).toBe("open");
    c.advance(99);
    expect(breaker.state("a")).toBe("open");
    c.advance(1);
    expect(breaker.state("a")).toBe("half_open");
  });

  it("keeps at most maxNodes nodes", () => {
    const breaker = createCircuitBreaker({ threshold: 1, maxNodes: 2 });
    breaker.failure("a");
    breaker.failure("b");
    breaker.failure("c");
    expect([...breaker.blocked()].sort()).toEqual(["b", "c"]);
  });
});
