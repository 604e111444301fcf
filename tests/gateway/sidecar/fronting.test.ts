import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { runSidecar } from "../../../gateway/sidecar/mod.ts";
import { createNatsRegistry, type Registry } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { json, startHttpApp, type TestHttpApp } from "../../support/http-app.ts";
import { startTestNats } from "../../support/nats.ts";
import { openTestConnection, rejection } from "../../support/rpc.ts";
import { rawRequest, statusOf } from "../../support/raw-http.ts";
import { until } from "../../support/wait.ts";
import { headers as natsHeaders } from "@nats-io/nats-core";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let registry: Registry;
let app: TestHttpApp;
let healthy = true;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  registry = await createNatsRegistry(conn.nc);
  app = startHttpApp((request, body) => {
    const path = new URL(request.url).pathname;
    if (path === "/health") return healthy ? json({ status: "ok" }) : json({ status: "db down" }, 503);
    if (path === "/quote") return json({ price: 42, item: JSON.parse(body).item });
    return new Response("no route", { status: 404 });
  });
});
afterAll(async () => {
  await app.stop();
  await registry.close();
  await conn.close();
  await nats.stop();
});

const nodesOf = async (name: string) => (await registry.getService(name)).flatMap((s) => s.nodes.map((n) => n.id));
const quote = () => {
  const h = natsHeaders();
  h.set("Content-Type", "application/json");
  return conn.transport.request("micro.srv.legacy.Legacy.Quote", new TextEncoder().encode('{"item":"tea"}'), h, Date.now() + 5000);
};

describe("fronting an HTTP app", () => {
  it("serves the app as a service, leaves the registry while its health fails and comes back when it passes", async () => {
    const lines: string[] = [];
    const running = await runSidecar({
      natsUrl: nats.url, port: 0, handleSignals: false, log: (line) => lines.push(line),
      app: app.url, name: "legacy", version: "1.2.0", endpoints: [{ name: "Legacy.Quote", path: "/quote" }],
      health: "/health", healthIntervalMs: 100,
    });
    try {
      expect(running.fronted?.state).toBe("serving");
      const first = running.fronted!.nodeId!;
      expect(JSON.parse(new TextDecoder().decode((await quote()).data))).toEqual({ price: 42, item: "tea" });
      // The sidecar's own API over real HTTP reaches it too.
      const viaHttp = await fetch(`${running.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "legacy", endpoint: "Legacy.Quote", request: { item: "cake" } }) });
      expect(await viaHttp.json()).toEqual({ price: 42, item: "cake" });
      for (let end = Date.now() + 5000; (await nodesOf("legacy")).length === 0 && Date.now() < end;) await Bun.sleep(20);
      expect(await nodesOf("legacy")).toEqual([first]);

      healthy = false;
      await until(() => running.sidecar.hosted()[0]?.state === "unhealthy", 5000);
      for (let end = Date.now() + 5000; (await nodesOf("legacy")).length > 0 && Date.now() < end;) await Bun.sleep(20);
      expect(await nodesOf("legacy")).toEqual([]);
      const quotesBefore = app.requests.filter((r) => r.path === "/quote").length;
      const started = Date.now();
      const error = await rejection(quote());
      expect([error.code, error.message]).toEqual(["unavailable", "no service is serving micro.srv.legacy.Legacy.Quote"]);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(app.requests.filter((r) => r.path === "/quote").length).toBe(quotesBefore);
      expect(running.sidecar.hosted()[0]).toMatchObject({ state: "unhealthy", lastHealthError: `GET ${app.url}/health answered 503` });

      healthy = true;
      await until(() => running.sidecar.hosted()[0]?.state === "serving", 5000);
      const second = running.sidecar.hosted()[0]!.nodeId!;
      expect(second).not.toBe(first);
      for (let end = Date.now() + 5000; (await nodesOf("legacy")).length === 0 && Date.now() < end;) await Bun.sleep(20);
      expect(await nodesOf("legacy")).toEqual([second]);
      expect(JSON.parse(new TextDecoder().decode((await quote()).data))).toEqual({ price: 42, item: "tea" });
      expect(lines.some((l) => l.includes("legacy 1.2.0: the app is unhealthy") && l.includes("answered 503"))).toBe(true);
      expect(lines.some((l) => l.includes("legacy 1.2.0: the app is healthy again"))).toBe(true);
    } finally {
      await running.stop();
    }
    await running.stopped;
    for (let end = Date.now() + 5000; (await nodesOf("legacy")).length > 0 && Date.now() < end;) await Bun.sleep(20);
    expect(await nodesOf("legacy")).toEqual([]);
  });

  it("waits for an app that is not up yet, then serves it", async () => {
    healthy = false;
    const running = await runSidecar({
      natsUrl: nats.url, port: 0, handleSignals: false, log: () => {},
      app: app.url, name: "late", endpoints: [{ name: "Quote", path: "/quote" }],
      health: "/health", healthIntervalMs: 100,
    });
    try {
      expect(running.fronted?.state).toBe("unhealthy");
      expect((await rejection(conn.transport.request("micro.srv.late.Late.Quote", new Uint8Array(), natsHeaders(), Date.now() + 2000))).code).toBe("unavailable");
      healthy = true;
      await until(() => running.sidecar.hosted()[0]?.state === "serving", 5000);
      const reply = await conn.nc.request("micro.srv.late.Late.Quote", '{"item":"jam"}', { timeout: 5000 });
      expect(reply.json()).toEqual({ price: 42, item: "jam" });
    } finally {
      await running.stop();
    }
  });

  it("refuses bad fronting options before starting anything", async () => {
    const error = async (options: Parameters<typeof runSidecar>[0]) => (await rejection(runSidecar({ natsUrl: nats.url, port: 0, handleSignals: false, log: () => {}, ...options }))).message;
    expect(await error({ app: app.url, endpoints: ["A.B"] })).toBe('name (--name) is required: a service name such as "orders"');
    expect(await error({ app: "localhost:5000", name: "x", endpoints: ["A.B"] })).toBe('app (--app) must be an http:// or https:// URL, got "localhost:5000"');
    expect(await error({ app: app.url, name: "x" })).toMatch(/^endpoints \(--endpoint\) must be a non-empty list/);
    expect(await error({ name: "x", endpoints: ["A.B"] })).toBe("name, endpoints and health are for fronting mode: give the app's URL too (--app)");
  });
});

describe("the standalone sidecar's request checks", () => {
  it("answers only this machine's names on loopback (no DNS rebinding), and refuses ambiguous framing", async () => {
    const running = await runSidecar({ natsUrl: nats.url, port: 0, handleSignals: false, log: () => {} });
    const status = async (head: string) => {
      const connection = await rawRequest(running.port, head);
      try {
        await until(() => statusOf(connection.received()) !== undefined, 5000);
        return statusOf(connection.received());
      } finally {
        connection.close();
      }
    };
    try {
      expect(await status(`GET /health HTTP/1.1\r\nHost: localhost:${running.port}`)).toBe(200);
      expect(await status("GET /health HTTP/1.1\r\nHost: evil.example")).toBe(421);
      expect(await status("POST /sidecar/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 15\r\n\r\n{}")).toBe(400);
    } finally {
      await running.stop();
    }
  });
});
