import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { isSampled, isTraceparent, requestHeaders, spanIdOf, traceContextFromIds, traceContextOf, traceIdOf, withTraceHeaders } from "../../../runtime/protocol/mod.ts";

/** The W3C rule as a pattern, to check the hand-written check against. */
function byPattern(value: string): boolean {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value);
  return match !== null && !value.startsWith("ff") && match[1] !== "0".repeat(32) && match[2] !== "0".repeat(16);
}

const hexChar = fc.constantFrom(..."0123456789abcdefABCDEFxz-0000000000");
const hexOf = (n: number) => fc.array(hexChar, { minLength: n, maxLength: n }).map((a) => a.join(""));
/** Mostly well-formed traceparents with mutations (case, zeros, wrong characters, lengths). */
const candidates = fc.oneof(
  fc.tuple(hexOf(2), hexOf(32), hexOf(16), hexOf(2)).map(([v, t, s, f]) => `${v}-${t}-${s}-${f}`),
  fc.tuple(fc.constantFrom("00", "ff", "01"), fc.constantFrom("0".repeat(32), "4bf92f3577b34da6a3ce929d0e0e4736"), fc.constantFrom("0".repeat(16), "00f067aa0ba902b7"), fc.constantFrom("01", "00"))
    .map(([v, t, s, f]) => `${v}-${t}-${s}-${f}`),
  fc.string({ maxLength: 60 }),
);

describe("traceparent check", () => {
  it("agrees with the W3C pattern on any input", () => {
    fc.assert(fc.property(candidates, (value) => isTraceparent(value) === byPattern(value)), { numRuns: 5000 });
  });

  it("accepts upper case from the wire by lowering it, and drops a tracestate with a line break", () => {
    expect(traceContextOf("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")?.traceparent).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    expect(traceContextOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=b\r\nx: y")).toEqual({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    expect(traceContextFromIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false, "k=v")).toEqual({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", tracestate: "k=v" });
  });

  it("reads ids and the sampled flag alike from a context made from ids, a received one and a plain object, and shows only the W3C fields", () => {
    const made = traceContextFromIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true, undefined);
    const received = traceContextOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")!;
    const plain = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
    for (const trace of [made, received, plain]) {
      expect(traceIdOf(trace)).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
      expect(spanIdOf(trace)).toBe("00f067aa0ba902b7");
      expect(isSampled(trace)).toBe(true);
    }
    // Flags other than 01 and 00: the sampled bit is their lowest.
    expect(isSampled(traceContextOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0a")!)).toBe(false);
    expect(isSampled(traceContextOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")!)).toBe(true);
    // What a handler gets as ctx.trace copies and serialises as the W3C fields alone.
    expect({ ...made }).toEqual(plain);
    expect(JSON.parse(JSON.stringify(made))).toEqual(plain);
  });

  it("sends a context made from ids as its traceparent, and a received one (a later version, other flags) exactly as it came", () => {
    const base = requestHeaders({ timeoutMs: 5 });
    const sent = (trace: Parameters<typeof withTraceHeaders>[1]) => new TextDecoder().decode((withTraceHeaders(base, trace) as unknown as { encode(): Uint8Array }).encode());
    const made = traceContextFromIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false, "k=v");
    expect(sent(made)).toBe("NATS/1.0\r\nMicro-Timeout: 5\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\ntracestate: k=v\r\n\r\n");
    const later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
    expect(sent(traceContextOf(later)!)).toBe(`NATS/1.0\r\nMicro-Timeout: 5\r\ntraceparent: ${later}\r\n\r\n`);
  });
});
