/**
 * A gateway with metrics over an in-memory transport, asked with made-up HTTP methods through
 * `app.fetch`. Run as a script (on Deno, whose `Request` keeps any method token as it is; Bun's
 * turns unknown ones into GET) it prints the Prometheus exposition after a `metrics:` line.
 * @module
 */
import { createGateway } from "../../gateway/app.ts";
import { createMemoryTransport } from "../../runtime/mod.ts";
import { MetricsRegistry } from "../../runtime/observability/metrics.ts";
import greeter from "../../services/greeter.ts";

if (process.argv[1]?.endsWith("method-metrics-gateway.ts")) {
  const metrics = new MetricsRegistry();
  const app = createGateway({ transport: createMemoryTransport([greeter]), observability: { metrics }, timeoutMs: 5000 });
  for (let i = 0; i < 20; i++) await app.fetch(new Request("http://gateway/greeter/say-hello", { method: `JUNK${i}` }));
  await app.fetch(new Request("http://gateway/greeter/say-hello", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' }));
  console.log(`metrics:\n${metrics.exposition()}`);
}
