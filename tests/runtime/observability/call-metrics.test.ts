/**
 * The call-metrics interceptor binds each endpoint's series once and updates them per call:
 * the counts must still land on the right label sets, stay exact across endpoints and codes,
 * and stay bounded for hostile method names.
 */
import { describe, expect, it } from "bun:test";
import { MicroError } from "../../../runtime/errors/micro-error.ts";
import { metricsObserver } from "../../../runtime/observability/call-metrics.ts";
import { maxSeries, MetricsRegistry } from "../../../runtime/observability/metrics.ts";
import { type CallRequest, type Interceptor, observersInterceptor } from "../../../runtime/protocol/mod.ts";

/** The metrics observer in a call's path, as streams, events and actor commands run it. */
const metricsInPath = (metrics: MetricsRegistry): Interceptor => observersInterceptor([metricsObserver(metrics)])!;

const request = (method: string, over: Partial<CallRequest> = {}): CallRequest => ({
  kind: "unary",
  side: "server",
  namespace: "micro",
  service: "greeter",
  method,
  metadata: {},
  deadline: undefined,
  signal: undefined,
  message: {},
  ...over,
} as CallRequest);

function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("call metrics interceptor", () => {
  it("counts each endpoint, side, kind and code on its own series", async () => {
    const metrics = new MetricsRegistry();
    const serve = metricsInPath(metrics)((r) =>
      r.method === "Fail" ? Promise.reject(new MicroError("not_found", "no")) : Promise.resolve({ message: r.message })
    );
    for (let i = 0; i < 3; i++) await serve(request("SayHello"));
    await serve(request("SayHello", { side: "client" }));
    await serve(request("SayHello", { service: "other" }));
    await serve(request("SayHello", { kind: "actor" }));
    for (let i = 0; i < 2; i++) await serve(request("Fail")).catch(() => undefined);
    const text = metrics.exposition();
    expect(valueOf(text, 'micro_requests_total{side="server",kind="unary",service="greeter",method="SayHello",code="ok"}')).toBe(3);
    expect(valueOf(text, 'micro_requests_total{side="client",kind="unary",service="greeter",method="SayHello",code="ok"}')).toBe(1);
    expect(valueOf(text, 'micro_requests_total{side="server",kind="unary",service="other",method="SayHello",code="ok"}')).toBe(1);
    expect(valueOf(text, 'micro_requests_total{side="server",kind="actor",service="greeter",method="SayHello",code="ok"}')).toBe(1);
    expect(valueOf(text, 'micro_requests_total{side="server",kind="unary",service="greeter",method="Fail",code="not_found"}')).toBe(2);
    expect(valueOf(text, 'micro_request_duration_seconds_count{side="server",kind="unary",service="greeter",method="SayHello"}')).toBe(3);
    expect(valueOf(text, 'micro_request_duration_seconds_count{side="server",kind="unary",service="greeter",method="Fail"}')).toBe(2);
  });

  it("counts a call that throws before returning a promise as failed", async () => {
    const metrics = new MetricsRegistry();
    const serve = metricsInPath(metrics)(() => {
      throw new MicroError("invalid_argument", "bad");
    });
    await expect(serve(request("SayHello"))).rejects.toThrow("bad");
    expect(valueOf(metrics.exposition(), 'micro_requests_total{side="server",kind="unary",service="greeter",method="SayHello",code="invalid_argument"}')).toBe(1);
  });

  it("keeps every call counted and the series bounded under more method names than it binds", async () => {
    const metrics = new MetricsRegistry();
    const serve = metricsInPath(metrics)((r) => Promise.resolve({ message: r.message }));
    const names = maxSeries + 500;
    for (let i = 0; i < names; i++) await serve(request(`m${i}`));
    // The first method again, after the bound cache started over: still its own series.
    await serve(request("m0"));
    const lines = metrics.exposition().split("\n").filter((l) => l.startsWith("micro_requests_total{"));
    expect(lines.length).toBe(maxSeries);
    const sum = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    expect(sum).toBe(names + 1);
    expect(valueOf(metrics.exposition(), 'micro_requests_total{side="server",kind="unary",service="greeter",method="m0",code="ok"}')).toBe(2);
    expect(valueOf(metrics.exposition(), 'micro_requests_total{side="other",kind="other",service="other",method="other",code="other"}')).toBe(501);
  });
});

