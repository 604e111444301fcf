import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { headers, type Msg } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { MicroError } from "../../../runtime/errors/micro-error.ts";
import { headersOf, MsgRequestHeaders, requestHeaders, withTraceHeaders } from "../../../runtime/protocol/mod.ts";
import { startTestNats } from "../../support/nats.ts";

let nats: NatsServerProcess;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats.stop());

async function roundTrip(send: (subject: string, publish: (data: string, h?: ReturnType<typeof headers>) => void) => void): Promise<Msg> {
  const nc = await connect({ servers: nats.url });
  const got = new Promise<Msg>((resolve) => nc.subscribe("hdr.test", { max: 1, callback: (_e, m) => resolve(m) }));
  send("hdr.test", (data, h) => nc.publish("hdr.test", data, h ? { headers: h } : undefined));
  const msg = await got;
  await nc.close();
  return msg;
}

describe("reading request headers without parsing them all", () => {
  it("finds exact header values among several, like a full parse", async () => {
    const h = headers();
    h.set("Micro-Meta-Timeout-Note", "not this");
    h.set("Micro-Timeout", " 2500 ");
    h.set("Content-Type", "application/json; charset=utf-8");
    const msg = await roundTrip((_s, publish) => publish("{}", h));
    const fast = new MsgRequestHeaders(msg);
    expect(fast.get("Micro-Timeout")).toBe("2500");
    expect(fast.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(fast.get("Micro-From")).toBeUndefined();
    expect(fast.all()?.get("Micro-Meta-Timeout-Note")).toBe("not this");
  });

  it("finds names in another case as other clients write them, exact case first, and never a name inside a value or the status line", async () => {
    const h = headers();
    h.set("content-type", "application/json");
    h.set("MICRO-TIMEOUT", "70");
    h.set("Micro-Timeout", "80");
    h.set("Micro-Meta-Note", "Micro-From: spoofed");
    h.set("Micro-Fro", "short");
    const msg = await roundTrip((_s, publish) => publish("{}", h));
    const fast = new MsgRequestHeaders(msg);
    expect(fast.get("Content-Type")).toBe("application/json");
    expect(fast.get("Micro-Timeout")).toBe("80");
    expect(fast.get("micro-timeout")).toBe("70");
    expect(fast.get("Micro-From")).toBeUndefined();
    expect(fast.get("Micro-Fro")).toBe("short");
    expect(fast.get("NATS/1.0")).toBeUndefined();
  });

  it("answers undefined for a message without headers", async () => {
    const msg = await roundTrip((_s, publish) => publish("{}"));
    expect(new MsgRequestHeaders(msg).get("Micro-Timeout")).toBeUndefined();
    expect(new MsgRequestHeaders(msg).all()).toBeUndefined();
  });

  it("falls back to the parsed headers when the raw bytes are not reachable", () => {
    const h = headers();
    h.set("Micro-Timeout", "10");
    const opaque = { headers: h, data: new Uint8Array() } as unknown as Msg;
    expect(new MsgRequestHeaders(opaque).get("Micro-Timeout")).toBe("10");
    expect(new MsgRequestHeaders(opaque).get("Content-Type")).toBeUndefined();
  });
});

describe("reading a caller's trace context from the raw header bytes", () => {
  const valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  async function received(traceparent: string | undefined, tracestate?: string): Promise<MsgRequestHeaders> {
    const h = headers();
    h.set("Micro-Timeout", "10");
    if (traceparent !== undefined) h.set("traceparent", traceparent);
    if (tracestate !== undefined) h.set("tracestate", tracestate);
    return new MsgRequestHeaders(await roundTrip((_s, publish) => publish("{}", h)));
  }

  it("reads a valid one with its tracestate, lowers upper case, and answers undefined for none or a malformed one", async () => {
    const trace = (await received(valid, "congo=t61rcWkgMzE")).traceContext()!;
    expect([trace.traceparent, trace.tracestate, JSON.stringify(trace)]).toEqual([valid, "congo=t61rcWkgMzE", JSON.stringify({ traceparent: valid, tracestate: "congo=t61rcWkgMzE" })]);
    expect((await received(valid.toUpperCase())).traceContext()?.traceparent).toBe(valid);
    expect((await received(valid)).traceContext()?.tracestate).toBeUndefined();
    expect((await received(undefined)).traceContext()).toBeUndefined();
    for (const bad of [valid.slice(1), `${valid}0`, valid.replace("-b7", "_b7"), valid.replace("0af7", "0ag7"), `ff${valid.slice(2)}`, `00-${"0".repeat(32)}${valid.slice(35)}`]) {
      expect((await received(bad)).traceContext()).toBeUndefined();
    }
    // The same through the parsed headers, when the raw bytes are not reachable.
    const h = headers();
    h.set("traceparent", valid);
    expect(new MsgRequestHeaders({ headers: h, data: new Uint8Array() } as unknown as Msg).traceContext()?.traceparent).toBe(valid);
    // And headers that never crossed NATS (in-process dispatch), with their tracestate.
    h.set("tracestate", "k=v");
    expect(JSON.stringify(headersOf(h).traceContext())).toBe(JSON.stringify({ traceparent: valid, tracestate: "k=v" }));
    expect(headersOf(undefined).traceContext()).toBeUndefined();
  });
});

describe("writing request headers", () => {
  const trace = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "congo=t61rcWkgMzE" };
  const text = (h: unknown) => new TextDecoder().decode((h as { encode(): Uint8Array }).encode());

  it("writes what nats.js would, and a traced copy of reused headers with the same bytes as fresh ones", async () => {
    const ours = requestHeaders({ contentType: "application/json", timeoutMs: 2500.2, metadata: { user: " ada ", "trace-note": "x" }, from: "greeter-1", trace });
    const theirs = headers();
    for (const [k, v] of [["Content-Type", "application/json"], ["Micro-Timeout", "2501"], ["Micro-Meta-user", "ada"], ["Micro-Meta-trace-note", "x"], ["Micro-From", "greeter-1"], ["traceparent", trace.traceparent], ["tracestate", trace.tracestate]]) theirs.append(k!, v!);
    expect(text(ours)).toBe(text(theirs));
    const reused = requestHeaders({ timeoutMs: 500 });
    const traced = withTraceHeaders(reused, trace);
    expect(text(traced)).toBe(text(requestHeaders({ timeoutMs: 500, trace })));
    expect(text(reused)).toBe("NATS/1.0\r\nMicro-Timeout: 500\r\n\r\n");
    expect([traced.get("traceparent"), traced.get("Micro-Timeout")]).toEqual([trace.traceparent, "500"]);
    // What a server reads back from the wire.
    const msg = await roundTrip((_s, publish) => publish("{}", traced as ReturnType<typeof headers>));
    expect(new MsgRequestHeaders(msg).get("tracestate")).toBe(trace.tracestate);
  });

  it("keeps its encoding only until a header is changed", () => {
    const h = requestHeaders({ timeoutMs: 500 });
    expect(text(h)).toContain("Micro-Timeout: 500");
    h.set("Micro-Timeout", "9");
    expect(text(h)).toBe("NATS/1.0\r\nMicro-Timeout: 9\r\n\r\n");
  });

  it("refuses a line break in a value, and drops a trace context that is not one", () => {
    expect(() => requestHeaders({ contentType: "text/plain\r\nx: y" })).toThrow(MicroError);
    expect(text(requestHeaders({ timeoutMs: 5, trace: { traceparent: "00-not-a-trace\r\nx: y" } }))).toBe("NATS/1.0\r\nMicro-Timeout: 5\r\n\r\n");
  });
});
