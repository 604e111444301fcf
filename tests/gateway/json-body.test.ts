import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { Hono } from "hono";
import { createJetStreamBroker, type Registry, registerWebService, serveHttp } from "../../runtime/mod.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { createSidecar } from "../../gateway/sidecar/mod.ts";
import { maxJsonDepth, readBody, readJsonBody } from "../../gateway/json-body.ts";
import { JsonDepthScan, nestedDeeper } from "../../gateway/json-depth-scan.ts";
import greeter from "../../services/greeter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { withNats } from "../support/nats.ts";
import { type RawConnection, rawRequest, statusOf } from "../support/raw-http.ts";
import { startRegistered } from "../support/registered.ts";
import { until } from "../support/wait.ts";
import { deepBodyMaxBytes } from "../support/deep-body-server.ts";
import { repoPath } from "../support/service-dirs.ts";
import { type Child, spawnChild } from "../support/subprocess.ts";

/** The nesting depth of a parsed JSON value: the oracle the scans are checked against. */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce((deepest: number, child) => Math.max(deepest, depthOf(child)), 0);
}

describe("JsonDepthScan", () => {
  it("counts the depth of the parsed value, however the bytes are split into chunks, and as text", () => {
    const json = fc.oneof(fc.json(), fc.constantFrom('["\\"[[[", [["\\\\"]], {"a": "]]]"}]', '{"é[": ["𝕏", ["\\u005b"]]}'));
    fc.assert(fc.property(json, fc.array(fc.nat(), { maxLength: 4 }), fc.nat({ max: 6 }), (text, cuts, limit) => {
      const bytes = new TextEncoder().encode(text);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const scan = new JsonDepthScan(limit);
      let exceeded = false;
      let from = 0;
      for (const to of [...points, bytes.length]) {
        exceeded ||= scan.exceeded(bytes.subarray(from, to));
        from = to;
      }
      const deeper = depthOf(JSON.parse(text)) > limit;
      expect(exceeded).toBe(deeper);
      expect(nestedDeeper(text, limit)).toBe(deeper);
    }), { seed: 14, numRuns: 500 });
  });
});

describe("bodies of declared length", () => {
  /** A request whose `arrayBuffer()` hands out `buffer`, so the test can see what became of it. */
  const requestOver = (buffer: ArrayBuffer): Request => {
    const request = new Request("http://gateway/rpc", { method: "POST", headers: { "content-type": "application/json", "content-length": String(buffer.byteLength) }, body: buffer });
    request.arrayBuffer = () => Promise.resolve(buffer);
    return request;
  };

  it("refuses one nested too deep naming the limit, and gives its memory back at once", async () => {
    const buffer = new TextEncoder().encode("[".repeat(100_000) + "]".repeat(100_000)).buffer as ArrayBuffer;
    const refused = await readJsonBody(requestOver(buffer), "the request").then(() => undefined, (e: Error) => e);
    expect(refused?.message).toBe(`the request is nested more than ${maxJsonDepth} levels deep`);
    // Detached, not left for the next collection: a flood of refusals reuses the same pages.
    expect(buffer.byteLength).toBe(0);
  });

  it("keeps the buffer of a body it takes, and of one read without a depth limit", async () => {
    const json = new TextEncoder().encode(JSON.stringify({ a: [[["deep enough"]]] })).buffer as ArrayBuffer;
    expect((await readJsonBody(requestOver(json))).text).toBe('{"a":[[["deep enough"]]]}');
    expect(json.byteLength).toBeGreaterThan(0);
    const raw = new TextEncoder().encode("[".repeat(100)).buffer as ArrayBuffer;
    expect((await readBody(requestOver(raw))).length).toBe(100);
    expect(raw.byteLength).toBe(100);
  });
});

