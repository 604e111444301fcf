import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, defineService, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { Interceptor, TraceContext } from "../../../runtime/protocol/mod.ts";
import { startTracing, type Tracing } from "../../../runtime/observability/tracing.ts";
import { withNats } from "../../support/nats.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();
let receiver: OtlpReceiver;
let tracing: Tracing;
/** What `traceparent` each server saw, by service. */
const seen: { outer: Array<TraceContext | undefined>; inner: Array<TraceContext | undefined> } = { outer: [], inner: [] };
const recordTrace = (service: "outer" | "inner"): Interceptor => (next) => (request) => {
  seen[service].push(request.trace);
  return next(request);
};
const savedEndpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // The process environment points at nothing: the spans must go where the given env says.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:9";
  tracing = await startTracing("sampling-test", {
    OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: "0",
  });
  const traced = (name: "outer" | "inner") => ({ name, interceptors: [tracing.serverInterceptor, recordTrace(name)], clientInterceptors: [tracing.clientInterceptor] });
  const inner = defineService(Greeter, traced("inner"), {
    async sayHello(request) {
      return { message: `inner ${request.name}` };
    },
  });
  const outer = defineService(Greeter, traced("outer"), {
    async sayHello(request, ctx) {
      return await ctx.client(Greeter, { service: "inner" }).sayHello(request);
    },
  });
  // An interceptor in front of tracing that sets a trace context the protocol never checked.
  const forged: Interceptor = (next) => (request) => next({ ...request, trace: { traceparent: "00-not-a-trace-id-at-all-but-55-characters-long-xxxxxx-00" } });
  const odd = defineService(Greeter, { name: "odd", interceptors: [forged, tracing.serverInterceptor], clientInterceptors: [tracing.clientInterceptor] }, {
    async sayHello(request, ctx) {
      return await ctx.client(Greeter, { service: "inner" }).sayHello(request);
    },
  });
  const instances: ServiceInstance[] = [];
  for (const d of [inner, outer, odd]) instances.push(await startService(d, { connection: conn.nc, transport: conn.transport }));
  teardown(async () => {
    for (const i of instances) await i.stop();
  });
});

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = savedEndpoint;
  await tracing?.shutdown();
  await receiver?.close();
});

describe("tracing with a sampler", () => {
  it("records nothing for a trace the sampler leaves out, yet carries its traceparent through nested calls", async () => {
    const client = createClient(Greeter, conn.transport, { service: "outer", interceptors: [tracing.clientInterceptor] });
    expect((await client.sayHello({ name: "Ada" })).message).toBe("inner Ada");
    const [outerTrace] = seen.outer.splice(0);
    const [innerTrace] = seen.inner.splice(0);
    // A new trace, not sampled (flags 00), and the nested call is in the same trace.
    expect(outerTrace?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // No span under an unsampled parent: the nested call carries the outer caller's context as is.
    expect(innerTrace?.traceparent).toBe(outerTrace!.traceparent);
    await tracing.flush();
    expect(receiver.spans).toEqual([]);
  });

  it("records every span of a sampled caller's trace, with parent links, at the endpoint the env names", async () => {
    const client = createClient(Greeter, conn.transport, { service: "outer", interceptors: [tracing.clientInterceptor] });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    // A caller continuing a sampled trace it got from elsewhere (an HTTP header, an event).
    expect((await client.sayHello({ name: "Bo" }, { trace: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })).message).toBe("inner Bo");
    expect(seen.outer.splice(0)[0]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    seen.inner.splice(0);
    await until(async () => {
      await tracing.flush();
      return receiver.spans.length >= 4;
    });
    const find = (service: string, kind: number) => receiver.spans.find((s) => s.name === `${service}/Greeter.SayHello` && s.kind === kind)!;
    const [outerClient, outerServer, innerClient, innerServer] = [find("outer", 3), find("outer", 2), find("inner", 3), find("inner", 2)];
    for (const s of [outerClient, outerServer, innerClient, innerServer]) expect(s?.traceId).toBe(traceId);
    expect(outerClient.parentSpanId).toBe("00f067aa0ba902b7");
    expect(outerServer.parentSpanId).toBe(outerClient.spanId);
    expect(innerClient.parentSpanId).toBe(outerServer.spanId);
    expect(innerServer.parentSpanId).toBe(innerClient.spanId);
    expect(receiver.spans.length).toBe(4);
  });

  it("follows an unsampled traceparent arriving at a server: no span, the decision travels on", async () => {
    const before = receiver.spans.length;
    const unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    const client = createClient(Greeter, conn.transport, { service: "outer", interceptors: [tracing.clientInterceptor] });
    await client.sayHello({ name: "Cy" }, { trace: { traceparent: unsampled } });
    expect(seen.outer.splice(0)[0]?.traceparent).toBe(unsampled);
    expect(seen.inner.splice(0)[0]?.traceparent).toBe(unsampled);
    await tracing.flush();
    expect(receiver.spans.length).toBe(before);
  });

  it("treats an invalid trace context set by an interceptor as none: a new trace, never the bad value passed on", async () => {
    const client = createClient(Greeter, conn.transport, { service: "odd" });
    expect((await client.sayHello({ name: "Di" })).message).toBe("inner Di");
    expect(seen.inner.splice(0)[0]?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
