import { afterAll, describe, expect, it } from "bun:test";
import { type RawConnection, rawRequest, statusOf } from "../support/raw-http.ts";
import { repoPath } from "../support/service-dirs.ts";
import { serveStalledGateway, stalledTimeoutMs } from "../support/stalled-body-gateway.ts";
import { type Child, spawnChild } from "../support/subprocess.ts";
import { until } from "../support/wait.ts";

const limitMs = stalledTimeoutMs + 1000;

/**
 * At the gateway's time limit, a request whose body stopped arriving (declared or chunked) is
 * the client's doing: 408, and the connection is closed; one whose body arrived and whose
 * service never answered is 504. Every runtime reads bodies its own way (Node straight from the
 * socket), so each is asked.
 */
async function checkTimeLimit(port: number, open: RawConnection[]): Promise<void> {
  const head = "POST /greeter/say-hello HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json";
  const declared = await rawRequest(port, `${head}\r\ncontent-length: 100`);
  declared.socket.write('{"na');
  const chunked = await rawRequest(port, `${head}\r\ntransfer-encoding: chunked`);
  chunked.chunk('{"na');
  // Connect unary and a Connect stream read their bodies too.
  const connect = await rawRequest(port, "POST /greeter.v1.Greeter/SayHello HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 100");
  connect.socket.write('{"na');
  const connectStream = await rawRequest(port, "POST /counter.v1.Counter/Echo HTTP/1.1\r\nhost: gw\r\ncontent-type: application/connect+json\r\ncontent-length: 100");
  connectStream.socket.write("\0\0\0");
  const whole = await rawRequest(port, `${head}\r\ncontent-length: 14`);
  whole.socket.write('{"name":"Ada"}');
  const all = [declared, chunked, connect, connectStream, whole];
  open.push(...all);
  for (const c of all) await until(() => statusOf(c.received()) !== undefined, limitMs + 4000);
  expect(all.map((c) => statusOf(c.received()))).toEqual([408, 408, 408, 408, 504]);
  expect(declared.received()).toContain(`the request body did not arrive within ${limitMs} ms`);
  expect(whole.received()).toContain(`no answer within ${limitMs} ms`);
  // The rest of a stopped body could come at any time: its connection is closed.
  await until(() => declared.closed() && chunked.closed() && connect.closed() && connectStream.closed(), 3000);
  expect(whole.closed()).toBe(false);
}

describe("the gateway's time limit", () => {
  const open: RawConnection[] = [];
  const children: Child[] = [];
  afterAll(() => {
    open.forEach((c) => c.close());
    children.forEach((c) => c.process.kill());
  });

  it("answers a body that stopped arriving 408 and a silent service 504, on Bun", async () => {
    const server = await serveStalledGateway();
    try {
      await checkTimeLimit(server.port, open);
    } finally {
      await server.close();
    }
  });

  const runtimes = [
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  ];
  describe.concurrent("the same gateway", () => {
    for (const runtime of runtimes) {
      it(`answers a body that stopped arriving 408 and a silent service 504, on ${runtime.name}`, async () => {
        const child = spawnChild([...runtime.command, repoPath("tests/support/stalled-body-gateway.ts")]);
        children.push(child);
        await child.waitFor(/listening \d+/, 30_000);
        await checkTimeLimit(Number(/listening (\d+)/.exec(child.output())![1]), open);
      }, 60_000);
    }
  });
});
