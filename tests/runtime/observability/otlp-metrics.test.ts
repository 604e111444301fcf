import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, defineService, startService } from "../../../runtime/mod.ts";
import { metricsExportEnabled, startMetricsExport } from "../../../runtime/observability/otlp-metrics.ts";
import { observabilityFrom } from "../../../runtime/observability/setup.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

interface OtlpPoint {
  attributes: Array<{ key: string; value: { stringValue?: string } }>;
  asDouble?: number;
  count?: string | number;
  bucketCounts?: Array<string | number>;
  explicitBounds?: number[];
}
interface OtlpMetric {
  name: string;
  sum?: { dataPoints: OtlpPoint[]; isMonotonic: boolean; aggregationTemporality: number };
  gauge?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[] };
}
interface Export {
  path: string;
  contentType: string;
  bytes: number;
  service?: string;
  metrics: OtlpMetric[];
}

const { conn, teardown } = withNats();
const exports: Export[] = [];
let receiver: Server;
let endpoint = "";

/** A real OTLP/HTTP receiver: POST /v1/metrics, JSON decoded, protobuf counted. */
beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers["content-type"]);
      const entry: Export = { path: `${req.method} ${req.url}`, contentType, bytes: body.length, metrics: [] };
      if (contentType === "application/json") {
        const parsed = JSON.parse(body.toString("utf8")) as {
          resourceMetrics: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeMetrics: Array<{ metrics: OtlpMetric[] }> }>;
        };
        for (const rm of parsed.resourceMetrics) {
          entry.service = rm.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue;
          for (const sm of rm.scopeMetrics) entry.metrics.push(...sm.metrics);
        }
      }
      exports.push(entry);
      res.writeHead(200, { "content-type": contentType }).end(contentType === "application/json" ? "{}" : "");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

const point = (m: OtlpMetric | undefined, labels: Record<string, string>) =>
  (m?.sum ?? m?.gauge ?? m?.histogram)?.dataPoints.find((p) => Object.entries(labels).every(([k, v]) => p.attributes.some((a) => a.key === k && a.value.stringValue === v)));

describe("OTLP metrics", () => {
  it("is on with an OTLP endpoint, off with OTEL_METRICS_EXPORTER=none or OTEL_SDK_DISABLED", () => {
    expect(metricsExportEnabled({})).toBe(false);
    expect(metricsExportEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBe(true);
    expect(metricsExportEnabled({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://c:4318/v1/metrics" })).toBe(true);
    expect(metricsExportEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_METRICS_EXPORTER: "none" })).toBe(false);
    expect(metricsExportEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(metricsExportEnabled({ OTEL_METRICS_EXPORTER: "otlp" })).toBe(true);
    expect(() => metricsExportEnabled({ OTEL_METRICS_EXPORTER: "statsd" })).toThrow(/OTEL_METRICS_EXPORTER must be otlp/);
  });

  it("exports the counters, gauges and histograms of /metrics to a real OTLP/HTTP receiver, periodically", async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_METRIC_EXPORT_INTERVAL: "200", OTEL_SERVICE_NAME: "otlp-metrics-test", OTEL_TRACES_EXPORTER: "none" };
    // As the runner builds it: the settings have no metrics port, the environment asks for OTLP.
    const observability = await observabilityFrom({ logLevel: "error" }, { serviceName: "jetmicro-runner", env });
    expect(observability.metrics).toBeDefined();
    expect(observability.metricsExport?.url).toBe(`${endpoint}/v1/metrics`);
    teardown(() => observability.metricsExport?.shutdown());
    const greeter = defineService(Greeter, { name: "otlp-greeter", interceptors: [...observability.serverInterceptors], observers: [...observability.serverObservers] }, {
      sayHello: (request) => ({ message: `Hello ${request.name}` }),
    });
    const instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
    teardown(() => instance.stop());
    const client = createClient(Greeter, conn.transport, { service: "otlp-greeter" });
    for (let i = 0; i < 3; i++) await client.sayHello({ name: "Ada" });

    const labels = { side: "server", kind: "unary", service: "otlp-greeter", method: "Greeter.SayHello", code: "ok" };
    let found: Export | undefined;
    // Two exports at least: the timer keeps sending, with the cumulative count each time.
    await until(() => (found = exports.filter((e) => point(e.metrics.find((m) => m.name === "micro_requests_total"), labels)?.asDouble === 3).at(1)) !== undefined, {
      what: "two exports carrying micro_requests_total = 3",
    });
    expect(found!.path).toBe("POST /v1/metrics");
    expect(found!.service).toBe("otlp-metrics-test");
    const total = found!.metrics.find((m) => m.name === "micro_requests_total")!;
    expect(total.sum?.isMonotonic).toBe(true);
    expect(total.sum?.aggregationTemporality).toBe(2); // cumulative
    const histogram = point(found!.metrics.find((m) => m.name === "micro_request_duration_seconds"), { service: "otlp-greeter" });
    expect(Number(histogram?.count)).toBe(3);
    expect(histogram?.bucketCounts?.length).toBe((histogram?.explicitBounds?.length ?? 0) + 1);
    expect(histogram?.bucketCounts?.reduce((a: number, b) => a + Number(b), 0)).toBe(3);
  });

  it("sends http/protobuf by default, and a last export on shutdown", async () => {
    const { MetricsRegistry } = await import("../../../runtime/observability/metrics.ts");
    const registry = new MetricsRegistry();
    registry.counter("micro_probe_total", "probe").inc({}, 7);
    const before = exports.length;
    const exporter = await startMetricsExport(registry, "probe", { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${endpoint}/custom/metrics`, OTEL_METRIC_EXPORT_INTERVAL: "600000" });
    await exporter.shutdown();
    const sent = exports.slice(before);
    expect(sent.length).toBe(1);
    expect(sent[0]!.path).toBe("POST /custom/metrics");
    expect(sent[0]!.contentType).toBe("application/x-protobuf");
    expect(sent[0]!.bytes).toBeGreaterThan(20);
  });

  it("says once that the collector is down, and keeps the process running", async () => {
    const { MetricsRegistry } = await import("../../../runtime/observability/metrics.ts");
    const errors: string[] = [];
    const exporter = await startMetricsExport(new MetricsRegistry(), "probe", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_METRIC_EXPORT_INTERVAL: "600000" }, (m) => errors.push(m));
    await exporter.flush();
    await exporter.flush();
    await exporter.shutdown();
    expect(errors.length).toBe(1);
    expect(errors[0]).toContain("cannot export to http://127.0.0.1:1/v1/metrics");
  });
});
