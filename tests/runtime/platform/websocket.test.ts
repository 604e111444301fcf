import { afterAll, describe, expect, it } from "bun:test";
import { serveEcho } from "../../support/ws-echo-server.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { type Child, spawnChild } from "../../support/subprocess.ts";

/** Opens a WebSocket and collects what arrives; resolves once it is open. */
async function connect(url: string) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const received: (string | ArrayBuffer)[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.onmessage = (e) => {
    received.push(e.data);
    waiters.splice(0).forEach((w) => w());
  };
  ws.onclose = (e) => {
    closed = { code: e.code, reason: e.reason };
    waiters.splice(0).forEach((w) => w());
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`could not open ${url}`));
  });
  const next = async (): Promise<string | ArrayBuffer> => {
    const end = performance.now() + 5000;
    while (received.length === 0) {
      if (closed || performance.now() > end) throw new Error(`no message (closed: ${JSON.stringify(closed)})`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
    }
    return received.shift()!;
  };
  const whenClosed = async () => {
    const end = performance.now() + 5000;
    while (!closed) {
      if (performance.now() > end) throw new Error("not closed");
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
    }
    return closed;
  };
  return { ws, next, whenClosed };
}

/** What every runtime must do with the same echo app. */
async function expectEcho(port: number): Promise<void> {
  const client = await connect(`ws://127.0.0.1:${port}/ws?name=Ada`);
  expect(await client.next()).toBe("hello Ada");
  client.ws.send("ping");
  expect(await client.next()).toBe("echo: ping");
  client.ws.send(new Uint8Array([1, 2, 3]));
  expect([...new Uint8Array((await client.next()) as ArrayBuffer)]).toEqual([3, 2, 1]);
  client.ws.send("close");
  expect(await client.whenClosed()).toEqual({ code: 4000, reason: "asked to" });
  // The same route without an upgrade falls through to the next handler.
  const plain = await fetch(`http://127.0.0.1:${port}/ws`);
  expect(plain.status).toBe(426);
  expect(await (await fetch(`http://127.0.0.1:${port}/plain`)).text()).toBe("plain");
}

describe("WebSocket routes served by serveHttp", () => {
  it("open, greet, echo text and binary, close with a code, and fall through without an upgrade on Bun", async () => {
    const server = await serveEcho();
    try {
      await expectEcho(server.port);
    } finally {
      await server.close();
    }
  });

  const children: Child[] = [];
  afterAll(() => children.forEach((c) => c.process.kill()));
  const runtimes = [
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  ];
  describe.concurrent("the same app", () => {
    for (const runtime of runtimes) {
      it(`works the same on ${runtime.name}`, async () => {
        const child = spawnChild([...runtime.command, repoPath("tests/support/ws-echo-server.ts")]);
        children.push(child);
        await child.waitFor(/listening \d+/, 30_000);
        const port = Number(/listening (\d+)/.exec(child.output())![1]);
        await expectEcho(port);
      }, 45_000);
    }
  });
});