describe("request bodies refused while they arrive", () => {
  const { conn, teardown } = withNats();
  // Far longer than the tests wait: an answer they see cannot be the time limit's.
  const gatewayTimeoutMs = 30_000;
  const maxBodyBytes = 4096;
  let registry: Registry;
  let port: number;
  const open: RawConnection[] = [];
  afterAll(() => open.forEach((c) => c.close()));

  beforeAll(async () => {
    registry = await createNatsRegistry(conn.nc);
    teardown(() => registry.close());
    const broker = await createJetStreamBroker(conn.nc);
    const instance = await startRegistered(greeter, conn, registry);
    teardown(() => instance.stop());
    const sidecar = createSidecar({ connection: conn.nc, transport: conn.transport, registry, broker, log: () => {} });
    teardown(() => sidecar.close());
    const gateway = await startTestGateway({ transport: conn.transport, registry, broker, sidecar, timeoutMs: gatewayTimeoutMs, maxBodyBytes });
    teardown(() => gateway.close());
    port = Number(new URL(gateway.url).port);
    // A web app behind /web/shop/, which takes any body it is sent.
    const web = new Hono();
    web.post("/orders", async (c) => c.json({ received: (await c.req.text()).length }));
    const app = await serveHttp(web.fetch, { port: 0 });
    teardown(() => app.close());
    const shop = await registerWebService(registry, { name: "shop", url: `http://127.0.0.1:${app.port}`, version: "1.0.0" });
    teardown(() => shop.stop());
  });

  /** POSTs a chunked JSON body to `path`, sends `first`, then keeps the body open (a chunk of spaces now and then). */
  async function endlessBody(path: string, first: string): Promise<RawConnection> {
    const c = await rawRequest(port, `POST ${path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ntransfer-encoding: chunked`);
    open.push(c);
    c.chunk(first);
    const trickle = setInterval(() => !c.closed() && c.chunk(" "), 200);
    c.socket.once("close", () => clearInterval(trickle));
    afterAll(() => clearInterval(trickle));
    return c;
  }

  for (const path of ["/rpc", "/greeter/say-hello", "/events/orders.created", "/sidecar/rpc", "/sidecar/events/orders.created"]) {
    it(`answers 400 naming the depth limit on ${path} before a deep body ends`, async () => {
      const started = Date.now();
      const c = await endlessBody(path, "[".repeat(maxJsonDepth + 1));
      await until(() => statusOf(c.received()) !== undefined, 10_000);
      expect(statusOf(c.received())).toBe(400);
      expect(c.received()).toContain(`nested more than ${maxJsonDepth} levels deep`);
      expect(Date.now() - started).toBeLessThan(gatewayTimeoutMs);
    }, 20_000);
  }

  it("answers 413 naming the size limit once a body that never ends passes it", async () => {
    const c = await endlessBody("/rpc", `{"service":"greeter","endpoint":"Greeter.SayHello","request":{"name":"${"a".repeat(maxBodyBytes)}`);
    await until(() => statusOf(c.received()) !== undefined, 10_000);
    expect(statusOf(c.received())).toBe(413);
    expect(c.received()).toContain(`the limit is ${maxBodyBytes} bytes`);
  }, 20_000);

  /** POSTs a chunked body of `size` bytes to `path` in two chunks, ended, and waits for the answer. */
  async function chunkedBody(path: string, contentType: string, size: number): Promise<string> {
    const c = await rawRequest(port, `POST ${path} HTTP/1.1\r\nhost: test\r\ncontent-type: ${contentType}\r\ntransfer-encoding: chunked\r\nconnection: close`);
    open.push(c);
    c.chunk("x".repeat(Math.ceil(size / 2)));
    c.chunk("x".repeat(Math.floor(size / 2)));
    c.socket.write("0\r\n\r\n");
    await until(() => statusOf(c.received()) !== undefined, 10_000);
    return c.received();
  }

  it("answers 413, not 503, when a chunked body to a web app passes the limit", async () => {
    const answer = await chunkedBody("/web/shop/orders", "text/plain", maxBodyBytes + 100);
    expect(statusOf(answer)).toBe(413);
    expect(answer).toContain(`the limit is ${maxBodyBytes} bytes`);
    // Within the limit, the app gets the whole body.
    expect(await chunkedBody("/web/shop/orders", "text/plain", 100)).toContain('{"received":100}');
  }, 20_000);

  it("answers 413, as for a declared length, when a chunked Connect body passes the limit", async () => {
    const answer = await chunkedBody("/greeter.v1.Greeter/SayHello", "application/json", maxBodyBytes + 100);
    expect(statusOf(answer)).toBe(413);
    expect(answer).toContain(`the limit is ${maxBodyBytes} bytes`);
  }, 20_000);

  it("still takes a chunked body within the limits, read to its end", async () => {
    const c = await rawRequest(port, "POST /greeter/say-hello HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close");
    open.push(c);
    c.chunk('{"na');
    c.chunk('me": "[{Ada"}');
    c.socket.write("0\r\n\r\n");
    await until(() => c.closed(), 10_000);
    expect(statusOf(c.received())).toBe(200);
    expect(c.received()).toContain('"message":"Hello [{Ada"');
  }, 20_000);

  it("takes a body with a declared length on every route as before", async () => {
    const base = `http://127.0.0.1:${port}`;
    const res = await fetch(`${base}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "greeter", endpoint: "Greeter.SayHello", request: { name: "Bo" } }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Hello Bo" });
    const deep = await fetch(`${base}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: "[".repeat(1000) });
    expect(deep.status).toBe(400);
    const big = await fetch(`${base}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: " ".repeat(maxBodyBytes + 1) });
    expect(big.status).toBe(413);
  }, 20_000);
});

describe("request bodies refused while they arrive, on Node and Deno", () => {
  const children: Child[] = [];
  const open: RawConnection[] = [];
  afterAll(() => {
    open.forEach((c) => c.close());
    children.forEach((c) => c.process.kill());
  });
  const runtimes = [
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  ];
  describe.concurrent("the same gateway", () => {
    for (const runtime of runtimes) {
      it(`answers 400 before a deep body ends, and 413 once an endless one passes the limit, on ${runtime.name}`, async () => {
        const child = spawnChild([...runtime.command, repoPath("tests/support/deep-body-server.ts")]);
        children.push(child);
        await child.waitFor(/listening \d+/, 30_000);
        const port = Number(/listening (\d+)/.exec(child.output())![1]);
        const head = "POST /greeter/say-hello HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ntransfer-encoding: chunked";
        const deep = await rawRequest(port, head);
        const large = await rawRequest(port, head);
        open.push(deep, large);
        deep.chunk("[".repeat(maxJsonDepth + 1));
        large.chunk(`{"name":"${"a".repeat(deepBodyMaxBytes)}`);
        // Neither body ever ends.
        await until(() => statusOf(deep.received()) !== undefined && statusOf(large.received()) !== undefined, 15_000);
        expect(statusOf(deep.received())).toBe(400);
        expect(deep.received()).toContain(`nested more than ${maxJsonDepth} levels deep`);
        expect(statusOf(large.received())).toBe(413);
        const normal = await fetch(`http://127.0.0.1:${port}/greeter/say-hello`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' });
        expect(await normal.json()).toEqual({ message: "Hello Ada" });
      }, 60_000);
    }
  });
});