describe("call metrics observer (servers)", () => {
  it("counts what the server tells it on the same series as the interceptor, with the server's time", () => {
    const metrics = new MetricsRegistry();
    const observer = metricsObserver(metrics);
    for (let i = 0; i < 3; i++) observer.succeeded!(request("SayHello"), 2);
    observer.failed!(request("SayHello"), new MicroError("not_found", "no"), 4);
    observer.succeeded!(request("x", { kind: "event", method: "customer.made-up-1", topicFilter: "customer.>" }), 1);
    const text = metrics.exposition();
    expect(valueOf(text, 'micro_requests_total{side="server",kind="unary",service="greeter",method="SayHello",code="ok"}')).toBe(3);
    expect(valueOf(text, 'micro_requests_total{side="server",kind="unary",service="greeter",method="SayHello",code="not_found"}')).toBe(1);
    expect(valueOf(text, 'micro_requests_total{side="server",kind="event",service="greeter",method="customer.>",code="ok"}')).toBe(1);
    expect(valueOf(text, 'micro_request_duration_seconds_count{side="server",kind="unary",service="greeter",method="SayHello"}')).toBe(4);
    // 3 × 2 ms + 4 ms, in seconds.
    expect(valueOf(text, 'micro_request_duration_seconds_sum{side="server",kind="unary",service="greeter",method="SayHello"}')).toBeCloseTo(0.01, 9);
  });

  it("keeps the series bounded under hostile method names", () => {
    const metrics = new MetricsRegistry();
    const observer = metricsObserver(metrics);
    for (let i = 0; i < maxSeries + 10; i++) observer.failed!(request(`m${i}`), new MicroError("unimplemented", "no"), 1);
    const lines = metrics.exposition().split("\n").filter((l) => l.startsWith("micro_requests_total{"));
    expect(lines.length).toBe(maxSeries);
  });
});

describe("call metrics as a client's observer", () => {
  it("counts a client's calls and their codes on the client side, and leaves replies and errors as they were", async () => {
    const { create, toBinary } = await import("@bufbuild/protobuf");
    const { Greeter, SayHelloResponseSchema } = await import("../../../gen/greeter/v1/greeter_pb.ts");
    const { createClient } = await import("../../../runtime/client/create-client.ts");
    const metrics = new MetricsRegistry();
    const reply = { data: toBinary(SayHelloResponseSchema, create(SayHelloResponseSchema, { message: "hi" })), headers: undefined };
    let fail = false;
    const transport = {
      request: () => (fail ? Promise.reject(new MicroError("unavailable", "down")) : Promise.resolve(reply)),
      close: () => Promise.resolve(),
    };
    // Observers and no interceptors: the client's direct path.
    const client = createClient(Greeter, transport, { observers: [metricsObserver(metrics)] });
    expect((await client.sayHello({ name: "a" })).message).toBe("hi");
    expect((await client.sayHello({ name: "b" })).message).toBe("hi");
    fail = true;
    const error = await client.sayHello({ name: "c" }).catch((e: unknown) => e);
    expect([(error as MicroError).code, (error as MicroError).message]).toEqual(["unavailable", "down"]);
    const text = await metrics.scrape();
    expect(valueOf(text, 'micro_requests_total{side="client",kind="unary",service="greeter",method="Greeter.SayHello",code="ok"}')).toBe(2);
    expect(valueOf(text, 'micro_requests_total{side="client",kind="unary",service="greeter",method="Greeter.SayHello",code="unavailable"}')).toBe(1);
    expect(valueOf(text, 'micro_request_duration_seconds_count{side="client",kind="unary",service="greeter",method="Greeter.SayHello"}')).toBe(3);
  });

  it("refuses an observer that is not one, naming what it must be", async () => {
    const { Greeter } = await import("../../../gen/greeter/v1/greeter_pb.ts");
    const { createClient } = await import("../../../runtime/client/create-client.ts");
    const transport = { request: () => Promise.reject(new Error("unused")), close: () => Promise.resolve() };
    expect(() => createClient(Greeter, transport, { observers: [{ succeeded: 5 } as never] })).toThrow(/each observer must be an object/);
  });
});
