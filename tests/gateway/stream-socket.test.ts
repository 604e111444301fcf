import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { Counter } from "../../gen/counter/v1/counter_pb.ts";
import { defineService, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { type HttpServer, serveHttp } from "../../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket } from "../../runtime/platform/websocket.ts";
import counter from "../../services/counter.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";
import { until } from "../support/wait.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];
let server: HttpServer;
const seen = { aborted: 0 };

const chatty = defineService(Counter, { name: "chatty" }, {
  async *echo(requests, ctx) {
    ctx.signal.addEventListener("abort", () => seen.aborted++);
    for await (const { text } of requests) {
      if (text === "boom") throw new Error("chat exploded");
      yield { text: text.toUpperCase() };
    }
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  const options = { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined };
  instances.push(await startService(counter, options), await startService(chatty, options));
  const app = createGateway({ transport: conn.transport, upgradeWebSocket: await platformUpgradeWebSocket() });
  server = await serveHttp(app.fetch, { port: 0 });
});
afterAll(async () => {
  await server.close();
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

/** A WebSocket to the gateway whose frames are parsed JSON. */
async function socket(path: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`);
  const frames: unknown[] = [];
  let closed: number | undefined;
  ws.onmessage = (e) => frames.push(JSON.parse(e.data as string));
  ws.onclose = (e) => (closed = e.code);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`could not open ${path}`));
  });
  return {
    ws,
    frames,
    send: (frame: unknown) => ws.send(JSON.stringify(frame)),
    closed: async () => {
      await until(() => closed !== undefined, 5000);
      return closed;
    },
  };
}

describe("WebSocket streams through the gateway", () => {
  it("bidi: answers arrive while the browser is still sending, then end", async () => {
    const s = await socket("/ws/counter/Counter.Echo");
    s.send({ message: { text: "a" } });
    await until(() => s.frames.length === 1, 5000);
    expect(s.frames[0]).toEqual({ message: { text: "a", seq: 1 } });
    s.send({ message: { text: "b" } });
    s.send({ end: true });
    expect(await s.closed()).toBe(1000);
    expect(s.frames).toEqual([{ message: { text: "a", seq: 1 } }, { message: { text: "b", seq: 2 } }, { end: true }]);
  });

  it("server and client streams work over the same route", async () => {
    const count = await socket("/ws/counter/Counter.Count");
    count.send({ message: { to: 3 } });
    count.send({ end: true });
    await count.closed();
    expect(count.frames).toEqual([{ message: { n: 1 } }, { message: { n: 2 } }, { message: { n: 3 } }, { end: true }]);

    const sum = await socket("/ws/counter/Counter.Sum");
    for (const value of [1, 2, 3]) sum.send({ message: { value } });
    sum.send({ end: true });
    await sum.closed();
    expect(sum.frames).toEqual([{ message: { sum: 6, count: 3 } }, { end: true }]);
  });

  it("a handler error arrives after the answers already sent", async () => {
    const s = await socket("/ws/chatty/Counter.Echo");
    s.send({ message: { text: "hi" } });
    s.send({ message: { text: "boom" } });
    await s.closed();
    expect(s.frames).toEqual([{ message: { text: "HI" } }, { error: { code: "internal", message: "chat exploded" } }]);
  });

  it("closing the socket cancels the handler", async () => {
    seen.aborted = 0;
    const s = await socket("/ws/chatty/Counter.Echo");
    s.send({ message: { text: "hi" } });
    await until(() => s.frames.length === 1, 5000);
    s.ws.close();
    await until(() => seen.aborted === 1, 3000);
  });

  it("bad frames and unknown services get a clear error frame", async () => {
    const bad = await socket("/ws/counter/Counter.Echo");
    bad.send("not json at all");
    await bad.closed();
    expect(bad.frames).toEqual([{ error: { code: "invalid_argument", message: `WebSocket frames must be JSON: {"message": {...}} or {"end": true}` } }]);

    const nobody = await socket("/ws/nobody/Nobody.Watch");
    await nobody.closed();
    expect(nobody.frames).toEqual([{ error: { code: "not_found", message: "no service nobody serves Nobody.Watch" } }]);

    const plain = await fetch(`http://127.0.0.1:${server.port}/ws/counter/Counter.Echo`);
    expect(plain.status).toBe(426);
  });
});
