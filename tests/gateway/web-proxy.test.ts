import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Hono } from "hono";
import { createGateway } from "../../gateway/app.ts";
import {
  createMemoryRegistry,
  createMemoryTransport,
  type HttpServer,
  platformUpgradeWebSocket,
  registerWebService,
  type Registry,
  serveHttp,
  type WebServiceRegistration,
  webServiceRecord,
} from "../../runtime/mod.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { echoApp } from "../support/ws-echo-server.ts";
import { rawRequest, statusOf } from "../support/raw-http.ts";
import { freePort, repoPath } from "../support/service-dirs.ts";
import { type Child, spawnChild } from "../support/subprocess.ts";

let registry: Registry;
let app: HttpServer;
let gateway: HttpServer;
let shop: WebServiceRegistration;
let gw: string;
let releaseStream: () => void = () => undefined;
/** What the app's `/flood` socket did: frames it sent, and whether its socket was closed. */
const flood = { sent: 0, closed: false };

/** The web app behind the proxy: the WebSocket echo app plus a few HTTP routes. */
function webApp(upgradeWebSocket: Awaited<ReturnType<typeof platformUpgradeWebSocket>>): Hono {
  const web = echoApp(upgradeWebSocket);
  web.get("/", (c) => c.text("home"));
  web.get("/where/*", (c) => c.json({
    path: c.req.path,
    query: c.req.query("q") ?? null,
    forwardedHost: c.req.header("x-forwarded-host") ?? null,
    forwardedProto: c.req.header("x-forwarded-proto") ?? null,
    realIp: c.req.header("x-real-ip") ?? null,
    forwardedPort: c.req.header("x-forwarded-port") ?? null,
    forwardedPrefix: c.req.header("x-forwarded-prefix") ?? null,
    forwardedFor: c.req.header("x-forwarded-for") ?? null,
    forwarded: c.req.header("forwarded") ?? null,
    cookie: c.req.header("cookie") ?? null,
  }));
  web.get("/ws-headers", upgradeWebSocket((c) => ({
    onOpen: (_e, ws) => ws.send(JSON.stringify({ cookie: c.req.header("cookie") ?? null, prefix: c.req.header("x-forwarded-prefix") ?? null })),
  })));
  web.get("/flood", upgradeWebSocket(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    return {
      // 256 KiB every 5 ms for as long as the socket is open: an app streaming to a client that reads nothing.
      onOpen: (_e, ws) => (timer = setInterval(() => {
        if (ws.readyState !== 1) return;
        ws.send(new Uint8Array(256 * 1024));
        flood.sent++;
      }, 5)),
      onClose: () => {
        clearInterval(timer);
        flood.closed = true;
      },
    };
  }));
  web.post("/orders", async (c) => c.json({ received: await c.req.text() }, 201, { "x-order": "42" }));
  web.get("/login", (c) => c.redirect("/web/shop/where/welcome", 302));
  web.get("/slow", () => {
    // The second chunk waits for the test: the first must reach the client before it.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("first;"));
        releaseStream = () => {
          controller.enqueue(new TextEncoder().encode("second"));
          controller.close();
        };
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  });
  return web;
}

beforeAll(async () => {
  const upgradeWebSocket = await platformUpgradeWebSocket();
  registry = createMemoryRegistry();
  app = await serveHttp(webApp(upgradeWebSocket).fetch, { port: 0 });
  shop = await registerWebService(registry, { name: "shop", url: `http://127.0.0.1:${app.port}`, version: "1.2.0" });
  const gatewayApp = createGateway({ transport: createMemoryTransport([]), registry, upgradeWebSocket });
  gateway = await serveHttp(gatewayApp.fetch, { port: 0 });
  gw = `http://127.0.0.1:${gateway.port}`;
});

afterAll(async () => {
  await shop?.stop();
  await gateway?.close();
  await app?.close();
  await registry?.close();
});

