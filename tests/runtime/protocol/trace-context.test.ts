import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import {
  childTraceContext,
  isSampled,
  isTraceparent,
  type RandomIds,
  requestHeaders,
  type SampleDecision,
  spanIdOf,
  type TraceContext,
  traceContextFromIds,
  traceContextOf,
  traceIdOf,
  withTraceHeaders,
  writeSpanIdBytes,
  writeTraceIdBytes,
} from "../../../runtime/protocol/mod.ts";

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
    expect(w3c(traceContextOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=b\r\nx: y"))).toEqual({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    expect(w3c(traceContextFromIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false, "k=v"))).toEqual({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", tracestate: "k=v" });
    // Not hex, a forbidden version, all-zero ids, a character past ASCII: no context (a new trace starts).
    for (const bad of ["00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`, "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]) {
      expect(traceContextOf(bad)).toBeUndefined();
    }
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
    // What a handler gets as ctx.trace serialises and prints as the W3C fields alone.
    expect(JSON.parse(JSON.stringify(made))).toEqual(plain);
    expect(Bun.inspect(made)).toBe(Bun.inspect(plain));
  });

  it("sends a context made from ids as its traceparent, and a received one (a later version, other flags) exactly as it came", () => {
    const base = requestHeaders({ timeoutMs: 5 });
    const sent = (trace: Parameters<typeof withTraceHeaders>[1]) => new TextDecoder().decode((withTraceHeaders(base, trace) as unknown as { encode(): Uint8Array }).encode());
    const made = traceContextFromIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false, "k=v");
    expect(sent(made)).toBe("NATS/1.0\r\nMicro-Timeout: 5\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\ntracestate: k=v\r\n\r\n");
    const later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
    expect(sent(traceContextOf(later)!)).toBe(`NATS/1.0\r\nMicro-Timeout: 5\r\ntraceparent: ${later}\r\n\r\n`);
  });

  it("makes a span's context from random ids: its text, its header and its id bytes all spell the same ids", () => {
    const decisions: Array<[boolean | undefined, number]> = [];
    const sample: SampleDecision = (parentSampled, traceKey) => (decisions.push([parentSampled, traceKey]), true);
    const root = childTraceContext(undefined, fixedIds("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"), sample);
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(w3c(root)).toEqual({ traceparent });
    expect(isSampled(root)).toBe(true);
    // The ratio samplers' reduction of the trace id, as OpenTelemetry's SDK makes it.
    expect(decisions).toEqual([[undefined, (0x4bf92f35 ^ 0x77b34da6 ^ 0xa3ce929d ^ 0x0e0e4736) >>> 0]]);
    expect(sent(root)).toBe(`NATS/1.0\r\nMicro-Timeout: 5\r\ntraceparent: ${traceparent}\r\n\r\n`);
    expect(idBytes(root)).toBe("4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7");
  });

  it("makes a child of a received context with its trace id, its tracestate and its sampled flag given to the sampler", () => {
    const received = traceContextOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", "k=v")!;
    expect(idBytes(received)).toBe("0af7651916cd43dd8448eb211c80319c b7ad6b7169203331");
    const child = childTraceContext(received, fixedIds("ffffffff00000001"), (parentSampled) => parentSampled!);
    expect(w3c(child)).toEqual({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-ffffffff00000001-00", tracestate: "k=v" });
    expect(isSampled(child)).toBe(false);
    expect(sent(child)).toBe("NATS/1.0\r\nMicro-Timeout: 5\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-ffffffff00000001-00\r\ntracestate: k=v\r\n\r\n");
    expect(idBytes(child)).toBe("0af7651916cd43dd8448eb211c80319c ffffffff00000001");
    // A plain object is checked first; one that is not a traceparent has no ids to write.
    expect(idBytes({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" })).toBe("0af7651916cd43dd8448eb211c80319c b7ad6b7169203331");
    expect(() => idBytes({ traceparent: "00-zz" })).toThrow(TypeError);
  });
});

/** A context's W3C fields, as read by a user (and serialised). */
function w3c(trace: TraceContext | undefined): TraceContext | undefined {
  const read = trace === undefined ? undefined : { traceparent: trace.traceparent, tracestate: trace.tracestate };
  expect(JSON.parse(JSON.stringify(trace ?? null)) ?? undefined).toEqual(read);
  return read;
}

/** The request headers a context is sent with (after a timeout header). */
function sent(trace: TraceContext): string {
  return new TextDecoder().decode((withTraceHeaders(requestHeaders({ timeoutMs: 5 }), trace) as unknown as { encode(): Uint8Array }).encode());
}

/** A context's trace and span id as the span exporter writes them (bytes), in hex. */
function idBytes(trace: TraceContext): string {
  const bytes = new Uint8Array(24);
  writeSpanIdBytes(trace, bytes, writeTraceIdBytes(trace, bytes, 0));
  const hex = Buffer.from(bytes).toString("hex");
  return `${hex.slice(0, 32)} ${hex.slice(32)}`;
}

/** Random ids that are the given ones, in order. */
function fixedIds(...ids: string[]): RandomIds {
  const words = new Uint32Array(4);
  return {
    words,
    next(bytes) {
      const id = ids.shift()!;
      expect(id.length).toBe(bytes * 2);
      for (let i = 0; i < bytes / 4; i++) words[i] = parseInt(id.slice(8 * i, 8 * i + 8), 16);
    },
  };
}
