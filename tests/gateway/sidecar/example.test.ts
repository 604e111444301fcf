import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { createJetStreamBroker } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { startTestNats } from "../../support/nats.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { type Child, spawnChild } from "../../support/subprocess.ts";

const python = Bun.which("python3");
let nats: NatsServerProcess;

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats.stop());

describe("the Python sidecar example", () => {
  // The example needs python3 (any 3.x, standard library only); machines without it skip this.
  it.skipIf(python === null)("registers, serves a call, calls and publishes against a real sidecar", async () => {
    // The sidecar as users start it: its entry point with flags, here on a free port.
    const sidecar = spawnChild([process.execPath, "gateway/sidecar/main.ts", "--port", "0", "--nats", nats.url]);
    let example: Child | undefined;
    try {
      await sidecar.waitFor(/sidecar (http:\/\/\S+\/sidecar)/);
      const url = /sidecar (http:\/\/\S+\/sidecar)/.exec(sidecar.output())![1]!;
      example = spawnChild([python!, "examples/sidecar/greeter.py"], { SIDECAR: url, PYTHONUNBUFFERED: "1" });
      await example.waitFor(/'duplicate'/, 15_000);
      const lines = example.output().split("\n").filter((l) => l.startsWith("{"));
      expect(lines[0]).toBe("{'message': 'Hello Ada from Python'}");
      expect(lines[1]).toMatch(/^\{'id': '\w+', 'sequence': \d+, 'duplicate': False\}$/);

      // Still serving: any NATS client calls the Python service like a TypeScript one.
      const nc = await connect({ servers: nats.url });
      try {
        const reply = await nc.request("micro.srv.greeter-py.Greeter.SayHello", '{"name":"Bo"}', { timeout: 5000 });
        expect(reply.json()).toEqual({ message: "Hello Bo from Python" });
        const broker = await createJetStreamBroker(nc);
        const events = [];
        for await (const e of broker.replay("greeting.sent")) events.push([e.source, new TextDecoder().decode(e.data)]);
        expect(events).toEqual([["sidecar", '{"to": "Ada"}']]);
      } finally {
        await nc.close();
      }
    } finally {
      example?.process.kill();
      sidecar.process.kill("SIGINT");
    }
    expect(await sidecar.exited).toBe(0);
    expect(sidecar.output()).toContain("SIGINT: stopping the sidecar");
  });

  it("is the code the README shows", () => {
    const readme = readFileSync(repoPath("README.md"), "utf8");
    const shown = /```python\n([\s\S]*?)```/.exec(readme)![1]!;
    const file = readFileSync(repoPath("examples/sidecar/greeter.py"), "utf8");
    expect(file.split("\n").filter((l) => !l.startsWith("#")).join("\n")).toBe(shown);
    expect(file.split("\n").length).toBeLessThanOrEqual(22);
  });
});
