import { afterAll, describe, expect, it } from "bun:test";
import { deepBodyMaxBytes } from "../../support/deep-body-server.ts";
import { type RawConnection, rawRequest, statusOf } from "../../support/raw-http.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { type Child, spawnChild } from "../../support/subprocess.ts";
import { until } from "../../support/wait.ts";

// On Node (and Deno, which serves through node:http too), `serveHttp` lets the gateway read a
// small declared body straight from the socket (runtime/platform/node-request-body.ts). These
// run the gateway on each over real HTTP.
const runtimes = [
  { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
  { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
];
for (const runtime of runtimes) describe(`small request bodies on ${runtime.name}`, () => {
  const children: Child[] = [];
  const open: RawConnection[] = [];
  afterAll(() => {
    open.forEach((c) => c.close());
    children.forEach((c) => c.process.kill());
  });
  let port = 0;
  const server = async () => {
    if (port !== 0) return port;
    const child = spawnChild([...runtime.command, repoPath("tests/support/deep-body-server.ts")]);
    children.push(child);
    await child.waitFor(/listening \d+/, 30_000);
    port = Number(/listening (\d+)/.exec(child.output())![1]);
    return port;
  };
  const head = (length: number) => `POST /greeter/say-hello HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: ${length}`;

  it("answers a body that arrives in pieces, and two requests in a row on one connection", async () => {
    const p = await server();
    const body = '{"name":"Ada"}';
    const conn = await rawRequest(p, head(body.length));
    open.push(conn);
    conn.socket.write(body.slice(0, 5));
    // The first piece alone is no answer: the gateway waits for the declared length.
    await until(() => conn.socket.bytesWritten >= (head(body.length).length + 4 + 5));
    conn.socket.write(body.slice(5));
    await until(() => conn.received().includes("Hello Ada"), 15_000);
    expect(statusOf(conn.received())).toBe(200);
    // Keep-alive: the same socket takes the next request, whose body is read the same way.
    const second = '{"name":"Grace"}';
    conn.socket.write(`${head(second.length)}\r\n\r\n${second}`);
    await until(() => conn.received().includes("Hello Grace"), 15_000);
    expect(conn.received().match(/HTTP\/1\.1 200/g)?.length).toBe(2);
  }, 60_000);

  it("refuses bad bytes and deep JSON with 400, and a declared length over the limit with 413", async () => {
    const p = await server();
    const post = (body: BodyInit, length?: number) =>
      fetch(`http://127.0.0.1:${p}/greeter/say-hello`, { method: "POST", headers: { "content-type": "application/json", ...(length !== undefined ? { "content-length": String(length) } : {}) }, body });
    const invalid = await post(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]));
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain("not valid UTF-8");
    const deep = await post("[".repeat(100) + "]".repeat(100));
    expect(deep.status).toBe(400);
    expect(await deep.text()).toContain("levels deep");
    const large = await post(`{"name":"${"a".repeat(deepBodyMaxBytes)}"}`);
    expect(large.status).toBe(413);
    expect(await (await post('{"name":"Ada"}')).json()).toEqual({ message: "Hello Ada" });
  }, 60_000);

  it("keeps serving after a client leaves halfway through a body", async () => {
    const p = await server();
    const conns = await Promise.all(Array.from({ length: 20 }, () => rawRequest(p, head(100))));
    open.push(...conns);
    for (const conn of conns) conn.socket.write('{"name":"A');
    for (const conn of conns) conn.close();
    await until(() => conns.every((c) => c.closed()));
    const res = await fetch(`http://127.0.0.1:${p}/greeter/say-hello`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' });
    expect(await res.json()).toEqual({ message: "Hello Ada" });
    expect(children[0]!.process.exitCode).toBeNull();
  }, 60_000);
});
