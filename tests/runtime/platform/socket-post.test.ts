import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { socketPoster } from "../../../runtime/platform/socket-post.ts";

/** A request as the raw server read it, with the connection it came on. */
interface Received {
  head: string;
  body: Buffer;
  connection: number;
}

/** How the server answers a request on `socket` (by its path): raw bytes, so every shape of answer can be tried. */
type Answerer = (request: Received, socket: Socket) => void;

const received: Received[] = [];
let answer: Answerer = (_, s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
const open = new Set<Socket>();
let server: Server;
let base = "";

beforeAll(async () => {
  let connections = 0;
  server = createServer((socket) => {
    const connection = connections++;
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = pending.subarray(0, end).toString("latin1");
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = { head, body: Buffer.from(pending.subarray(end + 4, end + 4 + length)), connection };
        pending = pending.subarray(end + 4 + length);
        received.push(request);
        answer(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of open) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const headers = { "content-type": "application/x-protobuf" };

describe("socket poster", () => {
  it("sends the body and headers intact and reads answers of every framing on one kept connection", async () => {
    received.length = 0;
    const post = await socketPoster();
    const body = new Uint8Array(1_000_000).map((_, i) => i * 7);
    const answers = [
      // A content-length body, then a chunked body split across writes, then an empty one.
      (s: Socket) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"),
      (s: Socket) => {
        s.write("HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n3\r\nab");
        setTimeout(() => s.write("c\r\n10\r\n0123456789abcdef\r\n0\r\nx-trailer: 1\r\n\r\n"), 20);
      },
      (s: Socket) => s.write("HTTP/1.1 204 No Content\r\n\r\n"),
    ];
    answer = (_, s) => answers[(received.length - 1) % answers.length]!(s);
    expect(await post(`${base}/v1/traces?x=1`, { ...headers, authorization: "Bearer t" }, body.subarray(7, 900_007), 5000)).toBe(200);
    expect(await post(`${base}/v1/traces`, headers, "{\"é\":1}", 5000)).toBe(202);
    expect(await post(`${base}/v1/traces`, headers, body.subarray(0, 3), 5000)).toBe(204);
    expect(received.map((r) => r.connection)).toEqual([received[0]!.connection, received[0]!.connection, received[0]!.connection]);
    expect(received[0]!.head).toStartWith("POST /v1/traces?x=1 HTTP/1.1\r\n");
    expect(received[0]!.head).toContain("\r\nauthorization: Bearer t");
    expect(received[0]!.head).toContain("\r\ncontent-length: 900000");
    expect(received[0]!.body.equals(Buffer.from(body.subarray(7, 900_007)))).toBe(true);
    expect(received[1]!.body.toString("utf8")).toBe("{\"é\":1}");
  });

  it("skips an interim 100 answer and reads one that ends with the connection", async () => {
    received.length = 0;
    const post = await socketPoster();
    answer = (_, s) => {
      s.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nno length");
      s.end();
    };
    expect(await post(`${base}/`, headers, new Uint8Array([1]), 5000)).toBe(200);
    answer = (_, s) => s.write("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    expect(await post(`${base}/`, headers, new Uint8Array([2]), 5000)).toBe(503);
    expect(received[1]!.connection).not.toBe(received[0]!.connection);
  });

  it("opens a new connection after one the collector closed, answered or idle", async () => {
    received.length = 0;
    const post = await socketPoster();
    answer = (_, s) => s.write("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    expect(await post(`${base}/`, headers, new Uint8Array([1]), 5000)).toBe(200);
    answer = (_, s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    expect(await post(`${base}/`, headers, new Uint8Array([2]), 5000)).toBe(200);
    // The collector drops the idle connection (its keep-alive timeout).
    for (const s of open) s.destroy();
    expect(await post(`${base}/`, headers, new Uint8Array([3]), 5000)).toBe(200);
    expect(new Set(received.map((r) => r.connection)).size).toBe(3);
  });

  it("sends once more on a fresh connection when a reused one dies unanswered, and only once", async () => {
    received.length = 0;
    const post = await socketPoster();
    answer = (_, s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    expect(await post(`${base}/`, headers, new Uint8Array([1]), 5000)).toBe(200);
    // The reused connection dies without an answer: the request goes again on a new one.
    let drops = 1;
    answer = (_, s) => (drops-- > 0 ? s.destroy() : s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
    expect(await post(`${base}/`, headers, new Uint8Array([2]), 5000)).toBe(200);
    expect(received.length).toBe(3);
    // A fresh connection that dies is an error, not a loop.
    answer = (_, s) => s.destroy();
    for (const s of open) s.destroy();
    await expect(post(`${base}/`, headers, new Uint8Array([3]), 5000)).rejects.toThrow(/closed the connection/);
    expect(received.length).toBe(4);
  });

  it("drops a connection answered before its body was sent, and posts again on a new one", async () => {
    received.length = 0;
    const post = await socketPoster();
    // A server that answers 413 on the head and reads no further.
    const earlySockets: Socket[] = [];
    const early = createServer((socket) => {
      earlySockets.push(socket);
      socket.on("error", () => {});
      socket.once("data", () => {
        socket.pause();
        socket.write("HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n");
      });
    });
    await new Promise<void>((resolve) => early.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(early.address() as AddressInfo).port}/`;
    try {
      expect(await post(url, headers, new Uint8Array(32_000_000), 5000)).toBe(413);
      // Not on the first connection, where the server reads no more: on a new one.
      expect(await post(url, headers, new Uint8Array(10), 5000)).toBe(413);
      expect(earlySockets.length).toBe(2);
    } finally {
      for (const s of earlySockets) s.destroy();
      await new Promise((resolve) => early.close(resolve));
    }
  });

  it("gives up after the timeout and posts again afterwards", async () => {
    received.length = 0;
    const post = await socketPoster();
    answer = () => {};
    const started = performance.now();
    await expect(post(`${base}/`, headers, new Uint8Array([1]), 300)).rejects.toThrow("no answer in 300 ms");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(received.length).toBe(1);
    answer = (_, s) => s.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    expect(await post(`${base}/`, headers, new Uint8Array([2]), 5000)).toBe(200);
  });

  it("refuses malformed answers and headers that would split the request", async () => {
    received.length = 0;
    const post = await socketPoster();
    answer = (_, s) => s.write("SSH-2.0-OpenSSH\r\n\r\n");
    await expect(post(`${base}/`, headers, new Uint8Array([1]), 5000)).rejects.toThrow(/no HTTP\/1\.x status line/);
    answer = (_, s) => s.write(`HTTP/1.1 200 OK\r\nx: ${"a".repeat(70_000)}`);
    await expect(post(`${base}/`, headers, new Uint8Array([2]), 5000)).rejects.toThrow(/head is over/);
    answer = (_, s) => s.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
    await expect(post(`${base}/`, headers, new Uint8Array([3]), 5000)).rejects.toThrow(/bad chunk size/);
    const sent = received.length;
    await expect(post(`${base}/`, { "x-a": "1\r\nx-injected: 1" }, new Uint8Array([4]), 5000)).rejects.toThrow(/header "x-a" cannot be sent/);
    await expect(post(`https://127.0.0.1:1/`, headers, new Uint8Array([5]), 5000)).rejects.toThrow(/http: URLs only/);
    expect(received.length).toBe(sent);
  });

  it("reports a collector that is down", async () => {
    const post = await socketPoster();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(post(`http://127.0.0.1:${port}/`, headers, new Uint8Array([1]), 5000)).rejects.toThrow(/ECONNREFUSED|refused/i);
  });
});
