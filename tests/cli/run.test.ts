import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { Audit } from "../../gen/audit/v1/audit_pb.ts";
import { createClient, createJetStreamBroker } from "../../runtime/mod.ts";
import { createNatsRegistry } from "../../runtime/registry/nats-kv.ts";
import { isNatsReachable, type NatsServerProcess, probeNatsServer, startNatsServer } from "../../runtime/nats/mod.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection, rejection } from "../support/rpc.ts";
import { freePort, greeterModule, makeServicesDir } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";

let nats: NatsServerProcess;
const services = makeServicesDir({
  "slow.ts": greeterModule("slow", 400),
  "broken.ts": `throw new Error("boom at load");\n`,
});

beforeAll(async () => {
  nats = await startTestNats();
});

afterAll(async () => {
  services.remove();
  await nats.stop();
});

describe("micro run", () => {
  it("runs every service, reports a broken module by file name, and drains on Ctrl-C", async () => {
    const child = runMicro(["run", services.dir], { NATS_URL: nats.url });
    try {
      await child.waitFor(/service slow 2\.0\.0 on micro\.srv\.slow\.>/);
      expect(child.output()).toContain(`NATS ${nats.url}`);
      expect(child.output()).toContain("Greeter.SayHello  greeter.v1.SayHelloRequest -> greeter.v1.SayHelloResponse");
      expect(child.output()).toMatch(/FAILED .*broken\.ts: boom at load/);

      const conn = await openTestConnection(nats.url);
      const client = createClient(Greeter, conn.transport, { service: "slow" });
      const inFlight = client.sayHello({ name: "Ada" }, { timeoutMs: 5000 });
      await Bun.sleep(100);
      child.process.kill("SIGINT");
      expect((await inFlight).message).toBe("slow says hello to Ada");
      expect(await child.exited).toBe(0);
      expect(child.output()).toContain("stopped");
      expect((await rejection(client.sayHello({ name: "late" }))).code).toBe("unavailable");
      await conn.close();
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  it("registers each service while it runs and deregisters it at once on stop", async () => {
    const child = runMicro(["run", services.dir], { NATS_URL: nats.url });
    const conn = await openTestConnection(nats.url);
    try {
      await child.waitFor(/service slow/);
      const registry = await createNatsRegistry(conn.nc);
      const [slow] = await registry.getService("slow");
      expect(slow?.version).toBe("2.0.0");
      expect(slow?.nodes).toHaveLength(1);
      expect(child.output()).toContain(`(node ${slow!.nodes[0]!.id})`);
      expect(slow?.endpoints.map((e) => e.name)).toEqual(["Greeter.SayHello", "Greeter.SayGoodbye"]);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      await Bun.sleep(100);
      expect(await registry.getService("slow")).toEqual([]);
      await registry.close();
    } finally {
      child.process.kill("SIGKILL");
      await conn.close();
    }
  });

  it("runs services/ with the gateway, so a user's audit history is one call away", async () => {
    const gatewayPort = await freePort();
    const child = runMicro(["run"], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(gatewayPort) });
    const conn = await openTestConnection(nats.url);
    try {
      await child.waitFor(/service audit 1\.0\.0/);
      const broker = await createJetStreamBroker(conn.nc);
      for (const topic of ["customer.login", "order.placed"]) await broker.publish(topic, new TextEncoder().encode(topic), { user: "run-42" });
      const audit = createClient(Audit, conn.transport);
      let topics: string[] = [];
      for (let i = 0; i < 100 && topics.length < 2; i++) {
        topics = (await audit.history({ user: "run-42", oldestFirst: true })).events.map((e) => e.topic);
        await Bun.sleep(50);
      }
      expect(topics).toEqual(["customer.login", "order.placed"]);
      await child.waitFor(new RegExp(`gateway http://127\\.0\\.0\\.1:${gatewayPort}`));
      const http = await fetch(`http://127.0.0.1:${gatewayPort}/audit/history`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"user":"run-42","limit":1}' });
      const page = await http.json() as { events: Array<{ topic: string }>; nextCursor: string };
      expect([http.status, page.events.map((e) => e.topic), page.nextCursor !== ""]).toEqual([200, ["order.placed"], true]);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
      await conn.close();
    }
  });

  it("starts its own NATS with JetStream when none is reachable, and stops it on exit", async () => {
    const port = await freePort();
    const store = mkdtempSync(join(tmpdir(), "jetmicro-store-"));
    const child = runMicro(["run", services.dir], { NATS_URL: undefined, MICRO_NATS_PORT: String(port), MICRO_NATS_STORE_DIR: store });
    try {
      await child.waitFor(/service slow/);
      expect(child.output()).toContain(`NATS nats://127.0.0.1:${port} (started by jetmicro)`);
      expect(await isNatsReachable(`nats://127.0.0.1:${port}`)).toBe(true);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(await isNatsReachable(`nats://127.0.0.1:${port}`)).toBe(false);
    } finally {
      child.process.kill("SIGKILL");
      rmSync(store, { recursive: true, force: true });
    }
  });

  it("leaves a local NATS without JetStream alone and starts its own beside it", async () => {
    const plain = await startNatsServer({ jetstream: false });
    const store = mkdtempSync(join(tmpdir(), "jetmicro-store-"));
    const child = runMicro(["run", services.dir], { NATS_URL: undefined, MICRO_NATS_PORT: String(plain.port), MICRO_NATS_STORE_DIR: store });
    try {
      await child.waitFor(/service slow/);
      expect(child.output()).toContain(`the NATS server at nats://127.0.0.1:${plain.port} has no JetStream`);
      const url = /NATS (nats:\/\/\S+) \(started by jetmicro\)/.exec(child.output())?.[1];
      expect(url).toBeDefined();
      expect(url).not.toBe(`nats://127.0.0.1:${plain.port}`);
      expect((await probeNatsServer(url!))?.jetstream).toBe(true);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(await isNatsReachable(`nats://127.0.0.1:${plain.port}`)).toBe(true);
    } finally {
      child.process.kill("SIGKILL");
      await plain.stop();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it("exits non-zero with a clear message when NATS_URL answers nothing", async () => {
    const port = await freePort();
    const child = runMicro(["run", services.dir], { NATS_URL: `nats://127.0.0.1:${port}` });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain(`NATS_URL is nats://127.0.0.1:${port} but no NATS server answers there`);
  });

  it("rejects a bad setting with the variable's name and no stack trace", async () => {
    for (const [name, value, message] of [
      ["MICRO_DRAIN_TIMEOUT_MS", "soon", 'micro run: MICRO_DRAIN_TIMEOUT_MS must be a whole number from 0 to 2147482647, got "soon"'],
      ["MICRO_NATS_PORT", "abc", 'micro run: MICRO_NATS_PORT must be a whole number from 0 to 65535, got "abc"'],
      ["MICRO_NODE_METADATA", "zone", 'micro run: MICRO_NODE_METADATA must be key=value pairs separated by commas, got "zone"'],
    ] as const) {
      const child = runMicro(["run", services.dir], { NATS_URL: nats.url, [name]: value });
      expect(await child.exited).toBe(1);
      expect(child.output().trim()).toBe(message);
    }
  });

  it("accepts a NATS_URL list where only a later server answers", async () => {
    const dead = await freePort();
    const child = runMicro(["run", services.dir], { NATS_URL: `nats://127.0.0.1:${dead},${nats.url}` });
    try {
      await child.waitFor(/service slow/);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  it("explains itself on an unknown command", async () => {
    const child = runMicro(["frobnicate"]);
    expect(await child.exited).toBe(2);
    expect(child.output()).toContain('Unknown subcommand "frobnicate" for "micro"');
    expect(child.output()).toContain('See "micro --help"');
  });
});
