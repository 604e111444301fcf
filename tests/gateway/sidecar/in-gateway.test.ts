import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createNatsRegistry } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { json, startHttpApp } from "../../support/http-app.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";
import { freePort } from "../../support/service-dirs.ts";
import { runMicro } from "../../support/subprocess.ts";

let nats: NatsServerProcess;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats.stop());

describe("the sidecar in micro run's gateway", () => {
  it("serves the sidecar API at /sidecar with MICRO_GATEWAY_SIDECAR=1, and deregisters hosted services on stop", async () => {
    const app = startHttpApp((_request, body) => json({ echo: JSON.parse(body) }));
    const port = await freePort();
    const child = runMicro(["run"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port), MICRO_GATEWAY_SIDECAR: "1" });
    const conn = await openTestConnection(nats.url);
    const registry = await createNatsRegistry(conn.nc);
    try {
      await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${port}`));
      const base = `http://127.0.0.1:${port}`;
      const registered = await fetch(`${base}/sidecar/registry`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "echo-app", url: app.url, endpoints: ["Echo"] }) });
      expect(registered.status).toBe(201);
      const reply = await fetch(`${base}/echo-app/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"n":1}' });
      expect(await reply.json()).toEqual({ echo: { n: 1 } });
      for (let end = Date.now() + 5000; (await registry.getService("echo-app")).length === 0 && Date.now() < end;) await Bun.sleep(20);
      expect((await registry.getService("echo-app")).length).toBe(1);
      child.process.kill("SIGTERM");
      const code = await child.exited;
      // On a failed stop, say what the child said.
      expect({ code, output: code === 0 ? "" : child.output() }).toEqual({ code: 0, output: "" });
      for (let end = Date.now() + 5000; (await registry.getService("echo-app")).length > 0 && Date.now() < end;) await Bun.sleep(20);
      expect(await registry.getService("echo-app")).toEqual([]);
    } finally {
      child.process.kill("SIGKILL");
      await registry.close();
      await conn.close();
      await app.stop();
    }
  });
});
