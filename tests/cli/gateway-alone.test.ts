/**
 * Gateways and services scale on their own: `micro run --no-gateway` runs services only,
 * `micro gateway` the gateway only, and `micro run` on a folder without services serves the
 * gateway alone instead of exiting.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { startTestNats } from "../support/nats.ts";
import { freePort } from "../support/service-dirs.ts";
import { type Child, runMicro } from "../support/subprocess.ts";
import { eventually } from "../support/wait.ts";

let nats: NatsServerProcess;
const empty = mkdtempSync(join(tmpdir(), "jetmicro-no-services-"));

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  rmSync(empty, { recursive: true, force: true });
  await nats.stop();
});

async function stopped(child: Child): Promise<number> {
  child.process.kill("SIGTERM");
  return child.exited;
}

const sayHello = (port: number) =>
  fetch(`http://127.0.0.1:${port}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } }) })
    .then(async (r) => ({ status: r.status, body: await r.json() }))
    .catch(() => ({ status: 0, body: undefined }));

describe("gateways on their own", () => {
  it("micro gateway serves calls to services that micro run --no-gateway runs", async () => {
    const port = await freePort();
    const services = runMicro(["run", "--no-gateway"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port) });
    const gateway = runMicro(["gateway", "--port", String(port)], { NATS_URL: nats.url });
    try {
      await services.waitFor(/service greeter 1\.0\.0/, 20_000);
      expect(services.output()).not.toContain("gateway http://");
      await gateway.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${port}`), 20_000);
      expect(gateway.output()).not.toContain("service greeter");
      const reply = await eventually(() => sayHello(port), (r) => r.status === 200);
      expect(reply.body).toEqual({ message: "Hello Ada" });
      expect(await stopped(gateway)).toBe(0);
      expect(await stopped(services)).toBe(0);
    } finally {
      services.process.kill("SIGKILL");
      gateway.process.kill("SIGKILL");
    }
  });

  it("micro run on a folder with no service serves the gateway alone", async () => {
    const port = await freePort();
    const child = runMicro(["run", empty], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port) });
    try {
      await child.waitFor(/serving the gateway alone/, 20_000);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(await stopped(child)).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  it("exits non-zero when there is neither a service nor a gateway", async () => {
    const child = runMicro(["run", empty, "--no-gateway"], { NATS_URL: nats.url });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain("no service is running");
  });

  it("micro gateway refuses a bad port, naming it", async () => {
    const child = runMicro(["gateway", "--port", "http"], { NATS_URL: nats.url });
    expect(await child.exited).not.toBe(0);
    expect(child.output()).toContain("MICRO_GATEWAY_PORT");
  });
});
