import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { startTestNats } from "../support/nats.ts";
import { freePort } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";
import { rawRequest, statusOf } from "../support/raw-http.ts";
import { until } from "../support/wait.ts";

/** The status of one raw request (its Host as given). */
async function rawStatus(port: number, head: string): Promise<number | undefined> {
  const connection = await rawRequest(port, head);
  try {
    await until(() => statusOf(connection.received()) !== undefined, 5000);
    return statusOf(connection.received());
  } finally {
    connection.close();
  }
}

let nats: NatsServerProcess;
const dir = mkdtempSync(join(tmpdir(), "jetmicro-gw-auth-"));

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await nats.stop();
});

describe("micro run gateway settings", () => {
  it("serves API services and enforces MICRO_GATEWAY_AUTH_FILE, passing allowed headers as metadata", async () => {
    const authFile = join(dir, "auth.json");
    writeFileSync(authFile, JSON.stringify({ apiKeys: { "run-key": "runner-test" }, allow: { "runner-test": ["hello"] } }));
    const port = await freePort();
    const child = runMicro(["run"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port), MICRO_GATEWAY_AUTH_FILE: authFile, MICRO_GATEWAY_FORWARD_HEADERS: "X-Tenant" });
    try {
      await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${port} \\(auth from ${authFile.replace(/[.]/g, "\\.")}\\)`));
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/hello?name=Ada`)).status).toBe(401);
      const key = { "x-api-key": "run-key", "x-tenant": "t9" };
      // The gateway learns of the API service from the registry as it registers.
      let res = await fetch(`${base}/hello?name=Ada`, { headers: key });
      for (let i = 0; i < 100 && res.status !== 200; i++, await Bun.sleep(50)) res = await fetch(`${base}/hello?name=Ada`, { headers: key });
      expect(await res.json()).toEqual({ message: "Hello Ada" });
      const echo = await (await fetch(`${base}/hello/echo`, { headers: key })).json() as { metadata: Record<string, string> };
      expect(echo.metadata).toEqual({ identity: "runner-test", "x-tenant": "t9" });
      expect((await fetch(`${base}/greeter/say-hello`, { method: "POST", body: "{}", headers: key })).status).toBe(403);
      // With auth on, the dashboard (and with it the actor keys) needs credentials allowed "dashboard".
      expect((await fetch(`${base}/`)).status).toBe(401);
      expect((await fetch(`${base}/`, { headers: key })).status).toBe(403);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  it("with no auth on loopback, answers browsers only for pages of this machine, by its own names", async () => {
    const port = await freePort();
    const child = runMicro(["run"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port) });
    try {
      await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${port}`));
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/health`)).status).toBe(200);
      // A website's script: its origin gets no CORS answer, a local dev server's does.
      const preflight = async (origin: string) =>
        (await fetch(`${base}/greeter/say-hello`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } }))
          .headers.get("access-control-allow-origin");
      expect(await preflight("https://evil.example")).toBeNull();
      expect(await preflight("http://localhost:5173")).toBe("http://localhost:5173");
      // DNS rebinding: a website's own name pointed at 127.0.0.1 is not this gateway's.
      expect(await rawStatus(port, "GET /health HTTP/1.1\r\nHost: evil.example")).toBe(421);
      expect(await rawStatus(port, `GET /health HTTP/1.1\r\nHost: localhost:${port}`)).toBe(200);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  it("refuses to start with an auth file it cannot use, naming the problem", async () => {
    const authFile = join(dir, "bad.json");
    writeFileSync(authFile, JSON.stringify({ apiKeys: { k: "x" }, allowed: {} }));
    const child = runMicro(["run"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(await freePort()), MICRO_GATEWAY_AUTH_FILE: authFile });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain(`micro run: auth file ${authFile}: unknown key "allowed"`);
  });
});
