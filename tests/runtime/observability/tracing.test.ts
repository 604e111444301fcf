import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter, SayHelloRequestSchema } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import { createJetStreamBroker, defineService, onEvent, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import { startTracing, type Tracing } from "../../../runtime/observability/tracing.ts";
import { withNats } from "../../support/nats.ts";
import { attributeOf, exportedTrace, type OtlpReceiver, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();
let receiver: OtlpReceiver;
let tracing: Tracing;
const instances: ServiceInstance[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing("trace-test", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "trace-test" });
  teardown(async () => {
    for (const i of instances) await i.stop();
  });
});

afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

const attr = attributeOf;

describe("tracing", () => {
  it("gives one trace to HTTP → gateway → service → nested call → event → subscriber, with correct parent links", async () => {
    const broker = await createJetStreamBroker(conn.nc);
    const traced = { interceptors: [tracing.serverInterceptor], clientInterceptors: [tracing.clientInterceptor] };
    const received: string[] = [];
    const back = defineService(Greeter, { name: "back", ...traced }, {
      async sayHello(request, ctx) {
        await ctx.publish("greeting.sent", SayHelloRequestSchema, { name: request.name });
        return { message: `back ${request.name}` };
      },
    });
    const front = defineService(Greeter, { name: "front", ...traced }, {
      async sayHello(request, ctx) {
        const { message } = await ctx.client(Greeter, { service: "back" }).sayHello(request);
        return { message: `front ${message}` };
      },
    });
    const listener = defineService(Greeter, {
      name: "listener",
      ...traced,
      subscriptions: [onEvent("greeting.sent", SayHelloRequestSchema, (m) => void received.push(m.name))],
    }, {});
    for (const d of [back, front, listener]) instances.push(await startService(d, { connection: conn.nc, transport: conn.transport, broker }));
    const app = createGateway({ transport: conn.transport, broker, observability: { tracing } });

    const clientTrace = "0af7651916cd43dd8448eb211c80319c";
    const response = await app.fetch(new Request("http://gw/rpc", {
      method: "POST",
      body: JSON.stringify({ service: "front", endpoint: "Greeter.SayHello", request: { name: "Ada" } }),
      headers: { "content-type": "application/json", traceparent: `00-${clientTrace}-b7ad6b7169203331-01` },
    }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: "front back Ada" });
    // The gateway returns the trace it continued.
    expect(response.headers.get("traceparent")).toMatch(new RegExp(`^00-${clientTrace}-[0-9a-f]{16}-01$`));
    await until(() => received.length === 1);

    // gateway HTTP, front server, front→back client, back server, listener consumer.
    const find = await exportedTrace(receiver, clientTrace, () => tracing.flush(), [["process greeting.sent", 5]]);
    expect(receiver.requests.every((p) => p.startsWith("POST /v1/traces application/json"))).toBe(true);
    const http = receiver.spans.find((s) => s.name === "POST /rpc")!;
    const frontServer = find("front/Greeter.SayHello", 2)!; // SERVER
    const backClient = find("back/Greeter.SayHello", 3)!; // CLIENT
    const backServer = find("back/Greeter.SayHello", 2)!;
    const consumer = find("process greeting.sent", 5)!; // CONSUMER
    for (const s of [http, frontServer, backClient, backServer, consumer]) expect(s?.traceId).toBe(clientTrace);
    expect(http.parentSpanId).toBe("b7ad6b7169203331");
    expect(frontServer.parentSpanId).toBe(http.spanId);
    expect(backClient.parentSpanId).toBe(frontServer.spanId);
    expect(backServer.parentSpanId).toBe(backClient.spanId);
    expect(consumer.parentSpanId).toBe(backServer.spanId);
    expect([attr(frontServer, "rpc.system"), attr(frontServer, "rpc.service"), attr(frontServer, "rpc.method")]).toEqual(["jetmicro", "front", "Greeter.SayHello"]);
    expect([attr(consumer, "messaging.system"), attr(consumer, "messaging.destination.name")]).toEqual(["nats", "greeting.sent"]);
    expect(attr(http, "http.response.status_code")).toBe(200);
  });

  it("starts a new trace for a malformed traceparent instead of failing the call", async () => {
    const app = createGateway({ transport: conn.transport, observability: { tracing } });
    const response = await app.fetch(new Request("http://gw/rpc", {
      method: "POST",
      body: JSON.stringify({ service: "front", endpoint: "Greeter.SayHello", request: { name: "Bo" } }),
      headers: { "content-type": "application/json", traceparent: "00-zzzz-not-a-trace" },
    }));
    expect(response.status).toBe(200);
    expect(response.headers.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
