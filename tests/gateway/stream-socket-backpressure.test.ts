import { afterAll, beforeAll, expect, it } from "bun:test";
import { connect as tcpConnect, type Socket } from "node:net";
import { createGateway } from "../../gateway/app.ts";
import { Counter } from "../../gen/counter/v1/counter_pb.ts";
import { defineService, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { defaultWindow } from "../../runtime/stream/protocol.ts";
import { type HttpServer, serveHttp } from "../../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket } from "../../runtime/platform/websocket.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";
import { until } from "../support/wait.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let instance: ServiceInstance;
let server: HttpServer;
const seen = { produced: 0, aborted: false };

/** Streams 32 KiB messages until canceled. */
const flood = defineService(Counter, { name: "flood" }, {
  async *count(_request, ctx) {
    ctx.signal.addEventListener("abort", () => (seen.aborted = true));
    const payload = new Uint8Array(32 * 1024);
    for (let n = 1; !ctx.signal.aborted; n++) {
      seen.produced++;
      yield { n, payload };
    }
  },
  // Never reads its requests: everything the browser sends has to wait somewhere.
  async *echo(_requests, ctx) {
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    seen.aborted = true;
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  instance = await startService(flood, { connection: conn.nc, transport: conn.transport });
  const app = createGateway({ transport: conn.transport, upgradeWebSocket: await platformUpgradeWebSocket() });
  server = await serveHttp(app.fetch, { port: 0 });
});
afterAll(async () => {
  await server.close();
  await instance.stop();
  await conn.close();
  await nats.stop();
});

/** A masked client text frame (payload under 126 bytes). */
function textFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = [1, 2, 3, 4];
  const out = new Uint8Array(6 + payload.length);
  out.set([0x81, 0x80 | payload.length, ...mask]);
  payload.forEach((b, i) => (out[6 + i] = b ^ mask[i % 4]!));
  return out;
}

/** A WebSocket client on a raw TCP socket, so the test can stop reading like a stalled browser. */
async function rawSocket(path: string): Promise<Socket> {
  const socket = tcpConnect(server.port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      if (head.startsWith("HTTP/1.1 101")) resolve();
      else reject(new Error(`no upgrade: ${head.split("\r\n")[0]}`));
    };
    socket.on("data", onData);
  });
  return socket;
}

it("a browser that stops reading its WebSocket pauses the handler (bounded gateway memory)", async () => {
  const socket = await rawSocket("/ws/flood/Counter.Count");
  try {
    socket.pause(); // never reads again: the kernel buffers fill, then the gateway's socket buffer
    socket.write(textFrame(JSON.stringify({ message: {} })));
    socket.write(textFrame(JSON.stringify({ end: true })));
    await until(() => seen.produced > 0, 5000);
    // Wait until production stalls (unchanged for a whole second: on a loaded machine the
    // gateway may take a few hundred ms to pass the next window on), then check it stays stalled.
    let last = -1;
    let stableSince = Date.now();
    for (const began = Date.now(); Date.now() - stableSince < 1000 && Date.now() - began < 15_000;) {
      if (seen.produced !== last) {
        last = seen.produced;
        stableSince = Date.now();
      }
      await Bun.sleep(100);
    }
    await Bun.sleep(500);
    expect(seen.produced).toBe(last);
    // Kernel buffers, the gateway's 1 MiB socket limit and the stream windows: a few hundred
    // messages of 32 KiB at most, not an ever-growing queue.
    expect(seen.produced).toBeLessThan(1500);
  } finally {
    socket.destroy();
  }
  await until(() => seen.aborted, 5000);
});

it("a browser sending faster than the service reads is stopped with resource_exhausted, not buffered without end", async () => {
  seen.aborted = false;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/flood/Counter.Echo`);
  const frames: { error?: { code: string; message: string } }[] = [];
  let closed = false;
  ws.onmessage = (e) => frames.push(JSON.parse(e.data as string));
  ws.onclose = () => (closed = true);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("could not open the socket"));
  });
  // The service's window (`defaultWindow`) and the gateway's queue (256) hold that many; the rest is refused.
  for (let i = 0; i < defaultWindow + 256 + 1000 && !closed; i++) ws.send(JSON.stringify({ message: { text: String(i) } }));
  await until(() => closed, 5000);
  expect(frames.at(-1)?.error?.code).toBe("resource_exhausted");
  expect(frames.at(-1)?.error?.message).toContain("more than 256 requests are waiting for Counter.Echo");
  await until(() => seen.aborted, 5000);
});
