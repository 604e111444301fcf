/**
 * `micro run` with `MICRO_METRICS_PORT`: the runner's `/metrics` carries the actor and event
 * metrics of the services it runs, read from the runtime and from JetStream.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { startTestNats } from "../support/nats.ts";
import { freePort } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";
import { until } from "../support/wait.ts";

let nats: NatsServerProcess;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats.stop();
});

describe("micro run /metrics", () => {
  it("serves actor shard moves, activations and event consumer lag of the services it runs", async () => {
    const [metricsPort, gatewayPort] = [await freePort(), await freePort()];
    const child = runMicro(["run"], { NATS_URL: nats.url, MICRO_METRICS_PORT: String(metricsPort), MICRO_GATEWAY_PORT: String(gatewayPort) });
    try {
      await child.waitFor(new RegExp(`metrics http://127\\.0\\.0\\.1:${metricsPort}/metrics`), 20_000);
      await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${gatewayPort}`), 20_000);
      const scrape = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      let text = "";
      await until(async () => /micro_actor_shard_moves_total\{service="cart",direction="acquired"\} [1-9]/.test((text = await scrape())), { what: "cart's shards acquired", timeoutMs: 20_000 });
      const added = await fetch(`http://127.0.0.1:${gatewayPort}/cart/add-item`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ cartId: "m1", sku: "plum", quantity: 1 }) });
      expect(added.status).toBe(200);
      text = await scrape();
      expect(text).toContain('micro_actor_activations_total{service="cart"} 1');
      expect(text).toContain('micro_actor_activations{service="cart"} 1');
      // The audit service's durable consumer, read from JetStream.
      expect(text).toMatch(/micro_event_consumer_pending\{consumer="[^"]*audit[^"]*",filter=">"\} \d+/);
      expect(text).toMatch(/micro_requests_total\{side="server",kind="actor",service="cart",method="Cart\.AddItem",code="ok"\} 1/);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  });
});
