import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectNats } from "../../../runtime/nats/connection.ts";
import { startTestNats } from "../../support/nats.ts";
import { type NatsCluster, startNatsCluster } from "../../support/nats-cluster.ts";
import { freePort } from "../../support/service-dirs.ts";
import { until } from "../../support/wait.ts";

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster();
}, 60_000);
afterAll(() => cluster?.stop());

describe("connectNats on a cluster", () => {
  it("connects when the first two of three URLs are down", async () => {
    const nats = await startTestNats();
    const down = [await freePort(), await freePort()].map((p) => `nats://127.0.0.1:${p}`);
    const nc = await connectNats({ servers: `${down.join(",")},${nats.url}`, timeoutMs: 3000 });
    try {
      expect(nc.getServer()).toBe(nats.url.replace("nats://", ""));
      expect(await nc.request("$JS.API.INFO", undefined, { timeout: 2000 }).then((m) => m.json<{ type: string }>().type)).toBe("io.nats.jetstream.api.v1.account_info_response");
    } finally {
      await nc.close();
      await nats.stop();
    }
  });

  it("reconnects to another node when its node is SIGKILLed, and requests continue", async () => {
    const nc: NatsConnection = await connectNats({ servers: cluster.url });
    const sub = nc.subscribe("cluster.echo", { callback: (_e, m) => void m.respond(m.data) });
    try {
      const connectedTo = () => cluster.nodes.findIndex((n) => n.url === `nats://${nc.getServer()}`);
      const first = connectedTo();
      expect(first).toBeGreaterThanOrEqual(0);
      await cluster.kill(first);
      await until(() => connectedTo() >= 0 && connectedTo() !== first, { timeoutMs: 10_000, what: "the client to reconnect to another node" });
      const reply = await nc.request("cluster.echo", new TextEncoder().encode("hi"), { timeout: 2000 });
      expect(new TextDecoder().decode(reply.data)).toBe("hi");
      await cluster.restart(first);
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  }, 60_000);
});
