import { afterAll, describe, expect, it } from "bun:test";
import { requestPath, serveHttp } from "../../../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket } from "../../../runtime/platform/websocket.ts";
import { idleApp, idleSeconds } from "../../support/idle-server.ts";
import { type RawConnection, rawRequest } from "../../support/raw-http.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { type Child, spawnChild } from "../../support/subprocess.ts";
import { until } from "../../support/wait.ts";

/**
 * Opens a quiet event stream and then an ordinary keep-alive request: the ordinary connection
 * must be closed once idle for the timeout, the stream and a WebSocket (older, and quiet for
 * longer) must not.
 */
async function checkIdleTimeouts(port: number, open: RawConnection[], closedWithinMs: number): Promise<void> {
  const stream = await rawRequest(port, "GET /feed/stream HTTP/1.1\r\nhost: test\r\naccept: text/event-stream");
  open.push(stream);
  await until(() => stream.received().includes("data: hello"), 10_000);
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const frames: string[] = [];
  socket.onmessage = (event) => frames.push(String(event.data));
  await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)));
  const ordinary = await rawRequest(port, "GET /ok HTTP/1.1\r\nhost: test");
  open.push(ordinary);
  await until(() => ordinary.received().endsWith("ok"), 10_000);
  const answered = Date.now();
  await until(() => ordinary.closed(), 15_000);
  // Closed by the idle timeout, not at once (a keep-alive connection stays for the next request).
  expect(Date.now() - answered).toBeGreaterThanOrEqual(idleSeconds * 1000 - 200);
  // Node's own keep-alive default is 5 s: closing well before shows the setting took.
  expect(Date.now() - answered).toBeLessThan(closedWithinMs);
  expect(stream.closed()).toBe(false);
  const emitted = await (await fetch(`http://127.0.0.1:${port}/emit`)).text();
  expect(emitted).toBe("1");
  await until(() => stream.received().includes("data: later"), 10_000);
  expect(socket.readyState).toBe(WebSocket.OPEN);
  socket.send("still there");
  await until(() => frames.includes("echo: still there"), 10_000);
  socket.close();
}

describe("serveHttp idle timeouts", () => {
  const open: RawConnection[] = [];
  const children: Child[] = [];
  afterAll(() => {
    open.forEach((c) => c.close());
    children.forEach((c) => c.process.kill());
  });

  it("closes an idle keep-alive connection and keeps a quiet event stream and WebSocket open on Bun", async () => {
    const server = await serveHttp(idleApp(await platformUpgradeWebSocket()).fetch, { port: 0, idleTimeoutSeconds: idleSeconds });
    try {
      // Bun checks idle connections every few seconds.
      await checkIdleTimeouts(server.port, open, idleSeconds * 1000 + 8000);
    } finally {
      await server.close();
    }
  }, 40_000);

  const runtimes = [
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  ];
  describe.concurrent("the same app", () => {
    for (const runtime of runtimes) {
      it(`closes an idle keep-alive connection and keeps a quiet event stream and WebSocket open on ${runtime.name}`, async () => {
        const child = spawnChild([...runtime.command, repoPath("tests/support/idle-server.ts")]);
        children.push(child);
        await child.waitFor(/listening \d+/, 30_000);
        await checkIdleTimeouts(Number(/listening (\d+)/.exec(child.output())![1]), open, 4500);
      }, 60_000);
    }
  });
});

describe("requestPath", () => {
  it("is the URL's path, without query or fragment", () => {
    for (const url of ["http://h:8080/a/b/stream?x=/stream", "http://h/", "http://h", "https://h/events/a.%3E/stream#f", "http://h/x?"]) {
      const want = url === "http://h" ? "/" : new URL(url).pathname;
      expect(requestPath(url)).toBe(want);
    }
  });
});
