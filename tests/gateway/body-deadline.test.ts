import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Hono } from "hono";
import { bodyDeadline } from "../../gateway/body-deadline.ts";
import { limitBodies } from "../../gateway/body-limit.ts";
import { errorResponse } from "../../gateway/errors.ts";
import { bodyText } from "../../gateway/json-body.ts";
import { serveHttp } from "../../runtime/platform/http-server.ts";
import { type RawConnection, rawRequest, statusOf } from "../support/raw-http.ts";
import { until } from "../support/wait.ts";

const deadlineMs = 300;
let server: Awaited<ReturnType<typeof serveHttp>>;
const open: RawConnection[] = [];

beforeAll(async () => {
  // As the standalone sidecar mounts it: a route that reads the body, then takes its time.
  const app = new Hono();
  app.use(limitBodies(1024 * 1024));
  app.use(bodyDeadline(deadlineMs));
  app.onError((error, c) => errorResponse(error, "req-1", c.req.raw));
  app.post("/slow", async (c) => {
    const text = await bodyText(c.req.raw);
    await Bun.sleep(deadlineMs * 3);
    return c.text(`read ${text.length}`);
  });
  server = await serveHttp(app.fetch, { port: 0 });
});
afterAll(async () => {
  open.forEach((c) => c.close());
  await server.close();
});

describe("bodyDeadline", () => {
  it("answers a body that stopped arriving 408 and closes its connection, declared or chunked", async () => {
    const declared = await rawRequest(server.port, "POST /slow HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100");
    declared.socket.write('{"na');
    const chunked = await rawRequest(server.port, "POST /slow HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked");
    chunked.chunk('{"na');
    open.push(declared, chunked);
    for (const c of [declared, chunked]) await until(() => c.closed(), 5000);
    expect([declared, chunked].map((c) => statusOf(c.received()))).toEqual([408, 408]);
    expect(declared.received()).toContain(`the request body did not arrive within ${deadlineMs} ms`);
  });

  it("leaves a request whose body arrived to take as long as its route takes", async () => {
    const began = Date.now();
    const res = await fetch(`http://127.0.0.1:${server.port}/slow`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Ada"}' });
    expect([res.status, await res.text()]).toEqual([200, "read 14"]);
    expect(Date.now() - began).toBeGreaterThanOrEqual(deadlineMs * 3);
  });
});
