import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { repoPath } from "../../support/service-dirs.ts";
import { spawnChild } from "../../support/subprocess.ts";

/** What the receiver got: headers of interest and the body, per request, and the sockets used. */
const got: Array<{ round: string; type: string; length: string; body: number[]; socket: number }> = [];
const sockets = new Map<unknown, number>();
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
      got.push({ round: String(req.headers["x-round"]), type: String(req.headers["content-type"]), length: String(req.headers["content-length"]), body: [...Buffer.concat(chunks)], socket: sockets.get(req.socket)! });
      // A slow answer for the timeout case.
      if (req.url === "/slow") setTimeout(() => res.writeHead(200).end(), 2000);
      else res.writeHead(req.url === "/unavailable" ? 503 : 200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise((r) => server.close(r));
});

const runtimes = [
  { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
  { name: "bun", command: [repoPath("node_modules/.bin/bun")] },
];

for (const runtime of runtimes) describe(`OTLP posts on ${runtime.name}`, () => {
  const run = async (path: string, timeoutMs: number) => {
    const child = spawnChild([...runtime.command, repoPath("tests/support/http-post-client.ts"), `http://127.0.0.1:${port}${path}`, String(timeoutMs)]);
    expect(await child.exited).toBe(0);
    return child.output().trim().split("\n");
  };

  it("posts the body with its headers and length, reads the status, and keeps the connection", async () => {
    got.length = 0;
    expect(await run("/v1/traces", 5000)).toEqual(["status 200", "status 200"]);
    expect(got.map((g) => [g.round, g.type, g.length, g.body])).toEqual([["0", "application/x-protobuf", "4", [1, 2, 3, 0]], ["1", "application/x-protobuf", "4", [1, 2, 3, 1]]]);
    expect(got[0]!.socket).toBe(got[1]!.socket);
    expect(await run("/unavailable", 5000)).toEqual(["status 503", "status 503"]);
  });

  it("gives up on a collector that does not answer within the timeout", async () => {
    const lines = await run("/slow", 300);
    expect(lines.length).toBe(2);
    for (const line of lines) expect(line).toMatch(/^error /);
  }, 20_000);
});
