import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, defineService, startService } from "../../../runtime/mod.ts";
import { startTracing, type Tracing } from "../../../runtime/observability/tracing.ts";
import { withNats } from "../../support/nats.ts";
import { expectParentChain, exportedTrace, type OtlpReceiver, startOtlpReceiver } from "../../support/otlp-receiver.ts";

// MICRO_TRACE_CONTEXT=async: OpenTelemetry's context (AsyncLocalStorage) carries the current
// span too, so code that is given no span (a client made at module level, the user's own
// OpenTelemetry spans) continues the trace by itself.
const { conn, teardown } = withNats();
let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing("async-test", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", MICRO_TRACE_CONTEXT: "async" });
});

afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

describe("tracing with async context", () => {
  it("continues the trace in a client made outside the handler and in the user's own spans", async () => {
    expect(tracing.asyncContext).toBe(true);
    const inner = defineService(Greeter, { name: "async-inner", interceptors: [tracing.serverInterceptor] }, {
      async sayHello(request) {
        return { message: request.name };
      },
    });
    const moduleClient = createClient(Greeter, conn.transport, { service: "async-inner", interceptors: [tracing.clientInterceptor] });
    const outer = defineService(Greeter, { name: "async-outer", interceptors: [tracing.serverInterceptor] }, {
      async sayHello(request) {
        await new Promise((r) => setTimeout(r, 1)); // the span survives an await
        return await tracing.tracer.startActiveSpan("own work", async (span) => {
          try {
            return await moduleClient.sayHello(request);
          } finally {
            span.end();
          }
        });
      },
    });
    for (const d of [inner, outer]) {
      const instance = await startService(d, { connection: conn.nc, transport: conn.transport });
      teardown(() => instance.stop());
    }
    const traceId = "7bf92f3577b34da6a3ce929d0e0e4736";
    await createClient(Greeter, conn.transport, { service: "async-outer" }).sayHello({ name: "z" }, { trace: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const find = await exportedTrace(receiver, traceId, () => tracing.flush(), [["async-inner/Greeter.SayHello", 2], ["own work", 1]]);
    // outer server → the user's own span → inner client → inner server.
    expectParentChain("00f067aa0ba902b7", [find("async-outer/Greeter.SayHello", 2), find("own work", 1), find("async-inner/Greeter.SayHello", 3), find("async-inner/Greeter.SayHello", 2)]);
  });

  it("refuses an unknown context mode, naming the setting", async () => {
    await expect(startTracing("x", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, MICRO_TRACE_CONTEXT: "magic" })).rejects.toThrow(/MICRO_TRACE_CONTEXT must be explicit or async/);
  });
});
