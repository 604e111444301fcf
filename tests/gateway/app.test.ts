import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import greeter from "../../services/greeter.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let instance: ServiceInstance;
let app: ReturnType<typeof createGateway>;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
  app = createGateway({ transport: conn.transport, maxBodyBytes: 1000 });
});
afterAll(async () => {
  await instance.stop();
  await conn.close();
  await nats.stop();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  app.fetch(new Request(`http://gw${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } }));

describe("gateway", () => {
  it("calls a service by path with a JSON body", async () => {
    const res = await post("/greeter/say-hello", '{"name":"Ada"}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Hello Ada" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("calls any allowed service through POST /rpc", async () => {
    const res = await post("/rpc", JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Bo" } }));
    expect(await res.json()).toEqual({ message: "Hello Bo" });
    const denied = await post("/rpc", JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", namespace: "admin" }));
    expect(denied.status).toBe(403);
  });

  it("maps errors to HTTP statuses with {id, code, detail, status}", async () => {
    const cases: Array<[string, string, number, string]> = [
      ["/greeter/say-hello", '{"name":""}', 400, "invalid_argument"],
      ["/greeter/say-hello", '{"nam":"x"}', 400, "invalid_argument"],
      ["/greeter/say-goodbye", "{}", 501, "unimplemented"],
      ["/nobody/home", "{}", 404, "not_found"],
      ["/rpc", "not json", 400, "invalid_argument"],
      ["/rpc", '{"service":"greeter"}', 400, "invalid_argument"],
      ["/rpc", "null", 400, "invalid_argument"],
      ["/greeter/say-hello", `{"name":"${"x".repeat(2000)}"}`, 413, "resource_exhausted"],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await post(path, body, { "x-request-id": "req-1" });
      const json = await res.json() as { id: string; code: string; detail: string; status: string };
      expect([path, res.status, json.code, json.id]).toEqual([path, status, code, "req-1"]);
      expect(json.detail.length).toBeGreaterThan(0);
    }
    // Only plain digits: `Number()` alone would read hex, exponents, signs and padding as a timeout.
    const timeouts = ["soon", "0x10", "1e3", "+5", "1.5", "0", "-1", "12345678901"];
    const refused = await Promise.all(timeouts.map(async (value) => {
      const res = await post("/greeter/say-hello", '{"name":"x"}', { "x-micro-timeout": value });
      const json = await res.json() as { code: string; detail: string };
      return [value, res.status, json.code, json.detail.includes("X-Micro-Timeout")];
    }));
    expect(refused).toEqual(timeouts.map((value) => [value, 400, "invalid_argument", true]));
    expect((await post("/greeter/say-hello", '{"name":"x"}', { "x-micro-timeout": "5000" })).status).toBe(200);
  });
});

describe("gateway time limit", () => {
  // Only a GET is a live stream or a WebSocket handshake: other requests cannot claim to be one.
  it.each([
    ["/greeter/say-hello", {}],
    ["/greeter/stream", {}],
    ["/greeter/say-hello", { upgrade: "websocket", connection: "Upgrade" }],
  ] as Array<[string, Record<string, string>]>)("answers 408 to a chunked body that stops arriving, instead of waiting for it (%s %o)", async (path, headers) => {
    const slow = createGateway({ transport: conn.transport, timeoutMs: 200 });
    let stop = () => undefined as void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name":'));
        stop = () => controller.close(); // the rest never comes
      },
    });
    try {
      const answer = slow.fetch(new Request(`http://gw${path}`, { method: "POST", body, duplex: "half", headers: { "content-type": "application/json", ...headers } } as RequestInit));
      const stuck = Bun.sleep(5000).then(() => "still waiting for the body after 5 s");
      const res = await Promise.race([answer, stuck]);
      expect(res).toBeInstanceOf(Response);
      const error = await (res as Response).json() as { code: string; status: string };
      expect([(res as Response).status, error.code, error.status]).toEqual([408, "deadline_exceeded", "Request Timeout"]);
    } finally {
      stop();
    }
  });
});
