import { describe, expect, it } from "bun:test";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../gateway/app.ts";
import { defineService, startService } from "../../runtime/mod.ts";
import { createLogger } from "../../runtime/observability/logger.ts";
import { MetricsRegistry } from "../../runtime/observability/metrics.ts";
import { withNats } from "../support/nats.ts";
import { repoPath } from "../support/service-dirs.ts";
import { spawnChild } from "../support/subprocess.ts";

const { conn, teardown } = withNats();

describe("gateway request metrics", () => {
  it("labels path routes by their pattern, never by the raw path", async () => {
    const greeter = defineService(Greeter, { name: "greeter" }, { sayHello: (request) => ({ message: `Hello ${request.name}` }) });
    const instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
    teardown(() => instance.stop());
    const metrics = new MetricsRegistry();
    const app = createGateway({ transport: conn.transport, observability: { metrics }, timeoutMs: 2000 });
    const post = (path: string) => app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Ada" }) });

    expect((await post("/greeter/say-hello")).status).toBe(200);
    expect((await post("/greeter/say-hello")).status).toBe(200);
    // Made-up names: each would be a new series if the path were the label.
    for (let i = 0; i < 5; i++) expect((await post(`/made-up-${i}/anything`)).status).toBeGreaterThanOrEqual(400);
    expect((await post("/greeter/greeter/say-hello")).status).toBe(200);
    expect((await post("/v1/greeter/say-hello")).status).toBeGreaterThanOrEqual(200);
    expect((await post("/shop/cart/items/add")).status).toBeGreaterThanOrEqual(400);
    expect((await post("/not a path!")).status).toBe(404);

    const text = metrics.exposition();
    expect(text).toContain('micro_gateway_requests_total{route="/{service}/{endpoint}",method="POST",status="200"} 2');
    expect(text).toContain('micro_gateway_requests_total{route="/{service}/{handler}/{method}",method="POST",status="200"} 1');
    expect(text).toMatch(/micro_gateway_requests_total\{route="\/\{service\}\/\{endpoint\}",method="POST",status="(404|501|503)"\} 5/);
    expect(text).toContain('route="/{version}/{service}/{endpoint}"');
    expect(text).toContain('route="/{namespace}/{service}/{handler}/{method}"');
    expect(text).toContain('micro_gateway_requests_total{route="unmatched",method="POST",status="404"} 1');
    expect(text).not.toContain("made-up");
    expect(text).not.toContain("say-hello");
  });

  it("labels made-up HTTP methods as other, so a client cannot fill the series cap with them (on Deno, which passes any method on)", async () => {
    const child = spawnChild([repoPath("node_modules/.bin/deno"), "run", "-A", repoPath("tests/support/method-metrics-gateway.ts")]);
    expect(await child.exited).toBe(0);
    const text = child.output();
    expect(text).toContain("metrics:");
    expect(text).not.toContain("JUNK");
    expect(text).toMatch(/micro_gateway_requests_total\{route="[^"]+",method="other",status="\d+"\} 20/);
    expect(text).toContain('micro_gateway_requests_total{route="/{service}/{endpoint}",method="POST",status="200"} 1');
  }, 60_000);
});

describe("gateway request log", () => {
  it("samples the lines of 4xx refusals, so a flood of hostile requests is not a flood of log lines", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", format: "json", write: (l) => lines.push(l) });
    const app = createGateway({ transport: conn.transport, observability: { logger, samplePerSecond: 3 }, timeoutMs: 2000 });
    const began = performance.now();
    for (let i = 0; i < 50; i++) {
      const res = await app.request("/rpc", { method: "POST", headers: { "content-type": "text/plain", "content-length": "2" }, body: "{}" });
      expect(res.status).toBe(415);
    }
    const seconds = Math.ceil((performance.now() - began) / 1000);
    const refused = lines.filter((l) => l.includes('"status":415'));
    // 3 a second: the 50 refusals took well under a second, unless the machine stalled.
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeLessThanOrEqual(3 * (seconds + 1));
    expect(refused.every((l) => l.includes('"level":"warn"'))).toBe(true);
  });
});
