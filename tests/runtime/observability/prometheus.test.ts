import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import { defineService, startService } from "../../../runtime/mod.ts";
import { collectInstance, metricsObserver } from "../../../runtime/observability/call-metrics.ts";
import { MetricsRegistry } from "../../../runtime/observability/metrics.ts";
import { serveHttp, type HttpServer } from "../../../runtime/platform/http-server.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

const { conn, teardown } = withNats();
const metrics = new MetricsRegistry();
let gateway: HttpServer;
let prometheus: ChildProcess | undefined;
let promPort = 0;
const dir = mkdtempSync(join(tmpdir(), "micro-prom-"));

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const greeter = defineService(Greeter, { name: "greeter", observers: [metricsObserver(metrics)] }, {
    sayHello: (request) => ({ message: `Hello ${request.name}` }),
  });
  const instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
  const stopCollecting = collectInstance(metrics, instance);
  teardown(() => instance.stop());
  teardown(stopCollecting);
  gateway = await serveHttp(createGateway({ transport: conn.transport, observability: { metrics } }).fetch, { port: 0, hostname: "127.0.0.1" });
  promPort = await freePort();
  writeFileSync(join(dir, "prometheus.yml"), [
    "global: { scrape_interval: 1s, evaluation_interval: 1s }",
    "scrape_configs:",
    "  - job_name: jetmicro",
    `    static_configs: [{ targets: ["127.0.0.1:${gateway.port}"] }]`,
  ].join("\n"));
  prometheus = spawn("prometheus", [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ], { stdio: "ignore" });
});

afterAll(async () => {
  if (prometheus !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus!.once("exit", r));
    prometheus.kill("SIGTERM");
    await exited;
  }
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  try {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (!res.ok) return [];
    return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  } catch {
    return [];
  }
}

describe("metrics scraped by a real Prometheus", () => {
  it("serves /metrics in the text format Prometheus reads, with call and gateway counts", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`http://127.0.0.1:${gateway.port}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } }) });
      expect(r.status).toBe(200);
    }
    const missing = await fetch(`http://127.0.0.1:${gateway.port}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.Nope", request: {} }) });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    const text = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
    expect(text).toContain('micro_requests_total{side="server",kind="unary",service="greeter",method="Greeter.SayHello",code="ok"} 3');

    let ok: Awaited<ReturnType<typeof query>> = [];
    await until(async () => (ok = await query('micro_requests_total{service="greeter",code="ok"}')).length > 0, { timeoutMs: 30_000 });
    expect(ok[0]!.value[1]).toBe("3");
    const gatewayOk = await query('micro_gateway_requests_total{route="/rpc",status="200"}');
    expect(gatewayOk[0]?.value[1]).toBe("3");
    const nodeRequests = await query('micro_node_requests_total{service="greeter",endpoint="Greeter.SayHello"}');
    expect(nodeRequests[0]?.value[1]).toBe("3");
  });
});
