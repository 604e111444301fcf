import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { createClient } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { startTestNats } from "../support/nats.ts";
import type { RoundTripResult } from "../support/roundtrip.ts";
import { openTestConnection, rejection } from "../support/rpc.ts";
import { freePort, repoPath } from "../support/service-dirs.ts";
import { type Child, spawnChild } from "../support/subprocess.ts";

/**
 * How each runtime runs a TypeScript file. Node 20 cannot strip types, so it goes through
 * tsx; Deno reads deno.json from the repo root, where the children run.
 */
const runtimes = [
  { name: "bun", command: [process.execPath] },
  { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
  { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
] as const;

/** Subprocess startup dominates (tsx alone takes about a second); these leave room for a loaded CI machine. */
const testTimeoutMs = 45_000;
const startupTimeoutMs = 30_000;
const callTimeoutMs = 5_000;

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
});

afterAll(async () => {
  await conn?.close();
  await nats?.stop();
});

// Concurrent: each test waits on its own subprocess, so the file takes about as long as the
// slowest runtime's startup rather than the sum of all of them.
describe.concurrent("the greeter round trip script", () => {
  for (const runtime of runtimes) {
    it(`serves, calls, gets unimplemented and exits cleanly on ${runtime.name}`, async () => {
      // A namespace per runtime, so each process answers only its own calls.
      const namespace = `roundtrip-${runtime.name}`;
      const child = spawnChild([...runtime.command, repoPath("tests/support/roundtrip.ts"), nats.url], { MICRO_NAMESPACE: namespace });
      try {
        const code = await child.exited;
        expect(code, `exit code ${code}; output:\n${child.output()}`).toBe(0);
        const result = resultLine(child);
        expect(result).toMatchObject({
          ok: true,
          runtime: runtime.name,
          typed: "Hello Ada",
          raw: { message: "Hello Ada" },
          unimplemented: { code: "unimplemented" },
        });
        if (result.ok) expect(result.unimplemented.serviceId).toBe(result.nodeId);
      } finally {
        await stopChild(child);
      }
    }, testTimeoutMs);
  }
});

describe.concurrent("a service served by another runtime", () => {
  for (const runtime of runtimes.filter((r) => r.name !== "bun")) {
    it(`answers this Bun process when ${runtime.name} runs services/ with micro run, and stops on Ctrl-C`, async () => {
      // What `deno task start` and `tsx cli/main.ts run` run, in a namespace of its own.
      const namespace = `served-${runtime.name}`;
      const gatewayPort = await freePort();
      const child = spawnChild([...runtime.command, repoPath("cli/main.ts"), "run"], {
        NATS_URL: nats.url,
        MICRO_NAMESPACE: namespace,
        MICRO_GATEWAY_PORT: String(gatewayPort),
      });
      try {
        const started = new RegExp(`service greeter 1\\.0\\.0 on ${namespace}\\.srv\\.greeter\\.> \\(node (\\S+)\\)`);
        await child.waitFor(started, startupTimeoutMs);
        const nodeId = started.exec(child.output())?.[1];

        const client = createClient(Greeter, conn.transport, { namespace, timeoutMs: callTimeoutMs });
        expect((await client.sayHello({ name: "Ada" })).message).toBe("Hello Ada");
        const raw = await conn.nc.request(`${namespace}.srv.greeter.Greeter.SayHello`, '{"name":"Ada"}', { timeout: callTimeoutMs });
        expect(raw.json()).toEqual({ message: "Hello Ada" });
        // A MicroError thrown in the other runtime arrives here with its code and detail.
        const invalid = await rejection(client.sayHello({ name: " " }));
        expect(invalid.code).toBe("invalid_argument");
        expect(invalid.detail).toBe("name");
        const unimplemented = await rejection(client.sayGoodbye({ name: "Ada" }));
        expect(unimplemented.code).toBe("unimplemented");
        expect(unimplemented.serviceId).toBe(nodeId!);
        // The HTTP gateway serves on this runtime too.
        await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${gatewayPort}`), startupTimeoutMs);
        const http = await fetch(`http://127.0.0.1:${gatewayPort}/greeter/say-hello`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Web"}' });
        expect([http.status, await http.json()]).toEqual([200, { message: "Hello Web" }]);
        const missing = await fetch(`http://127.0.0.1:${gatewayPort}/nobody/here`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(missing.status).toBe(404);
        // An API service gets the HTTP request (the gateway learns its type from the registry).
        let api = await fetch(`http://127.0.0.1:${gatewayPort}/hello?name=Web`);
        for (let i = 0; i < 100 && api.status !== 200; i++, await Bun.sleep(50)) api = await fetch(`http://127.0.0.1:${gatewayPort}/hello?name=Web`);
        expect([api.status, api.headers.get("x-hello"), await api.json()]).toEqual([200, "Web", { message: "Hello Web" }]);

        child.process.kill("SIGINT");
        const code = await child.exited;
        expect(code, `exit code ${code}; output:\n${child.output()}`).toBe(0);
        expect(child.output()).toContain("stopped");
        expect((await rejection(client.sayHello({ name: "late" }))).code).toBe("unavailable");
      } finally {
        await stopChild(child);
      }
    }, testTimeoutMs);
  }
});

/** The {@link RoundTripResult} line the script printed. */
function resultLine(child: Child): RoundTripResult {
  const line = child.output().split("\n").find((l) => l.startsWith('{"ok":'));
  if (line === undefined) throw new Error(`no result line; output:\n${child.output()}`);
  return JSON.parse(line) as RoundTripResult;
}

/**
 * Stops a child a failed test left running. SIGTERM first: tsx relays it to the node process
 * it started, which a SIGKILL of tsx alone would leave behind, connected to NATS.
 */
async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGTERM");
  const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
  if (!exited) child.process.kill("SIGKILL");
}
