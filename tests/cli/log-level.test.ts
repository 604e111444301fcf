/**
 * `--log-level` on `micro run` and `micro gateway`: the flag wins over `MICRO_LOG_LEVEL`, debug
 * shows a line per successful call, error hides the per-request info lines.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { startTestNats } from "../support/nats.ts";
import { freePort } from "../support/service-dirs.ts";
import { type Child, runMicro } from "../support/subprocess.ts";
import { micro } from "../support/cli.ts";
import { eventually } from "../support/wait.ts";

let nats: NatsServerProcess;

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats.stop();
});

async function stopped(child: Child): Promise<number> {
  child.process.kill("SIGTERM");
  return child.exited;
}

const sayHello = (port: number) =>
  fetch(`http://127.0.0.1:${port}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Ada" } }) })
    .then((r) => r.status)
    .catch(() => 0);

describe("--log-level", () => {
  it("micro run --log-level debug prints a debug line per call, over MICRO_LOG_LEVEL=error", async () => {
    const port = await freePort();
    const child = runMicro(["run", "--log-level", "debug"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port), MICRO_LOG_LEVEL: "error" });
    try {
      await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${port}`), 20_000);
      expect(await eventually(() => sayHello(port), (s) => s === 200)).toBe(200);
      await child.waitFor(/DEBUG call .*method=Greeter\.SayHello/, 10_000);
      await child.waitFor(/INFO  http request .*route=\/rpc status=200/, 10_000);
      expect(await stopped(child)).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  it("micro gateway --log-level error hides the info line of each request, over MICRO_LOG_LEVEL=debug", async () => {
    const port = await freePort();
    const services = runMicro(["run", "--no-gateway"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port) });
    const gateway = runMicro(["gateway", "--port", String(port), "--log-level", "error"], { NATS_URL: nats.url, MICRO_LOG_LEVEL: "debug" });
    try {
      await services.waitFor(/service greeter 1\.0\.0/, 20_000);
      await gateway.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${port}`), 20_000);
      expect(await eventually(() => sayHello(port), (s) => s === 200)).toBe(200);
      // Then a request that logs at warn (404), and one more 200: none of them is written.
      expect((await fetch(`http://127.0.0.1:${port}/no-such-service/x`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBeGreaterThanOrEqual(400);
      expect(await sayHello(port)).toBe(200);
      expect(await stopped(gateway)).toBe(0);
      expect(gateway.output()).not.toContain("http request");
      expect(gateway.output()).not.toContain("DEBUG");
      expect(await stopped(services)).toBe(0);
    } finally {
      services.process.kill("SIGKILL");
      gateway.process.kill("SIGKILL");
    }
  });

  it("refuses a level it does not know, naming the choices", async () => {
    const result = await micro(["gateway", "--log-level", "loud"], { NATS_URL: nats.url });
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/debug.*info.*warn.*error/);
  });
});
