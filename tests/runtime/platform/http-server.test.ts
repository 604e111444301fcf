import { afterAll, describe, expect, it } from "bun:test";
import { connect, type Socket } from "node:net";
import { serveHttp } from "../../../runtime/platform/http-server.ts";
import { chunkBytes, endlessApp } from "../../support/endless-stream-server.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { type Child, spawnChild } from "../../support/subprocess.ts";

/** The most a server may make for a client that reads nothing: socket buffers, never the stream. */
const boundBytes = 16 * 1024 * 1024;

/** Asks for /endless on a raw socket and then reads nothing more. */
async function stalledReader(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write("GET /endless HTTP/1.1\r\nhost: test\r\n\r\n");
  // Paused, the socket's receive window fills and the server's writes stop draining.
  socket.pause();
  return socket;
}

/**
 * Waits until the production stops growing (unchanged across 20 looks 50 ms apart) or passes
 * the bound, and returns it.
 */
async function settledProduction(produced: () => Promise<number>): Promise<number> {
  let last = -1;
  let unchanged = 0;
  for (const end = performance.now() + 20_000; performance.now() < end;) {
    const now = await produced();
    if (now * chunkBytes > boundBytes) return now;
    unchanged = now === last ? unchanged + 1 : 0;
    if (unchanged >= 20) return now;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return last;
}

describe("serveHttp and a client that stops reading", () => {
  it("stops pulling the response body on Bun (no unbounded buffering)", async () => {
    const { app, produced } = endlessApp();
    const server = await serveHttp(app.fetch, { port: 0 });
    const socket = await stalledReader(server.port);
    try {
      const made = await settledProduction(async () => produced());
      expect(made).toBeGreaterThan(0);
      expect(made * chunkBytes).toBeLessThanOrEqual(boundBytes);
    } finally {
      socket.destroy();
      await server.close();
    }
  }, 30_000);

  const children: Child[] = [];
  afterAll(() => children.forEach((c) => c.process.kill()));
  const runtimes = [
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  ];
  describe.concurrent("the same app", () => {
    for (const runtime of runtimes) {
      it(`stops pulling the response body on ${runtime.name}`, async () => {
        const child = spawnChild([...runtime.command, repoPath("tests/support/endless-stream-server.ts")]);
        children.push(child);
        await child.waitFor(/listening \d+/, 30_000);
        const port = Number(/listening (\d+)/.exec(child.output())![1]);
        const socket = await stalledReader(port);
        try {
          const made = await settledProduction(async () => ((await (await fetch(`http://127.0.0.1:${port}/produced`)).json()) as { produced: number }).produced);
          expect(made).toBeGreaterThan(0);
          expect(made * chunkBytes).toBeLessThanOrEqual(boundBytes);
        } finally {
          socket.destroy();
        }
      }, 45_000);
    }
  });
});

describe("serveHttp and a request without a Host", () => {
  it("answers 400 on Bun, never handing the app a relative URL as Bun would", async () => {
    const seen: string[] = [];
    const server = await serveHttp((request) => (seen.push(request.url), new Response("ok")), { port: 0 });
    try {
      const ask = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(server.port, "127.0.0.1", () => socket.write(request));
          let reply = "";
          socket.on("data", (chunk) => (reply += chunk.toString("latin1")));
          socket.on("close", () => resolve(reply));
          socket.on("error", reject);
          socket.setTimeout(5000, () => socket.destroy(new Error("no answer within 5 s")));
        });
      const reply = await ask("GET /health HTTP/1.0\r\n\r\n");
      expect(reply).toStartWith("HTTP/1.1 400");
      expect(reply).toEndWith("the request has no Host header");
      expect(seen).toEqual([]);
      // With a Host, HTTP/1.0 is served, with an absolute URL.
      expect(await ask("GET /health HTTP/1.0\r\nHost: h\r\n\r\n")).toEndWith("ok");
      expect(seen).toEqual(["http://h/health"]);
    } finally {
      await server.close();
    }
  });
});