describe("/web/{service} over HTTP", () => {
  it("strips the prefix, keeps the query and headers, and sets X-Forwarded-*", async () => {
    const res = await fetch(`${gw}/web/shop/where/a/b?q=1`, { headers: { cookie: "session=abc" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      path: "/where/a/b",
      query: "1",
      forwardedHost: `127.0.0.1:${gateway.port}`,
      forwardedProto: "http",
      forwardedPrefix: "/web/shop",
      forwardedFor: "127.0.0.1",
      forwarded: null,
      realIp: "127.0.0.1",
      forwardedPort: null,
      cookie: "session=abc",
    });
    expect(await (await fetch(`${gw}/web/shop/`)).text()).toBe("home");
  });

  it("sets X-Forwarded-Host from the Host the gateway checked, never from the caller's headers; -Proto only as http or https", async () => {
    // Apps build links and redirects from these: forged, a cache in front would serve another site's links to everyone.
    const forged = await fetch(`${gw}/web/shop/where/reset`, {
      headers: { "x-forwarded-host": "evil.example", "x-forwarded-proto": "javascript", forwarded: "host=evil.example;proto=https", "x-real-ip": "10.0.0.1", "x-forwarded-port": "443" },
    });
    const seen = await forged.json();
    expect(seen).toMatchObject({ forwardedHost: `127.0.0.1:${gateway.port}`, forwardedProto: "http", forwarded: null, forwardedPort: null });
    expect(seen.realIp).toBe("127.0.0.1");
    // Behind a TLS-terminating proxy the app must hear https, or it redirects to it for ever.
    const behindTls = await fetch(`${gw}/web/shop/where/reset`, { headers: { "x-forwarded-proto": "https" } });
    expect(await behindTls.json()).toMatchObject({ forwardedHost: `127.0.0.1:${gateway.port}`, forwardedProto: "https" });
  });

  it("drops the hop-by-hop headers of the app's answer, those its Connection header names too", async () => {
    // Written by hand: an HTTP server library would not let an app name its own headers in Connection.
    const raw = createServer((socket) => socket.once("data", () => {
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close, X-Upstream-Hop\r\nX-Upstream-Hop: internal\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\n\r\nok");
    }));
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    const hop = await registerWebService(registry, { name: "hop", url: `http://127.0.0.1:${(raw.address() as { port: number }).port}` });
    try {
      const res = await fetch(`${gw}/web/hop/`);
      expect(await res.text()).toBe("ok");
      expect({ hop: res.headers.get("x-upstream-hop"), keepAlive: res.headers.get("keep-alive"), kept: res.headers.get("x-kept") }).toEqual({ hop: null, keepAlive: null, kept: "yes" });
    } finally {
      await hop.stop();
      raw.close();
    }
  });

  it("sends the body and returns the app's status, headers and redirects as they are", async () => {
    const res = await fetch(`${gw}/web/shop/orders`, { method: "POST", body: "two apples" });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-order")).toBe("42");
    expect(await res.json()).toEqual({ received: "two apples" });
    const login = await fetch(`${gw}/web/shop/login`, { redirect: "manual" });
    expect(login.status).toBe(302);
    expect(login.headers.get("location")).toBe("/web/shop/where/welcome");
  });

  it("streams the app's answer instead of buffering it", async () => {
    const res = await fetch(`${gw}/web/shop/slow`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first;");
    releaseStream();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe("second");
  });

  it("redirects /web/{service} to /web/{service}/ so relative links work", async () => {
    const res = await fetch(`${gw}/web/shop?x=1`, { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("/web/shop/?x=1");
  });

  it("answers 404 JSON for a web service nobody runs", async () => {
    const res = await fetch(`${gw}/web/nobody/anything`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "not_found", detail: expect.stringContaining("nobody"), status: "Not Found" });
  });

  it("answers 503 when the registered app does not answer", async () => {
    const port = await freePort();
    const gone = await registerWebService(registry, { name: "gone", url: `http://127.0.0.1:${port}` });
    try {
      const res = await fetch(`${gw}/web/gone/`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: "unavailable" });
      // A WebSocket opens to the gateway, then closes as "internal error" when the app cannot be reached.
      const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/gone/ws`);
      const closed = await new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })));
      expect(closed).toEqual({ code: 1011, reason: "web service connection failed" });
    } finally {
      await gone.stop();
    }
    expect((await fetch(`${gw}/web/gone/`)).status).toBe(404);
  });
});

describe("a web service's announced URL", () => {
  it("is followed only when it is http: or https:, never a file: or data: URL served from the gateway's machine", async () => {
    // Anyone who may write the registry can announce any string, past registerWebService's check.
    const dir = mkdtempSync(join(tmpdir(), "web-announce-"));
    writeFileSync(join(dir, "secret.json"), "gateway-secret");
    const announced = [["files", `file://${dir}`], ["inline", "data:text/plain,gateway-secret"]] as const;
    const records = announced.map(([name, url]) => {
      const record = webServiceRecord({ name, url: "http://127.0.0.1:1" });
      return { ...record, node: { ...record.node, metadata: { http: url } } };
    });
    try {
      for (const record of records) await registry.register(record);
      for (const path of ["/web/files/secret.json", "/web/inline/"]) {
        const res = await fetch(`${gw}${path}`);
        const text = await res.text();
        expect({ path, status: res.status, leaked: text.includes("gateway-secret") }).toEqual({ path, status: 503, leaked: false });
        expect(JSON.parse(text)).toMatchObject({ code: "unavailable", detail: expect.stringContaining("no http: or https: URL") });
      }
    } finally {
      for (const record of records) await registry.deregister(record);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("/web/{service} over WebSocket", () => {
  it("relays frames both ways and the app's close code", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/shop/ws?name=Ada`);
    ws.binaryType = "arraybuffer";
    const messages: (string | ArrayBuffer)[] = [];
    let closed: { code: number; reason: string } | undefined;
    ws.onmessage = (e) => messages.push(e.data);
    ws.onclose = (e) => (closed = { code: e.code, reason: e.reason });
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("websocket to the gateway failed"));
    });
    // Sent at once: frames that arrive before the app's socket opens are queued, not lost.
    ws.send("ping");
    ws.send(new Uint8Array([1, 2, 3]));
    await waitFor(() => messages.length >= 3);
    expect(messages[0]).toBe("hello Ada");
    expect(messages[1]).toBe("echo: ping");
    expect([...new Uint8Array(messages[2] as ArrayBuffer)]).toEqual([3, 2, 1]);
    ws.send("close");
    await waitFor(() => closed !== undefined);
    expect(closed).toEqual({ code: 4000, reason: "asked to" });
  });

  it("sends the client's cookies and X-Forwarded-* with the app's handshake", async () => {
    // Bun's WebSocket takes handshake headers as a browser would send its cookies.
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/shop/ws-headers`, { headers: { cookie: "session=abc" } } as unknown as string[]);
    const first = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    ws.close();
    expect(JSON.parse(first)).toEqual({ cookie: "session=abc", prefix: "/web/shop" });
  });

  it("refuses with 400 an upgrade offering a subprotocol that is not a token or twice, never a socket left open", async () => {
    for (const offered of ["chat, chat", "a b", "a/b"]) {
      const c = await rawRequest(gateway.port, [
        "GET /web/shop/ws HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", `Sec-WebSocket-Protocol: ${offered}`,
      ].join("\r\n"));
      try {
        await waitFor(() => statusOf(c.received()) !== undefined);
        expect({ offered, status: statusOf(c.received()) }).toEqual({ offered, status: 400 });
        await waitFor(() => c.received().endsWith("}"));
        expect(JSON.parse(c.received().slice(c.received().indexOf("{")))).toMatchObject({ code: "invalid_argument", detail: expect.stringContaining("Sec-WebSocket-Protocol") });
      } finally {
        c.close();
      }
    }
    // A well-formed offer still reaches the app.
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/shop/ws?name=Ada`, ["chat"]);
    const first = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    ws.close();
    expect(first).toBe("hello Ada");
  });

  it("lets go of the app's socket when the client leaves before the app answered the handshake", async () => {
    // An app that takes connections and never answers: each client that came and went kept one open.
    let accepted = 0;
    let released = 0;
    const stalled = createServer((socket) => {
      accepted++;
      socket.on("close", () => released++).on("error", () => undefined).resume();
    });
    await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
    const stall = await registerWebService(registry, { name: "stall", url: `http://127.0.0.1:${(stalled.address() as { port: number }).port}` });
    try {
      for (let i = 0; i < 3; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/stall/ws`);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error("websocket to the gateway failed"));
        });
        ws.send("queued for an app that never answers");
        await waitFor(() => accepted > i);
        ws.close();
      }
      await waitFor(() => released === 3);
    } finally {
      await stall.stop();
      stalled.close();
    }
  });

  it("closes a client that sends more than 1 MiB before the app answered its handshake, and lets go of the app's socket", async () => {
    let released = false;
    const stalled = createServer((socket) => socket.on("close", () => (released = true)).on("error", () => undefined).resume());
    await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
    const stall = await registerWebService(registry, { name: "stall2", url: `http://127.0.0.1:${(stalled.address() as { port: number }).port}` });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/stall2/ws`);
      let closed: { code: number; reason: string } | undefined;
      ws.onclose = (e) => (closed = { code: e.code, reason: e.reason });
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("websocket to the gateway failed"));
      });
      // 1.25 MiB for an app that never answers: held in the gateway's memory until then.
      for (let i = 0; i < 20 && closed === undefined; i++) ws.send(new Uint8Array(64 * 1024));
      await waitFor(() => closed !== undefined && released);
      expect(closed!.code).toBe(1008);
      expect(closed!.reason).toContain("before the web service answered");
    } finally {
      await stall.stop();
      stalled.close();
    }
  });

  it("drops a client that leaves more than 4 MiB of the app's frames unread, and closes the app's socket", async () => {
    // A client that upgrades and then reads nothing while the app keeps sending.
    const c = await rawRequest(gateway.port, [
      "GET /web/shop/flood HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
    ].join("\r\n"));
    try {
      await waitFor(() => statusOf(c.received()) !== undefined);
      c.socket.pause();
      expect(statusOf(c.received())).toBe(101);
      // Without the bound the gateway would buffer the app's 50 MB a second for as long as the client stays.
      await waitFor(() => flood.closed, 15_000);
      expect(flood.sent).toBeLessThan(400);
    } finally {
      c.close();
    }
  });

  it("refuses the upgrade with 404 for an unknown web service", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/web/nobody/ws`);
    const outcome = await new Promise<string>((resolve) => {
      ws.onopen = () => resolve("open");
      ws.onerror = () => resolve("error");
    });
    expect(outcome).toBe("error");
    // The same request as plain HTTP shows why.
    const res = await fetch(`${gw}/web/nobody/ws`, { headers: { upgrade: "websocket", connection: "upgrade" } });
    expect(res.status).toBe(404);
  });
});

describe.concurrent("the same proxy", () => {
  const children: Child[] = [];
  afterAll(() => children.forEach((c) => c.process.kill()));
  const runtimes = [
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  ];
  for (const runtime of runtimes) {
    it(`proxies HTTP and WebSocket on ${runtime.name}`, async () => {
      const child = spawnChild([...runtime.command, repoPath("tests/support/web-proxy-server.ts"), `http://127.0.0.1:${app.port}`]);
      children.push(child);
      await child.waitFor(/listening \d+/, 30_000);
      const port = Number(/listening (\d+)/.exec(child.output())![1]);
      const res = await fetch(`http://127.0.0.1:${port}/web/shop/orders`, { method: "POST", body: "one pear" });
      expect(await res.json()).toEqual({ received: "one pear" });
      // The app hears who called, as on Bun.
      const where = await (await fetch(`http://127.0.0.1:${port}/web/shop/where/x`)).json();
      expect(where).toMatchObject({ forwardedFor: "127.0.0.1", realIp: "127.0.0.1" });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/web/shop/ws?name=${runtime.name}`);
      const messages: unknown[] = [];
      ws.onmessage = (e) => messages.push(e.data);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error(`websocket through ${runtime.name} failed`));
      });
      ws.send("ping");
      await waitFor(() => messages.length >= 2);
      expect(messages).toEqual([`hello ${runtime.name}`, "echo: ping"]);
      ws.close();
      const headersWs = new WebSocket(`ws://127.0.0.1:${port}/web/shop/ws-headers`, { headers: { cookie: "session=xyz" } } as unknown as string[]);
      const first = await new Promise<string>((resolve, reject) => {
        headersWs.onmessage = (e) => resolve(String(e.data));
        headersWs.onerror = () => reject(new Error(`websocket through ${runtime.name} failed`));
      });
      headersWs.close();
      expect(JSON.parse(first)).toEqual({ cookie: "session=xyz", prefix: "/web/shop" });
    }, 45_000);
  }
});

describe("registerWebService", () => {
  it("rejects a bad name or URL, naming it", async () => {
    await expect(registerWebService(registry, { name: "a.b", url: "http://x" })).rejects.toThrow(/web service name "a.b"/);
    await expect(registerWebService(registry, { name: "ok", url: "not a url" })).rejects.toThrow(/"not a url" is not a URL/);
    await expect(registerWebService(registry, { name: "ok", url: "ftp://x" })).rejects.toThrow(/must be http: or https:/);
  });

  it("lists the app as a web service with its URL until stopped", async () => {
    const [found] = await registry.getService("shop");
    expect(found).toMatchObject({ type: "web", name: "shop", version: "1.2.0" });
    expect(found!.nodes[0]!.metadata.http).toBe(`http://127.0.0.1:${app.port}`);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}
