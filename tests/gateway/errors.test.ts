import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { connect as connectTcp } from "node:net";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { defineService, MicroError, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import greeter from "../../services/greeter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { startTestNats } from "../support/nats.ts";
import { gate, openTestConnection } from "../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
let impatient: Awaited<ReturnType<typeof startTestGateway>>;
const instances: ServiceInstance[] = [];
const held = gate();

// One handler slot and no waiting room, so a second call while one is held finds the mailbox full.
const moody = defineService(Greeter, { name: "moody", mailbox: { capacity: 0, concurrency: 1 } }, {
  async sayHello(request, ctx) {
    switch (request.name) {
      case "boom": throw new Error("boom");
      case "who": throw new MicroError("unauthenticated", "who are you?");
      case "denied": throw new MicroError("permission_denied", "not you");
      case "missing": throw new MicroError("not_found", "no such greeting");
      case "down": throw new MicroError("unavailable", "try later");
      case "slow": // Outlives the caller's deadline a little.
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        await new Promise((resolve) => setTimeout(resolve, 50));
        return {};
      case "hold": await held.opened; return { message: "released" };
      default: return { message: `moody ${request.name}` };
    }
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  for (const d of [greeter, moody]) instances.push(await startService(d, { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined }));
  gateway = await startTestGateway({ transport: conn.transport, natsMaxPayload: conn.nc.info!.max_payload });
  impatient = await startTestGateway({ transport: conn.transport, timeoutMs: 200, corsOrigins: ["https://app.example"] });
});
afterAll(async () => {
  held.open();
  await gateway.close();
  await impatient.close();
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

interface ErrorBody { id: string; code: string; detail: string; status: string }

async function expectError(res: Response, status: number, code: string, requestId?: string): Promise<ErrorBody> {
  const body = await res.json() as ErrorBody;
  expect([res.status, body.code]).toEqual([status, code]);
  expect(body.detail.length).toBeGreaterThan(0);
  expect(typeof body.status).toBe("string");
  expect(body.id).toBe(res.headers.get("x-request-id")!);
  if (requestId !== undefined) expect(body.id).toBe(requestId);
  return body;
}

describe("gateway errors map to HTTP in one place", () => {
  it("answers each code with its status and {id, code, detail, status} carrying the request id", async () => {
    const cases: Array<[string, string, number, string, string]> = [
      ["/greeter/say-hello", '{"name":""}', 400, "invalid_argument", "Bad Request"],
      ["/moody/greeter/say-hello", '{"name":"who"}', 401, "unauthenticated", "Unauthorized"],
      ["/moody/greeter/say-hello", '{"name":"denied"}', 403, "permission_denied", "Forbidden"],
      ["/moody/greeter/say-hello", '{"name":"missing"}', 404, "not_found", "Not Found"],
      ["/nobody/say-hello", "{}", 404, "not_found", "Not Found"],
      ["/greeter/say-goodbye", "{}", 501, "unimplemented", "Not Implemented"],
      ["/moody/greeter/say-hello", '{"name":"down"}', 503, "unavailable", "Service Unavailable"],
      ["/moody/greeter/say-hello", '{"name":"boom"}', 500, "internal", "Internal Server Error"],
    ];
    for (const [path, body, status, code, text] of cases) {
      const res = await post(path, body, { "x-request-id": `req-${code}` });
      const json = await expectError(res, status, code, `req-${code}`);
      expect(json.status).toBe(text);
    }
  });

  it("answers 504 when the deadline passes", async () => {
    const res = await post("/moody/greeter/say-hello", '{"name":"slow"}', { "x-micro-timeout": "100" });
    await expectError(res, 504, "deadline_exceeded");
    await Bun.sleep(100); // the handler's slot is free again
  });

  it("answers 429 when the service's mailbox is full", async () => {
    const first = post("/moody/greeter/say-hello", '{"name":"hold"}');
    // Until the held call occupies the only slot, a call still succeeds.
    let res = await post("/moody/greeter/say-hello", '{"name":"x"}');
    for (let i = 0; res.status === 200 && i < 100; i++) res = await post("/moody/greeter/say-hello", '{"name":"x"}');
    await expectError(res, 429, "resource_exhausted");
    held.open();
    expect(await (await first).json()).toEqual({ message: "released" });
  });

  it("makes a request id when the client sends none", async () => {
    const res = await post("/nobody/home", "{}");
    const body = await expectError(res, 404, "not_found");
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("gateway middleware", () => {
  it("answers malformed JSON with 400 naming the problem", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["/greeter/say-hello", '{"name":', /^the body is not valid JSON: /],
      ["/greeter/say-hello", "[1,2]", /must be a JSON object .*Greeter\.SayHello.*an array/],
      ["/greeter/say-hello", '"text"', /must be a JSON object/],
      ["/rpc", "{service:greeter}", /^the body is not valid JSON: /],
    ];
    for (const [path, body, detail] of cases) {
      const json = await expectError(await post(path, body), 400, "invalid_argument");
      expect(json.detail).toMatch(detail);
    }
  });

  it("answers an oversize body with 413 before anything reaches NATS, within the NATS max payload", async () => {
    const seen: string[] = [];
    const spy = conn.nc.subscribe("micro.srv.greeter.>", { callback: (_e, m) => void seen.push(m.subject) });
    await conn.nc.flush();
    const maxPayload = conn.nc.info!.max_payload;
    // Fits the 1 MiB default, but not a NATS message once headers are added: refused here.
    const nearLimit = `{"name":"${"x".repeat(maxPayload - 1000)}"}`;
    await expectError(await post("/greeter/say-hello", nearLimit), 413, "resource_exhausted");
    await expectError(await post("/greeter/say-hello", "x".repeat(2 * 1024 * 1024)), 413, "resource_exhausted");
    // Without Content-Length (a streamed upload) the limit is counted as the body arrives.
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const streamed = await fetch(`${gateway.url}/greeter/say-hello`, { method: "POST", body: stream, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit);
    const json = await expectError(streamed, 413, "resource_exhausted");
    expect(json.status).toBe("Payload Too Large");
    await conn.nc.flush();
    spy.unsubscribe();
    expect(seen).toEqual([]);
  });

  it("cuts a request whose body stops arriving with 408 (the client's doing, not a 5xx) and closes its connection", async () => {
    // A raw socket, so the request really goes out with a body that stops half way.
    const { port } = new URL(impatient.url);
    const socket = connectTcp({ host: "127.0.0.1", port: Number(port) });
    const began = Date.now();
    let closed = false;
    const response = new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (d) => (text += d.toString()));
      socket.on("data", () => text.includes("\r\n\r\n{") && text.endsWith("}") && resolve(text));
      socket.on("close", () => ((closed = true), resolve(text)));
    });
    socket.write("POST /greeter/say-hello HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"na");
    const text = await response;
    expect(text).toStartWith("HTTP/1.1 408");
    expect(text).toContain('"code":"deadline_exceeded"');
    expect(text).toContain('"detail":"the request body did not arrive within 1200 ms"');
    expect(text.toLowerCase()).toContain("connection: close");
    // The gateway hangs up: the rest of a body that stopped could come at any time.
    const end = Date.now() + 2000;
    while (!closed && Date.now() < end) await Bun.sleep(10);
    expect(closed).toBe(true);
    socket.destroy();
    expect(Date.now() - began).toBeLessThan(5000);
    // The gateway goes on serving.
    expect((await post("/greeter/say-hello", '{"name":"Ada"}')).status).toBe(200);
  });

  it("answers CORS preflights and sets secure headers", async () => {
    const preflight = await fetch(`${gateway.url}/greeter/say-hello`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const res = await post("/greeter/say-hello", '{"name":"Ada"}', { origin: "https://app.example" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("lets browsers send X-Micro-Meta-<key> headers across origins", async () => {
    const preflight = await fetch(`${gateway.url}/greeter/say-hello`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-micro-meta-tenant" },
    });
    expect(preflight.status).toBe(204);
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",").map((h) => h.trim());
    expect(allowed).toContain("x-micro-meta-tenant");
    expect(allowed).toContain("content-type");
  });

  it("allows only the configured origins when given a list", async () => {
    const from = (origin: string) => fetch(`${impatient.url}/greeter/say-hello`, { method: "POST", body: '{"name":"Ada"}', headers: { origin } });
    expect((await from("https://app.example")).headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect((await from("https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    const plain = await fetch(`${impatient.url}/greeter/say-hello`, { method: "POST", body: '{"name":"Ada"}' });
    expect(plain.headers.get("vary")).toContain("Origin");
  });
});
